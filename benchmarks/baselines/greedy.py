"""The plan a human planner would draw up by hand.

Take the rings in order of urgency: the riskiest venue-shifts first and, within one risk level,
the inner rings first. Fill each ring with the nearest free unit that may stand there, police
before TNI or standby units, until the requirement is met or no unit is left; never break a hard
rule (availability, force and type, travel limit, capacity, one place per shift, rest, most
shifts, shifts per 24 hours, consecutive days). A unit is never moved once placed.
"""

from __future__ import annotations

import time
from collections import defaultdict

import numpy as np
import numpy.typing as npt

from benchmarks.baselines import Outcome
from solver import Assignment, Instance, Plan
from solver.domain import Shift, Unit
from solver.model.data import (
    EARTH_RADIUS_KM,
    is_reserve,
    required_headcount,
    shift_days,
    shift_relations,
)


def _km_to_all(
    lat: float, lon: float, lats: npt.NDArray[np.float64], lons: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """Haversine distances from one point to many, in kilometres."""
    p1, p2 = np.radians(lat), np.radians(lats)
    dp, dl = p2 - p1, np.radians(lons - lon)
    h = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    km: npt.NDArray[np.float64] = 2 * EARTH_RADIUS_KM * np.arcsin(np.minimum(1.0, np.sqrt(h)))
    return km


def _open_shifts(unit: Unit, shifts: tuple[Shift, ...]) -> set[int]:
    """Indices of the shifts the unit is available for."""
    allowed = set(unit.available_shifts) if unit.available_shifts is not None else None
    out = set()
    for s, shift in enumerate(shifts):
        if allowed is not None and shift.id not in allowed:
            continue
        windows = unit.available_windows
        if windows is not None and not any(
            w.start <= shift.start and shift.end <= w.end for w in windows
        ):
            continue
        out.add(s)
    return out


class _Roster:
    """What each unit already works, and whether one more shift keeps every duty rule."""

    def __init__(self, instance: Instance) -> None:
        self.rules = instance.rules
        conflicts, self.windows_24h = shift_relations(instance)
        self.conflicts: dict[int, set[int]] = defaultdict(set)
        for a, b in conflicts:
            self.conflicts[a].add(b)
            self.conflicts[b].add(a)
        self.days, self.shift_day = shift_days(instance)
        self.worked: dict[int, set[int]] = defaultdict(set)
        self.duty_days: dict[int, set[int]] = defaultdict(set)

    def allows(self, unit: int, shift: int) -> bool:
        worked = self.worked[unit]
        if shift in worked or worked & self.conflicts[shift]:
            return False
        rules = self.rules
        if rules.max_shifts is not None and len(worked) + 1 > rules.max_shifts:
            return False
        if rules.max_shifts_per_24h is not None:
            limit = rules.max_shifts_per_24h
            for window in self.windows_24h:
                if shift in window and 1 + sum(1 for s in window if s in worked) > limit:
                    return False
        if rules.max_consecutive_days is not None:
            days = self.duty_days[unit] | {self.shift_day[shift]}
            day, run = self.shift_day[shift], 1
            while day - run in days:
                run += 1
            after = 1
            while day + after in days:
                after += 1
            if run + after - 1 > rules.max_consecutive_days:
                return False
        return True

    def add(self, unit: int, shift: int) -> None:
        self.worked[unit].add(shift)
        self.duty_days[unit].add(self.shift_day[shift])


def plan_greedy(instance: Instance) -> Plan:
    """The greedy planner's plan (see the module docstring)."""
    rules = instance.rules
    units, venues, shifts = instance.units, instance.venues, instance.shifts
    lats = np.array([u.home.location.lat for u in units], dtype=np.float64)
    lons = np.array([u.home.location.lon for u in units], dtype=np.float64)
    limits = np.array(
        [
            u.max_travel_km
            if u.max_travel_km is not None
            else (rules.max_travel_km if rules.max_travel_km is not None else np.inf)
            for u in units
        ],
        dtype=np.float64,
    )
    open_shifts = [_open_shifts(u, shifts) for u in units]
    reserve = [is_reserve(u) for u in units]

    # Units in range of each venue, nearest first.
    nearby: list[list[int]] = []
    for venue in venues:
        km = _km_to_all(venue.location.lat, venue.location.lon, lats, lons)
        inside = np.flatnonzero(km <= limits + 1e-9)
        nearby.append([int(u) for u in inside[np.argsort(km[inside], kind="stable")]])

    slots = []
    for v, venue in enumerate(venues):
        for ring in venue.rings:
            for s, shift in enumerate(shifts):
                risk = venue.risk_at(shift.id)
                need = required_headcount(ring.min_headcount, rules.risk_multipliers[risk])
                if need > 0:
                    urgency = (-rules.risk_weights[risk], ring.number, s, v)
                    slots.append((urgency, v, ring, s, need))
    slots.sort(key=lambda slot: slot[0])

    roster = _Roster(instance)
    assignments = []
    for _, v, ring, s, need in slots:
        got = 0
        for want_reserve in (False, True):
            for u in nearby[v]:
                if got >= need:
                    break
                unit = units[u]
                if reserve[u] != want_reserve or s not in open_shifts[u]:
                    continue
                if unit.force not in ring.allowed_forces:
                    continue
                if ring.allowed_types is not None and unit.type not in ring.allowed_types:
                    continue
                if got + unit.headcount > ring.capacity or not roster.allows(u, s):
                    continue
                roster.add(u, s)
                got += unit.headcount
                assignments.append(
                    Assignment(
                        unit=unit.id, venue=venues[v].id, ring=ring.number, shift=shifts[s].id
                    )
                )
    return Plan(assignments=tuple(assignments))


def run_greedy(instance: Instance) -> Outcome:
    """Run the greedy planner; it ignores any time budget (it takes what it takes)."""
    start = time.perf_counter()
    plan = plan_greedy(instance)
    elapsed = time.perf_counter() - start
    return Outcome(
        status="feasible",
        plan=plan,
        build_time=0.0,
        first_solution_time=elapsed,
        plans=[(elapsed, plan)],
    )
