"""Independent parts planned at the same time, one process per lane: a checked plan, each
part's phases in the trace, progress in order, a stop and the time limit kept."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from solver import Instance, SolveStatus, solve
from solver.result import PhaseEnd, Progress, Result
from solver.search.concurrent import assign_lanes, lane_niceness
from tests.factory import make, ring, shifts, solve_checked, unit, venue

EAST = {"lat": -6.55, "lon": 108.44}  # about 110 km east of HOME


def _two_regions(per_region: int, venues: int, shift_count: int) -> Instance:
    """Two regions no unit can travel between, each short of people (mixed headcounts,
    distinct homes, high-risk rings), so that each part's search has work to do."""

    def at(base: dict[str, float], k: int) -> dict[str, float]:
        return {"lat": base["lat"] - 0.01 * (k % 7), "lon": base["lon"] + 0.013 * (k % 5)}

    west = {"lat": -6.2, "lon": 106.8}
    venue_list = [
        venue(
            f"{name}{k}",
            rings=[ring(1, 6, 2), ring(2, 12, 4), ring(3, 30, 6)],
            location=at(base, k),
            risk=("medium", "high", "very_high")[k % 3],
        )
        for name, base in (("west", west), ("east", EAST))
        for k in range(venues)
    ]
    unit_list = [
        unit(
            f"{name}-u{i}",
            headcount=1 + (i * 7) % 5,
            home={"region": "pwk", "location": at(base, i + 3)},
        )
        for name, base in (("west", west), ("east", EAST))
        for i in range(per_region)
    ]
    rules = {"max_travel_km": 50, "min_rest_hours": 8}
    return make(venue_list, unit_list, shifts(shift_count), rules)


def small_two_regions() -> Instance:
    """Two regions of six units each, three shifts: each part is proven optimal in well
    under a second."""
    return _two_regions(per_region=6, venues=2, shift_count=3)


def _parts_of(result: Result) -> set[int | None]:
    return {phase.part for phase in result.phases if phase.end is not PhaseEnd.SKIPPED}


def test_parts_planned_at_once_give_the_optimum_of_parts_planned_one_by_one() -> None:
    instance = small_two_regions()
    at_once = solve_checked(instance, preset="parts-at-once", time_limit=30)
    one_by_one = solve_checked(instance, time_limit=30)
    assert one_by_one.status is SolveStatus.OPTIMAL
    assert at_once.status is SolveStatus.OPTIMAL
    assert at_once.objective == one_by_one.objective
    # Both parts' searches came back with their phases, each part's in its order.
    assert _parts_of(at_once) == {None, 0, 1}
    for part in (0, 1):
        names = [p.name for p in at_once.phases if p.part == part]
        assert names == [p.name for p in one_by_one.phases if p.part == part]


def test_parts_planned_at_once_report_every_improving_plan_of_the_whole_in_order() -> None:
    instance = small_two_regions()
    seen: list[Progress] = []
    result = solve_checked(instance, preset="parts-at-once", time_limit=30, progress=seen.append)
    objectives = [p.objective for p in seen]
    assert len(objectives) >= 2
    assert objectives == sorted(objectives, reverse=True)
    assert objectives[-1] == result.objective


def test_a_stop_ends_every_part_planned_at_once() -> None:
    instance = _two_regions(per_region=40, venues=6, shift_count=9)
    stop = threading.Event()
    first: list[Any] = []

    def on_progress(progress: Progress) -> None:
        # Stop once the parts' searches have begun improving the start.
        first.append(progress)
        if len(first) == 3:
            stop.set()

    result = solve_checked(
        instance, preset="parts-at-once", time_limit=120, stop=stop, progress=on_progress
    )
    assert stop.is_set()
    assert result.status is SolveStatus.FEASIBLE
    assert result.wall_time < 60  # far within the time limit: the stop, not the clock
    ends = {p.part: p.end for p in result.phases if p.end is PhaseEnd.STOPPED}
    assert set(ends) == {0, 1}


