"""Giving units back their places in the plan in force wherever that costs no shortfall.

A re-plan ranks shortfall above disruption, and its shortfall search moves units freely; the
disruption stage then has to find the moves it can undo in a large model. Many are plain: a
unit taken from its baseline ring to one that is already overstaffed, a unit released or newly
assigned where nothing depends on it. :func:`restore_baseline` undoes those directly, one
unit-shift at a time, each only when it keeps every rule and the weighted shortfall does not
grow, so the result is at least as good on every term ranked above disruption and strictly
better on disruption.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from solver.model.data import ModelData
from solver.model.disruption import BaselineIndex
from solver.model.greedy import Duty
from solver.report import plan_from_vector


def restore_baseline(
    data: ModelData, index: BaselineIndex, x: npt.NDArray[np.int64]
) -> npt.NDArray[np.int64]:
    """Counts ``x`` with every baseline place restored that costs no weighted shortfall.

    Per unit and unlocked shift, in unit and shift order: a unit elsewhere or idle where the
    baseline places it goes back to its baseline ring when the ring has room (and, if it was
    idle, its duty rules allow the shift) and the weighted shortfall does not grow; a unit
    placed where the baseline leaves it idle is taken off when its ring stays covered.
    ``data`` must pool only units with the same baseline places (see
    :func:`solver.model.disruption.baseline_history`), as the re-plan's model data does.
    """
    instance = data.instance
    units = {unit.id: u for u, unit in enumerate(instance.units)}
    shifts = {shift.id: s for s, shift in enumerate(instance.shifts)}
    group_of = data.group_of_unit()
    candidates = data.candidate_index()
    place: dict[tuple[int, int], int] = {}
    duty = Duty(data)
    for a in plan_from_vector(data, x).assignments:
        u, s = units[a.unit], shifts[a.shift]
        place[u, s] = candidates[group_of[u], a.venue, a.ring, a.shift]
        duty.take(u, s)
    slot_of = data.candidate_slot
    slots = data.slots
    assigned = np.zeros(len(slots), dtype=np.int64)
    for (u, _s), c in place.items():
        assigned[slot_of[c]] += instance.units[u].headcount

    def shortfall_change(slot: int, change: int) -> int:
        required, now = slots[slot].required, int(assigned[slot])
        return slots[slot].weight * (max(0, required - now - change) - max(0, required - now))

    baseline = {(u, s): c for u, s, c in index.placements}
    for (u, s), b in sorted(baseline.items()):
        current = place.get((u, s))
        if s in index.locked or current == b:
            continue
        headcount, target = instance.units[u].headcount, int(slot_of[b])
        if assigned[target] + headcount > slots[target].capacity:
            continue
        change = shortfall_change(target, headcount)
        if current is None:
            if not duty.free(u, s):
                continue
        else:
            change += shortfall_change(int(slot_of[current]), -headcount)
        if change > 0:
            continue
        if current is None:
            duty.take(u, s)
        else:
            assigned[slot_of[current]] -= headcount
        assigned[target] += headcount
        place[u, s] = b
    for (u, s), c in sorted(place.items()):
        if s in index.locked or (u, s) in baseline or (group_of[u], s) in index.lost_pairs:
            continue
        headcount = instance.units[u].headcount
        if shortfall_change(int(slot_of[c]), -headcount) == 0:
            assigned[slot_of[c]] -= headcount
            del place[u, s]  # the unit's duty keeps the shift: stricter, never wrong
    restored = np.zeros(data.n_candidates, dtype=np.int64)
    for c in place.values():
        restored[c] += 1
    return restored
