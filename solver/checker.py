"""Independent checker: recomputes every rule of a plan from the instance and the plan alone.

It shares no code with the model builder (:mod:`solver.model`): distances, requirements, rest,
windows and days are worked out again here, in the plainest way, so that a defect in the model
cannot hide in both places.
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta

from solver.domain import Assignment, Instance, Plan, Rules, Shift, Unit


@dataclass(frozen=True)
class SlotCoverage:
    """Recomputed coverage of one ring of one venue in one shift."""

    venue: str
    ring: int
    shift: str
    required: int
    assigned: int

    @property
    def shortfall(self) -> int:
        return max(0, self.required - self.assigned)


@dataclass
class CheckReport:
    """Every broken rule of a plan, and the coverage the plan really achieves."""

    violations: list[str] = field(default_factory=list)
    coverage: dict[tuple[str, int, str], SlotCoverage] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Whether the plan breaks no hard rule."""
        return not self.violations

    @property
    def total_shortfall(self) -> int:
        return sum(row.shortfall for row in self.coverage.values())


def _km(a_lat: float, a_lon: float, b_lat: float, b_lon: float) -> float:
    # Spherical law of cosines on the mean Earth radius; agrees with haversine to well under
    # a metre at the distances that matter here.
    to_rad = math.pi / 180
    cos_angle = math.sin(a_lat * to_rad) * math.sin(b_lat * to_rad) + math.cos(
        a_lat * to_rad
    ) * math.cos(b_lat * to_rad) * math.cos((b_lon - a_lon) * to_rad)
    return 6371.0088 * math.acos(max(-1.0, min(1.0, cos_angle)))


def _free_for(unit: Unit, shift: Shift) -> bool:
    if unit.available_shifts is not None and shift.id not in set(unit.available_shifts):
        return False
    if unit.available_windows is None:
        return True
    return any(
        window.start <= shift.start and window.end >= shift.end for window in unit.available_windows
    )


def check_plan(instance: Instance, plan: Plan | Iterable[Assignment]) -> CheckReport:
    """Check every hard rule of ``plan`` and recompute its coverage.

    Hard rules: references exist; a unit is in one place per shift; availability; force and
    type allowed in the ring; no one at a venue in a shift in which it is not guarded; travel
    limit; ring capacity; minimum rest between shifts; maximum shifts over the horizon and per
    24 hours; maximum consecutive duty days. Coverage is required only in guarded shifts.
    """
    assignments = list(plan.assignments if isinstance(plan, Plan) else plan)
    report = CheckReport()
    headcount_in, shifts_of = _check_places(instance, assignments, report.violations)
    _check_rings(instance, headcount_in, report)
    for unit_id, worked in shifts_of.items():
        _check_duty(instance.rules, unit_id, worked, report.violations)
    return report


def _check_places(
    instance: Instance, assignments: list[Assignment], bad: list[str]
) -> tuple[dict[tuple[str, int, str], int], dict[str, list[Shift]]]:
    """The rules of each assignment on its own (references, one place per shift,
    availability, forces and types, guarded shifts, travel); return the headcount in each
    ring-shift and the shifts each unit works."""
    rules = instance.rules
    units = {u.id: u for u in instance.units}
    venues = {v.id: v for v in instance.venues}
    shifts = {s.id: s for s in instance.shifts}

    headcount_in: dict[tuple[str, int, str], int] = defaultdict(int)
    shifts_of: dict[str, list[Shift]] = defaultdict(list)
    seen: dict[tuple[str, str], Assignment] = {}
    for a in assignments:
        where = f"{a.unit} at {a.venue} ring {a.ring} in {a.shift}"
        unit, venue, shift = units.get(a.unit), venues.get(a.venue), shifts.get(a.shift)
        if unit is None or venue is None or shift is None:
            missing = [
                f"{kind} '{key}'"
                for kind, key, obj in (
                    ("unit", a.unit, unit),
                    ("venue", a.venue, venue),
                    ("shift", a.shift, shift),
                )
                if obj is None
            ]
            bad.append(f"{where}: unknown {', '.join(missing)}")
            continue
        ring = next((r for r in venue.rings if r.number == a.ring), None)
        if ring is None:
            bad.append(f"{where}: venue has no ring {a.ring}")
            continue
        if (a.unit, a.shift) in seen:
            other = seen[a.unit, a.shift]
            bad.append(
                f"{where}: unit already at {other.venue} ring {other.ring} in the same shift"
            )
            continue
        seen[a.unit, a.shift] = a
        shifts_of[a.unit].append(shift)
        headcount_in[a.venue, a.ring, a.shift] += unit.headcount
        if not _free_for(unit, shift):
            bad.append(f"{where}: unit is not available in this shift")
        if venue.guarded_shifts is not None and a.shift not in set(venue.guarded_shifts):
            bad.append(f"{where}: the venue is not guarded in this shift")
        if unit.force not in ring.allowed_forces:
            bad.append(f"{where}: force {unit.force.value} is not allowed in this ring")
        if ring.allowed_types is not None and unit.type not in ring.allowed_types:
            bad.append(f"{where}: unit type '{unit.type}' is not allowed in this ring")
        limit = unit.max_travel_km or rules.max_travel_km
        if limit is not None:
            km = _km(
                unit.home.location.lat,
                unit.home.location.lon,
                venue.location.lat,
                venue.location.lon,
            )
            if km > limit + 1e-6:
                bad.append(f"{where}: {km:.1f} km from home exceeds the limit of {limit:g} km")
    return headcount_in, shifts_of