def test_parts_planned_at_once_keep_the_time_limit() -> None:
    instance = _two_regions(per_region=40, venues=6, shift_count=9)
    result = solve_checked(instance, preset="parts-at-once", time_limit=4)
    assert result.status is SolveStatus.FEASIBLE
    assert result.wall_time < 4 + 3  # the lanes' grace at most, on a loaded machine
    # Each part's search ran out of time or was stopped at the deadline, or (the first pool
    # of a loaded process waits seconds for the forkserver's imports) its lane never started:
    # no part's phase ended past the lanes' grace.
    ran = [p for p in result.phases if p.part is not None and p.end is not PhaseEnd.SKIPPED]
    assert all(p.start + p.seconds < 4 + 3 for p in ran)
    assert {p.part for p in ran} <= {
        p.part for p in ran if p.end in (PhaseEnd.BUDGET, PhaseEnd.STOPPED)
    }


def test_deterministic_time_plans_parts_one_by_one_and_repeats_its_plan() -> None:
    instance = small_two_regions()
    options: dict[str, Any] = {"time_limit": 30, "workers": 2, "seed": 0}
    first = solve(instance, preset="parts-at-once", deterministic_time=0.5, **options)
    second = solve(instance, preset="parts-at-once", deterministic_time=0.5, **options)
    assert first.plan == second.plan
    assert first.phases and [p.name for p in first.phases] == [p.name for p in second.phases]


@pytest.mark.parametrize(
    ("weights", "lanes", "expected"),
    [
        ([3.0, 1.0], 2, [[0], [1]]),  # one part a lane
        ([1.0, 5.0, 2.0, 2.0], 2, [[1], [0, 2, 3]]),  # the heaviest alone, the rest beside it
        ([1.0, 1.0, 1.0], 1, [[0, 1, 2]]),  # one lane: in order
        ([2.0], 2, [[0]]),  # fewer parts than lanes: no empty lane
    ],
)
def test_assign_lanes_balances_the_weight_of_parts(
    weights: list[float], lanes: int, expected: list[list[int]]
) -> None:
    assert sorted(assign_lanes(weights, lanes)) == sorted(expected)


def test_parts_whose_lanes_cannot_start_are_planned_one_by_one(tmp_path: Path) -> None:
    # A script that solves at import, without ``if __name__ == "__main__"``: every lane's
    # process imports it again and fails, so the parts are planned in the calling process.
    script = tmp_path / "unguarded.py"
    # The lanes fail within seconds (after the forkserver's imports): the time limit only
    # leaves room for a loaded machine, and a process still running after 100 s prints
    # where each of its threads is before the test gives up on it.
    script.write_text(
        "import faulthandler\n"
        "faulthandler.dump_traceback_later(100, exit=True)\n"
        "from solver import check_plan, solve\n"
        "from tests.test_concurrent_parts import small_two_regions\n"
        "instance = small_two_regions()\n"
        "result = solve(instance, preset='parts-at-once', time_limit=90, workers=2)\n"
        "print(result.status.value, check_plan(instance, result.plan).ok)\n"
    )
    root = Path(__file__).resolve().parent.parent
    try:
        done = subprocess.run(
            [sys.executable, str(script)],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=root,
            env={**os.environ, "PYTHONPATH": str(root)},
        )
    except subprocess.TimeoutExpired as exc:
        err = exc.stderr.decode() if isinstance(exc.stderr, bytes) else str(exc.stderr)
        pytest.fail(f"no answer in 120 s: {err[-4000:]}")
    assert done.stdout.splitlines()[-1] == "optimal True", done.stderr[-2000:]
    assert "planned one by one" in done.stderr


@pytest.mark.parametrize(
    ("loads", "expected"),
    [
        ([0.67, 0.33], [0, 3]),  # the loose province: about 1/3 of the CPU when contended
        ([1.0, 1.0], [0, 0]),  # equal lanes: equal shares
        ([0.5, 2.0], [6, 0]),  # the heaviest lane is never niced, wherever it is
        ([1.0, 0.0], [0, 10]),  # a lane of no weight: as nice as a lane gets
    ],
)
def test_lane_niceness_gives_lighter_lanes_less_cpu(
    loads: list[float], expected: list[int]
) -> None:
    assert lane_niceness(loads) == expected
