"""National-scale benchmark: the nation planned in parts on Dask, against the greedy planner.

One run solves a generated national instance on the embedded ``LocalCluster`` (or a cluster at
``--scheduler``), samples the memory of this process and every process under it (the
cluster's workers) twice a second, re-checks the merged plan with the independent checker on
the whole instance (its dispatched reserve included), and prints one JSON line::

    .venv/bin/python -m benchmarks.national --variant tight --seed 0 --time-limit 280 \\
        --workers 2 [--no-reserve] [--scheduler tcp://127.0.0.1:8786 | --start-cluster]
        [--greedy] [--part-seconds 5] [--part-deterministic 1] [--first-plan-only] [--no-slices]

``--start-cluster`` starts ``dask scheduler`` and ``--workers`` single-threaded ``dask worker``
processes on loopback (as a user who outgrows one machine would, there on several), runs the
nation through them and stops them; their memory is sampled with this process's. With
``--part-seconds P --cut-for S 2``, the parts are those cut for S seconds on 2 workers and
every part searched gets P seconds instead of its share of the time, so that runs on 1 and 2
workers do the same work (give a time limit that does not cut it, and ``--no-reserve``: the
reserve's rounds run for a share of the time, not a fixed work). A budget in seconds is the
same wall time on any workers, whatever CPU each part finds; ``--part-deterministic D`` limits
each part's CP-SAT searches by D deterministic seconds instead (with a ``--part-seconds`` large
enough to be only a safety net), so that the search round is the same computing on 1 and 2
workers, as the first plans are. ``--no-search`` leaves the
search round out: with ``--cut-for`` and ``--no-reserve`` the work is then the first plans of
the same parts, a fixed amount of computing whatever the workers.

``--greedy`` also plans the same instance with :mod:`benchmarks.baselines.greedy` and reports
its weighted shortfall, so the ratio can be read off one row. Every row reports the first whole
plan (:mod:`solver.parts.first`): when it came, from the call, and its weighted shortfall by the
checker. ``--first-plan-only`` asks the solve to stop as soon as that plan is made (a short run:
the answer's wall time then says how fast a stop is honoured). ``--no-slices`` keeps the parts
of every group that was cut, even where the group's slice of the first whole plan is less
short (:func:`solver.parts.national.solve_in_parts`), to measure what keeping it gains. The
rounds' log (the rate the cut was made at, each round's end) goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psutil

from benchmarks.generator import generate
from solver import Assignment, Instance, Plan, check_plan, solve
from solver.heuristics.waves import WavePlan
from solver.parts.national import Mode, PartsProgress, solve_in_parts
from solver.parts.reserve import dispatched_instance
from solver.parts.task import FixedWork


class MemorySampler:
    """The largest summed RSS of this process and all its descendants, sampled."""

    def __init__(self, every: float = 0.5) -> None:
        self.peak = 0
        self._every = every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        me = psutil.Process(os.getpid())
        while not self._stop.wait(self._every):
            total = 0
            for process in [me, *me.children(recursive=True)]:
                try:
                    total += process.memory_info().rss
                except psutil.Error:
                    continue
            self.peak = max(self.peak, total)

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def weighted_shortfall(instance: Instance, plan: Plan) -> tuple[int, int, list[str]]:
    """Weighted shortfall, shortfall in headcount-shifts and violations, by the checker."""
    report = check_plan(instance, plan)
    venues = {v.id: v for v in instance.venues}
    rules = instance.rules
    weighted = sum(
        rules.risk_weights[venues[row.venue].risk_at(row.shift)]
        * rules.ring_weights[row.ring]
        * row.shortfall
        for row in report.coverage.values()
    )
    return weighted, report.total_shortfall, report.violations


def _start(*command: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@contextmanager
def loopback_cluster(workers: int) -> Iterator[str]:
    """``dask scheduler`` and ``workers`` single-threaded ``dask worker`` processes on
    loopback, started apart from this process; yields the scheduler's address."""
    from distributed import Client

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    address = f"tcp://127.0.0.1:{port}"
    dask = str(Path(sys.executable).parent / "dask")
    scheduler = ["scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-show"]
    worker = ["worker", address, "--nworkers", "1", "--nthreads", "1", "--no-dashboard"]
    processes = [_start(dask, *scheduler, "--dashboard-address", ":0")]
    try:
        for _ in range(workers):
            processes.append(_start(dask, *worker, "--memory-limit", "2GiB"))
        with Client(address, timeout=60) as client:
            client.wait_for_workers(workers, timeout=120)
        yield address
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in reversed(processes):
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def run(args: argparse.Namespace) -> dict[str, Any]:
    instance = generate("national", args.seed, args.variant)
    if args.no_reserve:
        instance = instance.model_copy(update={"reserve": ()})
    row: dict[str, Any] = {
        "variant": args.variant,
        "seed": args.seed,
        "reserve_units": len(instance.reserve),
        "time_limit": args.time_limit,
        "workers": args.workers,
        "scheduler": args.scheduler
        or ("dask scheduler + workers on loopback" if args.start_cluster else "embedded"),
        "part_seconds": args.part_seconds,
        "part_deterministic": args.part_deterministic,
        "cut_for": args.cut_for,
        "search": not args.no_search,
        "load_before": os.getloadavg()[0],
    }
    stop = threading.Event()
    first: list[tuple[WavePlan, float]] = []
    rounds: dict[str, list[float]] = {}

    def on_first(plan: WavePlan, elapsed: float) -> None:
        first.append((plan, time.perf_counter() - began))
        if args.first_plan_only:
            stop.set()

    def on_part(p: PartsProgress) -> None:
        # Per round: parts done, of, seconds and weighted shortfall at its last plan.
        rounds[p.round] = [p.done, p.total, round(p.elapsed, 1), p.weighted]

    with MemorySampler() as memory, _cluster(args) as scheduler:
        began = time.perf_counter()
        result = solve_in_parts(
            instance,
            time_limit=args.time_limit,
            mode=Mode.LOCAL,
            scheduler=scheduler,
            seed=args.seed,
            n_workers=args.workers,
            fixed_work=FixedWork(args.part_seconds, args.part_deterministic),
            cut_for=None if args.cut_for is None else (args.cut_for[0], int(args.cut_for[1])),
            solver=None if args.no_search else solve,
            stop=stop,
            first_plan=on_first,
            part_progress=on_part,
            slices=not args.no_slices,
        )
        row["wall_s"] = round(time.perf_counter() - began, 1)
    row["peak_memory_gib"] = round(memory.peak / 2**30, 2)
    row["first_whole_plan_s"] = (
        None if result.first_solution_time is None else round(result.first_solution_time, 1)
    )
    if first:
        made, at = first[0]
        whole = Plan(
            assignments=tuple(
                Assignment(unit=u, venue=v, ring=r, shift=s) for u, v, r, s in made.assignments
            )
        )
        f_weighted, f_short, f_violations = weighted_shortfall(instance, whole)
        row["first_plan_s"] = round(at, 1)
        row["first_plan_weighted_shortfall"] = f_weighted
        row["first_plan_shortfall_headcount_shifts"] = f_short
        row["first_plan_checked_ok"] = not f_violations
    row["rounds"] = rounds
    row["status"] = result.status.value
    row["parts"] = len(result.parts)
    row["parts_planned"] = sum(1 for p in result.parts if p.status.has_plan)
    row["parts_whole"] = sum(1 for p in result.parts if not p.cut)
    row["dispatched"] = len(result.dispatches)
    checked = time.perf_counter()
    weighted, short, violations = weighted_shortfall(
        dispatched_instance(instance, result.dispatches), result.plan
    )
    row["check_s"] = round(time.perf_counter() - checked, 1)
    row["checked_ok"] = not violations
    row["weighted_shortfall"] = weighted
    row["shortfall_headcount_shifts"] = short
    row["bound_first_term"] = sum(p.shortfall_bound for p in result.parts)
    if args.greedy:
        from benchmarks.baselines.greedy import plan_greedy

        greedy_began = time.perf_counter()
        plan = plan_greedy(instance.model_copy(update={"reserve": ()}))
        row["greedy_s"] = round(time.perf_counter() - greedy_began, 1)
        g_weighted, g_short, g_violations = weighted_shortfall(instance, plan)
        row["greedy_shortfall_headcount_shifts"] = g_short
        row["greedy_weighted_shortfall"] = g_weighted
        row["greedy_checked_ok"] = not g_violations
        row["ratio_to_greedy"] = round(weighted / max(1, g_weighted), 3)
    row["load_after"] = os.getloadavg()[0]
    return row


