"""Duty windows after the shortfall search: windows that grow as they stall, and the phases'
place in a solve."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import numpy as np
import pytest

from solver import ObjectiveTerm, SolveStatus, check_plan, solve
from solver.lns import duty_groups
from solver.model.data import build_data
from solver.model.evaluate import Evaluator
from solver.presets import preset
from solver.report import plan_from_vector
from solver.result import PhaseEnd
from solver.search import duty
from solver.search.context import Run
from solver.search.pipeline import run_phases
from solver.search.stages import BuildModels
from solver.search.start import GivenStart
from solver.search.whole import search_context
from tests.factory import make, ring, shifts, solve_checked, two_posts_week, unit, venue

RULES = {"min_rest_hours": 8, "max_consecutive_days": 5}


def test_duty_windows_grow_wider_as_they_stall_and_reach_the_optimum(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Three officers for a post needing two around the clock for a week, from the empty
    # plan: windows of one officer stall (a lane's patience, 10 windows), then windows of
    # two, then of all three (the whole week of every officer), which reach the optimum.
    units = [unit(f"u{i}") for i in range(3)]
    instance = make([venue(rings=[ring(1, 10, 2)])], units, shifts(21), RULES)
    optimum = solve(instance, time_limit=30, workers=2)
    assert optimum.status is SolveStatus.OPTIMAL
    assert optimum.breakdown[ObjectiveTerm.SHORTFALL] > 0  # windows never run out of work
    monkeypatch.setattr(duty, "DUTY_GROUPS", 1)
    monkeypatch.setattr(duty, "DUTY_WINDOW_SECONDS", 5.0)  # each is proven in ms when idle
    sizes: list[int] = []

    def observed(*args: Any, **kwargs: Any) -> Any:
        sizes.append(args[3])
        return duty_groups(*args, **kwargs)

    monkeypatch.setattr(duty, "duty_groups", observed)
    large = preset("large")
    start = time.perf_counter()
    parameters = {**large.parameters, "num_workers": 1}
    run = Run(large, parameters, start, start + 60, None, None, None, lane=True)
    data = build_data(instance, grouped=False)
    empty = np.zeros(data.n_candidates, dtype=np.int64)
    ctx = replace(search_context(instance, run, data, empty), coarse_data=None)
    run_phases(ctx, [GivenStart(), BuildModels()])
    duty.follow_windows(ctx, time.perf_counter() + 60, widest=4)
    assert ctx.phase_end is PhaseEnd.NO_MOVE
    assert sizes == sorted(sizes) and set(sizes) == {1, 2, 4}
    assert ctx.keeper.best_x is not None
    assert check_plan(instance, plan_from_vector(data, ctx.keeper.best_x)).ok
    shortfall = Evaluator(data).terms(ctx.keeper.best_x)[ObjectiveTerm.SHORTFALL]
    assert shortfall == optimum.breakdown[ObjectiveTerm.SHORTFALL]


def test_a_solve_searches_the_shortfall_alone_after_its_duty_windows(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Six officers for two posts around the clock for a week: after the duty windows (on
    # every model here, not only the large) CP-SAT searches the shortfall stage alone and
    # proves it, so no wide windows follow; the stages below it follow, and the plan is the
    # optimum, checked.
    monkeypatch.setattr(duty, "WINDOWS_ABOVE", 0)
    instance = two_posts_week()
    result = solve_checked(instance, time_limit=30, preset="large")
    assert result.status is SolveStatus.OPTIMAL
    ends = {p.name: p.end for p in result.phases}
    names = [p.name for p in result.phases]
    assert names.index("duty windows") < names.index("shortfall search")
    assert names.index("shortfall search") < names.index("wide duty windows")
    assert names.index("wide duty windows") < names.index("search above travel")
    assert ends["duty windows"] is not PhaseEnd.SKIPPED
    assert ends["shortfall search"] is PhaseEnd.PROVED
    assert ends["wide duty windows"] is PhaseEnd.SKIPPED
    assert ends["search above travel"] is not PhaseEnd.SKIPPED
