"""Re-planning on the grouped model: pooled units, exact disruption, the per-unit optimum."""

from __future__ import annotations

import logging

import pytest

from solver import Instance, ObjectiveTerm, Plan, Result, SolveStatus, check_plan, solve
from solver.heuristics.greedy import greedy_counts
from solver.model.data import build_data
from solver.model.disruption import Baseline, baseline_history, index_baseline
from solver.report import plan_from_vector
from solver.whatif import SetRisk, apply_changes
from tests.factory import make, ring, shifts, solve_checked, unit, venue


def _pooled_instance() -> Instance:
    """Two venues over four shifts; ten interchangeable officers and three pairs."""
    venues = [
        venue("a", rings=[ring(1, 4, 2), ring(2, 8, 3)]),
        venue("b", rings=[ring(1, 4, 2)]),
    ]
    units = [unit(f"p{i}") for i in range(10)] + [unit(f"d{i}", headcount=2) for i in range(3)]
    return make(venues, units, shifts(4), {"min_rest_hours": 8})


def _moved(before: Plan, after: Plan) -> int:
    """Unit-shifts whose place differs, counted straight from the two plans."""
    old = {(a.unit, a.shift): (a.venue, a.ring) for a in before.assignments}
    new = {(a.unit, a.shift): (a.venue, a.ring) for a in after.assignments}
    return sum(1 for key in old.keys() | new.keys() if old.get(key) != new.get(key))


def _replan(instance: Instance, baseline: Baseline, preset: str) -> Result:
    result = solve(instance, time_limit=20, workers=2, preset=preset, seed=0, baseline=baseline)
    report = check_plan(instance, result.plan)
    assert report.ok, report.violations
    assert result.status is SolveStatus.OPTIMAL
    return result


@pytest.mark.parametrize(
    ("changes", "locked"),
    [
        ([SetRisk(venue="a", risk="very_high")], ()),
        ([SetRisk(venue="b", risk="high"), SetRisk(venue="a", risk="medium")], ()),
        ([SetRisk(venue="a", risk="very_high")], ("s0",)),
    ],
)
def test_grouped_replan_matches_the_per_unit_replan(
    changes: list[SetRisk], locked: tuple[str, ...]
) -> None:
    instance = _pooled_instance()
    plan = solve_checked(instance).plan
    changed = apply_changes(instance, changes)
    baseline = Baseline(plan=plan, locked_shifts=locked)
    data = build_data(changed, history=baseline_history(changed, baseline))
    assert any(group.size > 1 for group in data.groups)  # the grouped path really pools

    grouped = _replan(changed, baseline, "default")
    per_unit = _replan(changed, baseline, "unit")
    for term in (ObjectiveTerm.SHORTFALL, ObjectiveTerm.DISRUPTION):
        assert grouped.breakdown[term] == per_unit.breakdown[term]
    assert grouped.breakdown[ObjectiveTerm.DISRUPTION] == _moved(plan, grouped.plan)
    assert per_unit.breakdown[ObjectiveTerm.DISRUPTION] == _moved(plan, per_unit.plan)
    kept = {a for a in plan.assignments if a.shift in locked}
    assert kept <= set(grouped.plan.assignments)
    assert {a for a in grouped.plan.assignments if a.shift in locked} == kept


def test_grouped_replan_without_changes_returns_the_plan_in_force() -> None:
    instance = _pooled_instance()
    plan = solve_checked(instance).plan
    result = _replan(instance, Baseline(plan=plan), "default")
    assert result.breakdown[ObjectiveTerm.DISRUPTION] == 0
    assert set(result.plan.assignments) == set(plan.assignments)


