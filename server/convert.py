"""The one place where protobuf messages and domain objects are turned into each other.

Field names in the API are the domain's field names, so a problem found by the domain's
validation (``venues[2].rings[0].capacity``) is already a proto field path. Conventions of the
wire format that the domain spells differently are translated here and nowhere else:

- enums: ``RISK_LEVEL_VERY_HIGH`` <-> ``RiskLevel.VERY_HIGH``; the zero ``..._UNSPECIFIED``
  value of a required enum is a problem, as is a number the API does not define;
- an empty ``allowed_forces``, ``allowed_types``, ``available_shifts``, ``available_windows``
  or ``guarded_shifts`` places no limit (the domain's ``None``);
- an empty ``parent`` is no parent; lists of (risk, multiplier) pairs are the domain's maps;
- times are RFC 3339 strings with a UTC offset, kept as given so local calendar days hold.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from ringplan.v1 import instance_pb2 as pb
from ringplan.v1 import result_pb2 as rpb
from ringplan.v1 import whatif_pb2 as wpb
from solver import Instance, InstanceError, Plan, Problem, Result, parse_instance
from solver.domain import Force, ObjectiveTerm, RegionLevel, RiskLevel, Venue, VenueKind
from solver.figures import Figures, TermFigure
from solver.result import (
    Activation,
    Coverage,
    Dispatch,
    PartSummary,
    PhaseEnd,
    PhaseRun,
    Progress,
    SolveStatus,
)
from solver.validation import PathPart
from solver.whatif import (
    AddVenue,
    Change,
    CloseVenue,
    ComparisonRow,
    Kpis,
    Move,
    MoveKind,
    Place,
    PlanDiff,
    SetRisk,
    UnitUnavailable,
    WhatIfResponse,
)

E = TypeVar("E")
K = TypeVar("K")

FORCES = {pb.FORCE_POLRI: Force.POLRI, pb.FORCE_TNI: Force.TNI}
RISKS = {
    pb.RISK_LEVEL_LOW: RiskLevel.LOW,
    pb.RISK_LEVEL_MEDIUM: RiskLevel.MEDIUM,
    pb.RISK_LEVEL_HIGH: RiskLevel.HIGH,
    pb.RISK_LEVEL_VERY_HIGH: RiskLevel.VERY_HIGH,
}
REGION_LEVELS = {
    pb.REGION_LEVEL_PROVINCE: RegionLevel.PROVINCE,
    pb.REGION_LEVEL_REGENCY: RegionLevel.REGENCY,
    pb.REGION_LEVEL_CITY: RegionLevel.CITY,
}
VENUE_KINDS = {
    pb.VENUE_KIND_KPU_NATIONAL: VenueKind.KPU_NATIONAL,
    pb.VENUE_KIND_KPU_PROVINCE: VenueKind.KPU_PROVINCE,
    pb.VENUE_KIND_KPU_REGENCY: VenueKind.KPU_REGENCY,
    pb.VENUE_KIND_OVERSIGHT_OFFICE: VenueKind.OVERSIGHT_OFFICE,
    pb.VENUE_KIND_LOGISTICS_WAREHOUSE: VenueKind.LOGISTICS_WAREHOUSE,
    pb.VENUE_KIND_PARTY_OFFICE: VenueKind.PARTY_OFFICE,
    pb.VENUE_KIND_OTHER: VenueKind.OTHER,
}
TERMS = {
    pb.OBJECTIVE_TERM_SHORTFALL: ObjectiveTerm.SHORTFALL,
    pb.OBJECTIVE_TERM_TNI: ObjectiveTerm.TNI,
    pb.OBJECTIVE_TERM_TRAVEL: ObjectiveTerm.TRAVEL,
    pb.OBJECTIVE_TERM_BALANCE: ObjectiveTerm.BALANCE,
    pb.OBJECTIVE_TERM_OVERSTAFFING: ObjectiveTerm.OVERSTAFFING,
    pb.OBJECTIVE_TERM_DISRUPTION: ObjectiveTerm.DISRUPTION,
}
STATUSES = {
    rpb.SOLVE_STATUS_OPTIMAL: SolveStatus.OPTIMAL,
    rpb.SOLVE_STATUS_FEASIBLE: SolveStatus.FEASIBLE,
    rpb.SOLVE_STATUS_NO_SOLUTION: SolveStatus.NO_SOLUTION,
    rpb.SOLVE_STATUS_INVALID: SolveStatus.INVALID,
}


def _invert(table: dict[K, E]) -> dict[E, K]:
    return {value: key for key, value in table.items()}


class _Reader:
    """Turns an ``Instance`` message into plain data, collecting wire-format problems."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def enum(
        self, value: int, table: Mapping[Any, E], name: str, path: tuple[PathPart, ...]
    ) -> E | None:
        if value in table:
            return table[value]
        if value == 0:
            self.problems.append(Problem(path, f"required: set a {name} other than UNSPECIFIED"))
        else:
            self.problems.append(Problem(path, f"unknown {name} value {value}"))
        return None

    def location(self, message: Any, has: bool) -> dict[str, float] | None:
        return {"lat": message.lat, "lon": message.lon} if has else None

    def table(
        self,
        rows: Sequence[Any],
        key: Callable[[Any, tuple[PathPart, ...]], Any],
        value: Callable[[Any], Any],
        path: tuple[PathPart, ...],
    ) -> dict[Any, Any] | None:
        """A list of (key, value) messages as a map; empty is ``None`` (the default)."""
        if not rows:
            return None
        result: dict[Any, Any] = {}
        for index, row in enumerate(rows):
            k = key(row, (*path, index))
            if k is None:
                continue
            if k in result:
                self.problems.append(Problem((*path, index), f"duplicate entry for {k}"))
            result[k] = value(row)
        return result

    def instance(self, message: pb.Instance) -> dict[str, Any]:
        return {
            "name": message.name,
            "description": message.description,
            "regions": [self.region(r, i) for i, r in enumerate(message.regions)],
            "venues": [self.venue(v, ("venues", i)) for i, v in enumerate(message.venues)],
            "units": [self.unit(u, i) for i, u in enumerate(message.units)],
            "shifts": [
                _drop_empty({"id": s.id, "name": s.name, "start": s.start, "end": s.end})
                for s in message.shifts
            ],
            "rules": self.rules(message.rules),
            "reserve": [self.reserve_unit(r, i) for i, r in enumerate(message.reserve)],
        }

    def reserve_unit(self, message: pb.ReserveUnit, index: int) -> dict[str, Any]:
        at: tuple[PathPart, ...] = ("reserve", index)
        return _drop_none(
            {
                "id": message.id,
                "name": message.name,
                "force": self.enum(message.force, FORCES, "Force", (*at, "force")),
                "type": message.type,
                "headcount": message.headcount,
                "lead_hours": message.lead_hours,
                "max_travel_km": message.max_travel_km
                if message.HasField("max_travel_km")
                else None,
            }
        )

    def region(self, message: pb.Region, index: int) -> dict[str, Any]:
        path = ("regions", index, "level")
        return _drop_none(
            {
                "id": message.id,
                "name": message.name,
                "level": self.enum(message.level, REGION_LEVELS, "RegionLevel", path),
                "parent": message.parent or None,
            }
        )

    def venue(self, message: pb.Venue, at: tuple[PathPart, ...]) -> dict[str, Any]:
        overrides = [
            _drop_none(
                {
                    "shifts": list(o.shifts),
                    "risk": self.enum(
                        o.risk, RISKS, "RiskLevel", (*at, "risk_overrides", k, "risk")
                    ),
                }
            )
            for k, o in enumerate(message.risk_overrides)
        ]
        return _drop_none(
            {
                "id": message.id,
                "name": message.name,
                "kind": self.enum(message.kind, VENUE_KINDS, "VenueKind", (*at, "kind")),
                "region": message.region,
                "location": self.location(message.location, message.HasField("location")),
                "risk": self.enum(message.risk, RISKS, "RiskLevel", (*at, "risk")),
                "risk_overrides": overrides,
                "rings": [self.ring(r, (*at, "rings", k)) for k, r in enumerate(message.rings)],
                "guarded_shifts": list(message.guarded_shifts) or None,
            }
        )

    def ring(self, message: pb.Ring, at: tuple[PathPart, ...]) -> dict[str, Any]:
        forces = [
            self.enum(f, FORCES, "Force", (*at, "allowed_forces", k))
            for k, f in enumerate(message.allowed_forces)
        ]
        return _drop_none(
            {
                "number": message.number,
                "name": message.name,
                "capacity": message.capacity,
                "min_headcount": message.min_headcount,
                "allowed_forces": [f for f in forces if f is not None] or None,
                "allowed_types": list(message.allowed_types) or None,
            }
        )

    def unit(self, message: pb.Unit, index: int) -> dict[str, Any]:
        at: tuple[PathPart, ...] = ("units", index)
        home = message.home
        windows = [{"start": w.start, "end": w.end} for w in message.available_windows]
        return _drop_none(
            {
                "id": message.id,
                "name": message.name,
                "force": self.enum(message.force, FORCES, "Force", (*at, "force")),
                "type": message.type,
                "headcount": message.headcount,
                "home": _drop_none(
                    {
                        "region": home.region,
                        "location": self.location(home.location, home.HasField("location")),
                    }
                )
                if message.HasField("home")
                else None,
                "standby": message.standby,
                "available_shifts": list(message.available_shifts) or None,
                "available_windows": windows or None,
                "max_travel_km": message.max_travel_km
                if message.HasField("max_travel_km")
                else None,
            }
        )

    def rules(self, message: pb.Rules) -> dict[str, Any]:
        at: tuple[PathPart, ...] = ("rules",)
        optional = {
            name: getattr(message, name)
            for name in (
                "min_rest_hours",
                "max_shifts",
                "max_shifts_per_24h",
                "max_consecutive_days",
                "max_travel_km",
            )
            if message.HasField(name)
        }
        priorities = [
            self.enum(t, TERMS, "ObjectiveTerm", (*at, "priorities", k))
            for k, t in enumerate(message.priorities)
        ]

        def risk_key(row: Any, path: tuple[PathPart, ...]) -> RiskLevel | None:
            return self.enum(row.risk, RISKS, "RiskLevel", (*path, "risk"))

        return _drop_none(
            {
                **optional,
                "risk_multipliers": self.table(
                    message.risk_multipliers,
                    risk_key,
                    lambda row: row.multiplier,
                    (*at, "risk_multipliers"),
                ),
                "risk_weights": self.table(
                    message.risk_weights, risk_key, lambda row: row.weight, (*at, "risk_weights")
                ),
                "ring_weights": self.table(
                    message.ring_weights,
                    lambda row, _path: row.ring,
                    lambda row: row.weight,
                    (*at, "ring_weights"),
                ),
                "priorities": [p for p in priorities if p is not None] or None,
            }
        )


