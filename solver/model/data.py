"""What the model is built from: requirements per slot and the candidate assignments.

Pruning happens here, before a variable exists: a unit is a candidate for a ring of a venue in a
shift only when it is available then, its force and type are allowed in the ring, the venue is
within its travel limit, and its headcount fits the ring's capacity.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, timedelta

from solver.domain import Force, Instance, RiskLevel, Shift, Unit

EARTH_RADIUS_KM = 6371.0088


def great_circle_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Haversine distance in kilometres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def required_headcount(base: int, multiplier: float) -> int:
    """Base minimum times the risk multiplier, rounded up (with a guard against float noise)."""
    return math.ceil(base * multiplier - 1e-9)


def is_reserve(unit: Unit) -> bool:
    """TNI and standby units are the reserve the police call on only when needed."""
    return unit.force is Force.TNI or unit.standby


@dataclass(frozen=True)
class Slot:
    """One ring of one venue in one shift: where coverage is required."""

    venue: int
    ring: int
    """Index of the ring within the venue's rings (not its number)."""
    shift: int
    required: int
    capacity: int
    risk: RiskLevel
    weight: int
    """Objective weight of one missing person here (risk weight x ring weight)."""


@dataclass(frozen=True)
class Candidate:
    """A possible assignment: unit ``unit`` in slot ``slot``."""

    unit: int
    slot: int
    km: int
    """Rounded travel distance from the unit's home to the venue."""


@dataclass
class ModelData:
    """Indices over an instance, shared by the model builder and the result reader."""

    instance: Instance
    slots: list[Slot]
    candidates: list[Candidate]
    by_slot: list[list[int]] = field(default_factory=list)
    """Candidate indices per slot."""
    by_unit_shift: dict[tuple[int, int], list[int]] = field(default_factory=dict)
    """Candidate indices per (unit, shift)."""
    shift_conflicts: list[tuple[int, int]] = field(default_factory=list)
    """Pairs of shifts one unit may not both work (overlap or too little rest)."""
    windows_24h: list[list[int]] = field(default_factory=list)
    """For each shift, the shifts that start within 24 hours from its start."""
    days: list[date] = field(default_factory=list)
    """Calendar days of the horizon, in order."""
    shift_day: list[int] = field(default_factory=list)
    """Index in :attr:`days` of each shift's start date."""


def _available(unit: Unit, shift: Shift) -> bool:
    if unit.available_shifts is not None and shift.id not in unit.available_shifts:
        return False
    if unit.available_windows is not None:
        return any(w.start <= shift.start and shift.end <= w.end for w in unit.available_windows)
    return True


def build_data(instance: Instance) -> ModelData:
    """Compute slots, pruned candidates and the shift relations the rules need."""
    rules = instance.rules
    slots: list[Slot] = []
    for v, venue in enumerate(instance.venues):
        for r, ring in enumerate(venue.rings):
            for s, shift in enumerate(instance.shifts):
                risk = venue.risk_at(shift.id)
                slots.append(
                    Slot(
                        venue=v,
                        ring=r,
                        shift=s,
                        required=required_headcount(
                            ring.min_headcount, rules.risk_multipliers[risk]
                        ),
                        capacity=ring.capacity,
                        risk=risk,
                        weight=rules.risk_weights[risk] * rules.ring_weights[ring.number],
                    )
                )

    slot_index = {(slot.venue, slot.ring, slot.shift): i for i, slot in enumerate(slots)}

    candidates: list[Candidate] = []
    for u, unit in enumerate(instance.units):
        limit = unit.max_travel_km if unit.max_travel_km is not None else rules.max_travel_km
        open_shifts = [s for s, shift in enumerate(instance.shifts) if _available(unit, shift)]
        if not open_shifts:
            continue
        for v, venue in enumerate(instance.venues):
            km = great_circle_km(
                unit.home.location.lat,
                unit.home.location.lon,
                venue.location.lat,
                venue.location.lon,
            )
            if limit is not None and km > limit:
                continue
            for r, ring in enumerate(venue.rings):
                if unit.force not in ring.allowed_forces:
                    continue
                if ring.allowed_types is not None and unit.type not in ring.allowed_types:
                    continue
                if unit.headcount > ring.capacity:
                    continue
                candidates.extend(
                    Candidate(unit=u, slot=slot_index[v, r, s], km=round(km)) for s in open_shifts
                )

    data = ModelData(instance=instance, slots=slots, candidates=candidates)
    data.by_slot = [[] for _ in slots]
    for c, candidate in enumerate(candidates):
        data.by_slot[candidate.slot].append(c)
        key = (candidate.unit, slots[candidate.slot].shift)
        data.by_unit_shift.setdefault(key, []).append(c)
    data.shift_conflicts, data.windows_24h = shift_relations(instance)
    data.days, data.shift_day = shift_days(instance)
    return data


def shift_days(instance: Instance) -> tuple[list[date], list[int]]:
    """The calendar days of the horizon and each shift's day (its start date, local time)."""
    starts = [shift.start.date() for shift in instance.shifts]
    first, last = min(starts), max(starts)
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    return days, [(day - first).days for day in starts]


def shift_relations(instance: Instance) -> tuple[list[tuple[int, int]], list[list[int]]]:
    """Conflicting shift pairs under the rest rule, and the 24-hour windows."""
    rest = timedelta(hours=instance.rules.min_rest_hours)
    shifts = instance.shifts
    conflicts = []
    windows = []
    for a, sa in enumerate(shifts):
        for b in range(a + 1, len(shifts)):
            sb = shifts[b]
            if sb.start < sa.end + rest and sa.start < sb.end + rest:
                conflicts.append((a, b))
        windows.append(
            [b for b, sb in enumerate(shifts) if sa.start <= sb.start < sa.start + timedelta(1)]
        )
    return conflicts, windows
