"""Each rule family on an instance small enough to solve by hand."""

from __future__ import annotations

import itertools
import threading
import time
from typing import Any

import numpy as np
from ortools.sat.python import cp_model

from solver import Assignment, ObjectiveTerm, Plan, SolveStatus, check_plan, solve
from solver.heuristics.greedy import greedy_counts
from solver.model.constraints import add_constraints, day_cliques, rest_cliques
from solver.model.data import build_data, great_circle_km
from solver.model.objective import make_stages, objective_terms
from solver.model.variables import make_variables
from solver.search.cpsat import add_hint
from tests.factory import make, placed, ring, shifts, solve_checked, unit, venue

FAR = {"lat": -6.55, "lon": 108.44}  # about 110 km east of HOME


def test_unit_stands_in_one_place_per_shift() -> None:
    instance = make([venue("a"), venue("b")], [unit("u1")])
    result = solve_checked(instance)
    assert len(result.plan.assignments) == 1
    assert result.total_shortfall == 1
    assert result.status is SolveStatus.OPTIMAL


def test_ring_capacity_caps_headcount_and_shortfall_is_reported() -> None:
    instance = make([venue(rings=[ring(capacity=2, minimum=5)])], [unit(f"u{i}") for i in range(5)])
    result = solve_checked(instance)
    assert len(result.plan.assignments) == 2
    (row,) = result.coverage
    assert (row.required, row.assigned, row.shortfall) == (5, 2, 3)
    assert "holds at most 2" in row.reason
    assert any("a shortfall is unavoidable" in w for w in result.warnings)


def test_a_shortfall_names_how_much_headcount_could_reach_the_ring() -> None:
    # Three officers in range of a ring that needs five.
    instance = make([venue(rings=[ring(capacity=10, minimum=5)])], [unit("a", headcount=3)])
    (row,) = solve_checked(instance).coverage
    assert row.shortfall == 2
    assert row.rule == "reach"
    assert row.reason == "only 3 people may stand here in s0 for a requirement of 5"
    assert row.remedy == "2 more police or TNI people at kpu ring 1 in s0"


def test_a_shortfall_of_a_ring_others_could_cover_names_where_they_stand() -> None:
    # Both venues need the one unit in the same shift: one of them goes short.
    instance = make([venue("a"), venue("b")], [unit("u1")])
    (row,) = [row for row in solve_checked(instance).coverage if row.shortfall]
    other = "b" if row.venue == "a" else "a"
    assert row.rule == "busy"
    assert row.reason == (
        f"1 person may stand here within reach, but placed elsewhere in s0: u1 at {other} ring 1"
    )
    assert row.remedy.startswith(f"free u1 from {other} ring 1 in s0, costing 1 people-shifts")


def test_unit_larger_than_ring_is_never_placed() -> None:
    instance = make([venue(rings=[ring(capacity=2, minimum=2)])], [unit("platoon", headcount=3)])
    result = solve_checked(instance)
    assert result.plan.assignments == ()
    assert result.coverage[0].reason == (
        "only 0 people may stand here in s0 for a requirement of 2; "
        "blocked: 1 unit larger than the ring holds (platoon)"
    )


def test_unit_works_only_shifts_it_is_available_for() -> None:
    instance = make(
        [venue()],
        [unit("u1", available_shifts=["s1"])],
        shifts(3, hours=8),
        {"min_rest_hours": 0},
    )
    result = solve_checked(instance)
    assert placed(result) == {("u1", "kpu", 1, "s1")}


def test_unit_works_only_inside_its_time_windows() -> None:
    window = {"start": "2024-02-14T13:00:00+07:00", "end": "2024-02-15T00:00:00+07:00"}
    instance = make(
        [venue()], [unit("u1", available_windows=[window])], shifts(3), {"min_rest_hours": 0}
    )
    result = solve_checked(instance)
    # s0 06-14 starts before the window, s2 22-06 ends after it: only s1 14-22 fits.
    assert placed(result) == {("u1", "kpu", 1, "s1")}


