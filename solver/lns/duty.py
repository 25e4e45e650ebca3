"""Neighbourhoods shaped by the duty rules: which units to re-plan together, whole weeks.

On the seven-day instances the shortfall piles up late in the horizon (days 5 and 6 of the
loose province), where units run into the limit of days on duty in a row. Covering such a
ring needs a unit free in its shift, which often means moving that unit's day off, which in
turn frees or empties places on other days: a chain through one unit's whole week. A
neighbourhood that frees a few scattered assignments (CP-SAT's own) rarely holds such a
chain; one that frees every assignment of the units that could cover a short ring, across the
horizon, holds all of them. The rest of the plan stays as it is.
"""

from __future__ import annotations

from collections.abc import Collection

import numpy as np
import numpy.typing as npt

from solver.model.data import ModelData

IntArray = npt.NDArray[np.int64]


def short_slots(data: ModelData, x: IntArray) -> tuple[IntArray, IntArray]:
    """The slots short in the plan of counts ``x``, and the weighted headcount each misses."""
    headcount = data.candidate_headcount()
    assigned = np.bincount(data.candidate_slot, weights=x * headcount, minlength=len(data.slots))
    required = np.array([s.required for s in data.slots], dtype=np.int64)
    weight = np.array([s.weight for s in data.slots], dtype=np.int64)
    missing = np.maximum(0, required - assigned.astype(np.int64)) * weight
    slots = np.flatnonzero(missing)
    return slots, missing[slots]


def binding_groups(data: ModelData, x: IntArray) -> npt.NDArray[np.bool_]:
    """Groups of one unit whose days on duty in ``x`` reach the consecutive-days limit in some
    run of ``limit + 1`` days: the units whose days off the rule holds in place."""
    limit = data.instance.rules.max_consecutive_days
    binding = np.zeros(len(data.groups), dtype=bool)
    if limit is None or len(data.days) <= limit:
        return binding
    used = np.flatnonzero(x)
    day_of = np.array(data.shift_day, dtype=np.int64)[data.slot_shifts()]
    on = np.zeros((len(data.groups), len(data.days)), dtype=np.int64)
    on[data.candidate_group[used], day_of[data.candidate_slot[used]]] = 1
    runs = np.lib.stride_tricks.sliding_window_view(on, limit + 1, axis=1).sum(axis=2)
    binding[:] = runs.max(axis=1) >= limit
    return binding


def duty_groups(
    data: ModelData,
    x: IntArray,
    rng: np.random.Generator,
    size: int,
    exclude: Collection[int] = (),
) -> IntArray:
    """Up to ``size`` groups to re-plan together, around a short slot of ``x``, none of
    ``exclude`` (the groups of windows being re-planned beside this one).

    A short slot is drawn with odds in proportion to its weighted shortfall; the groups that
    could stand in it come first (those whose consecutive-days limit binds before the others,
    each set in random order), then those that could stand in the other short slots of the
    same day, then of the days next to it. Returns the group indices (empty when nothing is
    short).
    """
    slots, missing = short_slots(data, x)
    if not len(slots):
        return np.zeros(0, dtype=np.int64)
    seed = int(rng.choice(slots, p=missing / missing.sum()))
    day_of_slot = np.array(data.shift_day, dtype=np.int64)[data.slot_shifts()]
    day = day_of_slot[seed]
    binding = binding_groups(data, x)
    chosen: list[int] = []
    seen: set[int] = set(exclude)

    def take(slot_list: list[int]) -> None:
        groups = np.unique(data.candidate_group[[c for s in slot_list for c in data.by_slot[s]]])
        groups = groups[[g not in seen for g in groups.tolist()]] if len(groups) else groups
        first = rng.permutation(groups[binding[groups]]) if len(groups) else groups
        rest = rng.permutation(groups[~binding[groups]]) if len(groups) else groups
        for g in [*first.tolist(), *rest.tolist()]:
            if len(chosen) >= size:
                return
            chosen.append(g)
            seen.add(g)

    take([seed])
    for distance in (0, 1, 2):
        near = [int(s) for s in slots if abs(int(day_of_slot[s]) - int(day)) == distance]
        if len(chosen) >= size:
            break
        take([s for s in rng.permutation(near).tolist() if s != seed])
    return np.array(sorted(chosen), dtype=np.int64)