def _check_rings(
    instance: Instance, headcount_in: dict[tuple[str, int, str], int], report: CheckReport
) -> None:
    """Ring capacity, and each ring-shift's coverage against its requirement."""
    bad, rules = report.violations, instance.rules
    for venue in instance.venues:
        for ring in venue.rings:
            for shift in instance.shifts:
                key = (venue.id, ring.number, shift.id)
                got = headcount_in.get(key, 0)
                if got > ring.capacity:
                    bad.append(
                        f"{venue.id} ring {ring.number} in {shift.id}: "
                        f"{got} headcount exceeds capacity {ring.capacity}"
                    )
                level = shift.id
                risk = venue.risk
                for override in venue.risk_overrides:
                    if level in override.shifts:
                        risk = override.risk
                need = math.ceil(round(ring.min_headcount * rules.risk_multipliers[risk], 9))
                if venue.guarded_shifts is not None and shift.id not in venue.guarded_shifts:
                    need = 0  # not guarded then: nobody required (anyone there is a violation)
                if need or got:
                    report.coverage[key] = SlotCoverage(venue.id, ring.number, shift.id, need, got)


def _check_duty(rules: Rules, unit_id: str, worked: list[Shift], bad: list[str]) -> None:
    """Rest between shifts, most shifts, most shifts in 24 hours, days in a row."""
    rest = timedelta(hours=rules.min_rest_hours)
    worked.sort(key=lambda s: (s.start, s.end))
    for i, first in enumerate(worked):
        for second in worked[i + 1 :]:
            # Sorted by start, so `second` starts no earlier than `first`.
            if second.start < first.end + rest:
                gap = (second.start - first.end).total_seconds() / 3600
                bad.append(
                    f"unit {unit_id}: only {gap:g} h between {first.id} and {second.id}, "
                    f"{rules.min_rest_hours:g} h rest required"
                )
    if rules.max_shifts is not None and len(worked) > rules.max_shifts:
        bad.append(
            f"unit {unit_id}: works {len(worked)} shifts, at most {rules.max_shifts} allowed"
        )
    if rules.max_shifts_per_24h is not None:
        for first in worked:
            inside = [s for s in worked if first.start <= s.start < first.start + timedelta(1)]
            if len(inside) > rules.max_shifts_per_24h:
                bad.append(
                    f"unit {unit_id}: {len(inside)} shifts start within 24 h of "
                    f"{first.id}, at most {rules.max_shifts_per_24h} allowed"
                )
    if rules.max_consecutive_days is not None:
        on_days = sorted({s.start.date() for s in worked})
        run = 1
        for before, after in itertools.pairwise(on_days):
            run = run + 1 if (after - before).days == 1 else 1
            if run > rules.max_consecutive_days:
                bad.append(
                    f"unit {unit_id}: on duty {run} days in a row up to {after}, "
                    f"at most {rules.max_consecutive_days} allowed"
                )