def test_ring_admits_only_allowed_forces_and_types() -> None:
    rings = [ring(1, minimum=1, allowed_forces=["polri"], allowed_types=["brimob"]), ring(2)]
    instance = make(
        [venue(rings=rings)],
        [unit("samapta1"), unit("tni1", force="tni", type="infantry", standby=True)],
    )
    result = solve_checked(instance)
    assert ("samapta1", "kpu", 2, "s0") in placed(result)
    assert result.coverage[0].ring == 1 and result.coverage[0].shortfall == 1


def test_rest_hours_keep_a_unit_off_the_next_shift() -> None:
    instance = make([venue()], [unit("u1")], shifts(3), {"min_rest_hours": 8})
    result = solve_checked(instance)
    # 06-14 and 22-06 leave exactly 8 h rest; 14-22 follows either with none.
    assert placed(result) == {("u1", "kpu", 1, "s0"), ("u1", "kpu", 1, "s2")}
    assert result.total_shortfall == 1


def test_rest_hours_measure_time_not_list_position() -> None:
    shift_list = [
        {"id": "night", "start": "2024-02-14T20:00:00+07:00", "end": "2024-02-15T08:00:00+07:00"},
        {"id": "short", "start": "2024-02-15T14:00:00+07:00", "end": "2024-02-15T18:00:00+07:00"},
        {"id": "late", "start": "2024-02-15T16:00:00+07:00", "end": "2024-02-15T22:00:00+07:00"},
    ]
    rules = {"min_rest_hours": 7}
    instance = make([venue()], [unit("u1")], shift_list, rules)
    result = solve_checked(instance)
    # night ends 08:00: 'short' at 14:00 leaves 6 h, 'late' at 16:00 leaves 8 h; 'short' and
    # 'late' overlap. Best: night + late.
    assert placed(result) == {("u1", "kpu", 1, "night"), ("u1", "kpu", 1, "late")}


def test_overlapping_shifts_are_never_both_worked() -> None:
    shift_list = [
        {"id": "a", "start": "2024-02-14T06:00:00+07:00", "end": "2024-02-14T14:00:00+07:00"},
        {"id": "b", "start": "2024-02-14T10:00:00+08:00", "end": "2024-02-14T18:00:00+08:00"},
    ]
    # b is 09:00-17:00 WIB: it overlaps a even though it is written in another timezone.
    instance = make([venue()], [unit("u1")], shift_list, {"min_rest_hours": 0})
    result = solve_checked(instance)
    assert len(result.plan.assignments) == 1


def test_max_shifts_caps_the_horizon() -> None:
    instance = make([venue()], [unit("u1")], shifts(3), {"min_rest_hours": 0, "max_shifts": 2})
    result = solve_checked(instance)
    assert len(result.plan.assignments) == 2


def test_max_shifts_per_24h_counts_shift_starts_in_any_day() -> None:
    rules = {"min_rest_hours": 0, "max_shifts_per_24h": 1}
    instance = make([venue()], [unit("u1")], shifts(6), rules)
    result = solve_checked(instance)
    assert {a.shift for a in result.plan.assignments} == {"s0", "s3"}


def test_max_consecutive_days_forces_a_day_off() -> None:
    daily = [
        {
            "id": f"d{i}",
            "start": f"2024-02-1{4 + i}T08:00:00+07:00",
            "end": f"2024-02-1{4 + i}T16:00:00+07:00",
        }
        for i in range(4)
    ]
    rules = {"min_rest_hours": 0, "max_consecutive_days": 2}
    instance = make([venue()], [unit("u1")], daily, rules)
    result = solve_checked(instance)
    worked = sorted(a.shift for a in result.plan.assignments)
    assert len(worked) == 3 and worked[0] == "d0" and worked[-1] == "d3"


def test_day_cliques_are_the_rest_cliques_cut_at_midnight() -> None:
    # 06-14, 14-22, 22-06 each day; 8 h of rest forbids two shifts in a row, so the rest
    # cliques are the pairs of consecutive shifts; the night shift's pair ends the next day.
    instance = make([venue()], [unit("u0")], shifts(6), {"min_rest_hours": 8})
    data = build_data(instance)
    assert rest_cliques(data) == [[0, 1], [1, 2], [2, 3], [3, 4], [4, 5]]
    assert day_cliques(data, rest_cliques(data)) == [[[0, 1], [1, 2]], [[3, 4], [4, 5]]]


