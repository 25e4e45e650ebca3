"""The :class:`~solver.result.Result` of a solve's best plan."""

from __future__ import annotations

import time
from collections.abc import Sequence

from solver.domain import Instance, Plan
from solver.report import activations, coverage_rows, plan_from_vector
from solver.result import PhaseRun, Result, SolveStatus, relative_gap
from solver.search.incumbent import Incumbent
from solver.validation import instance_warnings


def make_result(
    keeper: Incumbent,
    *,
    invalid: bool,
    optimal: bool,
    build_time: float,
    instance: Instance,
    rosters: Plan | None,
    phases: Sequence[PhaseRun] = (),
) -> Result:
    """The result of the best plan found; its rosters follow ``rosters`` where they can."""
    wall = time.perf_counter() - keeper.start
    warnings = tuple(instance_warnings(instance))
    if keeper.best_x is None or keeper.best_objective is None:
        status = SolveStatus.INVALID if invalid else SolveStatus.NO_SOLUTION
        return Result(
            status=status,
            wall_time=wall,
            build_time=build_time,
            warnings=warnings,
            phases=tuple(phases),
        )
    data, x = keeper.data, keeper.best_x
    plan = plan_from_vector(data, x, rosters)
    objective = keeper.best_objective
    bound = objective if optimal else min(keeper.proven(), objective)
    return Result(
        status=SolveStatus.OPTIMAL if optimal else SolveStatus.FEASIBLE,
        objective=objective,
        best_bound=bound,
        gap=relative_gap(objective, bound),
        wall_time=wall,
        build_time=build_time,
        first_solution_time=keeper.first_solution_time,
        plan=plan,
        coverage=coverage_rows(data, keeper.evaluator.assigned(x)),
        breakdown=keeper.evaluator.terms(x),
        activations=activations(data, plan),
        warnings=warnings,
        phases=tuple(phases),
        term_bounds={} if optimal else keeper.term_bounds(),
        bound_note="" if keeper.lp is None else keeper.lp.note(),
    )
