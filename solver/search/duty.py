"""A phase that lowers the best plan's weighted shortfall window by window before the
shortfall stage's own CP-SAT search: units' whole weeks re-planned around short rings.

Cold solves of large models only (see :class:`DutyWindows`).
"""

from __future__ import annotations

import math
import time

import numpy as np

from solver.domain import ObjectiveTerm
from solver.lns import duty_groups, replan_window
from solver.result import PhaseEnd
from solver.search.context import SearchContext
from solver.search.counts import recount
from solver.search.improve import MIN_WINDOW, WINDOWS_ABOVE

DUTY_SHARE = 0.7
"""Share of the remaining time the duty windows may use before the shortfall stage's search:
on the loose province CP-SAT's own search of a part mostly ended without a better plan,
while windows kept finding them; on the tight capital the search after the windows still
gained, and 85 % for the windows did worse than 70 % (benchmarks/RESULTS.md). Windows that
stall (:data:`DUTY_STALL`) leave the rest to the search."""

DUTY_GROUPS = 6
"""Groups (on the province, single units) re-planned together in one duty window: on the
loose province 6 gained more in 30 s than 3, 12 or 24 (benchmarks/RESULTS.md)."""

POOLED_DUTY_GROUPS = 2
"""Groups re-planned together in one duty window where the search has the pooling that
ignores distances (the capital: 455 units in 50 pools of up to 88 units). On the tight
capital, from the greedy start, in 30 s of CPU with the ``large`` preset's parameters: 2 pools
a window reached 23,270 and 3 pools 23,323 in 25 s, where one pool a window stalled at
25,064 after 5 s and windows of 6 single units reached 25,902 (benchmarks/RESULTS.md)."""

POOLED_DUTY_SHARE = 0.85
"""Share of the remaining time the duty windows over pools may use: on the tight capital at
60 s they went 27,020 -> 21,800 in 48.5 s at 85 %, and CP-SAT's search after them gained 12
in the 7.8 s left; at 70 % the windows reached 23,424-23,682 and the search gained 90-200 in
15 s (benchmarks/RESULTS.md)."""

DUTY_WINDOW_SECONDS = 0.5
"""Most seconds CP-SAT spends on one duty window."""

DUTY_STALL = 50
"""Windows in a row without a gain after which the duty windows end and leave the time to
the searches after them: on the loose province a part's windows gained after up to 110 in a
row without one late in a long run, but a part whose windows are spent stays where it is for
hundreds (benchmarks/RESULTS.md)."""

LANE_DUTY_SHARE = 0.9
"""Share of the remaining time the duty windows of a part planned beside others (in a lane,
:mod:`solver.search.concurrent`, where the part has the whole time limit) may use: on the
loose province part 1's windows were still gaining when 70 % ended (899 -> 658 in 18.9 s at
30 s) and its CP-SAT search after them gained nothing in 7.4 s (benchmarks/RESULTS.md)."""

LANE_DUTY_STALL = 10
"""Fewest windows in a row without a gain after which a lane's duty windows end: part 2 of
the loose province stalls at 176 within seconds, then spent about 12 s on 50 windows without
a gain before its CP-SAT search, which took it to 63 at 120 s (benchmarks/RESULTS.md)."""

LANE_STALL_SHARE = 0.25
"""A lane's windows end after this share of the windows run so far without a gain (at least
:data:`LANE_DUTY_STALL`, at most :data:`DUTY_STALL`): windows that gained for long are
given as long a patience as parts planned one by one."""

DUTY_DETERMINISTIC_WINDOWS = 6
"""Duty windows searched when deterministic time, not the clock, limits the searches."""


def duty_stall(windows: int, lane: bool) -> int:
    """Windows in a row without a gain after which the duty windows end, ``windows`` run so
    far: :data:`DUTY_STALL`, or in a lane (``lane``) :data:`LANE_STALL_SHARE` of ``windows``
    between :data:`LANE_DUTY_STALL` and :data:`DUTY_STALL`."""
    if not lane:
        return DUTY_STALL
    return min(DUTY_STALL, max(LANE_DUTY_STALL, int(windows * LANE_STALL_SHARE)))