def test_a_day_off_in_six_costs_a_lone_officer_one_shift_of_every_other() -> None:
    # Three 8 h shifts a day for a week, 8 h of rest, at most 5 duty days in a row: every
    # other shift is 11 of 21, and the day off the rule forces takes one of them.
    rules = {"min_rest_hours": 8, "max_consecutive_days": 5}
    instance = make([venue(rings=[ring(1, 10, 1)])], [unit("u0")], shifts(21), rules)
    result = solve_checked(instance)
    assert result.status is SolveStatus.OPTIMAL
    assert len(result.plan.assignments) == 10


def test_travel_limit_keeps_distant_units_home_unless_overridden() -> None:
    units = [
        unit("far", home={"region": "pwk", "location": FAR}),
        unit("far-mobile", home={"region": "pwk", "location": FAR}, max_travel_km=200),
    ]
    instance = make([venue(rings=[ring(minimum=2)])], units, rules={"max_travel_km": 50})
    result = solve_checked(instance)
    assert placed(result) == {("far-mobile", "kpu", 1, "s0")}
    assert result.breakdown[ObjectiveTerm.TRAVEL] in range(105, 116)


def test_candidates_keep_each_distance_as_the_haversine_gives_it_up_to_the_limit() -> None:
    rng = np.random.default_rng(7)
    spots = [
        {"lat": float(-6.0 - rng.random()), "lon": float(107.0 + rng.random())} for _ in range(24)
    ]
    venues = [venue(f"v{i}", location=spot) for i, spot in enumerate(spots[:8])]
    units = [
        unit(f"u{i}", home={"region": "pwk", "location": spot}) for i, spot in enumerate(spots[8:])
    ]
    # One unit whose own limit is exactly its distance to v0: the limit is inclusive.
    edge = great_circle_km(spots[8]["lat"], spots[8]["lon"], spots[0]["lat"], spots[0]["lon"])
    units[0]["max_travel_km"] = edge
    instance = make(venues, units, rules={"max_travel_km": 60})
    data = build_data(instance, grouped=False)
    kept = {(data.groups[c.group].members[0], c.slot): c.km for c in data.candidates}
    expected = {}
    for u, home in enumerate(spots[8:]):
        limit = edge if u == 0 else 60
        for v, site in enumerate(spots[:8]):
            km = great_circle_km(home["lat"], home["lon"], site["lat"], site["lon"])
            if km <= limit:
                expected[u, v] = round(km)  # one ring, one shift: slot index = venue index
    assert (0, 0) in expected and len(expected) < 16 * 8  # some pairs are out of reach
    assert kept == expected


def test_requirement_scales_with_risk_and_shift_override() -> None:
    v = venue(
        rings=[ring(capacity=20, minimum=3)],
        risk="high",
        risk_overrides=[{"shifts": ["s1"], "risk": "very_high"}],
    )
    instance = make([v], [], shifts(2))
    result = solve_checked(instance)
    required = {row.shift: row.required for row in result.coverage}
    assert required == {"s0": 5, "s1": 6}  # ceil(3 x 1.5), 3 x 2.0


def test_shortfall_is_never_traded_for_less_travel() -> None:
    units = [unit("near"), unit("far", home={"region": "pwk", "location": FAR})]
    instance = make([venue("a"), venue("b")], units)
    result = solve_checked(instance)
    assert result.total_shortfall == 0
    assert {a.unit for a in result.plan.assignments} == {"near", "far"}