def _drop_none(data: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in data.items() if value is not None}


def _drop_empty(data: dict[str, Any]) -> dict[str, Any]:
    # An unset string is a missing field, so the domain reports it as required.
    return {key: value for key, value in data.items() if value != "" or key == "name"}


def instance_from_proto(message: pb.Instance) -> Instance:
    """Validate an ``Instance`` message into the domain.

    Raises
    ------
    InstanceError
        With every problem at once, each located by its proto field path.
    """
    reader = _Reader()
    data = reader.instance(message)
    try:
        instance = parse_instance(data)
    except InstanceError as error:
        # A field the reader already reported (a bad enum it left out) is not also "missing".
        seen = {p.path for p in reader.problems}
        extra = [p for p in error.problems if p.path not in seen]
        raise InstanceError([*reader.problems, *extra]) from None
    if reader.problems:
        raise InstanceError(reader.problems)
    return instance


def plan_from_proto(message: pb.Plan) -> Plan:
    """A plan from its message; a bad field raises ``ValidationError`` located by its path."""
    return Plan.model_validate(
        {
            "assignments": [
                {"unit": a.unit, "venue": a.venue, "ring": a.ring, "shift": a.shift}
                for a in message.assignments
            ]
        }
    )


def plan_to_proto(plan: Plan) -> pb.Plan:
    """A plan as its message."""
    return pb.Plan(
        assignments=[
            pb.Assignment(unit=a.unit, venue=a.venue, ring=a.ring, shift=a.shift)
            for a in plan.assignments
        ]
    )


