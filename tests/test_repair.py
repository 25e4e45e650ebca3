"""Repairing a plan's shortfall by moves within shifts: lower shortfall, never a broken rule."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from solver import Assignment, Instance, ObjectiveTerm, Plan, check_plan
from solver.heuristics.greedy import greedy_counts
from solver.heuristics.repair import repair_shortfall
from solver.model.data import ModelData, build_data
from solver.model.evaluate import Evaluator
from solver.report import plan_from_vector
from solver.search.counts import hint_vector
from tests.factory import busy_instance, greedy_plans, make, ring, shifts, unit, venue


def _repaired(
    instance: Instance, plan: Plan, locked: tuple[int, ...] = ()
) -> tuple[Plan, dict[tuple[str, int, str], int]]:
    """Repair ``plan``; the plan and its shortfall per (venue, ring, shift), both re-checked
    by the independent checker."""
    data = build_data(instance)
    x = repair_shortfall(data, hint_vector(data, plan), locked=locked)
    repaired = plan_from_vector(data, x)
    report = check_plan(instance, repaired)
    assert report.ok, report.violations
    return repaired, {key: row.shortfall for key, row in report.coverage.items()}


def _two_venues() -> list[dict[str, object]]:
    # "market" is low risk with one ring of weight 1; "kpu" very high with ring 1 (weight 4):
    # one missing officer costs 1 at the market and 8 x 4 = 32 at the KPU.
    return [
        venue("market", rings=[ring(4, capacity=5, minimum=1)]),
        venue("kpu", rings=[ring(1, capacity=5, minimum=1)], risk="very_high"),
    ]


def test_repair_moves_a_unit_within_its_shift_to_where_it_weighs_more() -> None:
    instance = make(_two_venues(), [unit("a", headcount=2)], shifts(1))
    at_market = Plan(assignments=(Assignment(unit="a", venue="market", ring=4, shift="s0"),))
    plan, shortfall = _repaired(instance, at_market)
    # The very-high KPU needs ceil(1 x 2.0) = 2: both officers go there, the market goes short.
    assert plan.assignments == (Assignment(unit="a", venue="kpu", ring=1, shift="s0"),)
    assert shortfall == {("market", 4, "s0"): 1, ("kpu", 1, "s0"): 0}


def test_repair_calls_a_free_police_unit_before_a_reserve_one() -> None:
    tni = {"force": "tni", "type": "infantry", "standby": True}
    instance = make(_two_venues(), [unit("t", headcount=2, **tni), unit("p", headcount=2)])
    plan, shortfall = _repaired(instance, Plan())
    data = build_data(instance)
    terms = Evaluator(data).terms(hint_vector(data, plan))
    assert Assignment(unit="p", venue="kpu", ring=1, shift="s0") in plan.assignments
    assert shortfall[("kpu", 1, "s0")] == 0
    # The reserve still covers the market, which nobody else can: it is called only there.
    assert terms[ObjectiveTerm.TNI] == 2
    assert shortfall[("market", 4, "s0")] == 0


def test_repair_calls_in_no_unit_whose_rest_rule_forbids_the_shift() -> None:
    # Back-to-back 8-hour shifts and 8 hours of rest: a unit on duty in s0 may not work s1.
    instance = make(_two_venues(), [unit("a", headcount=2)], shifts(2), {"min_rest_hours": 8})
    in_s0 = Plan(assignments=(Assignment(unit="a", venue="kpu", ring=1, shift="s0"),))
    plan, shortfall = _repaired(instance, in_s0)
    assert plan == in_s0
    assert shortfall[("kpu", 1, "s1")] == 2


def test_repair_trades_a_light_shift_for_a_heavy_one_that_the_rest_rule_would_block() -> None:
    # The KPU is guarded in s1 only; a stands at the market in s0, so 8 hours of rest keep it
    # out of s1. Giving up s0 (1 weighted missing person) for s1 (2 x 32) pays.
    venues = _two_venues()
    venues[1] = {**venues[1], "guarded_shifts": ["s1"]}
    instance = make(venues, [unit("a", headcount=2)], shifts(2), {"min_rest_hours": 8})
    at_market = Plan(assignments=(Assignment(unit="a", venue="market", ring=4, shift="s0"),))
    plan, shortfall = _repaired(instance, at_market)
    assert plan.assignments == (Assignment(unit="a", venue="kpu", ring=1, shift="s1"),)
    assert shortfall[("kpu", 1, "s1")] == 0
    assert shortfall[("market", 4, "s0")] == 1 and shortfall[("market", 4, "s1")] == 1


def test_repair_changes_nothing_in_a_locked_shift() -> None:
    instance = make(
        _two_venues(),
        [unit("a", headcount=2), unit("b", headcount=2)],
        shifts(2),
        {"min_rest_hours": 0},
    )
    at_market = Plan(
        assignments=(
            Assignment(unit="a", venue="market", ring=4, shift="s0"),
            Assignment(unit="a", venue="market", ring=4, shift="s1"),
        )
    )
    plan, shortfall = _repaired(instance, at_market, locked=(0,))
    s0 = {a for a in plan.assignments if a.shift == "s0"}
    assert s0 == {Assignment(unit="a", venue="market", ring=4, shift="s0")}
    assert shortfall[("kpu", 1, "s0")] == 2
    # s1 is open: b comes in for the KPU (a stays at the market, which it covers).
    assert shortfall[("kpu", 1, "s1")] == 0 and shortfall[("market", 4, "s1")] == 0


def _weighted(data: ModelData, x: npt.NDArray[np.int64]) -> int:
    return Evaluator(data).terms(x)[ObjectiveTerm.SHORTFALL]


def test_repair_never_raises_the_shortfall_of_a_greedy_plan_and_keeps_every_rule() -> None:
    instance = busy_instance(venues=12, units=60, shift_count=6)
    data = build_data(instance)
    lowered = 0
    for x in greedy_plans(data):
        repaired = repair_shortfall(data, x)
        report = check_plan(instance, plan_from_vector(data, repaired))
        assert report.ok, report.violations
        assert _weighted(data, repaired) <= _weighted(data, x)
        lowered += _weighted(data, repaired) < _weighted(data, x)
    assert lowered > 0  # the human planner's orders leave moves to make


def test_repair_stops_at_its_work_limit_with_a_valid_plan_and_the_same_plan_every_time() -> None:
    instance = busy_instance(venues=12, units=60, shift_count=6)
    data = build_data(instance)
    x = greedy_counts(data, police_first=True, order="weight")
    full = repair_shortfall(data, x)
    cut = repair_shortfall(data, x, max_work=10)
    assert np.array_equal(cut, repair_shortfall(data, x, max_work=10))
    assert check_plan(instance, plan_from_vector(data, cut)).ok
    # Ten pairs weighed: the first move is made, not the later ones.
    assert _weighted(data, full) < _weighted(data, cut) < _weighted(data, x)
