"""What changed between two plans, and the key figures of a plan, for people and programs.

Both are computed from the plans and instances alone (coverage through the independent
checker), never from the solver's internals.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TypeVar

from pydantic import BaseModel, ConfigDict

from solver.checker import check_plan
from solver.domain import Force, Instance, Plan, RiskLevel, Unit
from solver.model.data import great_circle_km


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Place(_Frozen):
    """A ring of a venue."""

    venue: str
    ring: int

    def __str__(self) -> str:
        return f"{self.venue} ring {self.ring}"


class MoveKind(StrEnum):
    """How a unit-shift changed."""

    MOVED = "moved"
    """From one place to another."""
    ASSIGNED = "assigned"
    """Idle in the baseline, placed now."""
    RELEASED = "released"
    """Placed in the baseline, idle now."""


class Move(_Frozen):
    """One unit-shift whose place differs from the baseline."""

    unit: str
    shift: str
    kind: MoveKind
    before: Place | None = None
    after: Place | None = None
    reserve: bool = False
    """The unit is TNI or standby."""
    forced: bool = False
    """In a shift already started: the baseline place is no longer possible."""

    def __str__(self) -> str:
        text = f"{self.unit} in {self.shift}: {self.before or 'idle'} -> {self.after or 'idle'}"
        return text + (" (forced)" if self.forced else "")


class PlanDiff(_Frozen):
    """Every unit-shift that changed, and the reserve units called up or stood down."""

    moves: tuple[Move, ...] = ()
    """Ordered by shift (in instance order), then unit."""
    moved_unit_shifts: int = 0
    """Unit-shifts whose place changed, newly assigned and released included."""
    moved: int = 0
    assigned: int = 0
    released: int = 0
    forced: int = 0
    """Moves in shifts already started, which the changes made unavoidable."""
    activated: tuple[str, ...] = ()
    """Reserve (TNI or standby) units in the new plan that the baseline did not use."""
    stood_down: tuple[str, ...] = ()
    """Reserve units the baseline used that the new plan does not."""

    @property
    def is_empty(self) -> bool:
        """Whether the plans are the same."""
        return not self.moves

    def summary(self) -> str:
        """A short text for a person."""
        if self.is_empty:
            return "no change to the plan"
        lines = [
            f"{self.moved_unit_shifts} unit-shift(s) changed: {self.moved} moved, "
            f"{self.assigned} newly assigned, {self.released} released"
        ]
        lines += [f"  {m}" for m in self.moves]
        if self.activated:
            lines.append(f"reserve activated: {', '.join(self.activated)}")
        if self.stood_down:
            lines.append(f"reserve stood down: {', '.join(self.stood_down)}")
        if self.forced:
            lines.append(f"forced moves in shifts already started: {self.forced}")
        return "\n".join(lines)


def _is_reserve(unit: Unit | None) -> bool:
    return unit is not None and (unit.force is Force.TNI or unit.standby)


def _places(plan: Plan) -> dict[tuple[str, str], Place]:
    return {(a.unit, a.shift): Place(venue=a.venue, ring=a.ring) for a in plan.assignments}


def plan_diff(
    instance: Instance,
    before: Plan,
    after: Plan,
    locked_shifts: frozenset[str] = frozenset(),
    original: Instance | None = None,
) -> PlanDiff:
    """The unit-shifts whose place differs between ``before`` and ``after``.

    Parameters
    ----------
    instance
        The instance ``after`` plans (the changed one).
    before, after
        The baseline and the new plan.
    locked_shifts
        Shifts already started; a change in one of them is marked forced.
    original
        The instance ``before`` plans, for units that are no longer in ``instance``.
    """
    units = {u.id: u for u in (original or instance).units} | {u.id: u for u in instance.units}
    order = {s.id: i for i, s in enumerate((original or instance).shifts)}
    order |= {s.id: i for i, s in enumerate(instance.shifts)}
    old, new = _places(before), _places(after)
    moves = []
    for key in sorted(old.keys() | new.keys(), key=lambda k: (order.get(k[1], -1), k[1], k[0])):
        a, b = old.get(key), new.get(key)
        if a == b:
            continue
        kind = MoveKind.MOVED if a and b else MoveKind.ASSIGNED if b else MoveKind.RELEASED
        unit, shift = key
        moves.append(
            Move(
                unit=unit,
                shift=shift,
                kind=kind,
                before=a,
                after=b,
                reserve=_is_reserve(units.get(unit)),
                forced=shift in locked_shifts,
            )
        )
    used_before = {a.unit for a in before.assignments if _is_reserve(units.get(a.unit))}
    used_after = {a.unit for a in after.assignments if _is_reserve(units.get(a.unit))}
    return PlanDiff(
        moves=tuple(moves),
        moved_unit_shifts=len(moves),
        moved=sum(1 for m in moves if m.kind is MoveKind.MOVED),
        assigned=sum(1 for m in moves if m.kind is MoveKind.ASSIGNED),
        released=sum(1 for m in moves if m.kind is MoveKind.RELEASED),
        forced=sum(1 for m in moves if m.forced),
        activated=tuple(sorted(used_after - used_before)),
        stood_down=tuple(sorted(used_before - used_after)),
    )


class Kpis(_Frozen):
    """Key figures of a plan on an instance."""

    shortfall: int = 0
    """Missing headcount summed over rings and shifts."""
    weighted_shortfall: int = 0
    """Shortfall weighted by risk and ring, as the objective counts it."""
    shortfall_by_risk: dict[RiskLevel, int] = {}
    shortfall_by_ring: dict[int, int] = {}
    tni_headcount_shifts: int = 0
    """Headcount-shifts of reserve (TNI or standby) units."""
    travel_km: int = 0
    """Kilometres from home to venue (rounded per unit-shift), summed over unit-shifts."""
    assignments: int = 0

    def minus(self, other: Kpis) -> Kpis:
        """Field-by-field difference ``self - other``."""
        return Kpis(
            shortfall=self.shortfall - other.shortfall,
            weighted_shortfall=self.weighted_shortfall - other.weighted_shortfall,
            shortfall_by_risk=_minus(self.shortfall_by_risk, other.shortfall_by_risk),
            shortfall_by_ring=_minus(self.shortfall_by_ring, other.shortfall_by_ring),
            tni_headcount_shifts=self.tni_headcount_shifts - other.tni_headcount_shifts,
            travel_km=self.travel_km - other.travel_km,
            assignments=self.assignments - other.assignments,
        )


K = TypeVar("K", RiskLevel, int)


def _minus(a: dict[K, int], b: dict[K, int]) -> dict[K, int]:
    keys = sorted(a.keys() | b.keys(), key=str)
    return {k: a.get(k, 0) - b.get(k, 0) for k in keys}


def plan_kpis(instance: Instance, plan: Plan) -> Kpis:
    """Shortfall (total, weighted, by risk and ring), reserve use and travel of ``plan``.

    Coverage comes from :func:`solver.check_plan`; assignments naming an unknown unit or
    venue add no headcount and no travel.
    """
    report = check_plan(instance, plan)
    venues = {v.id: v for v in instance.venues}
    units = {u.id: u for u in instance.units}
    rules = instance.rules
    by_risk: dict[RiskLevel, int] = {}
    by_ring: dict[int, int] = {}
    weighted = 0
    for (venue_id, ring, shift), row in report.coverage.items():
        if not row.shortfall:
            continue
        risk = venues[venue_id].risk_at(shift)
        by_risk[risk] = by_risk.get(risk, 0) + row.shortfall
        by_ring[ring] = by_ring.get(ring, 0) + row.shortfall
        weighted += row.shortfall * rules.risk_weights[risk] * rules.ring_weights[ring]
    tni = travel = 0
    for a in plan.assignments:
        unit, venue = units.get(a.unit), venues.get(a.venue)
        if unit is None or venue is None:
            continue
        if _is_reserve(unit):
            tni += unit.headcount
        loc = unit.home.location
        travel += round(great_circle_km(loc.lat, loc.lon, venue.location.lat, venue.location.lon))
    return Kpis(
        shortfall=report.total_shortfall,
        weighted_shortfall=weighted,
        shortfall_by_risk=dict(
            sorted(by_risk.items(), key=lambda kv: list(RiskLevel).index(kv[0]))
        ),
        shortfall_by_ring=dict(sorted(by_ring.items())),
        tni_headcount_shifts=tni,
        travel_km=travel,
        assignments=len(plan.assignments),
    )
