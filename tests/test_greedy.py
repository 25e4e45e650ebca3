"""The greedy start plans: valid plans under every rule, and why there are two of them."""

from __future__ import annotations

import pytest

from solver import ObjectiveTerm, check_plan
from solver.model.data import build_data
from solver.model.evaluate import Evaluator
from solver.model.greedy import SlotOrder, greedy_counts
from solver.report import plan_from_vector
from tests.factory import make, ring, unit, venue
from tests.test_groups import CASES


@pytest.mark.parametrize("order", ["weight", "day", "time"])
@pytest.mark.parametrize("police_first", [True, False])
@pytest.mark.parametrize("name", sorted(CASES))
def test_greedy_plan_keeps_every_rule(name: str, police_first: bool, order: SlotOrder) -> None:
    instance = CASES[name]
    data = build_data(instance)
    plan = plan_from_vector(data, greedy_counts(data, police_first=police_first, order=order))
    report = check_plan(instance, plan)
    assert report.ok, report.violations
    assert plan.assignments


def test_least_flexible_unit_first_leaves_the_police_for_the_inner_ring() -> None:
    # The very-high-risk outer ring comes first. The police-first planner sends the police
    # there and has nobody left for the police-only inner ring elsewhere; sending the TNI
    # platoon, which fits only the outer ring, covers both.
    venues = [
        venue("hot", rings=[ring(3, capacity=4, minimum=1)], risk="very_high"),
        venue("calm", rings=[ring(1, capacity=2, minimum=2, allowed_forces=["polri"])]),
    ]
    units = [unit("polri", headcount=2), unit("tni", headcount=2, force="tni", type="infantry")]
    data = build_data(make(venues, units))
    evaluator = Evaluator(data)
    police_first = evaluator.terms(greedy_counts(data, police_first=True))
    least_flexible = evaluator.terms(greedy_counts(data, police_first=False))
    assert police_first[ObjectiveTerm.SHORTFALL] == 2 * 4  # two missing, ring 1 at low risk
    assert least_flexible[ObjectiveTerm.SHORTFALL] == 0