def test_tni_is_activated_only_where_police_cannot_cover() -> None:
    tni: dict[str, Any] = {"force": "tni", "type": "infantry", "standby": True}
    units = [
        unit("polri1", home={"region": "pwk", "location": FAR}),
        unit("tni1", **tni),
        unit("tni2", **tni),
    ]
    # Two posts need one each; the police unit is far, TNI sit next door. Police first, then
    # one TNI unit for the post the police cannot fill.
    instance = make([venue("a"), venue("b")], units)
    result = solve_checked(instance)
    assert result.total_shortfall == 0
    assert "polri1" in {a.unit for a in result.plan.assignments}
    assert len(result.activations) == 1
    assert result.breakdown[ObjectiveTerm.TNI] == 1


def test_inner_ring_is_covered_before_outer_ring() -> None:
    instance = make([venue(rings=[ring(1, minimum=1), ring(4, minimum=1)])], [unit("u1")])
    result = solve_checked(instance)
    assert placed(result) == {("u1", "kpu", 1, "s0")}


def test_no_staff_above_requirement_without_need() -> None:
    instance = make([venue(rings=[ring(minimum=1)])], [unit(f"u{i}") for i in range(4)])
    result = solve_checked(instance)
    assert len(result.plan.assignments) == 1
    assert result.breakdown[ObjectiveTerm.OVERSTAFFING] == 0


def test_workload_is_balanced_across_units() -> None:
    instance = make([venue()], [unit("u1"), unit("u2")], shifts(4), {"min_rest_hours": 0})
    result = solve_checked(instance)
    assert result.breakdown[ObjectiveTerm.BALANCE] == 2


def test_progress_reports_never_worsen_and_end_at_the_result() -> None:
    units = [unit(f"u{i}", headcount=1 + i % 3) for i in range(12)]
    venues = [venue(f"v{i}", rings=[ring(1, 6, 2), ring(2, 9, 4)], risk="high") for i in range(3)]
    instance = make(venues, units, shifts(6), {"min_rest_hours": 8})
    seen: list[int] = []
    result = solve_checked(instance, progress=lambda p: seen.append(p.objective))
    assert seen, "no progress reported"
    assert all(b < a for a, b in itertools.pairwise(seen))
    assert seen[-1] == result.objective


def test_stop_event_ends_the_search_quickly() -> None:
    units = [unit(f"u{i}", headcount=1 + i % 4) for i in range(60)]
    venues = [venue(f"v{i}", rings=[ring(1, 8, 3), ring(2, 12, 6)], risk="high") for i in range(8)]
    instance = make(venues, units, shifts(9), {"min_rest_hours": 8})
    stop = threading.Event()
    stop.set()  # set before the search starts: the race the solver must not lose
    began = time.perf_counter()
    result = solve(instance, time_limit=60, workers=2, stop=stop)
    assert time.perf_counter() - began < 5
    assert result.status in (SolveStatus.NO_SOLUTION, SolveStatus.FEASIBLE, SolveStatus.OPTIMAL)
    assert check_plan(instance, result.plan).ok


def test_hint_is_used_as_the_starting_plan() -> None:
    instance = make([venue()], [unit("u1"), unit("u2")])
    cold = solve_checked(instance)
    warm = solve_checked(instance, hint=cold.plan)
    assert warm.objective == cold.objective


def test_hint_with_impossible_assignments_is_ignored_safely() -> None:
    instance = make([venue()], [unit("u1")])
    bogus = Plan.model_validate(
        {"assignments": [{"unit": "u1", "venue": "kpu", "ring": 3, "shift": "s0"}]}
    )
    result = solve_checked(instance, hint=bogus)
    assert result.total_shortfall == 0


def test_reproducible_preset_returns_the_same_plan() -> None:
    units = [unit(f"u{i}") for i in range(10)]
    instance = make([venue(f"v{i}") for i in range(4)], units, shifts(3))
    first = solve_checked(instance, preset="reproducible")
    second = solve_checked(instance, preset="reproducible")
    assert first.plan == second.plan


def test_incumbent_callback_hands_over_plans_the_checker_accepts() -> None:
    instance = make(
        [venue(rings=[ring(1, 4, 2), ring(2, 8, 4)], risk="high")],
        [unit(f"u{i}") for i in range(8)],
        shifts(3),
    )
    plans: list[Plan] = []
    result = solve_checked(instance, incumbent=plans.append)
    assert plans, "no incumbent was handed over"
    assert all(check_plan(instance, plan).ok for plan in plans)
    assert result.plan.assignments
    # The last plan handed over is the final one, however soon after the one before it came.
    assert set(plans[-1].assignments) == set(result.plan.assignments)


