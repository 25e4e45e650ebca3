"""Phases that build the CP-SAT models and search their priority stages.

The terms ranked above travel do not depend on distance, so units that differ only in their
distances are interchangeable for them: with the grouped model, those terms are solved first
on a coarser pooling (:class:`BuildModels`), and the rest on the fine model, built only once
the coarse stages are done (:class:`FineModel`), which keeps what they reached. Each stage
minimises its terms while the stages before it keep their values (priorities stay strict).
"""

from __future__ import annotations

import logging
import math
import time

import numpy as np
from ortools.sat.python import cp_model

from solver.domain import ObjectiveTerm
from solver.heuristics.restore import restore_baseline
from solver.model.disruption import BaselineEvaluator, baseline_stages
from solver.model.objective import Stage, Term, make_stages
from solver.result import PhaseEnd
from solver.search.context import SearchContext
from solver.search.counts import hint_vector
from solver.search.cpsat import (
    StageCallback,
    StageModel,
    build_model,
    keep_reached,
    neighbourhood_model,
    run_stage,
    solution_vector,
    stage_names,
    stage_value,
)

logger = logging.getLogger(__name__)

FIRST_STAGE_SHARE = 0.7
"""Share of the remaining time a stage may use when later stages follow; what a stage proves
optimal early is left to the next."""

NEIGHBOURHOOD_ROUND = 10.0
"""Seconds of one round of a neighbourhood stage's search (see :class:`CpSatStages`)."""

MIN_FINE_SECONDS = 1.0
"""Seconds below which the fine model is not built once the coarse stages and the travel
moves are done: building the capital's neighbourhood model alone takes about 0.8 s, and a
province part's travel stage found no plan in its last second (status ``UNKNOWN``)."""


def fine_stages(terms: list[Term], replan: bool, stage_range: int) -> list[Stage]:
    """The stages of the fine model's terms: a re-plan's (:func:`baseline_stages`), or cut by
    the preset's ``stage_range``."""
    return baseline_stages(terms) if replan else make_stages(terms, stage_range)


class BuildModels:
    """Build the first CP-SAT model, coarse when its data was built, else fine, with its
    stages, and hint it with the start."""

    name = "build models"

    def applies(self, ctx: SearchContext) -> bool:
        return True

    def run(self, ctx: SearchContext) -> None:
        began = time.perf_counter()
        first: StageModel
        if ctx.coarse_data is not None:
            first = ctx.coarse = build_model(ctx.coarse_data)
            ctx.coarse.fine = ctx.data
            stages = make_stages(ctx.coarse.terms[: ctx.pooled], ctx.preset.stage_range)
            ctx.order = list(ctx.instance.rules.priorities)
        else:
            first = ctx.fine = build_model(ctx.data, ctx.run.baseline)
            stages = fine_stages(ctx.fine.terms, ctx.replan, ctx.preset.stage_range)
            ctx.order = [t.name for t in ctx.fine.terms]
        # The fine stages join the schedule once the fine model is built (see FineModel).
        ctx.schedule = [(first, stage) for stage in stages]
        if ctx.topped is not None:
            first.hint(ctx.topped)
        elif ctx.hint_plan is not None:
            first.hint_own(hint_vector(first.data, ctx.hint_plan))
        elif ctx.x0 is not None:
            first.hint_own(ctx.x0)
        ctx.build_time += time.perf_counter() - began
        logger.info(
            "model built in %.2f s: %d candidates, %d groups of %d units, %d slots%s",
            ctx.build_time,
            ctx.data.n_candidates,
            len(ctx.data.groups),
            sum(g.size for g in ctx.data.groups),
            len(ctx.data.slots),
            f", {ctx.coarse.n} candidates in the coarse model" if ctx.coarse is not None else "",
        )


class FineModel:
    """Once the coarse stages are done, build the fine model (or, when it is large, the
    neighbourhood of the best plan: :func:`~solver.search.cpsat.neighbourhood_model`), which
    keeps what they reached, starts from the best plan so far and solves the terms below
    them (from travel on)."""

    name = "build fine model"

    def applies(self, ctx: SearchContext) -> bool:
        return ctx.fine is None

    def run(self, ctx: SearchContext) -> None:
        if ctx.out_of_time() or self.too_late(ctx):
            return
        began = time.perf_counter()
        _join(ctx, self.build(ctx), began)

    def too_late(self, ctx: SearchContext) -> bool:
        """End the search, unproven, when too little time is left to build and search the
        fine model (:data:`MIN_FINE_SECONDS`) and a plan exists."""
        if ctx.keeper.best_x is None or ctx.left() >= MIN_FINE_SECONDS:
            return False
        ctx.all_optimal, ctx.ended = False, True
        ctx.end_phase(PhaseEnd.BUDGET)
        return True

    def build(self, ctx: SearchContext) -> StageModel:
        """The fine model, or the neighbourhood of the best plan when it is large."""
        assert ctx.coarse_data is not None
        above = ctx.preset.neighbourhood_above
        return neighbourhood_model(ctx.data, ctx.coarse_data, ctx.keeper.best_x, above)


