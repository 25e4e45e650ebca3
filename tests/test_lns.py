"""Duty-shaped neighbourhoods: which units they free, and that re-planning one finds the optimum."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import pytest

from solver import Instance, ObjectiveTerm, SolveStatus, check_plan, solve
from solver.lns import binding_groups, duty_groups, merge_window, replan_window, short_slots
from solver.lns.window import window_candidates
from solver.model.data import build_data
from solver.model.evaluate import Evaluator
from solver.report import plan_from_vector
from solver.result import PhaseEnd
from solver.search import duty
from solver.search.counts import recount
from solver.search.duty import DUTY_STALL, LANE_DUTY_STALL, POOLED_DUTY_GROUPS, duty_stall
from tests.factory import HOME, make, ring, shifts, solve_checked, two_posts_week, unit, venue

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


def test_duty_window_keeps_a_partly_free_units_rules() -> None:
    # u0 is held on duty on days 1-4 and 6-7 and free only on day 5, which is short: working
    # it would make 7 days in a row (at most 5), so the window must leave day 5 short.
    instance = week(1)
    data = build_data(instance, grouped=False)
    x = np.zeros(data.n_candidates, dtype=np.int64)
    day = np.array(data.shift_day)[data.candidate_slot]
    for d in (0, 1, 2, 3, 5, 6):
        x[np.flatnonzero(day == d)[0]] = 1  # the first shift of the day
    free = day == 4
    after = replan_window(data, x, free, time_limit=10, parameters={"num_workers": 2})
    assert check_plan(instance, plan_from_vector(data, after)).ok
    assert (after == x).all()


def test_window_candidates_leave_out_places_the_free_ones_share_no_row_with() -> None:
    # u0 guards a venue 100 km from u1's (travel limit 30 km): re-planning u1 needs none of
    # u0's places, but every place of u1's and every free candidate.
    far = {"lat": HOME["lat"] - 0.9, "lon": HOME["lon"]}
    instance = make(
        [venue("near"), venue("far", location=far)],
        [unit("u0", home={"region": "pwk", "location": far}), unit("u1")],
        shifts(6),
        {**RULES, "max_travel_km": 30},
    )
    data = build_data(instance, grouped=False)
    x = np.zeros(data.n_candidates, dtype=np.int64)
    u0, u1 = (np.flatnonzero(data.candidate_group == g) for g in (0, 1))
    x[u0[::2]] = 1
    x[u1[:1]] = 1
    free = (data.candidate_group == 1) & (np.arange(data.n_candidates) > u1[0])
    kept = window_candidates(data, x, free)
    assert kept.tolist() == u1.tolist()


def spread_officers(count: int, needed: int) -> Instance:
    """``count`` officers based in as many places, one post needing ``needed`` around the
    clock for three days of 8 h shifts (no consecutive-days rule: they pool)."""
    units = [
        unit(f"u{i}", home={"region": "pwk", "location": {"lat": -6.55 + 0.05 * i, "lon": 107.44}})
        for i in range(count)
    ]
    return make([venue(rings=[ring(1, 10, needed)])], units, shifts(9), {"min_rest_hours": 8})


def test_pooled_duty_window_finds_the_optimum_and_counts_back_to_a_plan() -> None:
    # Three officers in three places are three groups of the model and one pool of the
    # pooling that ignores distances: one window of that pool from the empty plan reaches
    # the proven optimum, and counted back unit by unit it is a plan of the instance.
    instance = spread_officers(3, needed=2)
    best = solve(instance, time_limit=30, workers=2)
    assert best.status is SolveStatus.OPTIMAL
    fine = build_data(instance)
    pooled = build_data(instance, ignore_km=True, like=fine)
    assert len(fine.groups) == 3 and len(pooled.groups) == 1
    empty = np.zeros(pooled.n_candidates, dtype=np.int64)
    groups = duty_groups(pooled, empty, np.random.default_rng(0), size=POOLED_DUTY_GROUPS)
    assert groups.tolist() == [0]
    free = np.isin(pooled.candidate_group, groups)
    x = replan_window(pooled, empty, free, time_limit=20, parameters={"num_workers": 2})
    counts = recount(pooled, fine, x)
    assert check_plan(instance, plan_from_vector(fine, counts)).ok
    shortfall = Evaluator(fine).terms(counts)[ObjectiveTerm.SHORTFALL]
    assert shortfall == best.breakdown[ObjectiveTerm.SHORTFALL] > 0


def test_a_solve_with_a_pooling_runs_its_duty_windows_on_the_pools(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Six officers in six places, pooled into one group: the duty windows run (on every
    # model here, not only the large) before CP-SAT's shortfall stage, and the solve ends at
    # the optimum with a checked plan.
    monkeypatch.setattr(duty, "WINDOWS_ABOVE", 0)
    instance = spread_officers(6, needed=4)
    optimum = solve(instance, time_limit=30, workers=2, preset="large")
    assert optimum.status is SolveStatus.OPTIMAL
    result = solve_checked(instance, time_limit=30, preset="large")
    windows = [p for p in result.phases if p.name == "duty windows"]
    assert len(windows) == 1 and windows[0].end is not PhaseEnd.SKIPPED
    assert result.breakdown[ObjectiveTerm.SHORTFALL] == optimum.breakdown[ObjectiveTerm.SHORTFALL]


@pytest.mark.parametrize(
    ("windows", "lane", "expected"),
    [
        (5, False, DUTY_STALL),  # one by one: the same patience from the first window
        (500, False, DUTY_STALL),
        (5, True, LANE_DUTY_STALL),  # a lane's part whose windows stall early moves on soon
        (100, True, 25),  # a quarter of the windows run so far
        (1000, True, DUTY_STALL),  # never more patient than one by one
    ],
)
def test_duty_stall_ends_a_lanes_windows_sooner_when_they_stall_early(
    windows: int, lane: bool, expected: int
) -> None:
    assert duty_stall(windows, lane) == expected


def test_duty_windows_of_other_units_re_planned_from_one_plan_merge_into_a_plan() -> None:
    # Four officers, a post needing two: u0-u1 and u2-u3 re-planned in two windows from the
    # same empty plan both cover the post as best they can; merged, the two windows' plans
    # keep every rule and the post's capacity, and the post is short less than after either.
    instance = week(4, needed=2)
    data = build_data(instance, grouped=False)
    empty = np.zeros(data.n_candidates, dtype=np.int64)
    free_a, free_b = np.isin(data.candidate_group, [0, 1]), np.isin(data.candidate_group, [2, 3])
    a = replan_window(data, empty, free_a, time_limit=20, parameters={"num_workers": 1})
    b = replan_window(data, empty, free_b, time_limit=20, parameters={"num_workers": 1})
    merged = merge_window(data, a, free_b, b)
    assert merged is not None
    assert check_plan(instance, plan_from_vector(data, merged)).ok
    short = Evaluator(data).terms
    assert short(merged)[ObjectiveTerm.SHORTFALL] < min(
        short(a)[ObjectiveTerm.SHORTFALL], short(b)[ObjectiveTerm.SHORTFALL]
    )


def test_merging_a_duty_window_that_overfills_a_ring_gives_no_plan() -> None:
    # A ring holding two: u0 and u1 stand in it in the first shift of one plan, u2 and u3 in
    # a window re-planned from the empty plan; four in the ring break its capacity.
    instance = make([venue(rings=[ring(1, 2, 2)])], [unit(f"u{i}") for i in range(4)], shifts(3))
    data = build_data(instance, grouped=False)
    first = [int(data.by_group_shift[g, 0][0]) for g in range(4)]
    held = np.zeros(data.n_candidates, dtype=np.int64)
    held[first[:2]] = 1
    window = np.zeros(data.n_candidates, dtype=np.int64)
    window[first[2:]] = 1
    free = np.isin(data.candidate_group, [2, 3])
    assert merge_window(data, held, free, window) is None


def test_a_solve_on_single_units_re_plans_two_duty_windows_at_a_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Six officers for two posts around the clock for a week (the consecutive-days rule keeps
    # them single units): on two workers the duty windows of two officers each run (on every
    # model here, not only the large) in two threads at the same time, the travel moves
    # follow them, and the solve ends at the optimum with a checked plan.
    monkeypatch.setattr(duty, "WINDOWS_ABOVE", 0)
    monkeypatch.setattr(duty, "DUTY_GROUPS", 2)
    instance = two_posts_week()
    optimum = solve(instance, time_limit=30, workers=2, preset="large")
    assert optimum.status is SolveStatus.OPTIMAL
    threads: set[int] = set()

    def observed(*args: Any, **kwargs: Any) -> Any:
        threads.add(threading.get_ident())
        return replan_window(*args, **kwargs)

    monkeypatch.setattr(duty, "replan_window", observed)
    result = solve_checked(instance, time_limit=30, preset="large")
    ran = {p.name: p for p in result.phases if p.end is not PhaseEnd.SKIPPED}
    assert "duty windows" in ran and "travel moves after windows" in ran
    assert len(threads) == 2
    assert result.breakdown[ObjectiveTerm.SHORTFALL] == optimum.breakdown[ObjectiveTerm.SHORTFALL]
