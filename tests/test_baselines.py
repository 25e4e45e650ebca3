"""Baseline planners on tiny instances whose answers can be worked out by hand."""

from __future__ import annotations

from benchmarks.baselines.greedy import plan_greedy
from solver import Instance, Plan, check_plan
from tests.factory import make, ring, shifts, unit, venue

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
