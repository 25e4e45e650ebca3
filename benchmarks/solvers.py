"""The planners a benchmark can run, by name.

- ``ringplan`` or ``ringplan:PRESET``: :func:`solver.solve` with a preset of
  :data:`solver.presets.PRESETS`;
- ``ringplan+greedy`` (or ``ringplan+greedy:PRESET``): the same, warm-started from the greedy
  plan (through ``solve``'s ``hint``); the greedy's time counts against the budget;
- ``greedy``: :mod:`benchmarks.baselines.greedy`;
- ``highs``: :mod:`benchmarks.baselines.highs_mip`;
- ``naive-cpsat``: :mod:`benchmarks.baselines.naive_cpsat`.
"""

from __future__ import annotations

import time

from benchmarks.baselines import Outcome
from solver import Instance, Progress, solve
from solver.presets import PRESETS

BASELINES = ("greedy", "highs", "naive-cpsat")
"""The baseline planners' names."""

DEFAULT_SOLVERS = ("ringplan", *BASELINES)
"""What ``ringplan bench`` runs unless told otherwise."""


def check_solver_name(name: str) -> str:
    """``name`` if it names a planner; raises ``ValueError`` listing the known ones otherwise."""
    if name in BASELINES or name in ("ringplan", "ringplan+greedy"):
        return name
    head, _, preset = name.partition(":")
    if head in ("ringplan", "ringplan+greedy") and preset in PRESETS:
        return name
    known = ", ".join(
        ["ringplan", "ringplan+greedy", *(f"ringplan:{p}" for p in PRESETS), *BASELINES]
    )
    raise ValueError(f"unknown solver '{name}' (known: {known})")


def _run_ringplan(
    instance: Instance,
    preset: str,
    time_limit: float,
    workers: int,
    seed: int,
    warm: bool = False,
) -> Outcome:
    trace: list[tuple[float, int, int | None]] = []
    start = time.perf_counter()
    hint = None
    if warm:
        from benchmarks.baselines.greedy import plan_greedy

        hint = plan_greedy(instance)
    offset = time.perf_counter() - start

    def record(progress: Progress) -> None:
        trace.append((offset + progress.elapsed, progress.objective, progress.best_bound))

    result = solve(
        instance,
        time_limit=max(0.1, time_limit - offset),
        workers=workers,
        preset=preset,
        seed=seed,
        hint=hint,
        progress=record,
    )
    if result.objective is not None:
        trace.append((offset + result.wall_time, result.objective, result.best_bound))
    first = result.first_solution_time
    return Outcome(
        status=result.status.value,
        plan=result.plan if result.status.has_plan else None,
        build_time=result.build_time,
        first_solution_time=None if first is None else offset + first,
        trace=sorted(trace),
        objective=result.objective,
        best_bound=result.best_bound,
    )


def run_solver(
    name: str, instance: Instance, *, time_limit: float, workers: int, seed: int
) -> Outcome:
    """Run the planner ``name`` on ``instance`` within ``time_limit`` seconds."""
    check_solver_name(name)
    if name.startswith("ringplan"):
        head, _, preset = name.partition(":")
        warm = head == "ringplan+greedy"
        return _run_ringplan(instance, preset or "default", time_limit, workers, seed, warm)
    if name == "greedy":
        from benchmarks.baselines.greedy import run_greedy

        return run_greedy(instance)
    if name == "highs":
        from benchmarks.baselines.highs_mip import run_highs

        return run_highs(instance, time_limit=time_limit, workers=workers, seed=seed)
    from benchmarks.baselines.naive_cpsat import run_naive_cpsat

    return run_naive_cpsat(instance, time_limit=time_limit, workers=workers, seed=seed)