class DutyWindows:
    """Re-plan the best plan :data:`DUTY_GROUPS` units at a time, whole weeks, before the
    shortfall stage.

    Each window frees every candidate of a few units around a short slot, across the whole
    horizon (:func:`~solver.lns.duty.duty_groups`: first those that could cover it, those whose
    consecutive-days limit binds first), holds the rest of the best plan, and lets CP-SAT
    minimise the shortfall in it (:func:`~solver.lns.window.replan_window`); where the search
    has the pooling that ignores distances, the windows are over its pools
    (:data:`POOLED_DUTY_GROUPS` at a time) and their plans recounted unit by unit. Windows follow
    each other for :data:`DUTY_SHARE` of the time left (:data:`POOLED_DUTY_SHARE` over
    pools; :data:`LANE_DUTY_SHARE` for a part planned beside others), until a stop, nothing
    is short or :func:`duty_stall` windows in a row gained nothing (with deterministic time,
    :data:`DUTY_DETERMINISTIC_WINDOWS` of them); the shortfall
    stage's model is then hinted with the best plan.
    """

    name = "duty windows"

    def applies(self, ctx: SearchContext) -> bool:
        if ctx.keeper.best_x is None or ctx.data.n_candidates <= WINDOWS_ABOVE:
            return False
        if ctx.index >= len(ctx.schedule):
            return False
        stage = ctx.schedule[ctx.index][1]
        return [t.name for t in stage.terms] == [ObjectiveTerm.SHORTFALL]

    def run(self, ctx: SearchContext) -> None:
        if ctx.out_of_time():
            return
        seed = ctx.parameters.get("random_seed", 0)
        rng = np.random.default_rng(seed if isinstance(seed, int) else 0)
        keeper, run, windows, stalled = ctx.keeper, ctx.run, 0, 0
        # Windows over the pooling where there is one: the shortfall reads no distance, and a
        # pool's window moves many units' weeks at once in a model ten times smaller.
        data, size, share = ctx.data, DUTY_GROUPS, DUTY_SHARE
        if ctx.coarse_data is not None:
            data, size, share = ctx.coarse_data, POOLED_DUTY_GROUPS, POOLED_DUTY_SHARE
        if run.lane:
            share = max(share, LANE_DUTY_SHARE)
        until = time.perf_counter() + ctx.left() * share
        assert keeper.best_x is not None
        best = keeper.best_x if data is ctx.data else recount(ctx.data, data, keeper.best_x)
        while not run.stopped():
            if run.deterministic:
                if windows == DUTY_DETERMINISTIC_WINDOWS:
                    break
                limit = math.inf  # each window's search is limited by deterministic time
            else:
                limit = min(DUTY_WINDOW_SECONDS, until - time.perf_counter())
                if limit <= MIN_WINDOW:
                    ctx.end_phase(PhaseEnd.BUDGET)
                    break
            if stalled >= duty_stall(windows, run.lane):
                ctx.end_phase(PhaseEnd.NO_MOVE)
                break
            groups = duty_groups(data, best, rng, size)
            if not len(groups):
                ctx.end_phase(PhaseEnd.NO_MOVE)
                break
            free = np.isin(data.candidate_group, groups)
            x = replan_window(
                data,
                best,
                free,
                time_limit=limit,
                parameters={**ctx.parameters, **ctx.run.window_parameters},
                stop=run.stop,
            )
            windows += 1
            if x is not best:
                fine = x if data is ctx.data else recount(data, ctx.data, x)
                keeper.offer(fine, ctx.index)
                if keeper.best_x is fine:
                    stalled, best = 0, x
                    continue
            stalled += 1
        if run.stopped():
            ctx.end_phase(PhaseEnd.STOPPED)
        assert keeper.best_x is not None
        ctx.schedule[ctx.index][0].hint(keeper.best_x)