def instance_to_proto_venue(v: Venue) -> pb.Venue:
    """A domain venue as its message."""
    risks, forces = _invert(RISKS), _invert(FORCES)
    return pb.Venue(
        id=v.id,
        name=v.name,
        kind=_invert(VENUE_KINDS)[v.kind],
        region=v.region,
        location=pb.Location(lat=v.location.lat, lon=v.location.lon),
        risk=risks[v.risk],
        risk_overrides=[
            pb.RiskOverride(shifts=list(o.shifts), risk=risks[o.risk]) for o in v.risk_overrides
        ],
        rings=[
            pb.Ring(
                number=r.number,
                name=r.name,
                capacity=r.capacity,
                min_headcount=r.min_headcount,
                allowed_forces=[forces[f] for f in r.allowed_forces],
                allowed_types=list(r.allowed_types or ()),
            )
            for r in v.rings
        ],
        guarded_shifts=list(v.guarded_shifts or ()),
    )


def instance_to_proto(instance: Instance) -> pb.Instance:
    """A domain instance as its message (what a client sends)."""
    forces, risks = _invert(FORCES), _invert(RISKS)
    rules = instance.rules
    rules_msg = pb.Rules(
        min_rest_hours=rules.min_rest_hours,
        max_shifts=rules.max_shifts,
        max_shifts_per_24h=rules.max_shifts_per_24h,
        max_consecutive_days=rules.max_consecutive_days,
        max_travel_km=rules.max_travel_km,
        risk_multipliers=[
            pb.RiskMultiplier(risk=risks[k], multiplier=v)
            for k, v in rules.risk_multipliers.items()
        ],
        risk_weights=[
            pb.RiskWeight(risk=risks[k], weight=v) for k, v in rules.risk_weights.items()
        ],
        ring_weights=[pb.RingWeight(ring=k, weight=v) for k, v in rules.ring_weights.items()],
        priorities=[_invert(TERMS)[t] for t in rules.priorities],
    )
    return pb.Instance(
        name=instance.name,
        description=instance.description,
        regions=[
            pb.Region(
                id=r.id, name=r.name, level=_invert(REGION_LEVELS)[r.level], parent=r.parent or ""
            )
            for r in instance.regions
        ],
        venues=[instance_to_proto_venue(v) for v in instance.venues],
        units=[
            pb.Unit(
                id=u.id,
                name=u.name,
                force=forces[u.force],
                type=u.type,
                headcount=u.headcount,
                home=pb.Home(
                    region=u.home.region,
                    location=pb.Location(lat=u.home.location.lat, lon=u.home.location.lon),
                ),
                standby=u.standby,
                available_shifts=list(u.available_shifts or ()),
                available_windows=[
                    pb.TimeWindow(start=w.start.isoformat(), end=w.end.isoformat())
                    for w in u.available_windows or ()
                ],
                max_travel_km=u.max_travel_km,
            )
            for u in instance.units
        ],
        shifts=[
            pb.Shift(id=s.id, name=s.name, start=s.start.isoformat(), end=s.end.isoformat())
            for s in instance.shifts
        ],
        rules=rules_msg,
        reserve=[
            pb.ReserveUnit(
                id=r.id,
                name=r.name,
                force=forces[r.force],
                type=r.type,
                headcount=r.headcount,
                lead_hours=r.lead_hours,
                max_travel_km=r.max_travel_km,
            )
            for r in instance.reserve
        ],
    )


