"""The wave planner: a first plan of a whole instance, valid under every rule."""

from __future__ import annotations

import time

import pytest

from benchmarks.generator import generate
from solver import Assignment, Instance, Plan, check_plan
from solver.heuristics.waves import WavePlan, wave_plan
from solver.parts.split import reach
from tests.factory import make, ring, shifts, unit, venue
from tests.test_groups import CASES


def _checked(instance: Instance, plan: WavePlan) -> tuple[int, int]:
    """The plan's weighted shortfall and shortfall by the checker, which must find no fault."""
    report = check_plan(
        instance,
        Plan(
            assignments=tuple(
                Assignment(unit=u, venue=v, ring=r, shift=s) for u, v, r, s in plan.assignments
            )
        ),
    )
    assert report.ok, report.violations
    venues, rules = {v.id: v for v in instance.venues}, instance.rules
    weighted = sum(
        rules.risk_weights[venues[row.venue].risk_at(row.shift)]
        * rules.ring_weights[row.ring]
        * row.shortfall
        for row in report.coverage.values()
    )
    return weighted, report.total_shortfall


@pytest.mark.parametrize("name", sorted(CASES))
def test_wave_plan_keeps_every_rule(name: str) -> None:
    instance = CASES[name]
    plan = wave_plan(instance, reach(instance))
    assert plan.assignments
    assert _checked(instance, plan) == (plan.weighted_shortfall, plan.shortfall)


@pytest.mark.parametrize("scale", ["district", "city", "province"])
def test_wave_plan_keeps_every_rule_on_generated_instances(scale: str) -> None:
    instance = generate(scale, 0, "tight")
    plan = wave_plan(instance, reach(instance))
    weighted, short = _checked(instance, plan)
    assert (weighted, short) == (plan.weighted_shortfall, plan.shortfall)
    required = sum(r.min_headcount for v in instance.venues for r in v.rings)
    assert len(plan.assignments) > required // 10  # it plans a good share, not a token


def test_wave_plan_fills_the_heavier_ring_first() -> None:
    # Three officers, one shift: the police-only inner ring (weight 4) takes two, the outer
    # ring (weight 2) the one left.
    instance = make(
        [venue("stadium", rings=[ring(1, 10, 2, allowed_forces=["polri"]), ring(3, 10, 2)])],
        [unit(f"u{k}") for k in range(3)],
        shift_list=shifts(1),
    )
    plan = wave_plan(instance, reach(instance))
    rings = sorted(r for _u, _v, r, _s in plan.assignments)
    assert rings == [1, 1, 3]
    assert _checked(instance, plan) == (plan.weighted_shortfall, 1)


def test_wave_plan_at_a_passed_deadline_returns_the_empty_plan() -> None:
    instance = generate("city", 0, "tight")
    plan = wave_plan(instance, reach(instance), deadline=time.time() - 1)
    assert plan.assignments == ()
    assert _checked(instance, plan) == (plan.weighted_shortfall, plan.shortfall)
    assert plan.shortfall > 0
