"""Duty-shaped neighbourhoods: which units they free, and that re-planning one finds the optimum."""

from __future__ import annotations

import numpy as np

from solver import Instance, ObjectiveTerm, SolveStatus, check_plan, solve
from solver.lns import binding_groups, duty_groups, replan_window, short_slots
from solver.model.data import build_data
from solver.model.evaluate import Evaluator
from solver.report import plan_from_vector
from tests.factory import make, ring, shifts, unit, venue

RULES = {"min_rest_hours": 8, "max_consecutive_days": 5}


def week(officers: int, needed: int = 1) -> Instance:
    """Officers for one post around the clock for a week of three 8 h shifts."""
    units = [unit(f"u{i}") for i in range(officers)]
    return make([venue(rings=[ring(1, 10, needed)])], units, shifts(21), RULES)


def test_duty_window_finds_the_optimum_from_an_empty_plan() -> None:
    # Three officers, a post needing two: from the empty plan (every shift short), one
    # window of all three officers' weeks reaches the proven optimum.
    instance = week(3, needed=2)
    best = solve(instance, time_limit=30, workers=2)
    assert best.status is SolveStatus.OPTIMAL
    data = build_data(instance, grouped=False)
    empty = np.zeros(data.n_candidates, dtype=np.int64)
    groups = duty_groups(data, empty, np.random.default_rng(0), size=10)
    assert groups.tolist() == [0, 1, 2]
    free = np.isin(data.candidate_group, groups)
    x = replan_window(data, empty, free, time_limit=20, parameters={"num_workers": 2})
    plan = plan_from_vector(data, x)
    assert check_plan(instance, plan).ok
    shortfall = Evaluator(data).terms(x)[ObjectiveTerm.SHORTFALL]
    assert shortfall == best.breakdown[ObjectiveTerm.SHORTFALL]


def test_duty_window_keeps_every_place_outside_it() -> None:
    # Only officer u1 is free: u0's places stay as they are, and the window never returns a
    # plan with more shortfall than it was given.
    instance = week(2)
    data = build_data(instance, grouped=False)
    x = np.zeros(data.n_candidates, dtype=np.int64)
    u0 = np.flatnonzero(data.candidate_group == 0)
    x[u0[:9:3]] = 1  # three shifts a day apart
    free = data.candidate_group == 1
    after = replan_window(data, x, free, time_limit=10, parameters={"num_workers": 2})
    assert (after[u0] == x[u0]).all()
    assert check_plan(instance, plan_from_vector(data, after)).ok
    terms = Evaluator(data).terms
    assert terms(after)[ObjectiveTerm.SHORTFALL] < terms(x)[ObjectiveTerm.SHORTFALL]


def test_binding_groups_are_the_units_at_their_consecutive_days_limit() -> None:
    # u0 works the first shift of days 1-5 (the limit of 5 in a row), u1 only days 1-2.
    instance = week(2)
    data = build_data(instance, grouped=False)
    x = np.zeros(data.n_candidates, dtype=np.int64)
    for group, days in ((0, range(5)), (1, range(2))):
        for day in days:
            (c,) = data.by_group_shift[group, 3 * day]
            x[c] = 1
    assert binding_groups(data, x).tolist() == [True, False]
    slots, missing = short_slots(data, x)
    assert len(slots) == 21 - 5 and (missing > 0).all()
