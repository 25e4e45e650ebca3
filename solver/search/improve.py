"""Phases that better the best plan's travel before the fine model's travel stage.

Cold solves only: a re-plan ranks disruption above travel, and these moves do not weigh it.
"""

from __future__ import annotations

import math
import time

from ortools.sat.python import cp_model

from solver.heuristics.travel import shorten_travel
from solver.model.objective import Stage
from solver.result import PhaseEnd
from solver.search.context import SearchContext
from solver.search.cpsat import (
    StageCallback,
    keep_reached,
    run_stage,
    shift_window,
    solution_vector,
    stage_value,
)
from solver.search.stages import fine_stages, travel_is_next

WINDOW_SECONDS = 1.0
"""Most seconds CP-SAT spends on one shift's window (see :class:`ShiftWindows`); on the
suite's city a window is mostly proven optimal in 0.03-0.4 s."""

MIN_FINE_SEARCH = 5.0
"""Seconds the fine model's search must be left after the shift windows' share; with less,
the windows take all the time left. A province part's travel stage, reached with 1-1.5 s
left, ended with no plan (status ``UNKNOWN``)."""

MIN_WINDOW = 0.05
"""Seconds below which a shift's window is not searched."""

WINDOWS_ABOVE = 10_000
"""Candidates of the fine model above which the shift windows are searched; a smaller model
(a district) CP-SAT solves whole, and proves, in well under a second."""

WINDOWS_SHARE = 0.3
"""Share of the remaining time the shift windows may use before the fine model's search."""

WINDOWS_MIN_GAIN = 0.01
"""A round of shift windows that lowers the stage's value by no more than this share of it
is the last: what is left is for the fine model's search, which can also prove."""


def first_travel_stage(ctx: SearchContext) -> Stage | None:
    """The stage the travel moves prepare: after the coarse stages, the first fine stage (of
    any model: its terms' names count); with the fine model alone, its next stage if that is
    the first with travel."""
    if ctx.fine is None:
        assert ctx.coarse is not None
        stages = fine_stages(ctx.coarse.terms[ctx.pooled :], False, ctx.preset.stage_range)
        return stages[0] if stages else None
    return ctx.schedule[ctx.index][1] if travel_is_next(ctx) else None


class TravelMoves:
    """Shorten the best plan's journeys by moves of single units
    (:func:`~solver.heuristics.travel.shorten_travel`), unless that is worse under the ranking (a
    term ranked above travel that the moves may raise, such as balance)."""

    name = "travel moves"

    def applies(self, ctx: SearchContext) -> bool:
        return ctx.keeper.best_x is not None and (ctx.fine is None or travel_is_next(ctx))

    def run(self, ctx: SearchContext) -> None:
        if ctx.out_of_time():
            return
        stage = first_travel_stage(ctx)
        if stage is None:  # travel is not ranked: nothing to prepare
            ctx.end_phase(PhaseEnd.NO_MOVE)
            return
        ctx.travel_stage, ctx.rehint = stage, ctx.fine is not None
        keeper = ctx.keeper
        assert keeper.best_x is not None
        x = keeper.best_x
        shorter = shorten_travel(ctx.data, x, deadline=ctx.run.deadline)
        if keeper.total(shorter) > keeper.total(x):
            ctx.end_phase(PhaseEnd.NO_MOVE)
            return
        keeper.offer(shorter, ctx.index)


class ShiftWindows:
    """Improve the best plan one shift at a time, before the fine model's search, for
    :data:`WINDOWS_SHARE` of the time left (all of it when the fine search would get less
    than :data:`MIN_FINE_SEARCH`), when the model has more than :data:`WINDOWS_ABOVE`
    candidates.

    In each shift's window (:func:`~solver.search.cpsat.shift_window`) CP-SAT minimises the
    travel stage (its terms taken by name from the window's model) while the stages already
    reached keep their values. Shifts are taken in order of start, round after round, until a
    round gains no more than :data:`WINDOWS_MIN_GAIN`, the share passes or a stop is
    requested. A window is small (one shift of the fine model), so CP-SAT mostly proves it
    optimal at once: on the suite's loose city this took the start's travel from 1,216 km to
    876 km in 6 s, where the full fine model's search from the same start gained 7 km in 10 s
    (benchmarks/RESULTS.md). Shifts are where a plan decomposes: who stands where in one
    shift touches the others only through the duty rules, which the fixed places enforce.
    """

    name = "shift windows"

    def applies(self, ctx: SearchContext) -> bool:
        return ctx.travel_stage is not None and ctx.data.n_candidates > WINDOWS_ABOVE

    def run(self, ctx: SearchContext) -> None:
        now = time.perf_counter()
        left = ctx.run.deadline - now
        # Too little time for the fine model's own search: the windows may use all of it.
        share = WINDOWS_SHARE if left * (1 - WINDOWS_SHARE) >= MIN_FINE_SEARCH else 1.0
        until = now + left * share
        longest = math.inf if ctx.run.deterministic else WINDOW_SECONDS
        assert ctx.travel_stage is not None
        ctx.end_phase(search_shifts(ctx, ctx.travel_stage, until, longest))


def search_shifts(ctx: SearchContext, stage: Stage, until: float, longest: float) -> PhaseEnd:
    """Search the shifts' windows round after round (see :class:`ShiftWindows`), each for at
    most ``longest`` seconds; return why the search ended."""
    keeper = ctx.keeper
    shifts = ctx.data.instance.shifts
    order = sorted(range(len(shifts)), key=lambda s: (shifts[s].start, s))
    value = stage_value(keeper, stage)  # at the start of a round
    while value > 0:
        for shift in order:
            if until - time.perf_counter() <= MIN_WINDOW:
                return PhaseEnd.BUDGET
            if ctx.run.stopped():
                return PhaseEnd.STOPPED
            if not _search_window(ctx, stage, shift, until, longest):
                return PhaseEnd.BUDGET
        now = stage_value(keeper, stage)
        if value - now <= WINDOWS_MIN_GAIN * value:
            return PhaseEnd.NO_MOVE
        value = now
    return PhaseEnd.PROVED


def _search_window(
    ctx: SearchContext, stage: Stage, shift: int, until: float, longest: float
) -> bool:
    """Search one shift's window of the best plan for at most ``longest`` seconds, ending by
    ``until``; ``False`` when too little time is left for it."""
    keeper = ctx.keeper
    assert keeper.best_x is not None
    window = shift_window(ctx.data, keeper.best_x, shift)
    keep_reached(window, ctx.reached, keeper)
    window.same_stage(stage).minimize_in(window.model)
    limit = min(longest, until - time.perf_counter())
    if limit <= MIN_WINDOW:
        return False
    callback = StageCallback(keeper, window, ctx.index, 0, 1)
    # The parameters asked for, not a large model's preset's (one window is a small model).
    parameters = ctx.run.parameters
    solver, status = run_stage(window.model, callback, parameters, limit, ctx.run.stop)
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        x = solution_vector(solver.response_proto, window.n)
        keeper.offer(window.fine_vector(x), ctx.index)
    return True
