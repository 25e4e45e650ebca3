"""The domain of a security deployment: regions, venues with rings, units, shifts and rules.

Every model is frozen and forbids unknown fields. Field-level rules live on the fields; rules
that relate entities to each other (references, uniqueness) live in :mod:`solver.problems`,
which :class:`Instance` runs once after its fields are valid.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Self

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from solver.problems import InstanceError, Problem, reference_problems

Id = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:\-]+$")]
"""Identifiers are short slugs: letters, digits and ``_ . : -``."""


class Frozen(BaseModel):
    """Base for every domain model: immutable, unknown fields rejected."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Force(StrEnum):
    """Which force a unit belongs to."""

    POLRI = "polri"
    TNI = "tni"


class RiskLevel(StrEnum):
    """Risk level from the security risk assessment (likelihood x impact)."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    VERY_HIGH = "very_high"


class RegionLevel(StrEnum):
    """Administrative level of a region: a province holds regencies and cities."""

    PROVINCE = "province"
    REGENCY = "regency"
    CITY = "city"


class VenueKind(StrEnum):
    """What a venue is."""

    KPU_NATIONAL = "kpu_national"
    KPU_PROVINCE = "kpu_province"
    KPU_REGENCY = "kpu_regency"
    OVERSIGHT_OFFICE = "oversight_office"
    LOGISTICS_WAREHOUSE = "logistics_warehouse"
    PARTY_OFFICE = "party_office"
    OTHER = "other"


class ObjectiveTerm(StrEnum):
    """Terms of the objective, ranked by :attr:`Rules.priorities`."""

    SHORTFALL = "shortfall"
    """Headcount missing from the required coverage, weighted by risk and ring."""
    TNI = "tni"
    """Headcount-shifts of TNI or standby units: the reserve is called only when needed."""
    TRAVEL = "travel"
    """Kilometres from home base to venue, summed over unit-shifts."""
    BALANCE = "balance"
    """The largest number of shifts any one unit works."""
    OVERSTAFFING = "overstaffing"
    """Headcount assigned above the requirement."""
    DISRUPTION = "disruption"
    """Re-planning only: unit-shifts whose place differs from the plan in force. Ranked right
    after shortfall when :func:`solver.solve` is given a baseline; zero otherwise."""


class Location(Frozen):
    """A point on the map in WGS84 degrees."""

    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class Region(Frozen):
    """A province, or a regency or city inside one."""

    id: Id
    name: str = ""
    level: RegionLevel
    parent: Id | None = None
    """The province of a regency or city; ``None`` for a province."""


EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
"""No shift or time window starts before this instant."""
LATEST = datetime(2100, 1, 1, tzinfo=UTC)
"""No shift or time window ends after this instant."""
MAX_SHIFT_HOURS = 7 * 24
"""Longest shift, in hours."""
MAX_HORIZON_DAYS = 366
"""Longest horizon (first shift start to last shift end), in days."""


def _in_era(value: datetime) -> datetime:
    if not EARLIEST <= value <= LATEST:
        raise ValueError(
            f"{value.isoformat()} is outside {EARLIEST.date().isoformat()} to "
            f"{LATEST.date().isoformat()}"
        )
    return value


class Shift(Frozen):
    """A duty period with timezone-aware start and end, in 1970-2099, at most a week long."""

    id: Id
    name: str = ""
    start: AwareDatetime
    end: AwareDatetime

    @field_validator("start")
    @classmethod
    def _start_in_era(cls, start: datetime) -> datetime:
        return _in_era(start)

    @field_validator("end")
    @classmethod
    def _end_after_start(cls, end: datetime, info: ValidationInfo) -> datetime:
        _in_era(end)
        start = info.data.get("start")
        if start is not None and end <= start:
            raise ValueError(f"end {end.isoformat()} is not after start {start.isoformat()}")
        if start is not None and end - start > timedelta(hours=MAX_SHIFT_HOURS):
            raise ValueError(f"a shift lasts at most {MAX_SHIFT_HOURS} hours")
        return end

    @property
    def hours(self) -> float:
        """Length of the shift in hours."""
        return (self.end - self.start).total_seconds() / 3600


class TimeWindow(Frozen):
    """A half-open time interval ``[start, end)`` in 1970-2099."""

    start: AwareDatetime
    end: AwareDatetime

    @field_validator("start")
    @classmethod
    def _start_in_era(cls, start: datetime) -> datetime:
        return _in_era(start)

    @field_validator("end")
    @classmethod
    def _end_after_start(cls, end: datetime, info: ValidationInfo) -> datetime:
        _in_era(end)
        start = info.data.get("start")
        if start is not None and end <= start:
            raise ValueError(f"end {end.isoformat()} is not after start {start.isoformat()}")
        return end


MAX_HEADCOUNT = 100_000
"""Most headcount of one unit, and most capacity or minimum headcount of one ring."""
MAX_MULTIPLIER = 10.0
"""Largest risk multiplier."""
MAX_WEIGHT = 1_000
"""Largest risk or ring weight. With the caps above, every objective term fits in 64 bits."""
MAX_REST_HOURS = 24 * 366
"""Longest rest between shifts, in hours (a year)."""


EMPTY_LIST = "an empty list would allow nothing: leave the field out for no limit"
"""Why an optional limit may not be an empty list: the wire cannot tell one from a missing
list, so the JSON file, the Python API and the service would disagree about it."""


def _not_empty_list(cls: type, value: tuple[object, ...] | None) -> tuple[object, ...] | None:
    if value is not None and not value:
        raise ValueError(EMPTY_LIST)
    return value


class Ring(Frozen):
    """One security ring of a venue: 1 is innermost (the plenary room), 4 the access roads."""

    number: int = Field(ge=1, le=4)
    name: str = ""
    capacity: int = Field(ge=0, le=MAX_HEADCOUNT)
    """Most headcount that fits in the ring in one shift."""
    min_headcount: int = Field(ge=0, le=MAX_HEADCOUNT)
    """Headcount required per shift at low risk, before the risk multiplier."""
    allowed_forces: tuple[Force, ...] = (Force.POLRI, Force.TNI)
    allowed_types: tuple[str, ...] | None = None
    """Unit types that may stand here; ``None`` admits every type."""

    _some_force_and_type = field_validator("allowed_forces", "allowed_types")(_not_empty_list)


class RiskOverride(Frozen):
    """A risk level that applies to a venue in chosen shifts (the plenary day, say)."""

    shifts: tuple[Id, ...] = Field(min_length=1)
    risk: RiskLevel


class Venue(Frozen):
    """A guarded place with one to four rings."""

    id: Id
    name: str = ""
    kind: VenueKind
    region: Id
    location: Location
    risk: RiskLevel
    risk_overrides: tuple[RiskOverride, ...] = ()
    rings: tuple[Ring, ...]
    """One to four rings with distinct numbers."""
    guarded_shifts: tuple[Id, ...] | None = Field(default=None, min_length=1)
    """Shifts in which the venue is guarded; ``None`` guards it in every shift. In any other
    shift it requires nobody and nobody may stand there (a venue that opens late or closes
    early)."""

    @field_validator("rings")
    @classmethod
    def _distinct_ring_numbers(cls, rings: tuple[Ring, ...]) -> tuple[Ring, ...]:
        # Checked after the items (not as min_length) so that one bad ring is not also
        # reported as a missing ring.
        if not 1 <= len(rings) <= 4:
            raise ValueError(f"a venue needs 1 to 4 rings, got {len(rings)}")
        numbers = [ring.number for ring in rings]
        if len(set(numbers)) != len(numbers):
            raise ValueError(f"ring numbers must be distinct, got {numbers}")
        return rings

    def guarded_in(self, shift_id: str) -> bool:
        """Whether the venue is guarded in a shift (see :attr:`guarded_shifts`)."""
        return self.guarded_shifts is None or shift_id in self.guarded_shifts

    def risk_at(self, shift_id: str) -> RiskLevel:
        """Risk level in a shift: the last override naming the shift, else the base risk."""
        risk = self.risk
        for override in self.risk_overrides:
            if shift_id in override.shifts:
                risk = override.risk
        return risk


class Home(Frozen):
    """Where a unit is based."""

    region: Id
    location: Location


class Unit(Frozen):
    """A deployable unit: one officer (headcount 1) or a formed unit such as a platoon."""

    id: Id
    name: str = ""
    force: Force
    type: str = Field(min_length=1, max_length=64)
    headcount: int = Field(ge=1, le=MAX_HEADCOUNT)
    home: Home
    standby: bool = False
    """Standby reserve (TNI): deployed only where police cannot cover."""
    available_shifts: tuple[Id, ...] | None = None
    """Shifts the unit may work; ``None`` places no limit by shift."""
    available_windows: tuple[TimeWindow, ...] | None = None
    """Windows the unit may work in (a shift must lie inside one); ``None`` places no limit."""
    max_travel_km: float | None = Field(default=None, gt=0)
    """Overrides :attr:`Rules.max_travel_km` for this unit."""

    _some_availability = field_validator("available_shifts", "available_windows")(_not_empty_list)


class ReserveUnit(Frozen):
    """A national reserve unit (a TNI standby battalion, a Brimob company): it belongs to no
    province and can be sent to any venue's area once mobilised.

    Sent to a venue, it is based there and serves like a standby unit of that area: venues
    within its travel limit, in shifts that start at least :attr:`lead_hours` after the
    first shift of the horizon.
    """

    id: Id
    name: str = ""
    force: Force
    type: str = Field(min_length=1, max_length=64)
    headcount: int = Field(ge=1, le=MAX_HEADCOUNT)
    lead_hours: float = Field(default=24.0, ge=0, le=MAX_REST_HOURS)
    """Mobilisation lead time: hours from the start of the horizon until it can stand."""
    max_travel_km: float | None = Field(default=None, gt=0)
    """Overrides :attr:`Rules.max_travel_km` around the venue it is sent to."""


def _default_risk_multipliers() -> dict[RiskLevel, float]:
    return {
        RiskLevel.LOW: 1.0,
        RiskLevel.MEDIUM: 1.25,
        RiskLevel.HIGH: 1.5,
        RiskLevel.VERY_HIGH: 2.0,
    }


def _default_risk_weights() -> dict[RiskLevel, int]:
    return {RiskLevel.LOW: 1, RiskLevel.MEDIUM: 2, RiskLevel.HIGH: 4, RiskLevel.VERY_HIGH: 8}


def _default_ring_weights() -> dict[int, int]:
    return {1: 4, 2: 3, 3: 2, 4: 1}


DEFAULT_PRIORITIES = (
    ObjectiveTerm.SHORTFALL,
    ObjectiveTerm.TNI,
    ObjectiveTerm.TRAVEL,
    ObjectiveTerm.BALANCE,
    ObjectiveTerm.OVERSTAFFING,
)


class Rules(Frozen):
    """Duty rules and the objective's priorities."""

    min_rest_hours: float = Field(default=8.0, ge=0, le=MAX_REST_HOURS)
    """Least time off between the end of one shift and the start of the next of one unit."""
    max_shifts: int | None = Field(default=None, ge=0)
    """Most shifts one unit works over the whole horizon."""
    max_shifts_per_24h: int | None = Field(default=None, ge=0)
    """Most shifts one unit starts within any 24 hours."""
    max_consecutive_days: int | None = Field(default=None, ge=1)
    """Most calendar days in a row (by shift start) a unit is on duty."""
    max_travel_km: float | None = Field(default=None, gt=0)
    """Farthest a unit may be sent from its home base (great-circle distance)."""
    risk_multipliers: dict[RiskLevel, float] = Field(default_factory=_default_risk_multipliers)
    """Required headcount = ceil(ring minimum x multiplier of the venue's risk in that shift)."""
    risk_weights: dict[RiskLevel, int] = Field(default_factory=_default_risk_weights)
    """Weight of one missing person by the venue's risk in that shift."""
    ring_weights: dict[int, int] = Field(default_factory=_default_ring_weights)
    """Weight of one missing person by ring number (inner rings first)."""
    priorities: tuple[ObjectiveTerm, ...] = DEFAULT_PRIORITIES
    """Objective terms, most important first; each strictly dominates all that follow."""

    @field_validator("risk_multipliers")
    @classmethod
    def _multipliers_complete(cls, value: dict[RiskLevel, float]) -> dict[RiskLevel, float]:
        missing = [level.value for level in RiskLevel if level not in value]
        if missing:
            raise ValueError(f"missing multiplier for {', '.join(missing)}")
        bad = [level.value for level, m in value.items() if not 0 <= m <= MAX_MULTIPLIER]
        if bad:
            raise ValueError(f"multiplier must be 0 to {MAX_MULTIPLIER:g} for {', '.join(bad)}")
        return value

    @field_validator("risk_weights")
    @classmethod
    def _risk_weights_complete(cls, value: dict[RiskLevel, int]) -> dict[RiskLevel, int]:
        missing = [level.value for level in RiskLevel if level not in value]
        if missing:
            raise ValueError(f"missing weight for {', '.join(missing)}")
        if any(not 1 <= w <= MAX_WEIGHT for w in value.values()):
            raise ValueError(f"weights must be 1 to {MAX_WEIGHT}")
        return value

    @field_validator("ring_weights")
    @classmethod
    def _ring_weights_complete(cls, value: dict[int, int]) -> dict[int, int]:
        missing = [str(n) for n in (1, 2, 3, 4) if n not in value]
        if missing:
            raise ValueError(f"missing weight for ring {', '.join(missing)}")
        if any(not 1 <= w <= MAX_WEIGHT for w in value.values()):
            raise ValueError(f"weights must be 1 to {MAX_WEIGHT}")
        return value

    @field_validator("priorities")
    @classmethod
    def _priorities_distinct(cls, value: tuple[ObjectiveTerm, ...]) -> tuple[ObjectiveTerm, ...]:
        if len(set(value)) != len(value):
            raise ValueError("each objective term may appear once")
        if ObjectiveTerm.SHORTFALL not in value:
            raise ValueError("shortfall must be one of the priorities")
        return value


