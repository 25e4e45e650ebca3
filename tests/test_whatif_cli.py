"""``ringplan whatif`` run as a user runs it, on real files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from solver import Plan, check_plan, load_instance
from solver.whatif import (
    CloseVenue,
    SetRisk,
    WhatIfBatchResponse,
    WhatIfResponse,
    apply_changes,
)
from tests.factory import instance_data, ring, shifts, unit, venue
from tests.test_cli import ringplan


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """An instance (venues a and b need 2 each, six officers, two shifts) and its plan."""
    tmp_path = tmp_path_factory.mktemp("whatif")
    data = instance_data(
        [venue("a", rings=[ring(minimum=2)]), venue("b", rings=[ring(minimum=2)])],
        [unit(f"u{i}") for i in range(6)],
        shifts(2),
        {"min_rest_hours": 0},
    )
    instance = tmp_path / "instance.json"
    instance.write_text(json.dumps(data))
    result = tmp_path / "result.json"
    run = ringplan("solve", str(instance), "--time-limit", "10", "--quiet", "--out", str(result))
    assert run.returncode == 0, run.stderr
    return instance, result


def test_whatif_raises_risk_and_writes_an_answer_the_checker_accepts(
    files: tuple[Path, Path], tmp_path: Path
) -> None:
    instance, result = files
    out = tmp_path / "answer.json"
    run = ringplan(
        "whatif", str(instance), "--plan", str(result), "--set-risk", "b=high",
        "--shifts", "s1..", "--time-limit", "10", "--quiet", "--out", str(out),
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "1 unit-shift(s) changed: 0 moved, 1 newly assigned, 0 released" in run.stdout
    answer = WhatIfResponse.model_validate_json(out.read_text())
    (move,) = answer.diff.moves
    assert (move.shift, move.after and move.after.venue) == ("s1", "b")
    changed = apply_changes(
        load_instance(instance), [SetRisk(venue="b", risk="high", first_shift="s1")]
    )
    assert check_plan(changed, answer.plan).ok


def test_whatif_now_locks_started_shifts(files: tuple[Path, Path], tmp_path: Path) -> None:
    instance, result = files
    out = tmp_path / "answer.json"
    run = ringplan(
        "whatif", str(instance), "--plan", str(result), "--set-risk", "kind:kpu_regency=high",
        "--now", "2024-02-14T07:00:00+07:00", "--quiet", "--out", str(out),
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    answer = WhatIfResponse.model_validate_json(out.read_text())
    assert answer.locked_shifts == ("s0",)
    assert {m.shift for m in answer.diff.moves} == {"s1"}
    assert answer.diff.assigned == 2


def test_whatif_scenarios_file_prints_a_comparison_table(
    files: tuple[Path, Path], tmp_path: Path
) -> None:
    instance, result = files
    scenarios = tmp_path / "scenarios.json"
    scenarios.write_text(
        json.dumps(
            [
                {"name": "b-high", "changes": [{"type": "set_risk", "venue": "b", "risk": "high"}]},
                {"name": "close-a", "changes": [{"type": "close_venue", "venue": "a"}]},
            ]
        )
    )
    out = tmp_path / "batch.json"
    run = ringplan(
        "whatif", str(instance), "--plan", str(result), "--scenarios", str(scenarios),
        "--max-parallel", "2", "--reproducible", "--time-limit", "5", "--out", str(out),
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    table = run.stdout[run.stdout.index("scenario  ") :].splitlines()
    assert table[2].split()[:2] == ["b-high", "optimal"]
    assert table[3].split()[:2] == ["close-a", "optimal"]
    batch = WhatIfBatchResponse.model_validate_json(out.read_text())
    assert [r.moved_unit_shifts for r in batch.table] == [2, 4]
    plan = Plan.model_validate(json.loads(result.read_text())["plan"])
    assert batch.scenarios[1].diff.released == sum(1 for a in plan.assignments if a.venue == "a")


def test_whatif_close_from_a_shift_releases_only_later_shifts(
    files: tuple[Path, Path], tmp_path: Path
) -> None:
    instance, result = files
    out = tmp_path / "answer.json"
    run = ringplan(
        "whatif", str(instance), "--plan", str(result), "--close", "b@s1",
        "--time-limit", "10", "--quiet", "--out", str(out),
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "2 unit-shift(s) changed: 0 moved, 0 newly assigned, 2 released" in run.stdout
    answer = WhatIfResponse.model_validate_json(out.read_text())
    plan = Plan.model_validate(json.loads(result.read_text())["plan"])
    assert {(m.unit, m.shift, m.before and m.before.venue) for m in answer.diff.moves} == {
        (a.unit, "s1", "b") for a in plan.assignments if a.venue == "b" and a.shift == "s1"
    }
    changed = apply_changes(load_instance(instance), [CloseVenue(venue="b", from_shift="s1")])
    assert check_plan(changed, answer.plan).ok


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        # unknown venue, named by the change it came from
        (["--set-risk", "nowhere=high"], "changes[0].venue: unknown venue 'nowhere'"),
        # unknown risk level
        (["--set-risk", "a=extreme"], "unknown risk level 'extreme'"),
        # malformed unavailability
        (["--unavailable", "u1"], "--unavailable u1: expected UNIT@SHIFT"),
        # unknown shift for a unit
        (["--unavailable", "u1@s7"], "changes[0].from_shift: unknown shift 's7'"),
        # closing from an unknown shift
        (["--close", "a@s7"], "changes[0].from_shift: unknown shift 's7'"),
        # closing from no shift
        (["--close", "a@"], "--close a@: expected VENUE or VENUE@SHIFT"),
        # --now without timezone
        (["--close", "a", "--now", "2024-02-14T07:00"], "give a timezone"),
        # window without a risk change
        (["--close", "a", "--shifts", "s0..s1"], "--shifts applies to --set-risk"),
    ],
)
def test_whatif_bad_input_is_one_clear_line_and_exit_2(
    files: tuple[Path, Path], args: list[str], expected: str
) -> None:
    instance, result = files
    run = ringplan("whatif", str(instance), "--plan", str(result), *args)
    assert run.returncode == 2
    assert expected in run.stderr
    assert "Traceback" not in run.stderr