@contextmanager
def _cluster(args: argparse.Namespace) -> Iterator[str | None]:
    if not args.start_cluster:
        yield args.scheduler
        return
    with loopback_cluster(args.workers) as address:
        yield address


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variant", default="tight", choices=("tight", "loose"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--time-limit", type=float, default=280.0)
    parser.add_argument("--workers", type=int, default=2, help="embedded cluster's workers")
    parser.add_argument("--scheduler", help="an existing Dask cluster instead")
    parser.add_argument(
        "--start-cluster",
        action="store_true",
        help="start dask scheduler and --workers dask worker processes on loopback",
    )
    parser.add_argument(
        "--part-seconds", type=float, help="every part's budget (to time 1 against 2 workers)"
    )
    parser.add_argument(
        "--part-deterministic",
        type=float,
        metavar="D",
        help="limit every part's CP-SAT searches by D deterministic seconds (fixed work)",
    )
    parser.add_argument(
        "--cut-for",
        nargs=2,
        type=float,
        metavar=("SECONDS", "WORKERS"),
        help="cut the parts for this time on this many workers (the same parts on any workers)",
    )
    parser.add_argument(
        "--no-search", action="store_true", help="first plans (and reserve) only: no search round"
    )
    parser.add_argument("--no-reserve", action="store_true", help="drop the national reserve")
    parser.add_argument(
        "--no-slices",
        action="store_true",
        help="keep cut groups' parts even where their slice of the first plan is less short",
    )
    parser.add_argument("--greedy", action="store_true", help="also run the greedy planner")
    parser.add_argument(
        "--first-plan-only", action="store_true", help="stop once the first whole plan is made"
    )
    args = parser.parse_args(argv)
    # The rounds' log (the cut's rate, each round's end) on stderr; the row on stdout.
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("solver.parts").setLevel(logging.INFO)
    print(json.dumps(run(args)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
