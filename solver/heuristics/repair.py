"""Lowering a plan's weighted shortfall by moving units within a shift, or to another shift.

Who works which shift decides the duty rules (rest, most shifts, shifts per 24 hours,
consecutive days); where a unit stands within a shift decides only coverage and capacity. So a
unit can change ring or venue within a shift it already works without breaking any duty rule,
and a unit free under its duty rules can be called into a shift; a unit that its duty rules
keep out of a shift (rest after another shift, a run of days) may give up another shift it
works for this one. :func:`repair_shortfall` makes these moves wherever they lower the
weighted shortfall, heaviest missing person first: a ring that a change of risk made short
takes people from rings where they weigh less (and those rings in turn from lighter ones),
from units off duty, or from shifts where they weigh less. It is the start of a re-plan,
where the plan in force topped up leaves the raised venues short while the people they need
stand nearby in lighter rings, and it improves the greedy start of a solve in the same way.

Every move lowers the weighted shortfall, so the repair ends; among moves of equal gain it
prefers one that calls no reserve (TNI) unit in, then one that makes no unit give up a shift,
then the shorter journey.
"""

from __future__ import annotations

import threading
from collections.abc import Collection

import numpy as np
import numpy.typing as npt

from solver.heuristics.greedy import past
from solver.heuristics.placements import Placements
from solver.model.data import ModelData, start_positions

MAX_PASSES = 20
"""Most passes over the short slots. The first pass visits every short slot; each later one
only the slots that gave a unit away in the pass before (the chains of moves it opened)."""

MAX_WORK = 2_000_000
"""Most (unit, slot) pairs and shift trades weighed in one repair. It bounds the repair's time
on heavily under-resourced instances and, unlike a clock, gives the same plan on every run.
Measured: 0.7 s on the greedy start of the suite's tight province, 1.4-1.5 s on re-plan starts
of the tight province and capital (without shift trades 0.2-0.5 s; without the limit and
without trades 5.5 s and 10.6 s, for 3 % more)."""


def repair_shortfall(
    data: ModelData,
    x: npt.NDArray[np.int64],
    *,
    locked: Collection[int] = (),
    max_work: int = MAX_WORK,
    deadline: float | None = None,
    stop: threading.Event | None = None,
) -> npt.NDArray[np.int64]:
    """Counts ``x`` with units moved within their shifts, free units called in, and units
    moved from one shift to another (see the module docstring), wherever that lowers the
    weighted shortfall; nothing changes in the ``locked`` shifts. The repair stops once it has
    weighed ``max_work`` (unit, slot) pairs and shift trades, or at ``deadline``
    (``time.time()``) or once ``stop`` is set, with the moves made so far.

    The result keeps every rule that ``x`` keeps, and its weighted shortfall is never higher
    (strictly lower when any move was made).
    """
    repair = _Repair(data, Placements(data, x), set(locked))
    slots, weight = data.slots, repair.weight
    position = start_positions(data.instance)
    closed = repair.closed
    # Short slots, heaviest first, in the order of a pass; a slot's place in it.
    rank = {
        b: r
        for r, b in enumerate(
            sorted(
                (
                    b
                    for b, slot in enumerate(slots)
                    if slot.required > 0 and slot.shift not in closed and data.by_slot[b]
                ),
                key=lambda b: (-weight[b], position[slots[b].shift], b),
            )
        )
    }
    visit = list(rank)
    state, slot_of = repair.state, repair.slot_of
    for _ in range(MAX_PASSES):
        gave: set[int] = set()
        for b in visit:
            if past(deadline, stop):
                return state.counts()
            best = repair.best_move(b)
            if best is not None:
                _key, u, c, other = best
                s = slots[b].shift
                current = state.place.get((u, s))
                if current is not None:
                    gave.add(slot_of[current])
                if other >= 0:
                    gave.add(slot_of[state.place[u, other]])
                    state.put(u, other, None)
                state.put(u, s, c)
            if repair.work > max_work:
                return state.counts()
        visit = sorted((b for b in gave if b in rank), key=rank.__getitem__)
        if not visit:
            break
    return state.counts()


Move = tuple[tuple[int, int, int, int], int, int, int]
"""(key, unit, candidate, shift the unit gives up for this one or -1); the lowest key wins."""


class _Repair:
    """The plan unit by unit and the slots' figures, as plain lists for speed."""

    def __init__(self, data: ModelData, state: Placements, closed: set[int]) -> None:
        self.data, self.state, self.closed, self.work = data, state, closed, 0
        slots = data.slots
        self.required = [slot.required for slot in slots]
        self.capacity = [slot.capacity for slot in slots]
        self.weight = [slot.weight for slot in slots]
        self.slot_of: list[int] = data.candidate_slot.tolist()
        self.group_of: list[int] = data.candidate_group.tolist()
        self.km_of: list[int] = data.candidate_km.tolist()

    def best_move(self, b: int) -> Move | None:
        """The move that lowers slot ``b``'s weighted shortfall most, net of what it costs
        where the unit stood: a unit moved within the shift, called in, or giving up another
        shift for this one; ``None`` when the slot is not short or no move pays."""
        data, state, required, weight = self.data, self.state, self.required, self.weight
        place, duty, assigned, slot_of = state.place, state.duty, state.assigned, self.slot_of
        short = required[b] - assigned[b]
        if short <= 0:
            return None
        s, room = data.slots[b].shift, self.capacity[b] - assigned[b]
        best: Move | None = None
        for c in data.by_slot[b]:
            group = data.groups[self.group_of[c]]
            h = group.headcount
            if h > room:
                continue
            gain = weight[b] * min(h, short)
            km, members = self.km_of[c], group.members
            self.work += len(members)
            for u in members:
                current = place.get((u, s))
                if current == c:
                    continue
                if current is not None:
                    a = slot_of[current]
                    left = required[a] - assigned[a]
                    net = gain - weight[a] * (max(0, left + h) - max(0, left))
                    if net > 0 and (best is None or (-net, 0, 0, km) < best[0]):
                        best = ((-net, 0, 0, km), u, c, -1)
                elif duty.free(u, s):
                    key = (-gain, h if group.reserve else 0, 0, km)
                    if best is None or key < best[0]:
                        best = (key, u, c, -1)
                else:
                    best = self.trade(u, s, c, gain, h, km, best)
        return best

    def trade(
        self, u: int, s: int, c: int, gain: int, h: int, km: int, best: Move | None
    ) -> Move | None:
        """Not free: ``u`` gives up one of its other shifts for shift ``s`` (candidate ``c``),
        where that shift weighs less and dropping it frees this one."""
        place, duty, assigned = self.state.place, self.state.duty, self.state.assigned
        required, weight = self.required, self.weight
        for other in duty.shifts(u):
            if other in self.closed:
                continue
            a = self.slot_of[place[u, other]]
            left = required[a] - assigned[a]
            net = gain - weight[a] * (max(0, left + h) - max(0, left))
            if net <= 0 or (best is not None and (-net, 0, 1, km) >= best[0]):
                continue
            self.work += 1
            duty.drop(u, other)
            frees = duty.free(u, s)
            duty.take(u, other)
            if frees:
                best = ((-net, 0, 1, km), u, c, other)
        return best
