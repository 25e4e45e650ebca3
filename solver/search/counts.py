"""Counts of one pooling of an instance's units as counts of another, and plans as counts.

A solve keeps its plans as count arrays: how many units of each group stand in each candidate
slot of a :class:`~solver.model.data.ModelData`. The coarse model (units pooled regardless of
distance), the fine model and a plan per unit are three views of one plan; this module is the
one place that converts between them.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from solver.domain import Plan
from solver.model.data import ModelData
from solver.report import plan_from_vector, unit_places

Counts = npt.NDArray[np.int64]
"""Units per candidate of one model data (its ``n_candidates`` entries)."""


def hint_vector(data: ModelData, plan: Plan) -> Counts:
    """The candidate counts of a plan; assignments that are not candidates are dropped.

    In the grouped model a hint becomes counts: how many of each group's units the plan puts in
    each slot.
    """
    group_of = data.group_of_unit()
    unit_index = {unit.id: u for u, unit in enumerate(data.instance.units)}
    index = data.candidate_index()
    x = np.zeros(data.n_candidates, dtype=np.int64)
    for a in plan.assignments:
        u = unit_index.get(a.unit)
        group = group_of.get(u, -1) if u is not None else -1
        found = index.get((group, a.venue, a.ring, a.shift))
        if found is not None:
            x[found] = min(x[found] + 1, data.groups[group].size)
    return x


def recount(source: ModelData, target: ModelData, x: Counts) -> Counts:
    """Counts ``x`` of one pooling of an instance's units as counts of another: each unit
    stands where the rosters of ``source`` put it, counted in its group of ``target``. With
    the same slots (as the coarse and fine data of one solve share), by index and in bulk;
    else through the plan (:func:`hint_vector`)."""
    if source.slots is not target.slots:
        return hint_vector(target, plan_from_vector(source, x))
    places = unit_places(source, x)
    units = np.fromiter((u for u, _s, _c in places), dtype=np.int64, count=len(places))
    cands = np.fromiter((c for _u, _s, c in places), dtype=np.int64, count=len(places))
    found = target.candidate_of(target.unit_groups()[units], source.candidate_slot[cands])
    counts: Counts = np.bincount(found[found >= 0], minlength=target.n_candidates).astype(np.int64)
    return counts
