"""What-if benchmark: raise venues to very high risk, re-plan, compare with a cold solve.

Measures, on one instance (default: the bundled city):

1. the plan in force: a cold solve of the instance;
2. a cold solve of the changed instance (venues raised to very high) and the what-if re-plan
   of the plan in force, each with its gap over time; *time to same gap* is when the re-plan
   first reaches the gap the cold solve ends with (also: when each first reaches the cold
   solve's final shortfall);
3. the *quality-based time ratio*, which stays meaningful when neither solve proves a useful
   bound (at province scale both gaps stay at 100 %, so the gap-based ratio degenerates). The
   target is the cold solve's final plan on the terms that matter to both solves: the weighted
   shortfall first, then, at equal shortfall, the TNI headcount-shifts (disruption means
   nothing to a cold solve; travel and the rest rank below TNI in the default ranking). A plan
   is at least as good as the target when ``(shortfall, tni) <= target`` lexicographically.
   The ratio is the time the re-plan first reports such a plan divided by the time the cold
   solve first reported one (reached its own final value), both read from the solves' traces
   of improving plans (:func:`quality_time_ratio`); the reported objective is decoded into its
   terms by the solve's strict weights, and the last decoded plan of each trace is checked
   against the result. Not reached by the re-plan: no ratio;
4. a dedicated min-moves solve: fewest moved unit-shifts subject to a weighted shortfall no
   greater than the re-plan's, warm-started from the re-plan and given twice the time; its
   best count and proven lower bound are what the re-plan's moves are compared with.

Every plan is re-checked with the independent checker. Run::

    .venv/bin/python -m benchmarks.whatif_bench --time-limit 60 --json out.json
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import time
from collections.abc import Sequence
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
from solver.model.objective import Stage, objective_terms, strict_weights
from solver.model.variables import make_variables
from solver.report import plan_from_vector
from solver.search.counts import hint_vector
from solver.search.cpsat import add_hint, solution_vector
from solver.whatif import (
    ReplanOptions,
    SetRisk,
    WhatIfRequest,
    apply_changes,
    whatif,
)

ROOT = Path(__file__).resolve().parent.parent
SEED = 7


Quality = tuple[int, int]
"""``(weighted shortfall, TNI headcount-shifts)`` of a plan: compared lexicographically."""


@dataclass(frozen=True)
class QualityRatio:
    """How fast the re-plan reaches the cold solve's final quality, against the cold solve."""

    target: Quality
    """The cold solve's final ``(shortfall, tni)``."""
    cold_s: float | None
    """When the cold solve first reported a plan at least as good as ``target``."""
    replan_s: float | None
    """When the re-plan first did; ``None``: never."""

    @property
    def ratio(self) -> float | None:
        """``replan_s / cold_s``; ``None`` when either is missing or the cold time is 0."""
        if self.replan_s is None or not self.cold_s:
            return None
        return self.replan_s / self.cold_s


def time_to_quality(points: Sequence[tuple[float, Quality]], target: Quality) -> float | None:
    """The first time in ``points`` (``(seconds, quality)`` in report order) of a plan at
    least as good as ``target``: lower shortfall, or equal shortfall and no more TNI."""
    return next((t for t, quality in points if quality <= target), None)


def quality_time_ratio(
    cold: Sequence[tuple[float, Quality]],
    replan: Sequence[tuple[float, Quality]],
    target: Quality | None = None,
) -> QualityRatio:
    """The quality-based time ratio of a re-plan and a cold solve, from their traces.

    Parameters
    ----------
    cold, replan
        ``(seconds, (weighted shortfall, TNI))`` of every improving plan each solve reported,
        in report order.
    target
        The cold solve's final quality; default the best in its trace (then not empty).

    Returns
    -------
    QualityRatio
        The target, when each solve first reached it, and their ratio.
    """
    if target is None:
        target = min(quality for _t, quality in cold)
    return QualityRatio(target, time_to_quality(cold, target), time_to_quality(replan, target))