class Instance(Frozen):
    """Everything the planner needs: the places, the people, the shifts and the rules."""

    name: str = ""
    description: str = ""
    regions: tuple[Region, ...] = ()
    venues: tuple[Venue, ...]
    units: tuple[Unit, ...] = ()
    shifts: tuple[Shift, ...]
    rules: Rules = Field(default_factory=Rules)
    reserve: tuple[ReserveUnit, ...] = ()
    """The national reserve, allocated to parts by :mod:`solver.parts.reserve`."""

    @field_validator("venues", "shifts")
    @classmethod
    def _not_empty(cls, items: tuple[Venue | Shift, ...]) -> tuple[Venue | Shift, ...]:
        if not items:
            raise ValueError("at least one is required")
        return items

    @model_validator(mode="after")
    def _references_hold(self) -> Self:
        problems = reference_problems(self.model_dump())
        first = min(self.shifts, key=lambda s: s.start)
        last = max(self.shifts, key=lambda s: s.end)
        if last.end - first.start > timedelta(days=MAX_HORIZON_DAYS):
            at = self.shifts.index(last)
            problems.append(
                Problem(
                    ("shifts", at, "end"),
                    f"the shifts span more than {MAX_HORIZON_DAYS} days (from shift "
                    f"'{first.id}' to this one)",
                )
            )
        if problems:
            raise InstanceError(problems)
        return self


class Assignment(Frozen):
    """One unit standing in one ring of one venue during one shift."""

    unit: Id
    venue: Id
    ring: int = Field(ge=1, le=4)
    shift: Id


class Plan(Frozen):
    """A deployment: the list of assignments."""

    assignments: tuple[Assignment, ...] = ()
