"""Baseline planners that ringplan is measured against, on the same instances and budgets.

- :mod:`benchmarks.baselines.greedy`: what a human planner does by hand.
- :mod:`benchmarks.baselines.highs_mip`: ringplan's model as a MIP, solved by HiGHS.
- :mod:`benchmarks.baselines.naive_cpsat`: one boolean per unit x ring x venue x shift, no
  pruning, pairwise rest rows, CP-SAT's stock portfolio.

Each returns an :class:`Outcome` with a :class:`solver.Plan`; the runner scores every plan with
ringplan's objective (:mod:`benchmarks.scoring`) and re-checks it with :func:`solver.check_plan`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from solver import Plan

TraceCallback = Callable[[float, Plan], None]
"""Called with (seconds since the start, plan) whenever a baseline has a new complete plan."""


@dataclass
class Outcome:
    """What a baseline returns."""

    status: str
    """``optimal``, ``feasible``, ``no_solution`` or ``too_large`` (model not built)."""
    plan: Plan | None
    build_time: float
    """Seconds spent building the model (0 for the greedy)."""
    first_solution_time: float | None
    """Seconds from the call to the first complete plan."""
    stage_bounds: list[tuple[str, float, bool]] = field(default_factory=list)
    """Per lexicographic stage: term name, proven lower bound of the term, proven optimal."""
    plans: list[tuple[float, Plan]] = field(default_factory=list)
    """Complete plans as they were found (seconds since the start, plan), scored afterwards."""
    trace: list[tuple[float, int, int | None]] = field(default_factory=list)
    """Already scored progress (seconds, objective, bound), for planners that report it."""
    objective: int | None = None
    """The final plan's objective, when the planner computes ringplan's objective itself."""
    best_bound: int | None = None
    """A proven bound on ringplan's objective, when the planner reports one directly."""
    note: str = ""