INT64 = (-(2**63), 2**63 - 1)
"""The range of a protobuf int64."""


def _clamped(value: int) -> int:
    """``value`` within the int64 range (the nearest limit when it is outside)."""
    return max(INT64[0], min(INT64[1], value))


def _decimal(value: int | None) -> str:
    return "" if value is None else str(value)


def _exact(decimal: str, number: int) -> int:
    """A value sent both ways: its decimal digits when given, else its (int64) number."""
    return int(decimal) if decimal else number


def result_to_proto(result: Result) -> rpb.Result:
    """A solve result as its message; values past int64 are clamped, and exact in decimal."""
    risks, terms = _invert(RISKS), _invert(TERMS)
    values = [v for v in (result.objective, result.best_bound) if v is not None]
    return rpb.Result(
        status=_invert(STATUSES)[result.status],
        objective=None if result.objective is None else _clamped(result.objective),
        best_bound=None if result.best_bound is None else _clamped(result.best_bound),
        objective_decimal=_decimal(result.objective),
        best_bound_decimal=_decimal(result.best_bound),
        objective_clamped=any(v != _clamped(v) for v in values),
        gap=result.gap,
        wall_time_seconds=result.wall_time,
        build_time_seconds=result.build_time,
        first_solution_time_seconds=result.first_solution_time,
        plan=plan_to_proto(result.plan),
        coverage=[
            rpb.Coverage(
                venue=c.venue,
                ring=c.ring,
                shift=c.shift,
                risk=risks[c.risk],
                capacity=c.capacity,
                required=c.required,
                assigned=c.assigned,
                shortfall=c.shortfall,
                reason=c.reason,
                rule=c.rule,
                remedy=c.remedy,
            )
            for c in result.coverage
        ],
        breakdown=_term_values(result.breakdown),
        activations=[
            rpb.Activation(
                unit=a.unit,
                force=_invert(FORCES)[a.force],
                type=a.type,
                headcount=a.headcount,
                venue=a.venue,
                ring=a.ring,
                shifts=list(a.shifts),
            )
            for a in result.activations
        ],
        warnings=list(result.warnings),
        term_bounds=[rpb.TermValue(term=terms[t], value=v) for t, v in result.term_bounds.items()],
        figures=None if result.figures is None else figures_to_proto(result.figures),
        phases=[phase_run_to_proto(p) for p in result.phases],
        bound_note=result.bound_note,
        parts=[part_to_proto(p) for p in result.parts],
        dispatches=[
            rpb.Dispatch(unit=d.unit, venue=d.venue, part=d.part) for d in result.dispatches
        ],
    )


