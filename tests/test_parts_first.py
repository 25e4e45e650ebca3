"""The first whole plan: made while the cluster starts, and each part's quick plan from it,
stopping at its deadline."""

from __future__ import annotations

import time
from dataclasses import replace

from benchmarks.generator import generate
from solver import Assignment, Plan, check_plan, parse_instance
from solver.decompose import Part, part_instance
from solver.heuristics.waves import WavePlan, wave_plan
from solver.parts.national import Mode, solve_in_parts
from solver.parts.reserve import weighted_shortfall
from solver.parts.split import domain_parts, reach
from solver.parts.task import PartTask, quick_plan
from tests.provinces import assert_checked, provinces


def _plan(rows: tuple[tuple[str, str, int, str], ...]) -> Plan:
    return Plan(
        assignments=tuple(Assignment(unit=u, venue=v, ring=r, shift=s) for u, v, r, s in rows)
    )


def test_quick_plan_at_its_deadline_returns_its_hint_checked() -> None:
    instance = generate("province", 0, "tight")
    biggest = max(domain_parts(instance), key=lambda p: p.pairs)
    sub = part_instance(instance, Part(biggest.venues, biggest.units))
    hint = wave_plan(sub, reach(sub)).assignments
    task = PartTask(index=0, instance=sub.model_dump(mode="json"), budget=5, deadline=0, hint=hint)
    # Deadline nearly passed: greedy and repair stop at once; the hint is the plan.
    late = quick_plan(replace(task, deadline=time.time() + 0.01))
    assert check_plan(parse_instance(task.instance), _plan(late.assignments)).ok
    assert sorted(late.assignments) == sorted(hint)
    # With time, greedy tops the hint up and repair improves it.
    ample = quick_plan(replace(task, deadline=time.time() + 600))
    assert check_plan(sub, _plan(ample.assignments)).ok
    assert weighted_shortfall(sub, ample.coverage) < weighted_shortfall(sub, late.coverage)


def test_solve_in_parts_reports_the_first_whole_plan_checked_on_a_local_cluster() -> None:
    instance = provinces(count=3, short=(1,))
    seen: list[tuple[WavePlan, float]] = []
    result = solve_in_parts(
        instance,
        time_limit=30,
        mode=Mode.LOCAL,
        n_workers=2,
        first_plan=lambda plan, elapsed: seen.append((plan, elapsed)),
    )
    assert_checked(instance, result)
    assert len(seen) == 1
    first, elapsed = seen[0]
    assert check_plan(instance, _plan(first.assignments)).ok
    assert result.first_solution_time == elapsed
    # Each part's quick plan starts from its slice of the first plan: never worse.
    rows = [row.model_dump(mode="json") for row in result.coverage]
    assert weighted_shortfall(instance, rows) <= first.weighted_shortfall
