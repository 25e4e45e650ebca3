"""The first plan of the whole instance, made in the calling process before the parts run.

:func:`solver.heuristics.waves.wave_plan` plans the whole instance from the domain in a few
seconds (the tight nation: about 3 s on a loaded core), on the reach the split computed. It is
made right after the reach, before the parts are cut and the cluster starts (on two cores,
starting the cluster beside it slowed it down); its plan is the first whole plan (reported at
once), and each part's slice of it is the start of that part's quick plan
(:func:`solver.parts.task.quick_plan`), which tops it up and repairs it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt

from solver.decompose import Part, part_instance
from solver.domain import Assignment, Instance, ObjectiveTerm, Plan
from solver.heuristics.waves import PlainAssignment, WavePlan, fits, wave_plan
from solver.model.data import build_slots, great_circle_km
from solver.model.groups import is_reserve
from solver.parts.split import DomainPart
from solver.parts.task import PartOutcome, quick_outcome
from solver.report import plan_activations, slot_coverage

logger = logging.getLogger(__name__)

OnFirstPlan = Callable[[WavePlan, float], None]
"""Called with the first whole plan and the seconds since the solve began."""


class FirstPlan:
    """The wave plan of ``instance`` (see the module), made when built; ``on_plan`` is called
    with it. None when the instance does not :func:`~solver.heuristics.waves.fits`, has no
    unit, or memory ran out."""

    def __init__(
        self,
        instance: Instance,
        reached: Sequence[npt.NDArray[np.int64]],
        deadline: float,
        began: float,
        on_plan: OnFirstPlan | None = None,
    ) -> None:
        self.plan: WavePlan | None = None
        self.elapsed: float | None = None
        """Seconds from ``began`` (``time.perf_counter()``) to the plan."""
        self._instance = instance
        self.pairs = sum(len(venues) for venues in reached)
        """(unit, venue) pairs of the instance's reach: the planner's work."""
        if not instance.units or not fits(instance):
            return
        try:
            self.plan = wave_plan(instance, reached, deadline=deadline)
        except MemoryError:
            logger.warning("the first whole plan ran out of memory; parts plan alone")
            return
        self.elapsed = time.perf_counter() - began
        logger.info(
            "first whole plan in %.1f s: weighted shortfall %d",
            self.elapsed,
            self.plan.weighted_shortfall,
        )
        if on_plan is not None:
            on_plan(self.plan, self.elapsed)

    def pairs_per_second(self) -> float | None:
        """How fast the planner went: :attr:`pairs` over its seconds (None without a plan).
        It measures what the machine gives a process now, its load included."""
        if self.plan is None or self.plan.seconds <= 0:
            return None
        return self.pairs / self.plan.seconds

    def hints(self, parts: Sequence[DomainPart]) -> dict[int, tuple[PlainAssignment, ...]]:
        """Each part's slice of the plan (empty when there is none)."""
        if self.plan is None:
            return {}
        units = self._instance.units
        part_of = {units[u].id: i for i, part in enumerate(parts) for u in part.units}
        rows: dict[int, list[PlainAssignment]] = {}
        for row in self.plan.assignments:
            i = part_of.get(row[0])
            if i is not None:
                rows.setdefault(i, []).append(row)
        return {i: tuple(found) for i, found in rows.items()}


def slice_outcome(
    instance: Instance,
    part: DomainPart,
    rows: Sequence[PlainAssignment],
    index: int,
    uppers: Sequence[int],
) -> PartOutcome:
    """``part``'s outcome for the plan ``rows`` (its slice of the first whole plan), worked
    out from the domain, with no model: building a whole province's model data takes longer
    than the plan is worth when the province was cut for want of time. Coverage rows,
    activations and terms are those the model's evaluator gives (the travel term with each
    distance rounded to the kilometre); ``uppers`` bound the terms (those of the parts the
    province was cut into, added up: its own need its model). Its bound is 0."""
    began = time.perf_counter()
    sub = part_instance(instance, Part(part.venues, part.units)).model_copy(update={"reserve": ()})
    slots = build_slots(sub)
    venues, shifts, units = sub.venues, sub.shifts, {u.id: u for u in sub.units}
    slot_of = {
        (venues[s.venue].id, venues[s.venue].rings[s.ring].number, shifts[s.shift].id): k
        for k, s in enumerate(slots)
    }
    site = {v.id: v.location for v in venues}
    reserve_ids = {u for u, unit in units.items() if is_reserve(unit)}
    assigned = np.zeros(len(slots), dtype=np.int64)
    load: dict[str, int] = {}
    km: dict[tuple[str, str], int] = {}  # a unit stands at the same venue in many shifts
    tni = travel = 0
    for unit_id, venue, ring, shift in rows:
        unit = units[unit_id]
        assigned[slot_of[venue, ring, shift]] += unit.headcount
        load[unit_id] = load.get(unit_id, 0) + 1
        tni += unit.headcount if unit_id in reserve_ids else 0
        distance = km.get((unit_id, venue))
        if distance is None:
            home, there = unit.home.location, site[venue]
            distance = round(great_circle_km(home.lat, home.lon, there.lat, there.lon))
            km[unit_id, venue] = distance
        travel += distance
    required = np.array([s.required for s in slots], dtype=np.int64)
    weight = np.array([s.weight for s in slots], dtype=np.int64)
    short = np.maximum(0, required - assigned)
    terms = {
        ObjectiveTerm.SHORTFALL: int((short * weight).sum()),
        ObjectiveTerm.TNI: tni,
        ObjectiveTerm.TRAVEL: travel,
        ObjectiveTerm.BALANCE: max(load.values(), default=0),
        ObjectiveTerm.OVERSTAFFING: int(np.maximum(0, assigned - required).sum()),
    }
    bounds = tuple(
        max(upper, terms.get(term, 0))
        for upper, term in zip(uppers, instance.rules.priorities, strict=True)
    )
    called = Plan(
        assignments=tuple(
            Assignment(unit=u, venue=v, ring=r, shift=s) for u, v, r, s in rows if u in reserve_ids
        )
    )
    return quick_outcome(
        index,
        instance,
        terms,
        bounds,
        tuple(rows),
        slot_coverage(sub, slots, assigned),
        plan_activations(sub, called),
        began,
    )