@dataclass
class Trace:
    """Improving plans of one solve: (seconds, objective, gap, shortfall term, TNI term).

    ``weights`` are the strict weights of the solve's ranked terms (``rules.priorities``, with
    disruption for a re-plan): the reported objective is their mixed-radix sum, so each term's
    value is read back from it.
    """

    priorities: tuple[ObjectiveTerm, ...]
    weights: list[int]
    points: list[tuple[float, int, float, int, int]] = field(default_factory=list)

    def term(self, objective: int, name: ObjectiveTerm) -> int:
        """Value of term ``name`` in a reported objective (0 for a term not ranked)."""
        if name not in self.priorities:
            return 0
        k = self.priorities.index(name)
        above = objective if k == 0 else objective % self.weights[k - 1]
        return above // self.weights[k]

    def __call__(self, progress: Progress) -> None:
        objective = progress.objective
        self.points.append(
            (
                progress.elapsed,
                objective,
                progress.gap,
                self.term(objective, ObjectiveTerm.SHORTFALL),
                self.term(objective, ObjectiveTerm.TNI),
            )
        )

    def time_to_gap(self, gap: float) -> float | None:
        return next((t for t, _, g, _, _ in self.points if g <= gap + 1e-9), None)

    def time_to_shortfall(self, shortfall: int) -> float | None:
        return next((t for t, _, _, s, _ in self.points if s <= shortfall), None)

    def qualities(self) -> list[tuple[float, Quality]]:
        """``(seconds, (shortfall, tni))`` of every reported plan."""
        return [(t, (s, tni)) for t, _, _, s, tni in self.points]

    def matches(self, result: Result) -> bool:
        """Whether the last reported plan decodes to the result's shortfall and TNI (the
        check that the weights are the ones the solve used)."""
        if not self.points:
            return False
        _t, _objective, _gap, short, tni = self.points[-1]
        return (short, tni) == quality_of(result)


def quality_of(result: Result) -> Quality:
    """``(weighted shortfall, TNI headcount-shifts)`` of a result."""
    breakdown = result.breakdown
    return breakdown.get(ObjectiveTerm.SHORTFALL, 0), breakdown.get(ObjectiveTerm.TNI, 0)


def trace_for(instance: Instance, baseline: Baseline | None) -> Trace:
    """A trace that decodes the objective as solve() weighs it (strict weights over the term
    upper bounds of the per-unit model, which the pooled models share)."""
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
    return Trace(tuple(t.name for t in terms), weights)


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
    Stage((shortfall,), (1,)).keep_at_most(model, replan.breakdown[ObjectiveTerm.SHORTFALL])
    Stage((disruption,), (1,)).minimize_in(model)
    add_hint(model, data, variables, hint_vector(data, replan.plan))
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = workers
    solver.parameters.max_time_in_seconds = time_limit
    solver.parameters.random_seed = SEED
    solver.parameters.extra_subsolvers.append("max_lp")
    status = solver.solve(model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        # No plan in the budget: no reference count, and no ratio to it.
        return {
            "status": solver.status_name(status).lower(),
            "moved_unit_shifts": None,
            "bound": None,
            "wall_s": round(time.perf_counter() - started, 2),
        }
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


def _ratio(value: float | None) -> str:
    return "not reached" if value is None else f"{value:.2f}"


def _seconds(value: float | None) -> str:
    return "never" if value is None else f"{value:.3f} s"


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

    cold_trace = trace_for(changed, None)
    cold = checked(
        changed,
        solve(changed, time_limit=limit, workers=args.workers, seed=SEED, progress=cold_trace),
        "cold",
    )

    baseline = Baseline(plan=base.plan)
    replan_trace = trace_for(changed, baseline)
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
    decoded = cold_trace.matches(cold) and replan_trace.matches(replan)
    if not decoded:
        print("warning: a trace does not decode to its result; no quality-based ratio")
    quality = quality_time_ratio(
        cold_trace.qualities() if decoded else [],
        replan_trace.qualities() if decoded else [],
        quality_of(cold),
    )
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
            "tni": quality.target[1],
            "time_to_final_quality_s": quality.cold_s,
            "first_solution_s": cold.first_solution_time,
        },
        "replan": {
            "status": replan.status.value,
            "gap": replan.gap,
            "shortfall": replan.breakdown[ObjectiveTerm.SHORTFALL],
            "tni": replan.breakdown.get(ObjectiveTerm.TNI, 0),
            "time_to_cold_gap_s": t_replan_gap,
            "time_to_cold_shortfall_s": replan_trace.time_to_shortfall(cold_short),
            "time_to_cold_quality_s": quality.replan_s,
            "first_solution_s": replan.first_solution_time,
            "moved_unit_shifts": moves,
            "moved": answer.diff.moved,
            "assigned": answer.diff.assigned,
            "released": answer.diff.released,
        },
        "min_moves": fewest,
        "targets": {
            "time_ratio": t_replan_gap / t_cold_gap if t_replan_gap is not None else None,
            "quality_time_ratio": quality.ratio,
            "moves_ratio_to_best_found": (
                moves / fewest["moved_unit_shifts"] if fewest["moved_unit_shifts"] else None
            ),
            "moves_ratio_to_bound": moves / fewest["bound"] if fewest["bound"] else None,
        },
    }
    print(json.dumps(row, indent=1))
    print(
        f"time ratio to the cold gap: {_ratio(row['targets']['time_ratio'])}; "
        f"quality-based time ratio (shortfall, then TNI, of the cold plan {quality.target}): "
        f"{_ratio(quality.ratio)} ({_seconds(quality.replan_s)} / {_seconds(quality.cold_s)})"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(row, indent=1))


if __name__ == "__main__":
    main()