class ReplanFineModel(FineModel):
    """A re-plan's fine model, with the disruption against the plan in force, once the stages
    on the coarse pooling (the terms above disruption) are done; its stages are
    :func:`~solver.model.disruption.baseline_stages`. Built whenever time is left."""

    def too_late(self, ctx: SearchContext) -> bool:
        return False

    def build(self, ctx: SearchContext) -> StageModel:
        return build_model(ctx.data, ctx.run.baseline)


def _join(ctx: SearchContext, fine: StageModel, began: float) -> None:
    """Make ``fine`` the solve's fine model: it keeps what the stages before it reached, and
    its stages below the pooled terms join the schedule."""
    ctx.fine = fine
    rest = fine_stages(fine.terms[ctx.pooled :], ctx.replan, ctx.preset.stage_range)
    keep_reached(fine, ctx.reached, ctx.keeper)
    ctx.schedule += [(fine, stage) for stage in rest]
    ctx.build_time += time.perf_counter() - began
    logger.info(
        "fine model built at %.2f s: %d candidates", time.perf_counter() - ctx.run.start, fine.n
    )


class CpSatStages:
    """Search the stages of the schedule in order, each minimising its terms while the
    stages before keep their values.

    ``before_travel``: stop at the fine model's first stage with travel (the travel moves
    come first). ``restore``: after each stage of a re-plan, give units back their places in
    force wherever that costs nothing (:func:`~solver.heuristics.restore.restore_baseline`).
    ``one``: search the next stage only.
    """

    def __init__(
        self, name: str, *, before_travel: bool = False, restore: bool = False, one: bool = False
    ):
        self.name = name
        self.before_travel, self.restore, self.one = before_travel, restore, one

    def applies(self, ctx: SearchContext) -> bool:
        return ctx.index < len(ctx.schedule)

    def run(self, ctx: SearchContext) -> None:
        if ctx.rehint:
            assert ctx.fine is not None and ctx.keeper.best_x is not None
            ctx.fine.hint(ctx.keeper.best_x)
            ctx.rehint = False
        ctx.end_phase(PhaseEnd.PROVED)
        while ctx.index < len(ctx.schedule):
            if ctx.out_of_time():
                return
            if self.before_travel and travel_is_next(ctx):
                return
            if not self._stage(ctx) or self.one:
                return

    def _stage(self, ctx: SearchContext) -> bool:
        """Search the next stage; ``False`` when the search must end."""
        stage_model, stage = ctx.schedule[ctx.index]
        keeper = ctx.keeper
        last_term = ctx.order.index(stage.terms[-1].name)
        multiplier = keeper.full_weights[last_term]  # one unit of the stage's own objective
        if keeper.best_x is not None and stage_value(keeper, stage) == 0:
            # Every term is at least 0, so a plan at 0 is optimal for the stage: no search.
            ctx.index += 1
            stage.keep_at_most(stage_model.model, 0)
            ctx.reached.append((stage, 0))
            logger.info(
                "stage %d (%s) is 0 in the best plan: optimal", ctx.index, stage_names(stage)
            )
            return True
        stage.minimize_in(stage_model.model)
        prefix = ctx.bound if ctx.all_optimal else keeper.bound
        callback = StageCallback(keeper, stage_model, ctx.index, prefix, multiplier)
        solver, status = self.search(ctx, stage_model, callback)
        ctx.index += 1
        _log_stage(ctx, stage, stage_model, solver, status)
        if status != cp_model.OPTIMAL or stage_model.kept is not None:
            ctx.end_phase(PhaseEnd.BUDGET)
        if status == cp_model.MODEL_INVALID:
            logger.error("CP-SAT rejected the model: %s", stage_model.model.validate())
            ctx.invalid, ctx.all_optimal, ctx.ended = True, False, True
            ctx.end_phase(PhaseEnd.NO_MOVE)
            return False
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            ctx.all_optimal = False
            if keeper.best_x is None or ctx.run.stopped():
                ctx.ended = True
                return False
            # No plan from CP-SAT in this stage, but there is one from before (the greedy
            # start): keep its value of this stage, and go on to the next.
            value = stage_value(keeper, stage)
            stage.keep_at_most(stage_model.model, value)
            ctx.reached.append((stage, value))
            return True
        self._found(ctx, stage_model, stage, solver, status, multiplier)
        return True

    def search(
        self, ctx: SearchContext, stage_model: StageModel, callback: StageCallback
    ) -> tuple[cp_model.CpSolver, cp_model.CpSolverStatus]:
        """CP-SAT on the next stage (:func:`stage_search`)."""
        return stage_search(ctx, stage_model, callback)

    def _found(
        self,
        ctx: SearchContext,
        stage_model: StageModel,
        stage: Stage,
        solver: cp_model.CpSolver,
        status: cp_model.CpSolverStatus,
        multiplier: int,
    ) -> None:
        """Take the stage's plan and what it proved; later stages keep what it reached."""
        keeper = ctx.keeper
        x = solution_vector(solver.response_proto, stage_model.n)
        keeper.offer(stage_model.fine_vector(x), ctx.index - 1)
        if self.restore and keeper.best_x is not None:
            evaluator = keeper.evaluator
            assert isinstance(evaluator, BaselineEvaluator)
            restored = restore_baseline(ctx.data, evaluator.index, keeper.best_x)
            keeper.offer(restored, ctx.index - 1)
        # CP-SAT's value counts its shortfall variables, which a plan found on the way may
        # leave above the true shortfall; the best plan's own value can be lower, and it is
        # what later stages must keep.
        value = min(round(solver.objective_value), stage_value(keeper, stage))
        if stage_model.kept is not None:
            ctx.all_optimal = False  # optimal in the neighbourhood only
        if ctx.all_optimal:
            # The overall bound grows only while every earlier stage is proven optimal.
            if status == cp_model.OPTIMAL:
                ctx.bound += value * multiplier
            else:
                # Every term is at least 0: a stage stopped early may report a trivial bound
                # below 0 (from its variables' domains), which bounds nothing.
                stage_bound = max(0, math.ceil(solver.best_objective_bound - 1e-6))
                ctx.bound += stage_bound * multiplier
                ctx.all_optimal = False
            keeper.bound = ctx.bound
        # Later stages keep what this one reached, proven or not: priorities stay strict.
        stage.keep_at_most(stage_model.model, value)
        ctx.reached.append((stage, value))
        keeper.hand_over()
        if ctx.index < len(ctx.schedule) and ctx.schedule[ctx.index][0] is stage_model:
            assert keeper.best_x is not None
            stage_model.hint(keeper.best_x)


