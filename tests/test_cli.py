"""The ringplan command line, run as a user runs it."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from solver import check_plan, load_instance
from tests.factory import instance_data, ring, shifts, unit, venue


def ringplan(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ringplan", *args], capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def instance_file(tmp_path: Path) -> Path:
    data = instance_data(
        [venue(rings=[ring(1, 4, 2), ring(2, 6, 3)], risk="high")],
        [unit(f"u{i}", headcount=1 + i % 2) for i in range(6)],
        shifts(3),
    )
    path = tmp_path / "instance.json"
    path.write_text(json.dumps(data))
    return path


def test_solve_prints_summary_and_writes_a_result_the_checker_accepts(
    instance_file: Path, tmp_path: Path
) -> None:
    out = tmp_path / "result.json"
    run = ringplan("solve", str(instance_file), "--time-limit", "10", "--out", str(out))
    assert run.returncode == 0, run.stderr
    assert "status: optimal" in run.stdout
    assert "better plan: shortfall" in run.stderr  # progress lines, in people units
    result = json.loads(out.read_text())
    assert {
        "status",
        "objective",
        "best_bound",
        "gap",
        "plan",
        "coverage",
        "breakdown",
        "activations",
        "warnings",
    } <= set(result)
    check = ringplan("check", str(instance_file), str(out))
    assert check.returncode == 0, check.stdout
    assert "plan holds" in check.stdout
    instance = load_instance(instance_file)
    assert check_plan(instance, load_plan_from(out)).ok


def load_plan_from(path: Path):  # type: ignore[no-untyped-def]
    from ringplan.common import load_plan

    return load_plan(str(path))


def test_check_lists_every_violation_and_exits_1(instance_file: Path, tmp_path: Path) -> None:
    plan = tmp_path / "plan.json"
    rows = [
        {"unit": "u0", "venue": "kpu", "ring": 1, "shift": "s0"},
        {"unit": "u0", "venue": "kpu", "ring": 1, "shift": "s1"},
        {"unit": "nobody", "venue": "kpu", "ring": 1, "shift": "s0"},
    ]
    plan.write_text(json.dumps({"assignments": rows}))
    run = ringplan("check", str(instance_file), str(plan))
    assert run.returncode == 1
    assert "breaks 2 rule(s)" in run.stdout
    assert "unknown unit 'nobody'" in run.stdout and "between s0 and s1" in run.stdout


def test_missing_file_is_one_line_without_traceback(tmp_path: Path) -> None:
    run = ringplan("solve", str(tmp_path / "nope.json"))
    assert run.returncode == 2
    assert run.stderr.strip() == f"ringplan: file not found: {tmp_path / 'nope.json'}"


def test_malformed_json_is_one_line_without_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"venues": [')
    run = ringplan("solve", str(bad))
    assert run.returncode == 2
    assert "is not valid JSON" in run.stderr and "Traceback" not in run.stderr


def test_validate_lists_every_problem(instance_file: Path) -> None:
    data = json.loads(instance_file.read_text())
    data["units"][0]["home"]["region"] = "ntt-x"
    data["units"][1]["headcount"] = -1
    instance_file.write_text(json.dumps(data))
    run = ringplan("validate", str(instance_file))
    assert run.returncode == 1
    assert "units[1].headcount" in run.stdout
    assert "units[0].home.region: unknown region 'ntt-x'" in run.stdout


def test_validate_accepts_a_good_instance(instance_file: Path) -> None:
    run = ringplan("validate", str(instance_file))
    assert run.returncode == 0
    assert "valid (1 venues, 6 units, 3 shifts)" in run.stdout


def test_schema_prints_instance_plan_and_result_schemas() -> None:
    run = ringplan("schema")
    assert run.returncode == 0
    schemas = json.loads(run.stdout)
    assert "units" in schemas["instance"]["properties"]
    assert "assignments" in schemas["plan"]["properties"]
    assert "plan" in schemas["result"]["properties"]
    plan_only = json.loads(ringplan("schema", "plan").stdout)
    assert plan_only == schemas["plan"]


def test_solve_through_a_server_writes_a_result_the_checker_accepts(
    instance_file: Path, tmp_path: Path
) -> None:
    from server.app import create_server
    from server.config import ServerConfig

    out = tmp_path / "remote.json"
    with create_server(ServerConfig(port=0, drain=0.0)) as server:
        run = ringplan(
            "solve", str(instance_file), "--server", server.target, "--time-limit", "10",
            "--out", str(out),
        )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "status: optimal" in run.stdout
    assert "better plan: shortfall" in run.stderr  # streamed progress lines
    assert check_plan(load_instance(instance_file), load_plan_from(out)).ok


def test_solve_with_an_unreachable_server_is_one_line(instance_file: Path) -> None:
    run = ringplan("solve", str(instance_file), "--server", "127.0.0.1:1", "--time-limit", "2")
    assert run.returncode == 2
    assert run.stderr.startswith("ringplan: server 127.0.0.1:1: UNAVAILABLE")
    assert "Traceback" not in run.stderr


def test_demo_plans_the_bundled_instance_through_the_service() -> None:
    run = ringplan("demo", "--time-limit", "15")
    assert run.returncode == 0, run.stderr
    assert "ringplan service started on 127.0.0.1:" in run.stdout
    assert "through gRPC" in run.stdout
    assert "status: " in run.stdout
    assert "independent check: plan holds" in run.stdout
    assert "ringplan service stopped" in run.stdout


def test_serve_with_a_bad_setting_is_one_line() -> None:
    import os

    env = {**os.environ, "RINGPLAN_PORT": "eighty"}
    run = subprocess.run(
        [sys.executable, "-m", "ringplan", "serve"], capture_output=True, text=True, env=env,
        timeout=60,
    )  # fmt: skip
    assert run.returncode == 2
    assert run.stderr.strip() == "ringplan: RINGPLAN_PORT: cannot read 'eighty' as int"


def test_solve_verbose_prints_the_phase_timeline() -> None:
    # One worker, a seed and deterministic time: the same phases end the same way on every
    # run; only the seconds differ, and are masked.
    run = ringplan(
        "solve",
        "ringplan/examples/district.json",
        "-v",
        "--quiet",
        "--workers",
        "1",
        "--seed",
        "0",
        "--deterministic-time",
        "0.2",
    )
    assert run.returncode == 0, run.stderr
    timeline = run.stdout[run.stdout.index("phases (") :]
    masked = re.sub(r" *\d+\.\d\d s", " X s", timeline)
    assert masked == (Path(__file__).parent / "golden" / "timeline-district.txt").read_text()
