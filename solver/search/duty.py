"""A phase that lowers the best plan's weighted shortfall window by window before the
shortfall stage's own CP-SAT search: units' whole weeks re-planned around short rings.

Cold solves of large models only (see :class:`DutyWindows`).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from solver.bound import ShortfallBound
from solver.domain import ObjectiveTerm
from solver.heuristics.travel import shorten_travel
from solver.lns import duty_groups, merge_window, replan_window
from solver.model.data import ModelData
from solver.result import PhaseEnd
from solver.search.context import SearchContext
from solver.search.counts import Counts, recount
from solver.search.improve import MIN_WINDOW, WINDOWS_ABOVE

DUTY_SHARE = 0.9
"""Share of the remaining time the duty windows may use before the shortfall stage's search:
on the loose province CP-SAT's own search of a part mostly ended without a better plan,
while windows kept finding them; on the tight province at 60 s the windows were still gaining
when 70 % ended, and the search after them gained 4-130 in 7-8.5 s of each part
(benchmarks/RESULTS.md). The travel moves after the windows
(:class:`TravelMovesAfterWindows`) keep the journeys short whatever the stages after them
get. Windows that stall (:data:`DUTY_STALL`) leave the rest to the search."""

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
"""Most seconds CP-SAT spends on one duty window of :data:`DUTY_GROUPS` groups (on wider
windows, in proportion to their groups)."""

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

BOUND_POLL_SECONDS = 0.2
"""How often a window thread waiting for the bound's relaxation looks whether it is done."""

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
    (:data:`POOLED_DUTY_GROUPS` at a time) and their plans recounted unit by unit. On single
    units with two or more workers, windows of other units are re-planned at the same time,
    one per worker (:func:`window_threads`), each merged into the best plan as it ends
    (:func:`~solver.lns.window.merge_window`). Windows follow each other for
    :data:`DUTY_SHARE` of the time left (:data:`POOLED_DUTY_SHARE` over pools;
    :data:`LANE_DUTY_SHARE` for a part planned beside others), until a stop, nothing is short
    or :func:`duty_stall` windows in a row gained nothing (with deterministic time,
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
        # Windows over the pooling where there is one: the shortfall reads no distance, and a
        # pool's window moves many units' weeks at once in a model ten times smaller.
        share = DUTY_SHARE if ctx.coarse_data is None else POOLED_DUTY_SHARE
        if ctx.run.lane:
            share = max(share, LANE_DUTY_SHARE)
        follow_windows(ctx, time.perf_counter() + ctx.left() * share)


def follow_windows(ctx: SearchContext, until: float, widest: int = 0) -> None:
    """Re-plan duty windows of the best plan (see :class:`DutyWindows`) until ``until``
    (``time.perf_counter()``) at most, on single units growing from :data:`DUTY_GROUPS`
    groups up to ``widest`` where they stall; say why they ended, and hint the next stage's
    model with the best plan."""
    seed = ctx.parameters.get("random_seed", 0)
    data, size = ctx.data, DUTY_GROUPS
    if ctx.coarse_data is not None:
        data, size = ctx.coarse_data, POOLED_DUTY_GROUPS
    assert ctx.keeper.best_x is not None
    best = ctx.keeper.best_x if data is ctx.data else recount(ctx.data, data, ctx.keeper.best_x)
    threads, parameters = window_threads(ctx)
    windows = _Windows(
        ctx,
        data,
        best,
        size,
        parameters,
        until=until,
        rng=np.random.default_rng(seed if isinstance(seed, int) else 0),
        threads=threads,
        widest=max(widest, size),
    )
    if threads == 1:
        windows.follow()
    else:
        bound = ctx.run.lp or ctx.run.beside
        with ThreadPoolExecutor(threads, thread_name_prefix="duty-window") as pool:
            first = pool.submit(windows.follow)
            # The others wait for the bound's relaxation, if it is being solved: with a
            # window thread more beside it, the tight province's bound arrived after 52 s
            # instead of 40, or not within 60 s (benchmarks/RESULTS.md).
            others = [pool.submit(windows.follow, bound) for _ in range(threads - 1)]
            for done in [first, *others]:
                done.result()
    if windows.end is not None:
        ctx.end_phase(windows.end)
    if ctx.run.stopped():
        ctx.end_phase(PhaseEnd.STOPPED)
    assert ctx.keeper.best_x is not None
    if ctx.index < len(ctx.schedule):
        ctx.schedule[ctx.index][0].hint(ctx.keeper.best_x)


def windows_ran(ctx: SearchContext) -> bool:
    """Whether :class:`DutyWindows` ran in this solve (not skipped)."""
    windows = [p for p in ctx.trace if p.name == DutyWindows.name]
    return bool(windows) and windows[-1].end is not PhaseEnd.SKIPPED


class TravelMovesAfterWindows:
    """Journeys shortened by moves of single units
    (:func:`~solver.heuristics.travel.shorten_travel`) right after the duty windows, when
    those ran: the windows take most of a large part's time (:data:`DUTY_SHARE`) and the
    CP-SAT stages above travel most of what they leave, where these moves need under a
    second to undo the windows' long journeys (and cover some shortfall on the way). Not
    taken when worse under the ranking; the next stage is hinted with the best plan."""

    name = "travel moves after windows"

    def applies(self, ctx: SearchContext) -> bool:
        ran = windows_ran(ctx)
        # Not over pools: the capital's search above travel ignores distances and undid
        # the moves' journeys (29,596 -> 13,958 -> 27,031 km, benchmarks/RESULTS.md).
        single = ctx.coarse_data is None
        # Nor in a lane: on the loose province at 30 s its parts' searches above travel then
        # ended at 670 and 121-128 instead of 652-658 and 80-95 (benchmarks/RESULTS.md).
        alone = not ctx.run.lane
        return ran and single and alone and ctx.keeper.best_x is not None and not ctx.replan

    def run(self, ctx: SearchContext) -> None:
        if ctx.out_of_time():
            return
        keeper = ctx.keeper
        x = keeper.best_x
        assert x is not None
        shorter = shorten_travel(ctx.data, x, deadline=ctx.run.deadline)
        if keeper.total(shorter) > keeper.total(x):
            ctx.end_phase(PhaseEnd.NO_MOVE)
            return
        keeper.offer(shorter, ctx.index)
        if ctx.index < len(ctx.schedule):
            assert keeper.best_x is not None
            ctx.schedule[ctx.index][0].hint(keeper.best_x)


def lane_parameters(parameters: Mapping[str, object], workers: int) -> dict[str, object]:
    """CP-SAT's parameters to set over ``parameters`` for a lane's duty windows with
    ``workers`` workers. A lone worker is the ``max_lp`` worker the parameters ask for (the
    full linear relaxation): CP-SAT's single worker otherwise keeps the default one, which on
    the loose province found no better plan in 30 duty windows where the ``max_lp`` worker
    went 899 -> 715, against 751 for two workers in more CPU (benchmarks/RESULTS.md).

    A lane's CP-SAT stages keep the run's workers: a lone worker has no LNS, and the second
    part of the loose province, whose windows stall at 176, then gained nothing in 27 s where
    two workers had gone 176 -> 70."""
    lane: dict[str, object] = {"num_workers": workers}
    extra = parameters.get("extra_subsolvers")
    if workers == 1 and isinstance(extra, list | tuple) and "max_lp" in extra:
        lane["linearization_level"] = 2
    return lane


def window_threads(ctx: SearchContext) -> tuple[int, dict[str, object]]:
    """How many duty windows to re-plan at the same time, and CP-SAT's parameters for each.

    On single units (the province), with the clock and two or more workers, one window per
    worker, each searched by one ``max_lp`` worker
    (:func:`lane_parameters`): on part 1 of the tight province one
    such worker gained more per second of the clock than two on the same window
    (benchmarks/RESULTS.md), so the second worker does more on a window of its own. Else
    (pools, deterministic time, a lane's windows with workers of their own) one at a time
    with the search's parameters.
    """
    parameters = {**ctx.parameters, **ctx.run.window_parameters}
    workers = ctx.parameters.get("num_workers", 1)
    if (
        ctx.coarse_data is not None
        or ctx.run.deterministic
        or ctx.run.lane
        or ctx.run.window_parameters
        or not isinstance(workers, int)
        or workers < 2
    ):
        return 1, parameters
    return workers, {**parameters, **lane_parameters(ctx.parameters, 1)}


@dataclass
class _Windows:
    """Duty windows followed by one or more threads: the best plan of ``data``, the groups
    being re-planned, and why the windows ended."""

    ctx: SearchContext
    data: ModelData
    best: Counts
    size: int
    parameters: dict[str, object]
    until: float
    rng: np.random.Generator
    threads: int = 1
    widest: int = DUTY_GROUPS
    """Most groups of a window on single units (see :meth:`_grow`)."""
    count: int = 0
    stalled: int = 0
    busy: set[int] = field(default_factory=set)
    end: PhaseEnd | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def follow(self, after: ShortfallBound | None = None) -> None:
        """Re-plan windows, one after another, until they end (see :class:`DutyWindows`);
        windows of other threads re-plan other groups at the same time. With ``after``, only
        once that bound's relaxation is no longer being solved."""
        run = self.ctx.run
        while after is not None and after.running and not run.stopped():
            with self.lock:
                if self._next_limit() is None:
                    return
            time.sleep(BOUND_POLL_SECONDS)
        while not run.stopped():
            with self.lock:
                limit = self._next_limit()
                if limit is None:
                    return
                groups = duty_groups(self.data, self.best, self.rng, self.size, self.busy)
                if not len(groups):
                    if not self.busy:  # nothing is short
                        self.end = PhaseEnd.NO_MOVE
                    return
                self.busy.update(groups.tolist())
                base = self.best
            free = np.isin(self.data.candidate_group, groups)
            x = replan_window(
                self.data,
                base,
                free,
                time_limit=limit,
                parameters=self.parameters,
                stop=run.stop,
                # Pools and lanes: as measured on the capital and the loose province.
                duty_days=self.data is self.ctx.data and not self.ctx.run.lane,
            )
            with self.lock:
                self.busy.difference_update(groups.tolist())
                self.count += 1
                self.stalled += 1
                if x is not base:
                    self._offer(
                        x if self.best is base else merge_window(self.data, self.best, free, x)
                    )

    def _next_limit(self) -> float | None:
        """Seconds for the next window; ``None`` when the windows end."""
        if self.end is not None:
            return None
        # Windows side by side count towards the stall together: each thread gets the patience.
        stall = duty_stall(self.count, self.ctx.run.lane) * self.threads
        if self.stalled >= stall and not self._grow():
            self.end = PhaseEnd.NO_MOVE
            return None
        if self.ctx.run.deterministic:
            if self.count >= DUTY_DETERMINISTIC_WINDOWS:
                return None
            return math.inf  # each window's search is limited by deterministic time
        seconds = DUTY_WINDOW_SECONDS * max(1.0, self.size / DUTY_GROUPS)
        limit = min(seconds, self.until - time.perf_counter())
        if limit <= MIN_WINDOW:
            self.end = PhaseEnd.BUDGET
            return None
        return limit

    def _grow(self) -> bool:
        """Make the next windows twice as wide, on single units up to :attr:`widest` groups,
        their stall counted afresh; whether they grew."""
        wider = self.size * 2
        if self.data is not self.ctx.data or wider > self.widest:
            return False
        self.size, self.count, self.stalled = wider, 0, 0
        return True

    def _offer(self, x: Counts | None) -> None:
        """Offer a window's plan (of :attr:`data`); keep it if the keeper does."""
        if x is None:
            return
        ctx = self.ctx
        fine = x if self.data is ctx.data else recount(self.data, ctx.data, x)
        ctx.keeper.offer(fine, ctx.index)
        if ctx.keeper.best_x is fine:
            self.stalled, self.best = 0, x
