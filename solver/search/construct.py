"""Starting plans, and how a solve judges plans: built before any CP-SAT model.

The greedy plans of :data:`GREEDY_PORTFOLIO` (the first of them is a solve's first plan), the
plan in force topped up for a re-plan, and the choices made from the model data alone: how plans
are judged (:func:`judge`), how many top terms the coarse pooling solves (:func:`pooled_terms`)
and whether that pooling pays (:func:`coarse_size`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from solver.domain import ObjectiveTerm
from solver.heuristics.greedy import SlotOrder, greedy_counts, planned_days_off
from solver.heuristics.repair import repair_shortfall
from solver.model.data import ModelData
from solver.model.disruption import (
    Baseline,
    BaselineEvaluator,
    BaselineIndex,
    disruption_upper,
    index_baseline,
)
from solver.model.evaluate import Evaluator
from solver.model.groups import needs_own_group
from solver.model.objective import strict_weights, term_uppers
from solver.search.counts import Counts
from solver.search.incumbent import Incumbent

GREEDY_PORTFOLIO: tuple[tuple[bool, SlotOrder, bool], ...] = (
    (False, "weight", False),
    (False, "day", True),
    (False, "time", True),
    (True, "time", True),
)
"""(police_first, order, days off planned) of the greedy plans tried before the search; no one
of them is best on every instance (see benchmarks/RESULTS.md), and each costs well under a
second at province scale. Those filled in time order keep units off the days
:func:`~solver.heuristics.greedy.planned_days_off` plans (the same plans where the
consecutive-days rule cannot bind): on the loose province it took their weighted shortfall
from 4,148-5,147 to 1,358-2,224."""

COARSE_SHARE = 0.5
"""The coarse model is used only when it has at most this share of the fine model's
candidates; otherwise building it costs more than it saves."""


def greedy_start(
    data: ModelData,
    keeper: Incumbent,
    to_fine: Callable[[Counts], Counts] = lambda x: x,
    start: Sequence[tuple[int, int]] = (),
    closed_shifts: frozenset[int] = frozenset(),
    accept: Callable[[Counts], bool] = lambda x: True,
) -> Counts | None:
    """Offer the greedy plans of :data:`GREEDY_PORTFOLIO` (each from ``start``, adding no unit
    in ``closed_shifts``) that ``accept`` takes, then the best one repaired within its shifts
    (:func:`~solver.heuristics.repair.repair_shortfall`, nothing changed in ``closed_shifts``)
    unless that is worse under the ranking; return the start's counts, if any greedy plan was
    taken."""
    best: tuple[int, Counts] | None = None
    days_off = planned_days_off(data)
    for police_first, order, rotate in GREEDY_PORTFOLIO:
        x = greedy_counts(
            data,
            police_first=police_first,
            order=order,
            start=start,
            closed_shifts=closed_shifts,
            days_off=days_off if rotate else None,
        )
        if not accept(x):
            continue
        fine = to_fine(x)
        keeper.offer(fine, 0)  # at once: the first plan comes after one greedy pass
        total = keeper.total(fine)
        if best is None or total < best[0]:
            best = (total, x)
    if best is None:
        return None
    # Units move within their shifts to where they weigh more: a shortfall the greedy order
    # left is often covered from a lighter ring nearby. Where a term is ranked above shortfall
    # (TNI or balance, which a unit called in can raise), the repair may not pay: then the
    # greedy plan stays the start.
    repaired = repair_shortfall(data, best[1], locked=closed_shifts)
    fine = to_fine(repaired)
    if keeper.total(fine) > best[0]:
        return best[1]
    keeper.offer(fine, 0)
    return repaired


def baseline_start(data: ModelData, keeper: Incumbent, index: BaselineIndex) -> Counts | None:
    """Offer the plan in force topped up by the greedy plans of :data:`GREEDY_PORTFOLIO`.

    Each keeps every baseline place that the changed instance still allows (in ring and unit
    id order, as the locks do), then fills what is still missing outside the locked shifts, so
    the first plan comes at once and moves no unit; the best one, repaired within its shifts
    (units move to where the changes made them weigh more), is the start. Returns its counts,
    or ``None`` when no top-up holds the locks (a locked place the top-up could not keep).
    """
    units = data.instance.units
    start = sorted(
        ((u, c) for u, _s, c in index.placements),
        key=lambda pair: (data.candidates[pair[1]].slot, units[pair[0]].id),
    )
    locked = [
        c for (_g, s), cands in data.by_group_shift.items() if s in index.locked for c in cands
    ]

    def holds_locks(x: Counts) -> bool:
        return all(int(x[c]) == index.keep.get(c, 0) for c in locked)

    return greedy_start(data, keeper, start=start, closed_shifts=index.locked, accept=holds_locks)


def coarse_size(data: ModelData) -> int:
    """Candidates of the pooling that ignores distances, counted from the fine model's data."""
    order = np.argsort(data.candidate_group, kind="stable")
    group_of, slot_of = data.candidate_group[order], data.candidate_slot[order]
    present, starts = np.unique(group_of, return_index=True)
    ends = [*starts[1:].tolist(), len(order)] if len(starts) else []
    shift_of = data.slot_shifts()
    slot_shift: list[int] = shift_of.tolist()
    pools: dict[object, int] = {}
    for g, a, b in zip(present.tolist(), starts.tolist(), ends, strict=True):
        group, slots = data.groups[g], slot_of[a:b]
        # needs_own_group reads only the shifts: one slot of each is enough.
        _shifts, first = np.unique(shift_of[slots], return_index=True)
        pairs = [(int(slots[i]), 0) for i in first.tolist()]
        alone = needs_own_group(data.instance, pairs, slot_shift, data.shift_day)
        key = ("group", g) if alone else (group.headcount, group.reserve, slots.tobytes())
        pools[key] = b - a
    return sum(pools.values())


def judge(data: ModelData, baseline: Baseline | None) -> tuple[Evaluator, list[int]]:
    """How plans of ``data`` are judged: the evaluator of every ranked term and the strict
    weights of the whole ranking (with the disruption against ``baseline`` in a re-plan)."""
    if baseline is None:
        return Evaluator(data), strict_weights(term_uppers(data))
    placed = index_baseline(data, baseline)
    uppers = term_uppers(data, {ObjectiveTerm.DISRUPTION: disruption_upper(data, placed)})
    return BaselineEvaluator(data, placed), strict_weights(uppers)


def pooled_terms(priorities: tuple[ObjectiveTerm, ...], evaluator: Evaluator) -> int:
    """How many of the top-ranked terms the coarse pooling can solve: those before travel
    (they do not depend on distances), and in a re-plan only those before disruption (which
    tells units apart by their places in force), and none when shifts are locked to the plan
    in force (a lock holds single units, which a pooling cannot)."""
    ends = [ObjectiveTerm.TRAVEL]
    if isinstance(evaluator, BaselineEvaluator):
        if evaluator.index.locked:
            return 0
        ends.append(ObjectiveTerm.DISRUPTION)
    return min(priorities.index(t) if t in priorities else len(priorities) for t in ends)
