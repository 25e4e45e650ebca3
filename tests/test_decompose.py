"""Independent parts: found from travel reach and eligibility, solved apart, same optimum."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import pytest

from solver import ObjectiveTerm, SolveStatus, check_plan, solve
from solver.decompose import independent_parts, part_data, part_instance
from solver.model.data import build_data
from solver.model.disruption import Baseline
from solver.search.parts import part_weights
from solver.whatif import ReplanOptions, WhatIfRequest, whatif
from solver.whatif.changes import SetRisk, apply_changes
from tests.factory import make, ring, shifts, solve_checked, unit, venue

EAST = {"lat": -6.55, "lon": 108.44}  # about 110 km east of HOME
NORTH = {"lat": -5.55, "lon": 107.44}  # about 110 km north of HOME
EAST_HOME: dict[str, Any] = {"region": "pwk", "location": EAST}


def _two_regions() -> list[Any]:
    venues = [
        venue("west", rings=[ring(1, 6, 2), ring(2, 8, 3)], risk="high"),
        venue("east", location=EAST, rings=[ring(1, 6, 2), ring(2, 8, 3)]),
        venue("north", location=NORTH),  # nobody can reach it
    ]
    units = [
        *(unit(f"w{i}", headcount=1 + i % 2) for i in range(4)),
        *(unit(f"e{i}", headcount=1 + i % 3, home=EAST_HOME) for i in range(4)),
    ]
    return [venues, units]


def test_parts_split_where_no_unit_can_travel_across() -> None:
    venues, units = _two_regions()
    instance = make(venues, units, shifts(3), {"max_travel_km": 50})
    parts = independent_parts(instance)
    named = sorted(
        (
            tuple(instance.venues[v].id for v in part.venues),
            tuple(instance.units[u].id for u in part.units),
        )
        for part in parts
    )
    assert named == [
        (("east",), ("e0", "e1", "e2", "e3")),
        (("north",), ()),
        (("west",), ("w0", "w1", "w2", "w3")),
    ]


def test_one_unit_that_reaches_both_regions_joins_them() -> None:
    venues, units = _two_regions()
    units.append(unit("mobile", home=EAST_HOME, max_travel_km=130))
    instance = make(venues, units, shifts(3), {"max_travel_km": 50})
    assert sorted(len(p.venues) for p in independent_parts(instance)) == [1, 2]


def test_part_data_cut_from_the_whole_equals_data_built_for_the_part() -> None:
    venues, units = _two_regions()
    units += [unit(f"w-pool{i}", headcount=2) for i in range(3)]  # pooled into one group
    instance = make(venues, units, shifts(3), {"max_travel_km": 50})
    whole = build_data(instance)
    assert any(group.size > 1 for group in whole.groups)
    for part in independent_parts(instance):
        if not part.units:
            continue
        sub = part_instance(instance, part)
        cut, index = part_data(whole, part, sub)
        built = build_data(sub)
        assert cut.slots == built.slots
        assert cut.groups == built.groups
        assert cut.candidates == built.candidates
        assert cut.by_slot == built.by_slot and cut.by_group_shift == built.by_group_shift
        assert cut.per_unit == built.per_unit
        for c, candidate in zip(index, cut.candidates, strict=True):
            original = whole.candidates[c]
            assert original.km == candidate.km
            assert whole.slots[original.slot].venue == part.venues[cut.slots[candidate.slot].venue]


def test_decomposed_solve_matches_the_whole_model() -> None:
    venues, units = _two_regions()
    instance = make(venues, units, shifts(4), {"max_travel_km": 50, "min_rest_hours": 8})
    whole = solve_checked(instance, preset="whole")
    parts = solve_checked(instance)
    assert whole.status is SolveStatus.OPTIMAL and parts.status is SolveStatus.OPTIMAL
    assert parts.objective == whole.objective
    assert parts.breakdown == whole.breakdown
    assert any(row.venue == "north" and row.shortfall == 1 for row in parts.coverage)


def test_part_with_slack_under_the_busiest_unit_uses_it_for_later_terms() -> None:
    # West needs both its units in both shifts, so the busiest unit works 2. East alone would
    # keep its busiest unit at 1 by sending the pair for one shift (1 overstaffed); with the
    # overall peak of 2 its single officer covers both shifts instead.
    venues = [
        venue("west", rings=[ring(1, capacity=2, minimum=1), ring(2, capacity=1, minimum=1)]),
        venue("east", location=EAST),
    ]
    units = [
        unit("w-pair", headcount=2),
        unit("w-one"),
        unit("e-one", home=EAST_HOME),
        unit("e-pair", headcount=2, home=EAST_HOME),
    ]
    instance = make(venues, units, shifts(2), {"max_travel_km": 50, "min_rest_hours": 0})
    assert len(independent_parts(instance)) == 2
    whole = solve_checked(instance, preset="whole")
    # Cold: no greedy plan to fall back on, the parts' own plans must be right.
    parts = solve_checked(instance, preset="cold")
    assert parts.status is SolveStatus.OPTIMAL
    assert parts.objective == whole.objective
    assert parts.total_shortfall == 0
    assert parts.breakdown[ObjectiveTerm.BALANCE] == 2
    assert parts.breakdown[ObjectiveTerm.OVERSTAFFING] == 2


def test_stop_before_a_decomposed_solve_returns_the_greedy_plan() -> None:
    venues, units = _two_regions()
    instance = make(venues, units, shifts(4), {"max_travel_km": 50})
    stop = threading.Event()
    stop.set()
    result = solve(instance, time_limit=60, workers=2, stop=stop)
    assert result.status is SolveStatus.FEASIBLE
    assert check_plan(instance, result.plan).ok
    assert {a.venue for a in result.plan.assignments} == {"west", "east"}
    # No part was solved, but nobody can reach the north venue: its need is a bound.
    north = next(row for row in result.coverage if row.venue == "north")
    assert north.shortfall > 0
    assert result.best_bound is not None and result.best_bound > 0


def test_hint_reaches_every_part() -> None:
    venues, units = _two_regions()
    instance = make(venues, units, shifts(1), {"max_travel_km": 50})
    cold = solve_checked(instance)
    warm = solve_checked(instance, hint=cold.plan)
    assert warm.status is SolveStatus.OPTIMAL
    assert warm.objective == cold.objective
    # Pooled units take the hinted rosters: the very same plan comes back.
    assert warm.plan == cold.plan


def test_replan_of_independent_parts_matches_the_whole_replan_and_keeps_the_quiet_part() -> None:
    venues, units = _two_regions()
    rules = {"max_travel_km": 50, "min_rest_hours": 8}
    instance = make(venues, units, shifts(4), rules)
    in_force = solve_checked(instance, preset="whole")
    assert in_force.status is SolveStatus.OPTIMAL
    venues[1] = venue("east", location=EAST, rings=[ring(1, 6, 2), ring(2, 8, 3)], risk="very_high")
    raised = make(venues, units, shifts(4), rules)
    baseline = Baseline(plan=in_force.plan)
    whole = solve_checked(raised, baseline=baseline, preset="whole")
    parts = solve_checked(raised, baseline=baseline)
    assert whole.status is SolveStatus.OPTIMAL and parts.status is SolveStatus.OPTIMAL
    assert parts.breakdown == whole.breakdown
    assert parts.breakdown[ObjectiveTerm.DISRUPTION] > 0  # east needs more people
    # West's requirements did not change and its plan was optimal: it stays as it was.
    west = {a for a in in_force.plan.assignments if a.venue == "west"}
    assert {a for a in parts.plan.assignments if a.venue == "west"} == west


def test_a_decomposed_solve_reports_each_parts_plans_as_whole_plans() -> None:
    venues, units = _two_regions()
    instance = make(venues, units, shifts(4), {"max_travel_km": 50, "min_rest_hours": 8})
    seen: list[Any] = []
    result = solve_checked(instance, preset="cold", progress=seen.append)
    assert result.status is SolveStatus.OPTIMAL
    objectives = [p.objective for p in seen]
    assert objectives == sorted(objectives, reverse=True) and len(set(objectives)) == len(seen)
    assert objectives[-1] == result.objective


def test_reproducible_replan_of_independent_parts_returns_the_same_plan_twice() -> None:
    venues, units = _two_regions()
    units += [unit(f"w-extra{i}", headcount=2) for i in range(4)]
    instance = make(venues, units, shifts(6), {"max_travel_km": 50, "min_rest_hours": 8})
    in_force = solve_checked(instance, preset="whole")
    request = WhatIfRequest(
        instance=instance,
        plan=in_force.plan,
        changes=(SetRisk(venue="east", risk="very_high"), SetRisk(venue="west", risk="high")),
        options=ReplanOptions(time_limit=5, reproducible=True, deterministic_time=0.05),
    )
    first, second = whatif(request), whatif(request)
    assert first.plan == second.plan and first.diff == second.diff
    assert first.result.objective == second.result.objective
    assert check_plan(apply_changes(instance, request.changes), first.plan).ok


def test_part_weights_give_the_short_part_most_of_the_time() -> None:
    # From the empty plan every requirement is missing; the west's rings are high risk
    # (weights 4 x 4 and 4 x 3 a person, the east's 1 x 4 and 1 x 3), so the west gets 3/4
    # of the time in proportion to its weighted shortfall plus 1/4 by its candidates.
    venues, units = _two_regions()
    instance = make(venues, units, shifts(3), {"max_travel_km": 50})
    data = build_data(instance)
    parts = independent_parts(instance, data)
    sizes = [len(part_data(data, part, part_instance(instance, part))[1]) for part in parts]
    names = [instance.venues[part.venues[0]].id for part in parts]
    missing = dict.fromkeys(names, 0)
    for slot in data.slots:
        name = instance.venues[slot.venue].id
        if name in missing:
            missing[name] += slot.required * slot.weight
    assert missing["west"] > 3 * missing["east"]
    weights = part_weights(data, parts, sizes, np.zeros(data.n_candidates, dtype=np.int64))
    for i, name in enumerate(names):
        share = missing[name] / sum(missing.values())
        assert weights[i] == pytest.approx(0.25 * sizes[i] / sum(sizes) + 0.75 * share)
    west = names.index("west")
    assert weights[west] > 0.7 > sizes[west] / sum(sizes)  # more than by candidates alone