def part_to_proto(part: PartSummary) -> rpb.PartResult:
    """One part of an instance planned in parts as its message."""
    terms = _invert(TERMS)
    return rpb.PartResult(
        index=part.index,
        venues=part.venues,
        units=part.units,
        provinces=list(part.provinces),
        cut=part.cut,
        status=_invert(STATUSES)[part.status],
        reason=part.reason,
        shortfall_bound=_clamped(part.shortfall_bound),
        breakdown=[
            rpb.TermValue(term=terms[t], value=_clamped(v), value_decimal=str(v))
            for t, v in part.breakdown.items()
        ],
        wall_time_seconds=part.wall_time,
        reserve_units=part.reserve_units,
        objective_decimal=_decimal(part.objective),
        best_bound_decimal=_decimal(part.best_bound),
    )


def part_from_proto(message: rpb.PartResult) -> PartSummary:
    """One part of an instance planned in parts from its message."""
    return PartSummary(
        index=message.index,
        venues=message.venues,
        units=message.units,
        provinces=tuple(message.provinces),
        cut=message.cut,
        status=STATUSES[message.status],
        reason=message.reason,
        shortfall_bound=message.shortfall_bound,
        breakdown={TERMS[t.term]: _exact(t.value_decimal, t.value) for t in message.breakdown},
        wall_time=message.wall_time_seconds,
        reserve_units=message.reserve_units,
        objective=int(message.objective_decimal) if message.objective_decimal else None,
        best_bound=int(message.best_bound_decimal) if message.best_bound_decimal else None,
    )


def figures_to_proto(figures: Figures) -> rpb.Figures:
    """A plan's figures in people units as their message."""
    terms = _invert(TERMS)
    counts = figures.model_dump(exclude={"terms"})
    return rpb.Figures(
        **counts,
        terms=[
            rpb.TermFigure(
                term=terms[t.term],
                value=t.value,
                unit=t.unit,
                bound=t.bound,
                proven_minimal=t.proven_minimal,
            )
            for t in figures.terms
        ],
    )


def figures_from_proto(message: rpb.Figures) -> Figures:
    """A plan's figures from their message."""
    counts = {
        name: _optional(message, name) if name == "moved_unit_shifts" else getattr(message, name)
        for name in Figures.model_fields
        if name != "terms"
    }
    return Figures(
        **counts,
        terms=tuple(
            TermFigure(
                term=TERMS[t.term],
                value=t.value,
                unit=t.unit,
                bound=_optional(t, "bound"),
                proven_minimal=t.proven_minimal,
            )
            for t in message.terms
        ),
    )


def _term_values(values: Mapping[ObjectiveTerm, int]) -> list[rpb.TermValue]:
    terms = _invert(TERMS)
    return [
        rpb.TermValue(term=terms[t], value=_clamped(v), value_decimal=str(v))
        for t, v in values.items()
    ]


def _term_dict(messages: Sequence[rpb.TermValue]) -> dict[ObjectiveTerm, int]:
    return {TERMS[t.term]: _exact(t.value_decimal, t.value) for t in messages}


