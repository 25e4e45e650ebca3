"""Searching a plan one shift at a time: a shift's window changes that shift alone and keeps
every rule that ties it to the others."""

from __future__ import annotations

import pytest
from ortools.sat.python import cp_model

from solver import Assignment, Instance, ObjectiveTerm, Plan, check_plan
from solver.model.data import build_data
from solver.model.objective import make_stages
from solver.report import plan_from_vector
from solver.search import improve
from solver.search.counts import hint_vector
from solver.search.cpsat import shift_window, solution_vector
from tests.factory import HOME, make, ring, shifts, solve_checked, unit, venue

FAR = {"lat": HOME["lat"] - 0.1, "lon": HOME["lon"]}  # about 11 km south of HOME


def _instance() -> Instance:
    """Two venues 11 km apart, two units living by each; three back-to-back 8-hour shifts
    with 8 hours of rest, so a unit on duty in s0 or s2 may not work s1."""
    venues = [venue("kpu", rings=[ring(1, 10, 1)]), venue("bawaslu", rings=[ring(1, 10, 1)])]
    venues[1]["location"] = FAR
    far = {"region": "pwk", "location": FAR}
    # Headcounts tell units apart (the grouped model pools identical units).
    units = [unit("a"), unit("b", 2), unit("c", home=far), unit("d", 2, home=far)]
    return make(venues, units, shifts(3), {"min_rest_hours": 8})


def _at(uid: str, where: str, shift: str) -> Assignment:
    return Assignment(unit=uid, venue=where, ring=1, shift=shift)


# Every shift crossed: each unit guards the venue far from its home.
CROSSED = Plan(
    assignments=(
        _at("a", "bawaslu", "s0"),
        _at("c", "kpu", "s0"),
        _at("b", "bawaslu", "s1"),
        _at("d", "kpu", "s1"),
        _at("a", "bawaslu", "s2"),
        _at("c", "kpu", "s2"),
    )
)


def test_a_shift_window_changes_its_shift_alone_and_keeps_the_rest_rule() -> None:
    instance = _instance()
    data = build_data(instance)
    window = shift_window(data, hint_vector(data, CROSSED), 1)
    ranked = [t for t in window.terms if t.name in (ObjectiveTerm.SHORTFALL, ObjectiveTerm.TRAVEL)]
    (stage,) = make_stages(ranked)  # shortfall first, then travel
    stage.minimize_in(window.model)
    solver = cp_model.CpSolver()
    assert solver.solve(window.model) == cp_model.OPTIMAL
    plan = plan_from_vector(
        data, window.fine_vector(solution_vector(solver.response_proto, window.n))
    )
    report = check_plan(instance, plan)
    assert report.ok, report.violations  # a and c, on duty in s0 and s2, stay out of s1
    assert {a for a in plan.assignments if a.shift != "s1"} == {
        a for a in CROSSED.assignments if a.shift != "s1"
    }
    assert {a for a in plan.assignments if a.shift == "s1"} == {
        _at("b", "kpu", "s1"),
        _at("d", "bawaslu", "s1"),
    }


def test_a_solve_that_searches_shift_windows_returns_a_checked_plan_with_no_travel(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(improve, "WINDOWS_ABOVE", 0)  # windows for this small model too
    result = solve_checked(_instance(), hint=CROSSED, time_limit=10)
    assert result.breakdown[ObjectiveTerm.SHORTFALL] == 0
    assert result.breakdown[ObjectiveTerm.TRAVEL] == 0
