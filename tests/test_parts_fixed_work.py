"""A fixed amount of search per part (deterministic time), for runs on different workers."""

from __future__ import annotations

from dataclasses import replace

from solver import solve
from solver.parts.national import Mode, solve_in_parts
from solver.parts.task import FixedWork, PartTask
from solver.result import SolveStatus
from tests.provinces import assert_checked, provinces


def test_parts_deterministic_time_limits_each_part_search() -> None:
    # Three provinces of six officers over six shifts: each part's search proves its plan
    # optimal in well under a second of deterministic time, and ends at once with none.
    instance = provinces(units_each=6, shift_count=6)
    searched, stopped = (
        solve_in_parts(
            instance,
            time_limit=60,
            mode=Mode.IN_PROCESS,
            seed=0,
            solver=solve,
            fixed_work=FixedWork(budget=30.0, deterministic_time=work),
        )
        for work in (5.0, 0.0)
    )
    for result in (searched, stopped):
        assert_checked(instance, result)
    assert [p.status for p in searched.parts] == [SolveStatus.OPTIMAL] * 3
    assert [p.status for p in stopped.parts] == [SolveStatus.FEASIBLE] * 3


def test_fixed_work_sets_only_what_it_names() -> None:
    task = PartTask(index=0, instance={}, budget=12.0, deadline=0.0, deterministic_time=3.0)
    assert FixedWork(budget=5.0).apply(task) == replace(task, budget=5.0)
    assert FixedWork(deterministic_time=0.0).apply(task) == replace(task, deterministic_time=0.0)
    assert FixedWork().apply(task) == task
