"""A short benchmark run on the district and city scales, as CI runs it.

Every plan must pass the independent checker, and each gap that ``benchmarks/RESULTS.md``
documents under "CI smoke thresholds" must be reached at its budget. Timings are printed (run
pytest with ``-s`` to see them), never asserted.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from benchmarks.runner import make_instances, markdown_table, run_bench
from ringplan.cli import main

RESULTS = Path(__file__).resolve().parent.parent / "benchmarks" / "RESULTS.md"


def documented_thresholds() -> list[tuple[str, str, float, float]]:
    """(instance, solver, budget s, largest gap) rows of RESULTS.md's CI smoke table."""
    text = RESULTS.read_text(encoding="utf-8")
    section = text.split("## CI smoke thresholds", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        match = re.match(r"\|\s*(\S+)\s*\|\s*(\S+)\s*\|\s*([\d.]+)\s*\|\s*([\d.]+)\s*%\s*\|", line)
        if match:
            instance, solver, budget, gap = match.groups()
            rows.append((instance, solver, float(budget), float(gap) / 100))
    return rows


def test_results_document_smoke_thresholds_for_district_and_city() -> None:
    rows = documented_thresholds()
    assert {row[0].split("-")[0] for row in rows} == {"district", "city"}


def test_bench_smoke_plans_pass_the_checker_and_reach_the_documented_gaps(tmp_path: Path) -> None:
    rows = documented_thresholds()
    instances = {
        p.stem: p for p in make_instances(tmp_path, ["district", "city"], ["tight", "loose"], [0])
    }
    records = []
    for instance, solver, budget, _ in rows:
        records += run_bench(
            [instances[instance]],
            [solver],
            time_limits=[budget],
            seeds=[0],
            workers=2,
            out=tmp_path,
            progress=False,
        )
    # The greedy planner on the city instances: a plan the checker accepts, whatever its quality.
    records += run_bench(
        [instances["city-tight-0"], instances["city-loose-0"]],
        ["greedy"],
        time_limits=[1],
        seeds=[0],
        workers=1,
        out=tmp_path,
        progress=False,
    )
    print("\n" + markdown_table(records))
    assert all(r["check_ok"] is True for r in records), [
        (r["instance"], r["solver"], r["status"], r.get("note")) for r in records
    ]
    for (instance, solver, budget, gap), record in zip(rows, records, strict=False):
        assert (record["instance"], record["solver"]) == (instance, solver)
        assert record["gap"] is not None and record["gap"] <= gap + 1e-9, (
            f"{instance} {solver} {budget:g} s: gap {record['gap']} above {gap}"
        )


def test_bench_rejects_an_unknown_solver_naming_the_known_ones(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["bench", "--solvers", "cplex", "--out", str(tmp_path)]) == 2
    error = capsys.readouterr().err
    assert "unknown solver 'cplex'" in error and "naive-cpsat" in error


def test_bench_report_without_records_is_an_input_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["bench", "--report", "--out", str(tmp_path)]) == 2
    assert "no records" in capsys.readouterr().err


def test_bench_on_an_instance_file_runs_that_instance_alone(tmp_path: Path) -> None:
    (path,) = make_instances(tmp_path / "given", ["district"], ["tight"], [3])
    out = tmp_path / "out"
    args = ["bench", "--instance", str(path), "--solvers", "greedy", "--time-limit", "1"]
    assert main([*args, "--out", str(out), "--no-plots", "--quiet"]) == 0
    rows = (out / "runs.csv").read_text(encoding="utf-8").splitlines()
    assert len(rows) == 2 and rows[1].startswith("district-tight-3,greedy,")
