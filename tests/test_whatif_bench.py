"""The what-if benchmark's quality-based time ratio, from hand-made and from real traces."""

from __future__ import annotations

import pytest

from benchmarks.whatif_bench import quality_of, quality_time_ratio, trace_for
from solver import check_plan, solve
from solver.model.disruption import Baseline
from solver.whatif import ReplanOptions, SetRisk, WhatIfRequest, apply_changes, whatif
from tests.factory import make, ring, shifts, unit, venue


def test_quality_ratio_is_replan_time_to_the_cold_final_over_the_cold_time_to_it() -> None:
    cold = [(0.5, (100, 5)), (2.0, (80, 9)), (4.0, (80, 3))]
    # (80, 4) has the cold shortfall but more TNI: not yet as good; (79, 10) is, by shortfall.
    replan = [(0.1, (120, 0)), (0.3, (80, 4)), (0.8, (79, 10))]
    result = quality_time_ratio(cold, replan)
    assert (result.target, result.cold_s, result.replan_s) == ((80, 3), 4.0, 0.8)
    assert result.ratio == 0.2


def test_quality_ratio_counts_equal_shortfall_and_tni_as_reached() -> None:
    cold = [(1.0, (50, 2)), (3.0, (40, 2))]
    result = quality_time_ratio(cold, [(0.6, (40, 2))], target=(40, 2))
    assert (result.cold_s, result.replan_s) == (3.0, 0.6)
    assert result.ratio == pytest.approx(0.2)


def test_quality_ratio_is_none_when_the_replan_never_reaches_the_cold_plan() -> None:
    result = quality_time_ratio([(2.0, (10, 0))], [(0.1, (30, 0)), (5.0, (10, 1))])
    assert result.replan_s is None and result.ratio is None


def test_traces_read_shortfall_and_tni_of_a_real_cold_solve_and_replan() -> None:
    # Three needed at kpu in each shift, two police: one standby TNI is called per shift;
    # raising kpu to high needs ceil(3 x 1.5) = 5 of four people: short 1 per shift, both TNI.
    instance = make(
        [venue(rings=[ring(capacity=10, minimum=3)])],
        [
            unit("p1"),
            unit("p2"),
            unit("t1", force="tni", type="infantry", standby=True),
            unit("t2", force="tni", type="infantry", standby=True),
        ],
        shifts(2),
        {"min_rest_hours": 0},
    )
    cold_trace = trace_for(instance, None)
    cold = solve(instance, time_limit=10, workers=2, progress=cold_trace)
    assert check_plan(instance, cold.plan).ok
    assert cold_trace.matches(cold) and quality_of(cold) == (0, 2)

    changes = (SetRisk(venue="kpu", risk="high"),)
    changed = apply_changes(instance, changes)
    replan_trace = trace_for(changed, Baseline(plan=cold.plan))
    request = WhatIfRequest(
        instance=instance,
        plan=cold.plan,
        changes=changes,
        options=ReplanOptions(time_limit=10, workers=2),
    )
    answer = whatif(request, progress=replan_trace)
    assert check_plan(changed, answer.plan).ok
    assert replan_trace.matches(answer.result)
    # 1 person short in each of 2 shifts x risk weight 4 (high) x ring weight 4 (ring 1);
    # 2 TNI in each of 2 shifts.
    assert quality_of(answer.result) == (32, 4)
    assert replan_trace.qualities()[-1][1] == (32, 4)
