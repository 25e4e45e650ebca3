"""``ringplan bench``: instances x planners x budgets x seeds, each run in a fresh process.

Writes to the output directory:

- ``instances/``: the generated instances (``SCALE-VARIANT-SEED.json``);
- ``records/``: one JSON record per run (see :mod:`benchmarks.worker`);
- ``runs.csv``: one row per run; ``trace.csv``: objective and bound over time;
- ``results.md``: the table of ``runs.csv`` for a person;
- ``plots/``: objective and bound over time per instance, shortfall by ring and by risk.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.generator import generate_data, write_instance

RUN_COLUMNS = (
    "instance",
    "solver",
    "seed",
    "time_limit",
    "workers",
    "status",
    "build_time",
    "first_plan_time",
    "wall_time",
    "objective",
    "best_bound",
    "gap",
    "shortfall",
    "shortfall_headcount",
    "tni",
    "travel",
    "balance",
    "overstaffing",
    "assignments",
    "peak_memory_mb",
    "check_ok",
    "note",
)
"""Columns of ``runs.csv``."""


@dataclass(frozen=True)
class Job:
    """One run: an instance file, a planner, a budget and a seed."""

    instance: Path
    solver: str
    time_limit: float
    seed: int

    @property
    def key(self) -> str:
        budget = f"{self.time_limit:g}".replace(".", "p")
        return f"{self.instance.stem}--{self.solver.replace(':', '-')}--{budget}s--seed{self.seed}"


def make_instances(
    out: Path, scales: Sequence[str], variants: Sequence[str], seeds: Sequence[int]
) -> list[Path]:
    """Generate (or reuse) ``out/instances/SCALE-VARIANT-SEED.json`` for every combination."""
    folder = out / "instances"
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for scale in scales:
        for variant in variants:
            for seed in seeds:
                path = folder / f"{scale}-{variant}-{seed}.json"
                if not path.exists():
                    write_instance(generate_data(scale, seed, variant), str(path))
                paths.append(path)
    return paths


def run_job(
    job: Job, records: Path, *, workers: int, memory_limit_gb: float | None, timeout: float
) -> dict[str, Any]:
    """Run one job in a fresh Python process and return its record."""
    out = records / f"{job.key}.json"
    command = [
        sys.executable,
        "-m",
        "benchmarks.worker",
        "--instance",
        str(job.instance),
        "--solver",
        job.solver,
        "--time-limit",
        str(job.time_limit),
        "--workers",
        str(workers),
        "--seed",
        str(job.seed),
        "--out",
        str(out),
    ]
    if memory_limit_gb:
        command += ["--memory-limit-gb", str(memory_limit_gb)]
    out.unlink(missing_ok=True)
    start = time.perf_counter()
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
        failure = "" if done.returncode == 0 else _failure(done.returncode, done.stderr)
    except subprocess.TimeoutExpired:
        failure = f"killed after {timeout:g} s"
    if not failure and out.exists():
        record: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
        return record
    record = {
        "instance": job.instance.stem,
        "solver": job.solver,
        "seed": job.seed,
        "time_limit": job.time_limit,
        "workers": workers,
        "status": "crashed",
        "wall_time": time.perf_counter() - start,
        "note": failure or "no record written",
        "trace": [],
        "shortfall_by": {},
    }
    out.write_text(json.dumps(record), encoding="utf-8")
    return record


def _failure(code: int, stderr: str) -> str:
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    last = lines[-1] if lines else ""
    if code == 4 or "MemoryError" in stderr:
        return f"out of memory: {last}"
    if code < 0:
        return f"killed by signal {-code} (the memory limit, most likely)"
    return f"exit {code}: {last}"


class ProgressBar:
    """A one-line progress bar on stderr: done / total, elapsed, the run under way."""

    def __init__(self, total: int, width: int = 24) -> None:
        self.total, self.width, self.done = total, width, 0
        self.start = time.perf_counter()

    def show(self, label: str) -> None:
        filled = self.width * self.done // max(1, self.total)
        elapsed = time.perf_counter() - self.start
        line = (
            f"\r[{'#' * filled}{'.' * (self.width - filled)}] {self.done}/{self.total} "
            f"{elapsed:6.0f} s  {label}"
        )
        print(f"{line[:118]:<118}", end="", file=sys.stderr, flush=True)

    def step(self, label: str) -> None:
        self.done += 1
        self.show(label)
        if self.done == self.total:
            print(file=sys.stderr, flush=True)


def run_bench(
    instances: Sequence[Path],
    solvers: Sequence[str],
    *,
    time_limits: Sequence[float],
    seeds: Sequence[int],
    workers: int,
    out: Path,
    memory_limit_gb: float | None = None,
    timeout_margin: float = 600.0,
    progress: bool = True,
) -> list[dict[str, Any]]:
    """Run every instance x solver x budget x seed; return the records in that order."""
    records_dir = out / "records"
    records_dir.mkdir(parents=True, exist_ok=True)
    jobs = [
        Job(path, solver, budget, seed)
        for path in instances
        for budget in time_limits
        for solver in solvers
        for seed in seeds
    ]
    bar = ProgressBar(len(jobs)) if progress else None
    results = []
    for job in jobs:
        if bar is not None:
            bar.show(f"{job.instance.stem} {job.solver} {job.time_limit:g} s seed {job.seed}")
        results.append(
            run_job(
                job,
                records_dir,
                workers=workers,
                memory_limit_gb=memory_limit_gb,
                timeout=job.time_limit + timeout_margin,
            )
        )
        if bar is not None:
            bar.step(f"{job.instance.stem} {job.solver}: {results[-1]['status']}")
    return results


def flat_row(record: dict[str, Any]) -> dict[str, Any]:
    """The ``runs.csv`` row of a record."""
    terms = record.get("terms") or {}
    missing = record.get("shortfall_by") or {}
    row = {column: record.get(column) for column in RUN_COLUMNS}
    row.update({term: terms.get(term) for term in ("tni", "travel", "balance", "overstaffing")})
    row["shortfall"] = terms.get("shortfall")
    if terms:
        row["shortfall_headcount"] = sum(n for k, n in missing.items() if k.startswith("ring "))
    return row


def write_tables(records: Sequence[dict[str, Any]], out: Path) -> tuple[Path, Path, Path]:
    """Write ``runs.csv``, ``trace.csv`` and ``results.md``; return their paths."""
    out.mkdir(parents=True, exist_ok=True)
    runs, trace, table = out / "runs.csv", out / "trace.csv", out / "results.md"
    with runs.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=RUN_COLUMNS)
        writer.writeheader()
        writer.writerows(flat_row(r) for r in records)
    with trace.open("w", newline="", encoding="utf-8") as f:
        writer2 = csv.writer(f)
        writer2.writerow(
            ["instance", "solver", "seed", "time_limit", "elapsed", "objective", "bound"]
        )
        for r in records:
            for elapsed, objective, bound in r.get("trace") or []:
                writer2.writerow(
                    [
                        r["instance"],
                        r["solver"],
                        r["seed"],
                        r["time_limit"],
                        elapsed,
                        objective,
                        bound,
                    ]
                )
    table.write_text(
        "## Side by side\n\nweighted shortfall / TNI headcount-shifts / travel km (gap)\n\n"
        + side_by_side(records)
        + "\n## Every run\n\n"
        + markdown_table(records),
        encoding="utf-8",
    )
    return runs, trace, table


def _num(value: Any, digits: int = 2) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def markdown_table(records: Sequence[dict[str, Any]]) -> str:
    """One row per run, grouped by instance and budget, in the order of ``records``."""
    header = (
        "| instance | budget s | solver | seed | status | build s | 1st plan s | wall s "
        "| shortfall (weighted) | short hc | TNI | travel km | gap | peak MiB | check |\n"
        "|---|---:|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n"
    )
    lines = []
    for r in records:
        row = flat_row(r)
        gap = r.get("gap")
        check = {True: "ok", False: "FAIL", None: "-"}[r.get("check_ok")]
        status = r["status"] + (f" ({r['note']})" if r.get("note") else "")
        lines.append(
            f"| {r['instance']} | {r['time_limit']:g} | {r['solver']} | {r['seed']} | {status} "
            f"| {_num(r.get('build_time'))} | {_num(r.get('first_plan_time'))} "
            f"| {_num(r.get('wall_time'), 1)} | {_num(row['shortfall'])} "
            f"| {_num(row['shortfall_headcount'])} | {_num(row['tni'])} | {_num(row['travel'])} "
            f"| {'-' if gap is None else f'{100 * gap:.2f} %'} "
            f"| {_num(r.get('peak_memory_mb'), 0)} | {check} |"
        )
    return header + "\n".join(lines) + "\n"


def side_by_side(records: Sequence[dict[str, Any]]) -> str:
    """One row per instance and budget, one column per planner (seed 0 only).

    A cell reads ``weighted shortfall / TNI headcount-shifts / travel km``, then the gap where
    the planner proves a bound; ``no plan`` when it found none in the budget.
    """
    solvers: list[str] = []
    cells: dict[tuple[str, float], dict[str, str]] = {}
    for r in records:
        if r["seed"] != 0:
            continue
        if r["solver"] not in solvers:
            solvers.append(r["solver"])
        row = flat_row(r)
        if r.get("check_ok") is None:
            cell = "no plan" if r["status"] in ("no_solution", "feasible") else r["status"]
        else:
            cell = f"{row['shortfall']} / {row['tni']} / {row['travel']}"
            if r.get("gap") is not None:
                cell += f" ({100 * r['gap']:.1f} %)"
            if not r["check_ok"]:
                cell += " CHECK FAILED"
        cells.setdefault((r["instance"], r["time_limit"]), {})[r["solver"]] = cell
    header = "| instance | budget s | " + " | ".join(solvers) + " |\n"
    header += "|---|---:|" + "---|" * len(solvers) + "\n"
    lines = [
        f"| {instance} | {budget:g} | " + " | ".join(by_solver.get(s, "-") for s in solvers) + " |"
        for (instance, budget), by_solver in cells.items()
    ]
    return header + "\n".join(lines) + "\n"


def _order(record: dict[str, Any]) -> tuple[Any, ...]:
    """Scales from small to large, tight before loose, ringplan before the baselines."""
    from benchmarks.generator import SCALES
    from benchmarks.solvers import BASELINES

    scale = str(record["instance"]).split("-")[0]
    scales = list(SCALES)
    solver = str(record["solver"])
    rank = len(BASELINES) + 1 if not solver.startswith("ringplan") else 0
    if solver in BASELINES:
        rank = 1 + BASELINES.index(solver)
    return (
        scales.index(scale) if scale in scales else len(scales),
        str(record["instance"]),
        float(record["time_limit"]),
        rank,
        solver,
        int(record["seed"]),
    )


def load_records(out: Path) -> list[dict[str, Any]]:
    """Every record under ``out/records``: scale, instance, budget, planner, seed order."""
    records = [
        json.loads(path.read_text(encoding="utf-8"))
        for path in sorted((out / "records").glob("*.json"))
    ]
    return sorted(records, key=_order)
