"""Phases that give a solve its first plan before any CP-SAT model is built."""

from __future__ import annotations

from solver.heuristics.greedy import plan_counts
from solver.model.disruption import BaselineEvaluator
from solver.report import plan_from_vector
from solver.search.construct import baseline_start, greedy_start
from solver.search.context import SearchContext
from solver.search.counts import hint_vector, recount


class GivenStart:
    """Start from the counts handed in (a part's share of the whole instance's start)."""

    name = "given start"

    def applies(self, ctx: SearchContext) -> bool:
        return ctx.given is not None and ctx.run.hint is None

    def run(self, ctx: SearchContext) -> None:
        assert ctx.given is not None
        ctx.keeper.offer(ctx.given, 0)
        if ctx.coarse_data is None:
            ctx.x0 = ctx.given
        else:
            ctx.x0 = hint_vector(ctx.coarse_data, plan_from_vector(ctx.data, ctx.given))


class GreedyStart:
    """The greedy plans (:data:`~solver.search.construct.GREEDY_PORTFOLIO`), on the coarse
    data when there is one: the first is the solve's first plan, the best is the hint."""

    name = "greedy start"

    def applies(self, ctx: SearchContext) -> bool:
        return ctx.given is None and ctx.run.hint is None

    def run(self, ctx: SearchContext) -> None:
        coarse, fine = ctx.coarse_data, ctx.data
        if coarse is None:
            ctx.x0 = greedy_start(fine, ctx.keeper)
        else:
            ctx.x0 = greedy_start(coarse, ctx.keeper, lambda x: recount(coarse, fine, x))
        assert ctx.x0 is not None  # every greedy plan is accepted


class BaselineTopUp:
    """A re-plan's start: the plan in force topped up by the greedy plans, offered before any
    CP-SAT model is built (:func:`~solver.search.construct.baseline_start`)."""

    name = "plan in force topped up"

    def applies(self, ctx: SearchContext) -> bool:
        return ctx.given is None and ctx.run.hint is None and not ctx.run.stopped()

    def run(self, ctx: SearchContext) -> None:
        evaluator = ctx.keeper.evaluator
        assert isinstance(evaluator, BaselineEvaluator)
        ctx.topped = baseline_start(ctx.data, ctx.keeper, evaluator.index)


class HintStart:
    """What of a plan keeps every rule is a plan already: the first one, and a fallback; the
    first CP-SAT model is hinted with it. The caller's hint, or in a re-plan whose top-up
    failed (or was stopped), the plan in force."""

    name = "hint"

    def applies(self, ctx: SearchContext) -> bool:
        if ctx.run.hint is not None:
            return True
        return ctx.replan and ctx.given is None and ctx.topped is None

    def run(self, ctx: SearchContext) -> None:
        plan = ctx.run.hint if ctx.run.hint is not None else ctx.run.rosters
        assert plan is not None
        ctx.keeper.offer(plan_counts(ctx.data, plan), 0)
        ctx.hint_plan = plan
