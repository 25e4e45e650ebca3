"""Lowering a plan's weighted shortfall by moving units within a shift.

Who works which shift decides the duty rules (rest, most shifts, shifts per 24 hours,
consecutive days); where a unit stands within a shift decides only coverage and capacity. So a
unit can change ring or venue within a shift it already works without breaking any duty rule,
and a unit free under its duty rules can be called into a shift. :func:`repair_shortfall` does
both wherever it lowers the weighted shortfall, heaviest missing person first: a ring that a
change of risk made short takes people from rings where they weigh less (and those rings in
turn from lighter ones), or from units off duty. It is the start of a re-plan, where the plan
in force topped up leaves the raised venues short while the people they need stand nearby in
lighter rings, and it improves the greedy start of a solve in the same way.

Every move lowers the weighted shortfall, so the repair ends; among moves of equal gain it
prefers one that calls no reserve (TNI) unit in, then the shorter journey.
"""

from __future__ import annotations

from collections.abc import Collection

import numpy as np
import numpy.typing as npt

from solver.model.data import ModelData
from solver.model.placements import Placements

MAX_PASSES = 20
"""Most passes over the short slots; each pass after the first only follows up the chains of
moves the previous one opened (a slot that gave a unit away is short now)."""


def repair_shortfall(
    data: ModelData,
    x: npt.NDArray[np.int64],
    *,
    locked: Collection[int] = (),
) -> npt.NDArray[np.int64]:
    """Counts ``x`` with units moved within their shifts, and free units called in, wherever
    that lowers the weighted shortfall; nothing changes in the ``locked`` shifts.

    The result keeps every rule that ``x`` keeps, and its weighted shortfall is never higher
    (strictly lower when any move was made).
    """
    state = Placements(data, x)
    slots, groups = data.slots, data.groups
    candidate_group, candidate_km = data.candidate_group, data.candidate_km
    place, duty = state.place, state.duty
    shifts = data.instance.shifts
    position = {
        s: p for p, s in enumerate(sorted(range(len(shifts)), key=lambda s: (shifts[s].start, s)))
    }
    order = sorted(
        (
            b
            for b, slot in enumerate(slots)
            if slot.required > 0 and slot.shift not in locked and data.by_slot[b]
        ),
        key=lambda b: (-slots[b].weight, position[slots[b].shift], b),
    )
    for _ in range(MAX_PASSES):
        moved = False
        for b in order:
            slot = slots[b]
            if state.assigned[b] >= slot.required:
                continue
            s = slot.shift
            best: tuple[tuple[int, int, int], int, int] | None = None
            for c in data.by_slot[b]:
                group = groups[int(candidate_group[c])]
                h = group.headcount
                if not state.room(b, h):
                    continue
                gain = -state.shortfall_change(b, h)
                if gain <= 0:
                    continue
                km = int(candidate_km[c])
                for u in group.members:
                    current = place.get((u, s))
                    if current is None:
                        if not duty.free(u, s):
                            continue
                        key = (-gain, h if group.reserve else 0, km)
                    elif current == c:
                        continue
                    else:
                        net = gain - state.shortfall_change(state.slot(current), -h)
                        if net <= 0:
                            continue
                        key = (-net, 0, km)
                    if best is None or key < best[0]:
                        best = (key, u, c)
            if best is not None:
                _key, u, c = best
                state.put(u, s, c)
                moved = True
        if not moved:
            break
    return state.counts()