PHASE_ENDS = {
    rpb.PHASE_END_DONE: PhaseEnd.DONE,
    rpb.PHASE_END_PROVED: PhaseEnd.PROVED,
    rpb.PHASE_END_NO_MOVE: PhaseEnd.NO_MOVE,
    rpb.PHASE_END_BUDGET: PhaseEnd.BUDGET,
    rpb.PHASE_END_STOPPED: PhaseEnd.STOPPED,
    rpb.PHASE_END_SKIPPED: PhaseEnd.SKIPPED,
}


def phase_run_to_proto(run: PhaseRun) -> rpb.PhaseRun:
    """One phase of the search as its message."""
    return rpb.PhaseRun(
        name=run.name,
        start_seconds=run.start,
        seconds=run.seconds,
        before=_term_values(run.before),
        after=_term_values(run.after),
        end=_invert(PHASE_ENDS)[run.end],
        part=run.part,
    )


def phase_run_from_proto(message: rpb.PhaseRun) -> PhaseRun:
    """One phase of the search from its message."""
    return PhaseRun(
        name=message.name,
        start=message.start_seconds,
        seconds=message.seconds,
        before=_term_dict(message.before),
        after=_term_dict(message.after),
        end=PHASE_ENDS[message.end],
        part=_optional(message, "part"),
    )


def _optional(message: Any, name: str) -> Any:
    return getattr(message, name) if message.HasField(name) else None


def result_from_proto(message: rpb.Result) -> Result:
    """A solve result from its message (what a client receives)."""
    return Result(
        status=STATUSES[message.status],
        objective=(
            _exact(message.objective_decimal, message.objective)
            if message.HasField("objective")
            else None
        ),
        best_bound=(
            _exact(message.best_bound_decimal, message.best_bound)
            if message.HasField("best_bound")
            else None
        ),
        gap=_optional(message, "gap"),
        wall_time=message.wall_time_seconds,
        build_time=message.build_time_seconds,
        first_solution_time=_optional(message, "first_solution_time_seconds"),
        plan=plan_from_proto(message.plan),
        coverage=tuple(
            Coverage(
                venue=c.venue,
                ring=c.ring,
                shift=c.shift,
                risk=RISKS[c.risk],
                capacity=c.capacity,
                required=c.required,
                assigned=c.assigned,
                shortfall=c.shortfall,
                reason=c.reason,
                rule=c.rule,
                remedy=c.remedy,
            )
            for c in message.coverage
        ),
        breakdown=_term_dict(message.breakdown),
        activations=tuple(
            Activation(
                unit=a.unit,
                force=FORCES[a.force],
                type=a.type,
                headcount=a.headcount,
                venue=a.venue,
                ring=a.ring,
                shifts=tuple(a.shifts),
            )
            for a in message.activations
        ),
        warnings=tuple(message.warnings),
        term_bounds={TERMS[t.term]: t.value for t in message.term_bounds},
        figures=figures_from_proto(message.figures) if message.HasField("figures") else None,
        phases=tuple(phase_run_from_proto(p) for p in message.phases),
        bound_note=message.bound_note,
        parts=tuple(part_from_proto(p) for p in message.parts),
        dispatches=tuple(
            Dispatch(unit=d.unit, venue=d.venue, part=d.part) for d in message.dispatches
        ),
    )


def progress_to_proto(progress: Progress) -> rpb.Progress:
    """A progress report as its message."""
    return rpb.Progress(
        objective=_clamped(progress.objective),
        best_bound=_clamped(progress.best_bound),
        objective_decimal=str(progress.objective),
        best_bound_decimal=str(progress.best_bound),
        gap=progress.gap,
        elapsed_seconds=progress.elapsed,
        stage=progress.stage,
        terms=[rpb.TermValue(term=_invert(TERMS)[t], value=v) for t, v in progress.terms.items()],
        term_bounds=[
            rpb.TermValue(term=_invert(TERMS)[t], value=v) for t, v in progress.term_bounds.items()
        ],
        parts_done=progress.parts_done,
        parts_total=progress.parts_total,
        shortfall=progress.shortfall,
    )


