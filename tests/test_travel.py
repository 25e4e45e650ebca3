"""Shortening a plan's journeys by moves within shifts: less travel, never more shortfall or
reserve, never a broken rule."""

from __future__ import annotations

from typing import Any

import numpy as np

from solver import Assignment, Instance, ObjectiveTerm, Plan, check_plan
from solver.heuristics.greedy import greedy_counts
from solver.heuristics.travel import shorten_travel
from solver.model.data import build_data
from solver.model.evaluate import Evaluator
from solver.report import plan_from_vector
from solver.search.counts import hint_vector
from tests.factory import HOME, busy_instance, greedy_plans, make, ring, shifts, unit, venue

FAR = {"lat": HOME["lat"] - 0.1, "lon": HOME["lon"]}  # about 11 km south of HOME
TNI = {"force": "tni", "type": "infantry", "standby": True}


def _far(uid: str, headcount: int = 2, **extra: Any) -> dict[str, Any]:
    return unit(uid, headcount, home={"region": "pwk", "location": FAR}, **extra)


def _shortened(instance: Instance, plan: Plan) -> tuple[Plan, dict[ObjectiveTerm, int]]:
    """Shorten ``plan``; the plan, re-checked by the independent checker, and its terms."""
    data = build_data(instance)
    x = shorten_travel(data, hint_vector(data, plan))
    shorter = plan_from_vector(data, x)
    report = check_plan(instance, shorter)
    assert report.ok, report.violations
    return shorter, Evaluator(data).terms(x)


def _at(uid: str, shift: str = "s0", where: str = "kpu") -> Assignment:
    return Assignment(unit=uid, venue=where, ring=1, shift=shift)


def test_a_unit_whose_ring_is_covered_without_it_stands_down() -> None:
    instance = make([venue(rings=[ring(1, 10, 2)])], [unit("near", 2), _far("far", 2)])
    plan, terms = _shortened(instance, Plan(assignments=(_at("near"), _at("far"))))
    assert plan.assignments == (_at("near"),)
    assert terms[ObjectiveTerm.TRAVEL] == 0 and terms[ObjectiveTerm.SHORTFALL] == 0


def test_a_nearer_free_unit_relieves_one_from_far_away() -> None:
    instance = make([venue(rings=[ring(1, 10, 2)])], [unit("near", 2), _far("far", 2)])
    plan, terms = _shortened(instance, Plan(assignments=(_at("far"),)))
    assert plan.assignments == (_at("near"),)
    assert terms[ObjectiveTerm.TRAVEL] == 0


def test_a_unit_out_of_every_venue_s_range_is_never_counted_as_a_relief() -> None:
    # "away" lives 200 km off, beyond the 30 km limit: no candidate, in no group. Only "near"
    # may relieve "far".
    away = unit("away", 2, home={"region": "pwk", "location": {"lat": -8.35, "lon": 107.44}})
    instance = make(
        [venue(rings=[ring(1, 10, 2)])],
        [away, unit("near", 2), _far("far", 2)],
        rules={"max_travel_km": 30},
    )
    plan, terms = _shortened(instance, Plan(assignments=(_at("far"),)))
    assert plan.assignments == (_at("near"),)
    assert terms[ObjectiveTerm.TRAVEL] == 0


def test_two_units_trade_places_when_each_stands_nearer_the_other_venue() -> None:
    venues = [venue("kpu"), venue("bawaslu", location=FAR)]
    instance = make(venues, [unit("here", 1), _far("there", 1)])
    crossed = Plan(assignments=(_at("here", where="bawaslu"), _at("there", where="kpu")))
    plan, terms = _shortened(instance, crossed)
    assert set(plan.assignments) == {_at("here", where="kpu"), _at("there", where="bawaslu")}
    assert terms[ObjectiveTerm.TRAVEL] == 0


def test_no_reserve_unit_is_called_in_to_save_kilometres() -> None:
    instance = make([venue(rings=[ring(1, 10, 2)])], [unit("tni", 2, **TNI), _far("far", 2)])
    start = Plan(assignments=(_at("far"),))
    plan, terms = _shortened(instance, start)
    assert plan == start
    assert terms[ObjectiveTerm.TNI] == 0


def test_no_unit_is_called_in_that_its_rest_rule_keeps_out_of_the_shift() -> None:
    # Back-to-back 8-hour shifts and 8 hours of rest: "near" works s0, so not s1.
    instance = make(
        [venue(rings=[ring(1, 10, 2)])],
        [unit("near", 2), _far("far", 2)],
        shifts(2),
        {"min_rest_hours": 8},
    )
    start = Plan(assignments=(_at("near", "s0"), _at("far", "s1")))
    plan, _terms = _shortened(instance, start)
    assert plan == start


def test_no_smaller_unit_relieves_a_larger_one_where_the_ring_would_go_short() -> None:
    instance = make([venue(rings=[ring(1, 10, 3)])], [unit("near", 1), _far("far", 3)])
    start = Plan(assignments=(_at("far"),))
    plan, terms = _shortened(instance, start)
    assert plan == start
    assert terms[ObjectiveTerm.SHORTFALL] == 0


def test_greedy_plans_lose_travel_and_nothing_else_ranked_above_it() -> None:
    instance = busy_instance(venues=12, units=60, shift_count=6)
    data = build_data(instance)
    evaluator = Evaluator(data)
    shortened = 0
    for x in greedy_plans(data):
        y = shorten_travel(data, x)
        report = check_plan(instance, plan_from_vector(data, y))
        assert report.ok, report.violations
        before, after = evaluator.terms(x), evaluator.terms(y)
        assert after[ObjectiveTerm.SHORTFALL] <= before[ObjectiveTerm.SHORTFALL]
        assert after[ObjectiveTerm.TNI] <= before[ObjectiveTerm.TNI]
        assert after[ObjectiveTerm.TRAVEL] <= before[ObjectiveTerm.TRAVEL]
        shortened += after[ObjectiveTerm.TRAVEL] < before[ObjectiveTerm.TRAVEL]
    assert shortened > 0


def test_the_search_stops_at_its_work_limit_with_a_valid_plan_and_the_same_plan_every_time() -> (
    None
):
    instance = busy_instance(venues=12, units=60, shift_count=6)
    data = build_data(instance)
    x = greedy_counts(data, police_first=True, order="time")
    travel = Evaluator(data).terms
    full = shorten_travel(data, x)
    cut = shorten_travel(data, x, max_work=3)
    assert np.array_equal(cut, shorten_travel(data, x, max_work=3))
    assert check_plan(instance, plan_from_vector(data, cut)).ok
    # Three unit-shifts weighed: some moves made, not all of them.
    assert (
        travel(full)[ObjectiveTerm.TRAVEL]
        < travel(cut)[ObjectiveTerm.TRAVEL]
        < travel(x)[ObjectiveTerm.TRAVEL]
    )


def test_a_deadline_already_passed_stops_the_search_after_one_unit_shift() -> None:
    instance = busy_instance(venues=12, units=60, shift_count=6)
    data = build_data(instance)
    x = greedy_counts(data, police_first=True, order="time")
    assert np.array_equal(
        shorten_travel(data, x, deadline=0.0), shorten_travel(data, x, max_work=1)
    )
