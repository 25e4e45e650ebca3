"""The one incumbent keeper of a solve: the best plan so far, its bound, and who hears of it."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from solver.bound import ShortfallBound
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
    lp: ShortfallBound | None = None
    """The weighted shortfall's linear bound, raised beside the search."""
    stage: int = 0
    """The stage of the plan last reported."""

    def attach(self, lp: ShortfallBound | None) -> None:
        """Report ``lp``'s bound too, when the ranking holds the shortfall."""
        if lp is not None and ObjectiveTerm.SHORTFALL in self.data.instance.rules.priorities:
            self.lp = lp
            lp.listen(self.bound_found)

    def lp_weight(self) -> int:
        """Weight of one unit of weighted shortfall in the whole ranking."""
        priorities = self.data.instance.rules.priorities
        return self.full_weights[priorities.index(ObjectiveTerm.SHORTFALL)]

    def proven(self) -> int:
        """The best bound known: the search's, or the shortfall's linear bound."""
        if self.lp is None:
            return self.bound
        return max(self.bound, self.lp_weight() * self.lp.value)

    def term_bounds(self) -> dict[ObjectiveTerm, int]:
        """Lower bounds of terms known so far: the first ranked term's from :meth:`proven`
        (the terms ranked below it weigh less than one of its units together), and the
        shortfall's linear bound."""
        priorities = self.data.instance.rules.priorities
        bounds: dict[ObjectiveTerm, int] = {}
        if priorities and self.full_weights:
            bounds[priorities[0]] = self.proven() // self.full_weights[0]
        if self.lp is not None:
            shortfall = ObjectiveTerm.SHORTFALL
            bounds[shortfall] = max(bounds.get(shortfall, 0), self.lp.value)
        return {t: v for t, v in bounds.items() if v > 0}

    def bound_found(self, _value: int) -> None:
        """Report the best plan again with a better bound (called from the bound's thread)."""
        with self.lock:
            x, objective, stage = self.best_x, self.best_objective, self.stage
        if x is not None and objective is not None:
            self.report(objective, stage, self.evaluator.terms(x))

    def report(self, objective: int, stage: int, values: dict[ObjectiveTerm, int]) -> None:
        """Tell ``progress`` of the plan of ``objective`` and term ``values`` with the best
        bound known."""
        if self.progress is None:
            return
        bound = min(self.proven(), objective)
        self.progress(
            Progress(
                objective=objective,
                best_bound=bound,
                gap=relative_gap(objective, bound),
                elapsed=time.perf_counter() - self.start,
                stage=stage,
                terms=values,
                term_bounds=self.term_bounds(),
            )
        )

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
            self.stage = stage
            if self.forward is not None:  # under the lock: plans reach it in order
                self.forward(x)
        self.report(objective, stage, values)
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
