"""The HTML report at province scale: time to write it and its size.

Targets: a province result's report in under 5 s and under 10 MB.

    python -m benchmarks.report_bench prepare DIR   # province (tight, seed 0) and a 30 s plan
    python -m benchmarks.report_bench run DIR       # renders it 3 times; asserts the targets

``prepare`` writes ``DIR/instance.json`` and ``DIR/result.json``; ``run`` prints one JSON line
(seconds of each render, megabytes, venues, units, assignments, short rings) and exits 1 when a
target is missed. The whole command is timed with
``farm-bench -- .venv/bin/ringplan report DIR/instance.json DIR/result.json --out DIR/plan.html``.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

from benchmarks.generator import generate
from ringplan.report import render_report
from solver import Instance, Result, check_plan, solve

SECONDS_TARGET = 5.0
MEGABYTES_TARGET = 10.0


def prepare(directory: Path) -> None:
    """Write the province instance and a plan of it with a fixed budget."""
    directory.mkdir(parents=True, exist_ok=True)
    instance = generate("province", 0, "tight")
    result = solve(instance, time_limit=30.0, preset="large", seed=7)
    assert check_plan(instance, result.plan).ok
    (directory / "instance.json").write_text(instance.model_dump_json())
    (directory / "result.json").write_text(result.model_dump_json())


def run(directory: Path, repeats: int = 3) -> bool:
    """Render the report ``repeats`` times; print the figures; whether the targets are met."""
    instance = Instance.model_validate_json((directory / "instance.json").read_text())
    result = Result.model_validate_json((directory / "result.json").read_text())
    seconds, html = [], ""
    for _ in range(repeats):
        start = time.perf_counter()
        html = render_report(instance, result)
        seconds.append(round(time.perf_counter() - start, 3))
    megabytes = len(html.encode("utf-8")) / 1e6
    row = {
        "seconds": seconds,
        "median_seconds": statistics.median(seconds),
        "megabytes": round(megabytes, 2),
        "venues": len(instance.venues),
        "shifts": len(instance.shifts),
        "units": len(instance.units),
        "assignments": len(result.plan.assignments),
        "short_rings": sum(1 for row in result.coverage if row.shortfall),
    }
    print(json.dumps(row))
    return max(seconds) < SECONDS_TARGET and megabytes < MEGABYTES_TARGET


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in ("prepare", "run"):
        print(__doc__, file=sys.stderr)
        return 2
    directory = Path(argv[1])
    if argv[0] == "prepare":
        prepare(directory)
        return 0
    return 0 if run(directory) else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