def test_grouped_replan_keeps_the_baseline_places_of_pooled_units() -> None:
    # Four identical officers, two of them placed: one more is needed, and the two placed keep
    # their places rather than hand them to their idle twins.
    instance = make([venue("a", rings=[ring(minimum=2)])], [unit(f"u{i}") for i in range(4)])
    plan = solve_checked(instance).plan
    changed = apply_changes(instance, [SetRisk(venue="a", risk="high")])
    result = _replan(changed, Baseline(plan=plan), "default")
    assert set(plan.assignments) < set(result.plan.assignments)
    assert result.breakdown[ObjectiveTerm.DISRUPTION] == 1 == _moved(plan, result.plan)


def test_baseline_index_rejects_groups_that_pool_different_baselines() -> None:
    instance = make([venue("a", rings=[ring(minimum=2)])], [unit(f"u{i}") for i in range(4)])
    plan = solve_checked(instance).plan
    with pytest.raises(ValueError, match="share their baseline places"):
        index_baseline(build_data(instance), Baseline(plan=plan))


def test_greedy_top_up_keeps_the_plan_in_force_and_fills_the_new_need() -> None:
    instance = make(
        [venue("a", rings=[ring(minimum=2)]), venue("b", rings=[ring(minimum=2)])],
        [unit(f"u{i}") for i in range(6)],
        shifts(2),
        {"min_rest_hours": 0},
    )
    plan = solve_checked(instance).plan
    changed = apply_changes(instance, [SetRisk(venue="b", risk="very_high")])  # 2 -> 4 at b
    baseline = Baseline(plan=plan)
    data = build_data(changed, history=baseline_history(changed, baseline))
    start = [(u, c) for u, _s, c in index_baseline(data, baseline).placements]
    topped = plan_from_vector(data, greedy_counts(data, start=start), plan)
    report = check_plan(changed, topped)
    assert report.ok, report.violations
    assert set(plan.assignments) < set(topped.assignments)
    assert len(topped.assignments) == len(plan.assignments) + 4  # two more at b in each shift
    assert sum(row.shortfall for row in report.coverage.values()) == 0


def _plan_and_a_raised() -> tuple[Plan, Instance]:
    """A plan in force of the pooled instance, and the instance with venue a at very high."""
    instance = _pooled_instance()
    plan = solve_checked(instance).plan
    return plan, apply_changes(instance, [SetRisk(venue="a", risk="very_high")])


def _first_stage(records: list[logging.LogRecord]) -> str:
    return next(r.getMessage() for r in records if r.getMessage().startswith("stage 1 "))


def test_replan_finds_the_shortfall_on_the_pooling_that_ignores_the_plan_in_force(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Shortfall does not depend on the plan in force, so it is solved on the units pooled
    # without it (as in a cold solve), and disruption after it on the model that tells
    # the units apart: the same optimum as the cold solve, with the fewest moves.
    plan, changed = _plan_and_a_raised()
    cold = solve_checked(changed)
    with caplog.at_level(logging.INFO, logger="solver"):
        result = _replan(changed, Baseline(plan=plan), "default")
    assert "(shortfall, coarse model)" in _first_stage(caplog.records)
    assert result.breakdown[ObjectiveTerm.SHORTFALL] == cold.breakdown[ObjectiveTerm.SHORTFALL]
    per_unit = _replan(changed, Baseline(plan=plan), "unit")
    assert (
        result.breakdown[ObjectiveTerm.DISRUPTION] == per_unit.breakdown[ObjectiveTerm.DISRUPTION]
    )
    assert result.breakdown[ObjectiveTerm.DISRUPTION] == _moved(plan, result.plan)


def test_replan_with_locked_shifts_solves_shortfall_and_disruption_together(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A locked shift holds single units in their places, which a pooling cannot express.
    plan, changed = _plan_and_a_raised()
    with caplog.at_level(logging.INFO, logger="solver"):
        result = _replan(changed, Baseline(plan=plan, locked_shifts=("s0",)), "default")
    assert "(shortfall, disruption, fine model)" in _first_stage(caplog.records)
    kept = {a for a in plan.assignments if a.shift == "s0"}
    assert {a for a in result.plan.assignments if a.shift == "s0"} == kept