def test_a_hint_is_a_plan_from_the_start_even_if_the_search_is_stopped_at_once() -> None:
    instance = make(
        [venue("a", rings=[ring(1, 2, 2)]), venue("b", rings=[ring(1, 2, 2)])],
        [unit(f"u{i}") for i in range(4)],
        shifts(2),
        {"min_rest_hours": 0},
    )
    hint = Plan(
        assignments=tuple(
            Assignment(unit=f"u{i}", venue="a" if i < 2 else "b", ring=1, shift=s)
            for i in range(4)
            for s in ("s0", "s1")
        )
    )
    stop = threading.Event()
    stop.set()
    for preset in ("default", "unit"):
        result = solve_checked(instance, hint=hint, stop=stop, preset=preset)
        assert result.status is SolveStatus.FEASIBLE
        assert set(result.plan.assignments) == set(hint.assignments)
        assert result.total_shortfall == 0


def test_the_parts_of_a_hint_that_break_rules_are_left_out_of_the_first_plan() -> None:
    instance = make([venue(rings=[ring(1, 1, 1)])], [unit("u0"), unit("u1")], shifts(2))
    # Both units in a ring that holds one, and u0 twice without rest: only u0 in s0 can stay.
    hint = Plan(
        assignments=(
            Assignment(unit="u0", venue="kpu", ring=1, shift="s0"),
            Assignment(unit="u1", venue="kpu", ring=1, shift="s0"),
            Assignment(unit="u0", venue="kpu", ring=1, shift="s1"),
        )
    )
    stop = threading.Event()
    stop.set()
    result = solve_checked(instance, hint=hint, stop=stop, preset="unit")
    assert placed(result) == {("u0", "kpu", 1, "s0")}


def test_venue_is_staffed_only_in_its_guarded_shifts() -> None:
    # Two officers who could cover kpu in every shift; kpu is guarded only in s1.
    instance = make(
        [venue(guarded_shifts=["s1"]), venue("b")],
        [unit("u1"), unit("u2")],
        shifts(3),
        {"min_rest_hours": 0},
    )
    result = solve_checked(instance)
    at_kpu = {(a.unit, a.shift) for a in result.plan.assignments if a.venue == "kpu"}
    assert {shift for _unit, shift in at_kpu} == {"s1"}
    assert {(r.venue, r.shift) for r in result.coverage} == {
        ("kpu", "s1"),
        ("b", "s0"),
        ("b", "s1"),
        ("b", "s2"),
    }
    assert result.total_shortfall == 0


def test_a_hint_sets_every_variable_it_determines_consistently() -> None:
    # Duty-day flags (consecutive-days rule) and the busiest unit (balance) included: CP-SAT
    # accepts the hint with every variable fixed to its hinted value.
    instance = make(
        [venue(rings=[ring(1, 4, 2), ring(2, 6, 3)])],
        [unit(f"u{i}", headcount=1 + i % 2) for i in range(6)],
        shifts(9),
        {"max_consecutive_days": 2, "min_rest_hours": 8},
    )
    data = build_data(instance)
    model = cp_model.CpModel()
    variables = make_variables(model, data)
    add_constraints(model, data, variables)
    terms = objective_terms(model, data, variables)
    assert variables.day_on and variables.peak is not None
    x = greedy_counts(data)
    assert x.any()
    add_hint(model, data, variables, x)
    make_stages(terms)[0].minimize_in(model)
    solver = cp_model.CpSolver()
    solver.parameters.fix_variables_to_their_hinted_value = True
    solver.parameters.num_workers = 1
    assert solver.solve(model) in (cp_model.OPTIMAL, cp_model.FEASIBLE)
    assert solver.value(variables.peak) == max(
        -(-int(x[data.candidate_group == g].sum()) // group.size)
        for g, group in enumerate(data.groups)
    )