def progress_from_proto(message: rpb.Progress) -> Progress:
    """A progress report from its message."""
    return Progress(
        objective=_exact(message.objective_decimal, message.objective),
        best_bound=_exact(message.best_bound_decimal, message.best_bound),
        gap=message.gap,
        elapsed=message.elapsed_seconds,
        stage=message.stage,
        terms={TERMS[t.term]: t.value for t in message.terms},
        term_bounds={TERMS[t.term]: t.value for t in message.term_bounds},
        parts_done=message.parts_done,
        parts_total=message.parts_total,
        shortfall=message.shortfall,
    )


# -- what-if ---------------------------------------------------------------------------

MOVE_KINDS = {
    wpb.MOVE_KIND_MOVED: MoveKind.MOVED,
    wpb.MOVE_KIND_ASSIGNED: MoveKind.ASSIGNED,
    wpb.MOVE_KIND_RELEASED: MoveKind.RELEASED,
}


def change_data(message: wpb.Change, reader: _Reader, at: tuple[PathPart, ...]) -> dict[str, Any]:
    """A ``Change`` message as the domain's tagged data (``type`` names the oneof field)."""
    kind = message.WhichOneof("change")
    if kind is None:
        reader.problems.append(Problem(at, "required: set one kind of change"))
        return {}
    body = getattr(message, kind)
    here = (*at, kind)
    data: dict[str, Any] = {"type": kind}
    if kind == "set_risk":
        data |= {
            "venue": body.venue or None,
            "region": body.region or None,
            "kind": None
            if body.kind == 0
            else reader.enum(body.kind, VENUE_KINDS, "VenueKind", (*here, "kind")),
            "risk": reader.enum(body.risk, RISKS, "RiskLevel", (*here, "risk")),
            "first_shift": body.first_shift or None,
            "last_shift": body.last_shift or None,
        }
    elif kind == "unit_unavailable":
        data |= {"unit": body.unit, "from_shift": body.from_shift}
    elif kind == "add_venue":
        data["venue"] = (
            reader.venue(body.venue, (*here, "venue")) if body.HasField("venue") else None
        )
    elif kind == "close_venue":
        data |= {"venue": body.venue, "from_shift": body.from_shift or None}
    else:
        data |= {
            "venue": body.venue,
            "ring": body.ring,
            "min_headcount": _optional(body, "min_headcount"),
            "capacity": _optional(body, "capacity"),
        }
    return _drop_none(data)


def oneof_path(path: tuple[PathPart, ...], changes: Sequence[wpb.Change]) -> tuple[PathPart, ...]:
    """Put the oneof field into a domain path: ``changes[i].x`` -> ``changes[i].set_risk.x``."""
    if len(path) >= 2 and path[0] == "changes" and isinstance(path[1], int):
        index = path[1]
        if index < len(changes):
            kind = changes[index].WhichOneof("change")
            if kind is not None and (len(path) < 3 or path[2] != kind):
                return ("changes", index, kind, *path[2:])
    return path


def _place(place: Place | None) -> wpb.Place | None:
    return None if place is None else wpb.Place(venue=place.venue, ring=place.ring)


def kpis_to_proto(kpis: Kpis) -> wpb.Kpis:
    """Key figures as their message."""
    return wpb.Kpis(
        shortfall=kpis.shortfall,
        weighted_shortfall=kpis.weighted_shortfall,
        shortfall_by_risk=[
            wpb.RiskShortfall(risk=_invert(RISKS)[k], shortfall=v)
            for k, v in kpis.shortfall_by_risk.items()
        ],
        shortfall_by_ring=[
            wpb.RingShortfall(ring=k, shortfall=v) for k, v in kpis.shortfall_by_ring.items()
        ],
        tni_headcount_shifts=kpis.tni_headcount_shifts,
        travel_km=kpis.travel_km,
        assignments=kpis.assignments,
    )


def kpis_from_proto(message: wpb.Kpis) -> Kpis:
    """Key figures from their message."""
    return Kpis(
        shortfall=message.shortfall,
        weighted_shortfall=message.weighted_shortfall,
        shortfall_by_risk={RISKS[r.risk]: r.shortfall for r in message.shortfall_by_risk},
        shortfall_by_ring={r.ring: r.shortfall for r in message.shortfall_by_ring},
        tni_headcount_shifts=message.tni_headcount_shifts,
        travel_km=message.travel_km,
        assignments=message.assignments,
    )