def travel_is_next(ctx: SearchContext) -> bool:
    """Whether the next stage is the fine model's first with travel, and a plan exists for
    the travel moves to start from."""
    if ctx.index >= len(ctx.schedule) or ctx.keeper.best_x is None:
        return False
    stage_model, stage = ctx.schedule[ctx.index]
    has_travel = any(t.name is ObjectiveTerm.TRAVEL for t in stage.terms)
    return stage_model is ctx.fine and has_travel


def stage_budget(ctx: SearchContext) -> float:
    """Seconds for the next stage's search: the whole time left for the last stage, else
    :data:`FIRST_STAGE_SHARE` of it."""
    remaining = ctx.left()
    last = ctx.index + 1 == len(ctx.schedule) and ctx.fine is not None
    return remaining if last else remaining * FIRST_STAGE_SHARE


def stage_search(
    ctx: SearchContext, stage_model: StageModel, callback: StageCallback
) -> tuple[cp_model.CpSolver, cp_model.CpSolverStatus]:
    """CP-SAT on the stage for :func:`stage_budget` seconds. A neighbourhood proves nothing,
    so its search may restart at no loss: it runs in rounds, each from the best plan, which
    bounds the memory CP-SAT's search gathers during one solve (measured ~16 MiB/s on the
    capital)."""
    budget = stage_budget(ctx)
    ends = time.perf_counter() + budget
    model, stop, parameters = stage_model.model, ctx.run.stop, ctx.parameters
    if stage_model.kept is None:
        return run_stage(model, callback, parameters, budget, stop)
    solver, status = run_stage(model, callback, parameters, min(budget, NEIGHBOURHOOD_ROUND), stop)
    keeper = ctx.keeper
    gained = True  # deterministic: rounds go on while each betters the best plan
    while (
        status == cp_model.FEASIBLE
        and ends - time.perf_counter() > 1.0
        and not ctx.run.stopped()
        and keeper.best_x is not None
        and gained
    ):
        before = keeper.best_objective
        stage_model.hint(keeper.best_x)
        round_limit = min(ends - time.perf_counter(), NEIGHBOURHOOD_ROUND)
        solver, status = run_stage(model, callback, parameters, round_limit, stop)
        gained = not ctx.run.deterministic or keeper.best_objective != before
    return solver, status


def _log_stage(
    ctx: SearchContext,
    stage: Stage,
    stage_model: StageModel,
    solver: cp_model.CpSolver,
    status: cp_model.CpSolverStatus,
) -> None:
    found = status in (cp_model.OPTIMAL, cp_model.FEASIBLE)
    logger.info(
        "stage %d (%s, %s model) ended at %.2f s: %s, value %s, bound %s",
        ctx.index,
        stage_names(stage),
        "coarse" if stage_model is ctx.coarse else "fine",
        time.perf_counter() - ctx.run.start,
        solver.status_name(status),
        round(solver.objective_value) if found else "-",
        round(solver.best_objective_bound) if found else "-",
    )


class EmptyPlan:
    """Nothing to optimise (no requirement, no candidate): the empty plan is optimal."""

    name = "empty plan"

    def applies(self, ctx: SearchContext) -> bool:
        return not ctx.schedule and ctx.fine is not None

    def run(self, ctx: SearchContext) -> None:
        assert ctx.fine is not None
        ctx.keeper.offer(np.zeros(ctx.fine.n, dtype=np.int64), 0)
        ctx.keeper.bound = ctx.keeper.best_objective or 0
        ctx.end_phase(PhaseEnd.PROVED)
