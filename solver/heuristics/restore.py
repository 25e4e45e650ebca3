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

from solver.heuristics.placements import Placements
from solver.model.data import ModelData
from solver.model.disruption import BaselineIndex


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
    state = Placements(data, x)
    place, duty, change_of = state.place, state.duty, state.shortfall_change
    group_of = data.group_of_unit()
    baseline = {(u, s): c for u, s, c in index.placements}
    for (u, s), b in sorted(baseline.items()):
        current = place.get((u, s))
        if s in index.locked or current == b:
            continue
        headcount, target = state.headcount[u], state.slot(b)
        if not state.room(target, headcount):
            continue
        change = change_of(target, headcount)
        if current is None:
            if not duty.free(u, s):
                continue
        else:
            change += change_of(state.slot(current), -headcount)
        if change > 0:
            continue
        state.put(u, s, b)
    for (u, s), c in sorted(place.items()):
        if s in index.locked or (u, s) in baseline or (group_of[u], s) in index.lost_pairs:
            continue
        if change_of(state.slot(c), -state.headcount[u]) == 0:
            state.put(u, s, None)
    return state.counts()
