"""One part's solve as a plain function of plain data, so that it pickles, retries and runs the
same in this process or on any Dask worker.

A :class:`PartTask` carries the part's instance (JSON-ready), its budget, an absolute deadline,
the seed and an optional warm start; :func:`solve_part` returns a :class:`PartOutcome` with the
plan, bound and terms. On a Dask worker a named ``distributed.Event`` reaches the running
search (:mod:`solver.parts.round_stop`): when the caller sets it, the part stops and returns
its best plan so far.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from solver.domain import Assignment, Instance, ObjectiveTerm, Plan
from solver.parts.round_stop import round_stop
from solver.result import Result
from solver.rows import Activation, Coverage
from solver.validation import parse_instance

PlainAssignment = tuple[str, str, int, str]
"""(unit, venue, ring, shift) of one assignment."""


@dataclass(frozen=True)
class PartTask:
    """Everything one part's solve needs, as plain data."""

    index: int
    instance: dict[str, Any]
    """The part's instance, as ``Instance.model_dump(mode="json")`` gives it."""
    budget: float
    """Seconds the part may search."""
    deadline: float
    """Wall-clock time (``time.time()``) by which the part returns, whatever its budget."""
    seed: int | None = None
    preset: str = "default"
    workers: int = 1
    hint: tuple[PlainAssignment, ...] = ()
    """A plan of the part to start from (its previous plan when it plans again)."""
    solver: Callable[..., Result] | None = None
    """The one-instance solve (:func:`solver.solve`, handed down by it, so that this module
    does not import it back); pickled by reference. Needed unless :attr:`quick`."""
    stop_event: str | None = None
    """Name of the ``distributed.Event`` that stops the search (on a Dask worker)."""
    quick: bool = False
    """Only the quick plan (:func:`quick_plan`), no search: every part's first plan."""
    repair_work: int | None = None
    """Most (unit, slot) pairs and shift trades the quick plan's repair weighs (``None``:
    :data:`~solver.heuristics.repair.MAX_WORK`)."""
    deterministic_time: float | None = None
    """Limit each CP-SAT search of the part by this much deterministic time (the budget stays
    a safety net): the same work on any worker at any load."""


@dataclass(frozen=True)
class FixedWork:
    """The same search for every part on any workers, to time one number of workers against
    another: each part searched gets :attr:`budget` seconds instead of its share of the time,
    and each of its CP-SAT searches is limited by :attr:`deterministic_time` (then the budget
    is only a safety net and the work is the same at any load)."""

    budget: float | None = None
    """Seconds every part searched gets (``None``: its share of the time)."""
    deterministic_time: float | None = None
    """See :attr:`PartTask.deterministic_time` (``None``: the clock alone)."""

    def apply(self, task: PartTask) -> PartTask:
        """``task`` with this work (what is ``None`` here left as it is)."""
        return replace(
            task,
            budget=task.budget if self.budget is None else self.budget,
            deterministic_time=(
                task.deterministic_time
                if self.deterministic_time is None
                else self.deterministic_time
            ),
        )


@dataclass(frozen=True)
class PartOutcome:
    """What one part's solve returns, as plain data."""

    index: int
    status: str
    """A :class:`~solver.result.SolveStatus` value."""
    objective: int | None
    best_bound: int | None
    first_term_bound: int
    """Lower bound on the first ranked term (the part's weighted shortfall by default)."""
    uppers: tuple[int, ...]
    """Most each ranked term can be in this part (:func:`~solver.model.objective.term_uppers`)."""
    breakdown: dict[str, int]
    assignments: tuple[PlainAssignment, ...]
    coverage: tuple[dict[str, Any], ...]
    """:class:`~solver.rows.Coverage` rows as ``model_dump()`` gives them (enums kept)."""
    activations: tuple[dict[str, Any], ...]
    """:class:`~solver.rows.Activation` rows, the same way."""
    wall_time: float
    first_solution_time: float | None
    worker: str = ""
    warnings: tuple[str, ...] = field(default=())
    shortfall: int = 0
    """Missing headcount-shifts over :attr:`coverage` (summed on the worker, so that the caller
    reports progress without reading every row of every part)."""
    weighted_shortfall: int = 0
    """The same weighted by risk and ring."""


def _shortfalls(instance: Instance, rows: Sequence[Coverage]) -> tuple[int, int]:
    """Missing headcount-shifts in ``rows``, plain and weighted by risk and ring."""
    risk, ring = instance.rules.risk_weights, instance.rules.ring_weights
    short = [row for row in rows if row.shortfall]
    return (
        sum(row.shortfall for row in short),
        sum(risk[row.risk] * ring[row.ring] * row.shortfall for row in short),
    )


def _worker_name() -> str:
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except (ImportError, ValueError):
        return "local"


