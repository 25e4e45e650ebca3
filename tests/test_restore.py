"""Restoring places of the plan in force: never more shortfall, never a broken rule."""

from __future__ import annotations

from solver import Assignment, Instance, ObjectiveTerm, Plan, check_plan
from solver.heuristics.restore import restore_baseline
from solver.model.data import ModelData, build_data
from solver.model.disruption import Baseline, BaselineEvaluator, baseline_history, index_baseline
from solver.report import plan_from_vector
from solver.search.counts import hint_vector
from tests.factory import make, ring, shifts, unit, venue


def _setting() -> tuple[Instance, Baseline, ModelData]:
    # Two rings that need one officer each; ring 1 holds two.
    instance = make(
        [venue("kpu", rings=[ring(1, capacity=2, minimum=1), ring(2, capacity=3, minimum=1)])],
        [unit("a"), unit("b"), unit("c")],
        shifts(2),
        {"min_rest_hours": 0},
    )
    in_force = Plan(
        assignments=(
            Assignment(unit="a", venue="kpu", ring=1, shift="s0"),
            Assignment(unit="c", venue="kpu", ring=2, shift="s0"),
            Assignment(unit="a", venue="kpu", ring=1, shift="s1"),
            Assignment(unit="c", venue="kpu", ring=2, shift="s1"),
        )
    )
    baseline = Baseline(plan=in_force)
    data = build_data(instance, history=baseline_history(instance, baseline))
    return instance, baseline, data


def _restore(
    instance: Instance, baseline: Baseline, data: ModelData, drifted: Plan
) -> tuple[Plan, dict[ObjectiveTerm, int], dict[ObjectiveTerm, int]]:
    """Restore ``drifted``; the checked plan and the terms before and after."""
    index = index_baseline(data, baseline)
    x = hint_vector(data, drifted)
    restored = restore_baseline(data, index, x)
    plan = plan_from_vector(data, restored)
    assert check_plan(instance, plan).ok
    evaluator = BaselineEvaluator(data, index)
    return plan, evaluator.terms(x), evaluator.terms(restored)


def test_units_go_back_to_their_places_in_force_when_no_ring_loses_cover() -> None:
    instance, baseline, data = _setting()
    # In s0, a was moved to ring 2 (covered by c anyway) and b newly put in ring 1.
    drifted = Plan(
        assignments=(
            Assignment(unit="a", venue="kpu", ring=2, shift="s0"),
            Assignment(unit="b", venue="kpu", ring=1, shift="s0"),
            Assignment(unit="c", venue="kpu", ring=2, shift="s0"),
            Assignment(unit="a", venue="kpu", ring=1, shift="s1"),
            Assignment(unit="c", venue="kpu", ring=2, shift="s1"),
        )
    )
    plan, before, after = _restore(instance, baseline, data, drifted)
    assert set(plan.assignments) == set(baseline.plan.assignments)
    assert after[ObjectiveTerm.DISRUPTION] == 0 < before[ObjectiveTerm.DISRUPTION]
    assert after[ObjectiveTerm.SHORTFALL] <= before[ObjectiveTerm.SHORTFALL]


def test_a_unit_moved_off_an_uncovered_ring_goes_back_and_an_extra_one_leaves() -> None:
    instance, baseline, data = _setting()
    # In s0, a was moved from ring 1 to ring 2 and nobody took ring 1: putting a back covers
    # ring 1 again. In s1, a left ring 1 too and b was put there: a goes back, then b is no
    # longer needed and leaves.
    drifted = Plan(
        assignments=(
            Assignment(unit="a", venue="kpu", ring=2, shift="s0"),
            Assignment(unit="c", venue="kpu", ring=2, shift="s0"),
            Assignment(unit="a", venue="kpu", ring=2, shift="s1"),
            Assignment(unit="b", venue="kpu", ring=1, shift="s1"),
            Assignment(unit="c", venue="kpu", ring=2, shift="s1"),
        )
    )
    plan, before, after = _restore(instance, baseline, data, drifted)
    assert set(plan.assignments) == set(baseline.plan.assignments)
    assert after[ObjectiveTerm.SHORTFALL] == 0 < before[ObjectiveTerm.SHORTFALL]


def test_a_newly_placed_unit_that_covers_a_need_stays() -> None:
    instance = make(
        [venue("kpu", rings=[ring(1, capacity=2, minimum=1), ring(2, capacity=3, minimum=2)])],
        [unit("a"), unit("b"), unit("c")],
        shifts(1),
        {"min_rest_hours": 0},
    )
    baseline = Baseline(
        plan=Plan(
            assignments=(
                Assignment(unit="a", venue="kpu", ring=1, shift="s0"),
                Assignment(unit="c", venue="kpu", ring=2, shift="s0"),
            )
        )
    )
    data = build_data(instance, history=baseline_history(instance, baseline))
    b_added = Assignment(unit="b", venue="kpu", ring=2, shift="s0")
    drifted = Plan(assignments=(*baseline.plan.assignments, b_added))
    plan, before, after = _restore(instance, baseline, data, drifted)
    assert b_added in plan.assignments  # taking b off would leave ring 2 one officer short
    assert after == before
