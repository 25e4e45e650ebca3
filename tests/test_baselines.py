"""Baseline planners on tiny instances whose answers can be worked out by hand."""

from __future__ import annotations

import pytest

from benchmarks.baselines.greedy import plan_greedy
from benchmarks.baselines.highs_mip import run_highs
from benchmarks.baselines.naive_cpsat import run_naive_cpsat
from benchmarks.generator import generate
from benchmarks.scoring import plan_terms, score_plan
from benchmarks.solvers import run_solver
from solver import Instance, Plan, SolveStatus, check_plan
from tests.factory import make, ring, shifts, solve_checked, unit, venue

FAR = {"lat": -6.55, "lon": 107.62}  # about 20 km east of HOME


def two_ring_instance() -> Instance:
    """Ring 1 admits police only (needs 2); ring 3 admits all (needs 3); one shift."""
    return make(
        [venue(rings=[ring(1, 4, 2, allowed_forces=["polri"]), ring(3, 10, 3)])],
        [
            unit("far", 2, home={"region": "pwk", "location": FAR}),
            unit("near", 2),
            unit("tni", 5, force="tni", type="infantry", standby=True),
        ],
    )


def placed(plan: Plan) -> set[tuple[str, int, str]]:
    return {(a.unit, a.ring, a.shift) for a in plan.assignments}


def test_greedy_fills_the_inner_ring_with_the_nearest_police_then_calls_tni() -> None:
    instance = two_ring_instance()
    plan = plan_greedy(instance)
    assert check_plan(instance, plan).ok
    # Ring 1 first: the nearest police unit. Ring 3: the remaining police, then the reserve.
    assert placed(plan) == {("near", 1, "s0"), ("far", 3, "s0"), ("tni", 3, "s0")}


def test_greedy_keeps_the_rest_rule_and_leaves_the_shortfall() -> None:
    instance = make([venue(rings=[ring(1, 4, 1)])], [unit("solo", 1)], shifts(2))
    plan = plan_greedy(instance)
    report = check_plan(instance, plan)
    assert report.ok
    # Back-to-back shifts with 8 hours of rest: the one officer works only the first.
    assert placed(plan) == {("solo", 1, "s0")}
    assert report.total_shortfall == 1


# The best plan of two_ring_instance, worked out by hand: ring 1 needs 2 police, the nearest
# police unit gives exactly that; ring 3 needs 3 and only 2 police remain, so the TNI unit (5)
# is needed anyway and covers ring 3 alone; the far unit stays home (no travel). Terms:
# shortfall 0, TNI 5, travel 0, balance 1, overstaffing 2.
BEST = {("near", 1, "s0"), ("tni", 3, "s0")}
BEST_TERMS = {"shortfall": 0, "tni": 5, "travel": 0, "balance": 1, "overstaffing": 2}


def test_highs_mip_finds_the_hand_computed_optimum() -> None:
    instance = two_ring_instance()
    outcome = run_highs(instance, time_limit=10, workers=1, seed=0)
    assert outcome.plan is not None and check_plan(instance, outcome.plan).ok
    assert outcome.status == "optimal"
    assert placed(outcome.plan) == BEST
    assert {t.value: v for t, v in score_plan(instance, outcome.plan).terms.items()} == BEST_TERMS


def test_naive_cpsat_finds_the_hand_computed_optimum() -> None:
    instance = two_ring_instance()
    outcome = run_naive_cpsat(instance, time_limit=10, workers=2, seed=0)
    assert outcome.plan is not None and check_plan(instance, outcome.plan).ok
    assert outcome.status == "optimal"
    assert placed(outcome.plan) == BEST


def test_naive_cpsat_refuses_a_model_too_large_to_build() -> None:
    outcome = run_naive_cpsat(generate("national", 0, "loose"), time_limit=1, workers=1, seed=0)
    assert outcome.status == "too_large" and outcome.plan is None
    assert "booleans" in outcome.note


@pytest.mark.parametrize("variant", ["tight", "loose"])
def test_baselines_on_the_generated_district_match_ringplans_optimum(variant: str) -> None:
    instance = generate("district", 0, variant)
    # Both stop once proven optimal (seconds on a quiet machine); the limits leave room for a
    # loaded one, where HiGHS's 10 s once ended feasible (954,530 against 784,173).
    ringplan = solve_checked(instance, time_limit=60)
    assert ringplan.status is SolveStatus.OPTIMAL
    highs = run_highs(instance, time_limit=60, workers=1, seed=0)
    assert highs.plan is not None and check_plan(instance, highs.plan).ok
    assert score_plan(instance, highs.plan).objective == ringplan.objective
    greedy = plan_greedy(instance)
    assert check_plan(instance, greedy).ok
    assert score_plan(instance, greedy).objective >= ringplan.objective


def test_score_of_ringplans_plan_is_ringplans_objective() -> None:
    instance = generate("district", 1, "tight")
    result = solve_checked(instance, time_limit=10)
    score = score_plan(instance, result.plan)
    assert score.objective == result.objective
    assert score.terms == result.breakdown


@pytest.mark.parametrize("variant", ["tight", "loose"])
def test_plan_terms_agree_with_ringplans_evaluator(variant: str) -> None:
    instance = generate("district", 2, variant)
    plan = plan_greedy(instance)
    assert plan_terms(instance, plan) == score_plan(instance, plan).terms


def test_ringplan_warm_started_from_the_greedy_plan_is_no_worse_than_it() -> None:
    instance = generate("district", 0, "tight")
    outcome = run_solver("ringplan+greedy", instance, time_limit=10, workers=2, seed=0)
    assert outcome.plan is not None and check_plan(instance, outcome.plan).ok
    greedy = score_plan(instance, plan_greedy(instance)).objective
    assert score_plan(instance, outcome.plan).objective <= greedy