def quick_plan(task: PartTask, stop: threading.Event | None = None) -> PartOutcome:
    """The part's first plan, without a search: its :attr:`~PartTask.hint` (the whole
    instance's first plan cut to the part, :mod:`solver.heuristics.waves`, or the part's own
    plan when it plans again) where it keeps every rule, topped up by the greedy (heaviest
    shortfall weight first, :func:`~solver.heuristics.greedy.greedy_counts`) and repaired
    within its shifts (:func:`~solver.heuristics.repair.repair_shortfall`, up to
    :attr:`PartTask.repair_work`). Greedy and repair stop at the task's deadline (or once
    ``stop`` is set) with the plan so far, so a part late in its round returns at worst its
    hint. Its bound is 0."""
    from solver.heuristics.greedy import greedy_counts, plan_start
    from solver.heuristics.repair import MAX_WORK, repair_shortfall
    from solver.model.data import build_data
    from solver.model.evaluate import Evaluator
    from solver.model.objective import term_uppers
    from solver.report import activations, coverage_rows, plan_from_vector

    began = time.perf_counter()
    instance = parse_instance(task.instance)
    data = build_data(instance, grouped=True)
    start = plan_start(data, task.hint)
    x = greedy_counts(
        data,
        police_first=False,
        order="weight",
        start=start,
        deadline=task.deadline,
        stop=stop,
    )
    work = MAX_WORK if task.repair_work is None else task.repair_work
    x = repair_shortfall(data, x, max_work=work, deadline=task.deadline, stop=stop)
    evaluator = Evaluator(data)
    plan = plan_from_vector(data, x)
    return quick_outcome(
        task.index,
        instance,
        evaluator.terms(x),
        term_uppers(data),
        tuple((a.unit, a.venue, a.ring, a.shift) for a in plan.assignments),
        coverage_rows(data, evaluator.assigned(x)),
        activations(data, plan),
        began,
        worker=_worker_name(),
    )


def quick_outcome(
    index: int,
    instance: Instance,
    terms: Mapping[ObjectiveTerm, int],
    uppers: Sequence[int],
    assignments: tuple[PlainAssignment, ...],
    coverage: Sequence[Coverage],
    activations: Sequence[Activation],
    began: float,
    worker: str = "",
) -> PartOutcome:
    """The outcome of a plan made without a search (a quick plan, or a slice of the first
    whole plan): its ``terms`` weighed by strict weights from ``uppers`` (the most each ranked
    term of ``instance`` can be), bound 0, rows as ``model_dump()`` gives them, the
    shortfall summed here, and the seconds since ``began`` (``time.perf_counter()``)."""
    from solver.model.objective import strict_weights

    priorities = instance.rules.priorities
    weights = strict_weights(list(uppers))
    short, weighted = _shortfalls(instance, coverage)
    seconds = time.perf_counter() - began
    return PartOutcome(
        index=index,
        status="feasible",
        objective=sum(w * terms.get(t, 0) for w, t in zip(weights, priorities, strict=True)),
        best_bound=0,
        first_term_bound=0,
        uppers=tuple(uppers),
        breakdown={term.value: value for term, value in terms.items()},
        assignments=assignments,
        coverage=tuple(row.model_dump() for row in coverage),
        activations=tuple(a.model_dump() for a in activations),
        wall_time=seconds,
        first_solution_time=seconds,
        worker=worker,
        shortfall=short,
        weighted_shortfall=weighted,
    )


def solve_part(task: PartTask, stop: threading.Event | None = None) -> PartOutcome:
    """Solve one part within ``min(task.budget, task.deadline - now)`` seconds, or only plan
    it quickly (:attr:`PartTask.quick`).

    ``stop`` (in this process) or ``task.stop_event`` (on a Dask worker) ends the search early;
    the best plan so far is returned.
    """
    from solver.model.data import build_data
    from solver.model.objective import strict_weights, term_uppers

    stop = stop or (round_stop(task.stop_event) if task.stop_event else threading.Event())
    if task.quick:
        return quick_plan(task, stop)
    if task.solver is None:
        raise ValueError("a part's search needs PartTask.solver")
    solve = task.solver
    began = time.perf_counter()
    instance = parse_instance(task.instance)
    hint = (
        Plan(
            assignments=tuple(
                Assignment(unit=u, venue=v, ring=r, shift=s) for u, v, r, s in task.hint
            )
        )
        if task.hint
        else None
    )
    limit = max(0.1, min(task.budget, task.deadline - time.time()))
    result = solve(
        instance,
        time_limit=limit,
        workers=task.workers,
        preset=task.preset,
        seed=task.seed,
        hint=hint,
        stop=stop,
        split="off",
        deterministic_time=task.deterministic_time,
    )
    priorities = instance.rules.priorities
    uppers = tuple(term_uppers(build_data(instance, grouped=True)))
    first_bound = 0
    if result.status.has_plan and priorities[0] is not ObjectiveTerm.BALANCE:
        if result.status.value == "optimal":
            first_bound = result.breakdown.get(priorities[0], 0)
        else:
            weight = strict_weights(list(uppers))[0]
            first_bound = (result.best_bound or 0) // weight
    short, weighted = _shortfalls(instance, result.coverage)
    return PartOutcome(
        index=task.index,
        status=result.status.value,
        objective=result.objective,
        best_bound=result.best_bound,
        first_term_bound=first_bound,
        uppers=uppers,
        breakdown={term.value: value for term, value in result.breakdown.items()},
        assignments=tuple((a.unit, a.venue, a.ring, a.shift) for a in result.plan.assignments),
        coverage=tuple(row.model_dump() for row in result.coverage),
        activations=tuple(a.model_dump() for a in result.activations),
        wall_time=time.perf_counter() - began,
        first_solution_time=result.first_solution_time,
        worker=_worker_name(),
        warnings=result.warnings,
        shortfall=short,
        weighted_shortfall=weighted,
    )
