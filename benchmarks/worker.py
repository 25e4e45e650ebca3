"""One benchmark run in its own process: solve, then score and check the plan.

``python -m benchmarks.worker --instance FILE --solver NAME --out RECORD.json ...`` writes one
JSON record. Running each solve in a fresh process makes the peak memory (``ru_maxrss``, read
right after the solve, before scoring and checking) that of this run alone.
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.baselines import Outcome
from benchmarks.scoring import plan_terms, term_weights
from benchmarks.solvers import run_solver
from solver import Instance, ObjectiveTerm, Plan, check_plan, load_instance
from solver.model.data import build_data
from solver.model.evaluate import Evaluator
from solver.result import relative_gap
from solver.search.counts import hint_vector

LARGE = 50_000_000
"""Units x rings x shifts above which a plan is scored from the plan alone (the national scale):
ringplan's model data for it takes minutes and gigabytes to build."""


def peak_memory_mb() -> float:
    """Peak resident memory of this process so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _stage_bound(outcome: Outcome, weights: dict[ObjectiveTerm, int]) -> int | None:
    """A bound on the weighted objective from lexicographic stage bounds.

    Every stage proven optimal adds its value times its weight; the first unproven stage adds
    its proven bound times its weight and ends the sum (later stages are only known >= 0).
    """
    if not outcome.stage_bounds:
        return None
    bound = 0
    for term, lower, optimal in outcome.stage_bounds:
        bound += weights[ObjectiveTerm(term)] * max(0, math.ceil(lower - 1e-6))
        if not optimal:
            break
    return bound


def _shortfall_by(instance: Instance, plan: Plan) -> tuple[bool, list[str], dict[str, int]]:
    """Checker verdict, violations, and missing headcount-shifts by ring and by risk."""
    report = check_plan(instance, plan)
    venues = {venue.id: venue for venue in instance.venues}
    missing: dict[str, int] = defaultdict(int)
    for (venue_id, ring, shift), row in report.coverage.items():
        if row.shortfall:
            missing[f"ring {ring}"] += row.shortfall
            missing[f"risk {venues[venue_id].risk_at(shift).value}"] += row.shortfall
    return report.ok, report.violations, dict(missing)


def run_one(
    instance_path: str, solver: str, time_limit: float, workers: int, seed: int
) -> dict[str, Any]:
    """Solve one instance with one planner and return the benchmark record."""
    instance = load_instance(instance_path)
    start = time.perf_counter()
    outcome = run_solver(solver, instance, time_limit=time_limit, workers=workers, seed=seed)
    wall = time.perf_counter() - start
    peak = peak_memory_mb()

    record: dict[str, Any] = {
        "instance": Path(instance_path).stem,
        "solver": solver,
        "seed": seed,
        "time_limit": time_limit,
        "workers": workers,
        "status": outcome.status,
        "build_time": outcome.build_time,
        "first_plan_time": outcome.first_solution_time,
        "wall_time": wall,
        "peak_memory_mb": peak,
        "note": outcome.note,
    }
    if outcome.plan is None:
        record.update(check_ok=None, violations=[], trace=[], shortfall_by={})
        return record

    size = len(instance.units) * sum(len(v.rings) for v in instance.venues) * len(instance.shifts)
    if size > LARGE:
        # ringplan's model data would not fit in memory: terms from the plan, no weighted total.
        ok, violations, missing = _shortfall_by(instance, outcome.plan)
        terms = plan_terms(instance, outcome.plan)
        record.update(
            objective=None,
            best_bound=None,
            gap=None,
            terms={term.value: value for term, value in terms.items()},
            assignments=len(outcome.plan.assignments),
            check_ok=ok,
            violations=violations[:20],
            shortfall_by=missing,
            trace=[],
            note=(outcome.note + "; " if outcome.note else "") + "terms from the plan only",
        )
        return record

    data = build_data(instance)
    weights = term_weights(data)
    evaluator = Evaluator(data)

    def objective_of(plan: Plan) -> tuple[int, dict[ObjectiveTerm, int]]:
        terms = evaluator.terms(hint_vector(data, plan))
        return sum(weights[t] * terms[t] for t in weights), terms

    objective, terms = objective_of(outcome.plan)
    bound = outcome.best_bound if outcome.best_bound is not None else None
    if bound is None:
        bound = _stage_bound(outcome, weights)
    if outcome.status == "optimal":
        bound = objective
    trace = [list(point) for point in outcome.trace]
    for elapsed, plan in outcome.plans:
        trace.append([elapsed, objective_of(plan)[0], None])
    ok, violations, missing = _shortfall_by(instance, outcome.plan)
    record.update(
        objective=objective,
        best_bound=bound,
        gap=relative_gap(objective, bound) if bound is not None else None,
        terms={term.value: value for term, value in terms.items()},
        assignments=len(outcome.plan.assignments),
        check_ok=ok,
        violations=violations[:20],
        shortfall_by=missing,
        trace=sorted(trace, key=lambda point: float(point[0] or 0.0)),
    )
    return record


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.worker")
    parser.add_argument("--instance", required=True)
    parser.add_argument("--solver", required=True)
    parser.add_argument("--time-limit", type=float, required=True)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--memory-limit-gb", type=float, default=None)
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    if args.memory_limit_gb:
        limit = int(args.memory_limit_gb * 2**30)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    try:
        record = run_one(args.instance, args.solver, args.time_limit, args.workers, args.seed)
    except MemoryError:
        print(f"out of memory (limit {args.memory_limit_gb} GiB)", file=sys.stderr)
        return 4
    Path(args.out).write_text(json.dumps(record), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
