"""What-if benchmark: raise venues to very high risk, re-plan, compare with a cold solve.

Measures, on one instance (default: the bundled city):

1. the plan in force: a cold solve of the instance;
2. a cold solve of the changed instance (venues raised to very high) and the what-if re-plan
   of the plan in force, each with its gap over time; *time to same gap* is when the re-plan
   first reaches the gap the cold solve ends with (also: when each first reaches the cold
   solve's final shortfall);
3. a dedicated min-moves solve: fewest moved unit-shifts subject to a weighted shortfall no
   greater than the re-plan's, warm-started from the re-plan and given twice the time; its
   best count and proven lower bound are what the re-plan's moves are compared with.

Every plan is re-checked with the independent checker. Run::

    .venv/bin/python benchmarks/whatif_bench.py --time-limit 60 --json out.json
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ortools.sat.python import cp_model

from solver import (
    Instance,
    ObjectiveTerm,
    Progress,
    Result,
    RiskLevel,
    check_plan,
    load_instance,
    solve,
)
from solver.model.constraints import add_constraints
from solver.model.data import build_data
from solver.model.disruption import Baseline, add_baseline, with_disruption_ranked
from solver.model.objective import objective_terms, strict_weights
from solver.model.variables import make_variables
from solver.report import plan_from_vector
from solver.solve import hint_vector, solution_vector
from solver.whatif import (
    ReplanOptions,
    SetRisk,
    WhatIfRequest,
    apply_changes,
    whatif,
)

ROOT = Path(__file__).resolve().parent.parent
SEED = 7


@dataclass
class Trace:
    """Improving plans of one solve: (seconds, objective, gap, shortfall term)."""

    shortfall_weight: int
    points: list[tuple[float, int, float, int]] = field(default_factory=list)

    def __call__(self, progress: Progress) -> None:
        shortfall = progress.objective // self.shortfall_weight
        self.points.append((progress.elapsed, progress.objective, progress.gap, shortfall))

    def time_to_gap(self, gap: float) -> float | None:
        return next((t for t, _, g, _ in self.points if g <= gap + 1e-9), None)

    def time_to_shortfall(self, shortfall: int) -> float | None:
        return next((t for t, _, _, s in self.points if s <= shortfall), None)


def shortfall_weight(instance: Instance, baseline: Baseline | None) -> int:
    """Weight of one unit of the shortfall term in the full ranking (as solve() builds it)."""
    if baseline is not None:
        instance = with_disruption_ranked(instance)
    data = build_data(instance, grouped=False)
    model = cp_model.CpModel()
    variables = make_variables(model, data)
    add_constraints(model, data, variables)
    extra = {}
    if baseline is not None:
        extra[ObjectiveTerm.DISRUPTION], _ = add_baseline(model, data, variables, baseline)
    terms = objective_terms(model, data, variables, extra)
    weights = strict_weights([t.upper for t in terms])
    return weights[[t.name for t in terms].index(ObjectiveTerm.SHORTFALL)]


def min_moves(
    changed: Instance, baseline: Baseline, replan: Result, time_limit: float, workers: int
) -> dict[str, Any]:
    """Fewest moved unit-shifts with a weighted shortfall no greater than the re-plan's.

    A model of its own: the re-plan's rules, ``shortfall <= re-plan's`` as a constraint, and
    disruption as the only objective, warm-started from the re-plan. Its bound is a proven
    lower bound on the minimum even when the search does not finish.
    """
    started = time.perf_counter()
    instance = with_disruption_ranked(changed)
    data = build_data(instance, grouped=False)
    model = cp_model.CpModel()
    variables = make_variables(model, data)
    add_constraints(model, data, variables)
    disruption, _ = add_baseline(model, data, variables, baseline)
    terms = objective_terms(model, data, variables, {ObjectiveTerm.DISRUPTION: disruption})
    shortfall = next(t for t in terms if t.name is ObjectiveTerm.SHORTFALL)
    model.add(shortfall.expr <= replan.breakdown[ObjectiveTerm.SHORTFALL])
    model.minimize(disruption.expr)
    for var, value in zip(variables.assign, hint_vector(data, replan.plan), strict=True):
        model.add_hint(var, int(value))
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = workers
    solver.parameters.max_time_in_seconds = time_limit
    solver.parameters.random_seed = SEED
    solver.parameters.extra_subsolvers.append("max_lp")
    status = solver.solve(model)
    assert status in (cp_model.OPTIMAL, cp_model.FEASIBLE), solver.status_name(status)
    x = solution_vector(solver.response_proto, len(variables.assign))
    plan = plan_from_vector(data, x)
    report = check_plan(changed, plan)
    assert report.ok, ("min-moves", report.violations[:5])
    return {
        "status": solver.status_name(status).lower(),
        "moved_unit_shifts": round(solver.objective_value),
        "bound": math.ceil(solver.best_objective_bound - 1e-6),
        "wall_s": round(time.perf_counter() - started, 2),
    }


def checked(instance: Instance, result: Result, label: str) -> Result:
    report = check_plan(instance, result.plan)
    assert report.ok, (label, report.violations[:5])
    return result


def machine() -> dict[str, str]:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT
    ).stdout.strip()
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": commit,
        "nproc": str(os.cpu_count()),
        "cpu": cpu,
        "python": platform.python_version(),
        "load_1min": f"{os.getloadavg()[0]:.2f}",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--instance", default=str(ROOT / "ringplan/examples/city.json"))
    parser.add_argument("--venues", type=int, default=5, help="venues raised to very high")
    parser.add_argument("--time-limit", type=float, default=60.0, help="seconds per solve")
    parser.add_argument("--base-time-limit", type=float, default=None)
    parser.add_argument("--min-moves-time-limit", type=float, default=None)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", help="write the measurements here")
    parser.add_argument("--plan", help="plan in force to reuse (a solve --out result)")
    parser.add_argument("--save-plan", help="write the plan in force here (for --plan)")
    args = parser.parse_args()
    limit = args.time_limit
    env = machine()
    instance = load_instance(args.instance)

    if args.plan:
        base = Result.model_validate_json(Path(args.plan).read_text())
    else:
        base_limit = args.base_time_limit or limit
        base = solve(instance, time_limit=base_limit, workers=args.workers, seed=SEED)
    checked(instance, base, "plan in force")
    if args.save_plan:
        Path(args.save_plan).write_text(base.model_dump_json())
    raised = [v.id for v in instance.venues if v.risk is not RiskLevel.VERY_HIGH][: args.venues]
    changes = tuple(SetRisk(venue=v, risk=RiskLevel.VERY_HIGH) for v in raised)
    changed = apply_changes(instance, changes)

    cold_trace = Trace(shortfall_weight(changed, None))
    cold = checked(
        changed,
        solve(changed, time_limit=limit, workers=args.workers, seed=SEED, progress=cold_trace),
        "cold",
    )

    baseline = Baseline(plan=base.plan)
    replan_trace = Trace(shortfall_weight(changed, baseline))
    answer = whatif(
        WhatIfRequest(
            instance=instance,
            plan=base.plan,
            changes=changes,
            options=ReplanOptions(time_limit=limit, workers=args.workers, seed=SEED),
        ),
        progress=replan_trace,
    )
    replan = checked(changed, answer.result, "re-plan")

    fewest = min_moves(
        changed,
        baseline,
        replan,
        time_limit=args.min_moves_time_limit or 2 * limit,
        workers=args.workers,
    )

    cold_gap = cold.gap if cold.gap is not None else 1.0
    cold_short = cold.breakdown[ObjectiveTerm.SHORTFALL]
    # A gap reached by a rising bound alone shows in no progress report: then the end time.
    t_cold_gap = cold_trace.time_to_gap(cold_gap) or cold.wall_time
    t_replan_gap = replan_trace.time_to_gap(cold_gap)
    if t_replan_gap is None and replan.gap is not None and replan.gap <= cold_gap:
        t_replan_gap = replan.wall_time
    moves = replan.breakdown[ObjectiveTerm.DISRUPTION]
    row = {
        **env,
        "instance": Path(args.instance).name,
        "raised": raised,
        "time_limit_s": limit,
        "base": {"status": base.status.value, "gap": base.gap, "reused": bool(args.plan)},
        "cold": {
            "status": cold.status.value,
            "gap": cold.gap,
            "shortfall": cold_short,
            "time_to_final_gap_s": t_cold_gap,
            "time_to_final_shortfall_s": cold_trace.time_to_shortfall(cold_short),
            "first_solution_s": cold.first_solution_time,
        },
        "replan": {
            "status": replan.status.value,
            "gap": replan.gap,
            "shortfall": replan.breakdown[ObjectiveTerm.SHORTFALL],
            "time_to_cold_gap_s": t_replan_gap,
            "time_to_cold_shortfall_s": replan_trace.time_to_shortfall(cold_short),
            "first_solution_s": replan.first_solution_time,
            "moved_unit_shifts": moves,
            "moved": answer.diff.moved,
            "assigned": answer.diff.assigned,
            "released": answer.diff.released,
        },
        "min_moves": fewest,
        "targets": {
            "time_ratio": t_replan_gap / t_cold_gap if t_replan_gap is not None else None,
            "moves_ratio_to_best_found": moves / fewest["moved_unit_shifts"]
            if fewest["moved_unit_shifts"]
            else None,
            "moves_ratio_to_bound": moves / fewest["bound"] if fewest["bound"] else None,
        },
    }
    print(json.dumps(row, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(row, indent=1))


if __name__ == "__main__":
    main()
