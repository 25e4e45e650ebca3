"""The comparison of ringplan with the baselines, read from bench records."""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks.targets import best_by, load, table, time_to_reach


def _record(folder: Path, solver: str, budget: float, trace: list[list[float]]) -> None:
    objective = min((int(o) for _t, o, _b in trace), default=None)
    record = {
        "instance": "city-tight-0",
        "solver": solver,
        "time_limit": budget,
        "objective": objective,
        "trace": trace,
    }
    (folder / f"{solver}-{budget:g}.json").write_text(json.dumps(record))


def test_time_to_reach_is_the_first_plan_at_least_as_good() -> None:
    trace = [[0.5, 900, 0], [3.0, 500, 0], [9.0, 400, 0]]
    assert time_to_reach(trace, 500) == 3.0
    assert time_to_reach(trace, 450) == 9.0
    assert time_to_reach(trace, 100) is None
    assert time_to_reach(trace, None) == 0.5  # a baseline without a plan: any plan reaches it
    assert best_by(trace, 2.0) == 900 and best_by(trace, 0.1) is None


def test_table_reports_reach_time_and_equal_budget_verdicts(tmp_path: Path) -> None:
    _record(tmp_path, "ringplan", 60, [[0.5, 900, 0], [4.0, 500, 0], [40.0, 300, 0]])
    _record(tmp_path, "highs", 60, [[10.0, 800, 0], [50.0, 500, 0]])
    # A run without a plan has no objective at all in its record.
    (tmp_path / "naive.json").write_text(
        json.dumps({"instance": "city-tight-0", "solver": "naive-cpsat", "time_limit": 60})
    )
    text = table(load(tmp_path), 60.0, 6.0, [2.0, 30.0])
    highs = next(line for line in text.splitlines() if "| highs |" in line)
    naive = next(line for line in text.splitlines() if "| naive-cpsat |" in line)
    assert "| 500 | 4.00 s | yes |" in highs
    assert "60 s: 300 / 500; at 2 s: 900 / no plan; at 30 s: 500 / 800 | yes |" in highs
    assert "| no plan | 0.50 s | yes |" in naive
