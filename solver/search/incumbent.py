"""The one incumbent keeper of a solve: the best plan so far, its bound, and who hears of it."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from solver.domain import ObjectiveTerm, Plan
from solver.model.data import ModelData
from solver.model.evaluate import Evaluator
from solver.report import plan_from_vector
from solver.result import Progress, relative_gap
from solver.search.counts import Counts

ProgressCallback = Callable[[Progress], None]
IncumbentCallback = Callable[[Plan], None]

INCUMBENT_INTERVAL = 1.0
"""Least seconds between two incumbent plans handed to an ``incumbent`` callback."""


@dataclass
class Incumbent:
    """The best plan of one solve (as counts of ``data``), offered to by every phase."""

    data: ModelData
    evaluator: Evaluator
    full_weights: list[int]
    start: float
    progress: ProgressCallback | None
    incumbent: IncumbentCallback | None = None
    incumbent_at: float = -math.inf
    handed: int | None = None
    """Objective of the plan last handed to ``incumbent``."""
    best_x: Counts | None = None
    best_objective: int | None = None
    bound: int = 0
    first_solution_time: float | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    forward: Callable[[Counts], None] | None = None
    """Also called with every improving plan (see :attr:`solver.search.context.Run.forward`)."""

    def total(self, x: Counts) -> int:
        """The plan's objective under the strict weights of the whole ranking."""
        return self._weighted(self.evaluator.terms(x))

    def _weighted(self, values: dict[ObjectiveTerm, int]) -> int:
        priorities = self.data.instance.rules.priorities
        return sum(w * values.get(t, 0) for w, t in zip(self.full_weights, priorities, strict=True))

    def terms(self) -> dict[ObjectiveTerm, int]:
        """The objective terms of the best plan so far (empty without one)."""
        with self.lock:
            x = self.best_x
        return {} if x is None else self.evaluator.terms(x)

    def offer(self, x: Counts, stage: int) -> None:
        """Keep ``x`` if it beats the best plan so far, and report it."""
        values = self.evaluator.terms(x)
        objective = self._weighted(values)
        with self.lock:
            if self.first_solution_time is None:
                self.first_solution_time = time.perf_counter() - self.start
            if self.best_objective is not None and objective >= self.best_objective:
                return
            self.best_x, self.best_objective = x, objective
            bound = min(self.bound, objective)
            if self.forward is not None:  # under the lock: plans reach it in order
                self.forward(x)
        if self.progress is not None:
            self.progress(
                Progress(
                    objective=objective,
                    best_bound=bound,
                    gap=relative_gap(objective, bound),
                    elapsed=time.perf_counter() - self.start,
                    stage=stage,
                    terms=values,
                )
            )
        if time.perf_counter() - self.incumbent_at >= INCUMBENT_INTERVAL:
            self.hand_over()

    def hand_over(self) -> None:
        """Give the ``incumbent`` callback the best plan so far, unless it has it already
        (called when a plan improves, at most once per interval, and at the end of a stage)."""
        with self.lock:
            x, objective = self.best_x, self.best_objective
        if self.incumbent is None or x is None or objective == self.handed:
            return
        self.handed, self.incumbent_at = objective, time.perf_counter()
        self.incumbent(plan_from_vector(self.data, x))
