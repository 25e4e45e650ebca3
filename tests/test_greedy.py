"""The greedy start plans: valid plans under every rule, and why there are two of them."""

from __future__ import annotations

import pytest

from solver import Instance, ObjectiveTerm, check_plan
from solver.heuristics.greedy import SlotOrder, greedy_counts, planned_days_off
from solver.model.data import build_data
from solver.model.evaluate import Evaluator
from solver.report import plan_from_vector
from tests.factory import make, ring, shifts, unit, venue
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


def _week_post(n_units: int) -> Instance:
    """Posts needing one officer each, three 8 h shifts a day for a week, 8 h of rest, at
    most 5 duty days in a row; ``n_units`` officers based along a line of longitude."""
    rules = {"min_rest_hours": 8, "max_consecutive_days": 5, "max_travel_km": 200}
    units = [
        unit(f"u{i}", home={"region": "pwk", "location": {"lat": -6.5, "lon": 107.4 + 0.01 * i}})
        for i in range(n_units)
    ]
    rings = [ring(n, 10, 1) for n in range(1, n_units // 2 + 1)]
    return make([venue(rings=rings)], units, shifts(21), rules)


def test_days_off_are_planned_in_turn_along_the_units_homes() -> None:
    data = build_data(_week_post(6), grouped=False)
    off = planned_days_off(data)
    # Each unit is off one of days 1-5 (a day off there breaks both six-day runs of the
    # week); west to east they take them in turn, and the sixth starts over.
    assert off == {0: 1 << 1, 1: 1 << 2, 2: 1 << 3, 3: 1 << 4, 4: 1 << 5, 5: 1 << 1}


def test_no_days_off_are_planned_where_the_rule_cannot_bind() -> None:
    instance = _week_post(4)
    loose = instance.model_copy(
        update={"rules": instance.rules.model_copy(update={"max_consecutive_days": 7})}
    )
    assert planned_days_off(build_data(loose)) == {}


def test_planned_days_off_stagger_the_greedy_and_lower_its_shortfall() -> None:
    instance = _week_post(6)
    data = build_data(instance, grouped=False)
    evaluator = Evaluator(data)
    off = planned_days_off(data)
    plain = greedy_counts(data, police_first=False, order="time")
    staggered = greedy_counts(data, police_first=False, order="time", days_off=off)
    plan = plan_from_vector(data, staggered)
    report = check_plan(instance, plan)
    assert report.ok, report.violations
    day_of = {s.id: s.start.date() for s in instance.shifts}
    first = min(day_of.values())
    for a in plan.assignments:  # nobody works the day planned off
        u = int(a.unit[1:])
        assert not off[u] >> (day_of[a.shift] - first).days & 1
    shortfall = ObjectiveTerm.SHORTFALL
    assert evaluator.terms(staggered)[shortfall] < evaluator.terms(plain)[shortfall]


def test_a_start_keeps_its_places_on_a_day_planned_off() -> None:
    instance = _week_post(2)
    data = build_data(instance, grouped=False)
    off = planned_days_off(data)
    day_one = next(c for c in data.by_slot[3])  # ring 1 in shift 3, the first of day 1
    unit_of = data.groups[data.candidates[day_one].group].members[0]
    assert off[unit_of] == 1 << 1
    x = greedy_counts(data, start=[(unit_of, day_one)], days_off=off)
    assert x[day_one] == 1