def answer_to_proto(response: WhatIfResponse) -> wpb.WhatIfAnswer:
    """A what-if answer as its message."""
    diff = response.diff
    return wpb.WhatIfAnswer(
        name=response.name,
        result=result_to_proto(response.result),
        diff=wpb.PlanDiff(
            moves=[
                wpb.Move(
                    unit=m.unit,
                    shift=m.shift,
                    kind=_invert(MOVE_KINDS)[m.kind],
                    before=_place(m.before),
                    after=_place(m.after),
                    reserve=m.reserve,
                    forced=m.forced,
                )
                for m in diff.moves
            ],
            moved_unit_shifts=diff.moved_unit_shifts,
            moved=diff.moved,
            assigned=diff.assigned,
            released=diff.released,
            forced=diff.forced,
            activated=list(diff.activated),
            stood_down=list(diff.stood_down),
        ),
        before=kpis_to_proto(response.before),
        after=kpis_to_proto(response.after),
        delta=kpis_to_proto(response.delta),
        locked_shifts=list(response.locked_shifts),
        violations=list(response.violations),
        summary=response.summary(),
    )


def answer_from_proto(message: wpb.WhatIfAnswer) -> WhatIfResponse:
    """A what-if answer from its message (what a client receives)."""
    d = message.diff

    def place(has: bool, p: wpb.Place) -> Place | None:
        return Place(venue=p.venue, ring=p.ring) if has else None

    return WhatIfResponse(
        name=message.name,
        result=result_from_proto(message.result),
        diff=PlanDiff(
            moves=tuple(
                Move(
                    unit=m.unit,
                    shift=m.shift,
                    kind=MOVE_KINDS[m.kind],
                    before=place(m.HasField("before"), m.before),
                    after=place(m.HasField("after"), m.after),
                    reserve=m.reserve,
                    forced=m.forced,
                )
                for m in d.moves
            ),
            moved_unit_shifts=d.moved_unit_shifts,
            moved=d.moved,
            assigned=d.assigned,
            released=d.released,
            forced=d.forced,
            activated=tuple(d.activated),
            stood_down=tuple(d.stood_down),
        ),
        before=kpis_from_proto(message.before),
        after=kpis_from_proto(message.after),
        delta=kpis_from_proto(message.delta),
        locked_shifts=tuple(message.locked_shifts),
        violations=tuple(message.violations),
    )


def comparison_to_proto(row: ComparisonRow) -> wpb.ComparisonRow:
    """A batch's comparison line as its message."""
    return wpb.ComparisonRow(
        name=row.name,
        status=_invert(STATUSES)[row.status],
        shortfall=row.shortfall,
        shortfall_delta=row.shortfall_delta,
        weighted_shortfall=row.weighted_shortfall,
        moved_unit_shifts=row.moved_unit_shifts,
        assigned=row.assigned,
        released=row.released,
        reserve_activated=row.reserve_activated,
        tni_delta=row.tni_delta,
        travel_delta=row.travel_delta,
        wall_time_seconds=row.wall_time,
    )


def change_to_proto(change: Change) -> wpb.Change:
    """A domain change as its message (what a client sends)."""
    if isinstance(change, SetRisk):
        return wpb.Change(
            set_risk=wpb.SetRisk(
                venue=change.venue or "",
                region=change.region or "",
                kind=_invert(VENUE_KINDS)[change.kind]
                if change.kind
                else pb.VENUE_KIND_UNSPECIFIED,
                risk=_invert(RISKS)[change.risk],
                first_shift=change.first_shift or "",
                last_shift=change.last_shift or "",
            )
        )
    if isinstance(change, UnitUnavailable):
        return wpb.Change(
            unit_unavailable=wpb.UnitUnavailable(unit=change.unit, from_shift=change.from_shift)
        )
    if isinstance(change, AddVenue):
        venue = instance_to_proto_venue(change.venue)
        return wpb.Change(add_venue=wpb.AddVenue(venue=venue))
    if isinstance(change, CloseVenue):
        closing = wpb.CloseVenue(venue=change.venue, from_shift=change.from_shift or "")
        return wpb.Change(close_venue=closing)
    return wpb.Change(
        set_ring=wpb.SetRing(
            venue=change.venue,
            ring=change.ring,
            min_headcount=change.min_headcount,
            capacity=change.capacity,
        )
    )
