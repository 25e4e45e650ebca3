"""The documented worked example and the bundled instances plan as promised."""

from __future__ import annotations

from pathlib import Path

import pytest

from solver import SolveStatus, load_instance
from tests.factory import solve_checked

ROOT = Path(__file__).resolve().parent.parent
BUNDLED = sorted((ROOT / "ringplan" / "examples").glob("*.json"))


def test_worked_example_matches_the_hand_calculation() -> None:
    instance = load_instance(ROOT / "docs" / "worked-example.json")
    result = solve_checked(instance, time_limit=10)
    assert result.status is SolveStatus.OPTIMAL
    short = {(r.ring, r.shift): r.shortfall for r in result.coverage if r.shortfall}
    assert short == {(1, "day2"): 1, (3, "day2"): 3}
    (activation,) = result.activations
    assert (activation.unit, activation.ring, activation.shifts) == ("yonif-1", 3, ("day1", "day2"))


@pytest.mark.parametrize("path", BUNDLED, ids=[p.stem for p in BUNDLED])
def test_bundled_instance_gets_a_plan_the_checker_accepts(path: Path) -> None:
    instance = load_instance(path)
    # Any plan will do: a short search limited by deterministic time, not the clock (the time
    # limit is a safety net), rather than 10 s of the clock for the city.
    result = solve_checked(instance, time_limit=60, workers=1, seed=0, deterministic_time=0.05)
    assert result.status.has_plan
    assert result.plan.assignments
