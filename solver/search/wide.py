"""The shortfall stage's CP-SAT search on its own after the duty windows, then duty windows
again from its plan, growing wider where they stall.

The duty windows and CP-SAT's own search better each other's plans. On the loose province,
part 2's windows stall at 193 within seconds and its search takes it to 64-66 in 78 s; from
there 6-unit windows went on to 60 in 3 s. Part 1's windows stall at 644 and its search then
gained 0-2 in 42-55 s, where windows growing to 12 and 24 units went 644 -> 635-637 in 10-29 s
(benchmarks/RESULTS.md). So where the duty windows ran on single units, the shortfall stage
is searched alone (:class:`ShortfallSearch`; in a lane until it stops gaining), windows start again
from its plan and grow as they stall (:class:`WideDutyWindows`), and the stages after keep
the shortfall they reach.
"""

from __future__ import annotations

import threading
import time

from ortools.sat.python import cp_model

from solver.domain import ObjectiveTerm
from solver.result import PhaseEnd
from solver.search.context import SearchContext
from solver.search.cpsat import StageCallback, StageModel, run_stage, stage_value
from solver.search.duty import follow_windows, windows_ran
from solver.search.stages import CpSatStages, stage_budget

WIDEST_DUTY_GROUPS = 24
"""Most units of one window after the search: windows of 6 that stall grow to 12, then 24.
From the greedy start 24-unit windows of part 2 stalled at 162 where the search reached
64-67 (a throw-away driver, benchmarks/RESULTS.md): wide windows follow the search, they do
not replace it."""

WIDE_SHARE = 0.5
"""Share of the time left that the windows after the search may use; the stages after
(TNI, then travel) get the rest."""


def _searched(ctx: SearchContext) -> bool:
    """Whether the windows ran on single units, with the clock, and the next stage is the
    shortfall's alone."""
    single = ctx.coarse_data is None and not ctx.run.deterministic
    if not windows_ran(ctx) or not single or ctx.replan:
        return False
    if ctx.index >= len(ctx.schedule) or ctx.keeper.best_x is None:
        return False
    return [t.name for t in ctx.schedule[ctx.index][1].terms] == [ObjectiveTerm.SHORTFALL]


SEARCH_STALL = 15.0
"""Seconds without a lower shortfall after which :class:`ShortfallSearch` in a lane ends and leaves
the rest of its time to :class:`WideDutyWindows`: on part 1 of the loose province the search
after the windows gained 0-2 in 42-55 s, where windows growing to 24 units then went 644 ->
635 in 10 s; part 2's search gained every few seconds to the end of its 78 s
(benchmarks/RESULTS.md)."""

STALL_POLL = 0.5
"""How often the shortfall search looks whether its best plan is still getting better."""

SHORTFALL_SEARCH = "shortfall search"


class ShortfallSearch(CpSatStages):
    """CP-SAT's search of the shortfall stage alone, after the duty windows on single units
    (not with deterministic time); in a part planned beside others (a lane), ended when it
    gains nothing in :data:`SEARCH_STALL` seconds. :class:`WideDutyWindows` follow it.

    Not ended by a stall elsewhere: a one-part instance's search may be proving its plan
    optimal without finding better ones (the cut-down provinces of ``tests/test_bound.py``
    were then left unproven on a loaded machine)."""

    def __init__(self) -> None:
        super().__init__(SHORTFALL_SEARCH, one=True)

    def applies(self, ctx: SearchContext) -> bool:
        return _searched(ctx)

    def search(
        self, ctx: SearchContext, stage_model: StageModel, callback: StageCallback
    ) -> tuple[cp_model.CpSolver, cp_model.CpSolverStatus]:
        if not ctx.run.lane:
            return super().search(ctx, stage_model, callback)
        halt, done = threading.Event(), threading.Event()

        def watch() -> None:
            best, since = ctx.keeper.terms()[ObjectiveTerm.SHORTFALL], time.perf_counter()
            while not done.wait(STALL_POLL):
                now, value = time.perf_counter(), ctx.keeper.terms()[ObjectiveTerm.SHORTFALL]
                if value < best:
                    best, since = value, now
                if ctx.run.stopped() or now - since > SEARCH_STALL:
                    halt.set()
                    return

        watcher = threading.Thread(target=watch, name="shortfall-stall", daemon=True)
        watcher.start()
        try:
            budget = stage_budget(ctx)
            return run_stage(stage_model.model, callback, ctx.parameters, budget, halt)
        finally:
            done.set()
            watcher.join()


class WideDutyWindows:
    """Duty windows from the plan of :class:`ShortfallSearch`, unless that proved it
    optimal: :data:`DUTY_GROUPS <solver.search.duty.DUTY_GROUPS>` units at a time, twice as
    many each time they stall, up to :data:`WIDEST_DUTY_GROUPS`, for at most
    :data:`WIDE_SHARE` of the time left; the stages after keep the shortfall they reach."""

    name = "wide duty windows"

    def applies(self, ctx: SearchContext) -> bool:
        searched = [p for p in ctx.trace if p.name == SHORTFALL_SEARCH]
        if not searched or searched[-1].end is not PhaseEnd.BUDGET or not ctx.reached:
            return False
        stage = ctx.reached[-1][0]
        return ctx.keeper.best_x is not None and [t.name for t in stage.terms] == [
            ObjectiveTerm.SHORTFALL
        ]

    def run(self, ctx: SearchContext) -> None:
        if ctx.out_of_time():
            return
        follow_windows(ctx, time.perf_counter() + ctx.left() * WIDE_SHARE, WIDEST_DUTY_GROUPS)
        stage, reached = ctx.reached[-1]
        value = stage_value(ctx.keeper, stage)
        if value < reached:
            # The stage's model is the one it was searched on: the stages after it on the
            # same model, and any built later (keep_reached), keep the lower value.
            model = ctx.schedule[ctx.index - 1][0].model
            stage.keep_at_most(model, value)
            ctx.reached[-1] = (stage, value)
