"""The national reserve: which part gets which reserve units.

Reserve units (:class:`~solver.domain.ReserveUnit`) belong to no province. The coordinator
works in rounds on the parts' latest plans:

1. **Needs.** Each part reports, from its plan's coverage, where extra people would lower its
   weighted shortfall: for a reserve kind (force, type, headcount, lead time) based at a venue
   with shortfall (a *hub*), the gain is the weighted shortfall it could cover there
   (:func:`gain`): in each shift from its lead time on, the best missing ring it may stand in
   at a venue within its travel limit of the hub, up to the most shifts a unit may work.
2. **Allocation.** A small CP-SAT model (:func:`allocate`) chooses how many units of each kind
   go to each hub, maximising the total gain, with no part and no hub credited with more than
   the weighted shortfall it has.
3. **Re-plan.** Each part that received units plans again with them (based at their hubs,
   :func:`dispatched_instance`) by its quick plan (greedy and repair,
   :func:`solver.parts.task.quick_plan`); the new plan is kept if its weighted shortfall is
   lower, else the units go back to the pool and the part is left out of later rounds. The
   search round that follows starts every part from its plan, reserve units included.

Rounds repeat while units are left, some part improved, and time remains.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from ortools.sat.python import cp_model

from solver.domain import Home, Instance, ReserveUnit, TimeWindow, Unit, Venue
from solver.model.data import great_circle_km
from solver.result import Dispatch

MAX_HUBS = 120
"""Venues with the most weighted shortfall considered as hubs in one round."""

ALLOCATION_SECONDS = 2.0
"""Time limit of the allocation model."""


@dataclass(frozen=True)
class Kind:
    """Reserve units that are interchangeable: same force, type, headcount, lead and reach."""

    force: str
    type: str
    headcount: int
    lead_hours: float
    max_travel_km: float | None


def kind_of(unit: ReserveUnit) -> Kind:
    return Kind(unit.force.value, unit.type, unit.headcount, unit.lead_hours, unit.max_travel_km)


def reserve_unit(instance: Instance, unit: ReserveUnit, venue: Venue) -> Unit:
    """``unit`` as a standby unit based at ``venue``, available from its lead time on."""
    first = min(s.start for s in instance.shifts)
    last = max(s.end for s in instance.shifts)
    ready = first + timedelta(hours=unit.lead_hours)
    extra: dict[str, Any] = {}
    if ready >= last:  # never ready within the horizon: a window after it
        extra["available_windows"] = (TimeWindow(start=ready, end=ready + timedelta(hours=1)),)
    elif ready > first:
        extra["available_windows"] = (TimeWindow(start=ready, end=last),)
    return Unit(
        id=unit.id,
        name=unit.name or unit.id,
        force=unit.force,
        type=unit.type,
        headcount=unit.headcount,
        home=Home(region=venue.region, location=venue.location),
        standby=True,
        max_travel_km=unit.max_travel_km,
        **extra,
    )


def dispatched_instance(instance: Instance, dispatches: Sequence[Dispatch]) -> Instance:
    """``instance`` with every dispatched reserve unit as a unit of its own, based at the venue
    it was sent to, and no reserve left: the instance a plan with dispatches is checked on."""
    reserve = {unit.id: unit for unit in instance.reserve}
    venues = {venue.id: venue for venue in instance.venues}
    added = tuple(reserve_unit(instance, reserve[d.unit], venues[d.venue]) for d in dispatches)
    return instance.model_copy(update={"units": instance.units + added, "reserve": ()})


def slot_weight(instance: Instance, risk: str, ring: int) -> int:
    rules = instance.rules
    return rules.risk_weights[risk] * rules.ring_weights[ring]  # type: ignore[index]


def gain(
    instance: Instance,
    kind: Kind,
    hub: Venue,
    rows: Sequence[Mapping[str, Any]],
) -> int:
    """Weighted shortfall one unit of ``kind`` based at ``hub`` could cover among ``rows``
    (coverage rows of the hub's part): per shift, the best missing ring that admits it at a
    venue within reach, from its lead time on, over at most ``max_shifts`` shifts."""
    venues = {venue.id: venue for venue in instance.venues}
    shifts = {shift.id: shift for shift in instance.shifts}
    first = min(s.start for s in instance.shifts)
    ready = first + timedelta(hours=kind.lead_hours)
    limit = kind.max_travel_km or instance.rules.max_travel_km or math.inf
    best: dict[str, int] = {}
    for row in rows:
        short = int(row["shortfall"])
        if short <= 0 or shifts[row["shift"]].start < ready:
            continue
        venue = venues[row["venue"]]
        ring = next(r for r in venue.rings if r.number == row["ring"])
        if kind.force not in {f.value for f in ring.allowed_forces}:
            continue
        if ring.allowed_types is not None and kind.type not in ring.allowed_types:
            continue
        if kind.headcount > ring.capacity:
            continue
        km = great_circle_km(
            hub.location.lat, hub.location.lon, venue.location.lat, venue.location.lon
        )
        if km > limit:
            continue
        value = slot_weight(instance, row["risk"], row["ring"]) * min(kind.headcount, short)
        best[row["shift"]] = max(best.get(row["shift"], 0), value)
    most = instance.rules.max_shifts or len(instance.shifts)
    return sum(sorted(best.values(), reverse=True)[:most])


def weighted_shortfall(instance: Instance, rows: Sequence[Mapping[str, Any]]) -> int:
    """The shortfall term of coverage rows: missing headcount weighted by risk and ring."""
    return sum(
        slot_weight(instance, row["risk"], row["ring"]) * int(row["shortfall"]) for row in rows
    )


def allocate(
    instance: Instance,
    pool: Mapping[Kind, int],
    rows_of: Mapping[int, Sequence[Mapping[str, Any]]],
    seed: int = 0,
) -> dict[tuple[int, str], dict[Kind, int]]:
    """How many units of each kind go to each (part, hub venue id): the CP-SAT model of the
    module's step 2. ``rows_of`` holds each candidate part's coverage rows."""
    venues = {venue.id: venue for venue in instance.venues}
    need: dict[tuple[int, str], int] = {}
    for part, rows in rows_of.items():
        for row in rows:
            if int(row["shortfall"]) > 0:
                key = (part, row["venue"])
                weight = slot_weight(instance, row["risk"], row["ring"])
                need[key] = need.get(key, 0) + weight * int(row["shortfall"])
    hubs = sorted(need, key=lambda key: -need[key])[:MAX_HUBS]
    model = cp_model.CpModel()
    counts: dict[tuple[int, str, Kind], tuple[cp_model.IntVar, int]] = {}
    for part, venue_id in hubs:
        for kind, available in pool.items():
            value = gain(instance, kind, venues[venue_id], rows_of[part])
            if value > 0 and available > 0:
                var = model.new_int_var(0, available, f"sent ({kind.type}, {venue_id})")
                counts[part, venue_id, kind] = (var, value)
    if not counts:
        return {}
    for kind, available in pool.items():
        model.add(sum(v for (_p, _h, k), (v, _g) in counts.items() if k == kind) <= available)
    part_need = {p: weighted_shortfall(instance, rows) for p, rows in rows_of.items()}
    for part in {p for p, _h in hubs}:
        # A part is credited with at most the weighted shortfall it has, and so is a hub's
        # area (the shortfall reachable from it).
        terms = [g * v for (p, _h, _k), (v, g) in counts.items() if p == part]
        model.add(sum(terms) <= part_need[part])
    reach = max(
        (k.max_travel_km or instance.rules.max_travel_km or math.inf for k in pool), default=0.0
    )
    for part, hub_id in hubs:
        site = venues[hub_id]
        area = [
            row
            for row in rows_of[part]
            if great_circle_km(
                site.location.lat,
                site.location.lon,
                venues[row["venue"]].location.lat,
                venues[row["venue"]].location.lon,
            )
            <= reach
        ]
        terms = [g * v for (p, h, _k), (v, g) in counts.items() if (p, h) == (part, hub_id)]
        model.add(sum(terms) <= weighted_shortfall(instance, area))
    model.maximize(sum(g * v for v, g in counts.values()))
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = ALLOCATION_SECONDS
    solver.parameters.num_workers = 1
    solver.parameters.random_seed = seed
    status = solver.solve(model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return {}
    result: dict[tuple[int, str], dict[Kind, int]] = {}
    for (part, hub, kind), (var, _g) in counts.items():
        n = int(solver.value(var))
        if n:
            result.setdefault((part, hub), {})[kind] = n
    return result
