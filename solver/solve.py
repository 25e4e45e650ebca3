"""The one entry point: :func:`solve` an instance into a :class:`~solver.result.Result`."""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import numpy.typing as npt
from ortools.sat.python import cp_model

from solver.decompose import Part, independent_parts, part_data, part_instance
from solver.domain import Instance, ObjectiveTerm, Plan
from solver.explain import explained_coverage
from solver.model.constraints import add_constraints
from solver.model.data import ModelData, build_data, restrict
from solver.model.disruption import (
    Baseline,
    BaselineEvaluator,
    BaselineIndex,
    add_baseline,
    baseline_history,
    baseline_stages,
    disruption_upper,
    index_baseline,
    with_disruption_ranked,
)
from solver.model.evaluate import Evaluator
from solver.model.greedy import SlotOrder, greedy_counts, plan_counts, planned_days_off
from solver.model.groups import needs_own_group
from solver.model.objective import (
    Stage,
    Term,
    make_stages,
    objective_terms,
    strict_weights,
    term_uppers,
)
from solver.model.repair import repair_shortfall
from solver.model.restore import restore_baseline
from solver.model.travel import shorten_travel
from solver.model.variables import Variables, make_variables
from solver.parts.national import Mode, PartsCallback, solve_in_parts, uses_parts
from solver.presets import Preset
from solver.presets import preset as preset_parameters
from solver.report import activations, coverage_rows, plan_from_vector, unit_places
from solver.result import Progress, Result, SolveStatus, relative_gap
from solver.validation import instance_warnings

logger = logging.getLogger(__name__)

ProgressCallback = Callable[[Progress], None]
IncumbentCallback = Callable[[Plan], None]

INCUMBENT_INTERVAL = 1.0
"""Least seconds between two incumbent plans handed to an ``incumbent`` callback."""

STOP_POLL_SECONDS = 0.05
"""How often a pending stop request is re-sent to the solver."""

FIRST_STAGE_SHARE = 0.7
"""Share of the remaining time a stage may use when later stages follow; what a stage proves
optimal early is left to the next."""


@dataclass
class _Search:
    """State shared by the stages of one solve."""

    data: ModelData
    evaluator: Evaluator
    full_weights: list[int]
    start: float
    progress: ProgressCallback | None
    incumbent: IncumbentCallback | None = None
    incumbent_at: float = -math.inf
    handed: int | None = None
    """Objective of the plan last handed to ``incumbent``."""
    best_x: npt.NDArray[np.int64] | None = None
    best_objective: int | None = None
    bound: int = 0
    first_solution_time: float | None = None
    reported: int | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    forward: Callable[[npt.NDArray[np.int64]], None] | None = None
    """Also called with every improving plan (see :attr:`_Run.forward`)."""

    def total(self, x: npt.NDArray[np.int64]) -> int:
        return self._weighted(self.evaluator.terms(x))

    def _weighted(self, values: dict[ObjectiveTerm, int]) -> int:
        priorities = self.data.instance.rules.priorities
        return sum(w * values.get(t, 0) for w, t in zip(self.full_weights, priorities, strict=True))

    def offer(self, x: npt.NDArray[np.int64], stage: int) -> None:
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


def solution_vector(response: object, n: int) -> npt.NDArray[np.int64]:
    """The first ``n`` solution values (the assignment booleans) of a CP-SAT response."""
    values = response.solution  # type: ignore[attr-defined]
    return np.fromiter(values, dtype=np.int64, count=len(values))[:n]


class _Callback(cp_model.CpSolverSolutionCallback):
    """Offers each improving solution; lifts the overall bound from the stage's bound."""

    def __init__(
        self, search: _Search, phase: _Phase, stage: int, prefix: int, multiplier: int
    ) -> None:
        super().__init__()
        self._search, self._phase, self._stage = search, phase, stage
        self._prefix, self._multiplier = prefix, multiplier

    def on_solution_callback(self) -> None:
        if self._phase.kept is None:  # a neighbourhood's bound is no bound of the instance
            stage_bound = math.ceil(self.best_objective_bound - 1e-6)
            bound = self._prefix + stage_bound * self._multiplier
            self._search.bound = max(self._search.bound, bound)
        x = self._phase.fine_vector(solution_vector(self.response_proto, self._phase.n))
        self._search.offer(x, self._stage)


def _stage_multiplier(
    stage: Stage, terms_order: list[ObjectiveTerm], full_weights: list[int]
) -> int:
    """Full-ranking weight of one unit of the stage's own weighted objective."""
    last = terms_order.index(stage.terms[-1].name)
    return full_weights[last]


def _run_stage(
    model: cp_model.CpModel,
    callback: _Callback,
    parameters: dict[str, object],
    time_limit: float,
    stop: threading.Event | None,
) -> tuple[cp_model.CpSolver, cp_model.CpSolverStatus]:
    solver = cp_model.CpSolver()
    for key, value in parameters.items():
        if isinstance(value, list):
            getattr(solver.parameters, key).extend(value)
        else:
            setattr(solver.parameters, key, value)
    solver.parameters.max_time_in_seconds = max(0.01, time_limit)
    done = threading.Event()

    def watch() -> None:
        # stop_search() before solve() has started is ignored, so keep sending it until done.
        assert stop is not None
        while not done.is_set():
            if stop.wait(STOP_POLL_SECONDS):
                solver.stop_search()
                done.wait(STOP_POLL_SECONDS)

    watcher = threading.Thread(target=watch, daemon=True) if stop is not None else None
    if watcher is not None:
        watcher.start()
    try:
        status = solver.solve(model, callback)
    finally:
        done.set()
        if watcher is not None:
            watcher.join()
    return solver, status


def add_hint(
    model: cp_model.CpModel, data: ModelData, variables: Variables, x: npt.NDArray[np.int64]
) -> None:
    """Hint ``x`` (candidate counts) and every variable it determines (shortfall, duty days,
    peak), so that CP-SAT needs no completion. Written into the model proto in bulk."""
    model.clear_hints()  # type: ignore[no-untyped-call]
    indices: list[int] = list(range(variables.first, variables.first + len(x)))
    values: list[int] = x.tolist()
    assigned = Evaluator(data).assigned(x)
    for s, short in variables.shortfall.items():
        indices.append(short.index)
        values.append(max(0, data.slots[s].required - int(assigned[s])))
    used = np.flatnonzero(x)
    if variables.day_on:
        slot_day = np.array([data.shift_day[slot.shift] for slot in data.slots], dtype=np.int64)
        groups = data.candidate_group[used].tolist()
        days = slot_day[data.candidate_slot[used]].tolist() if len(used) else []
        on_days = set(zip(groups, days, strict=True))
        for key, flag in variables.day_on.items():
            indices.append(flag.index)
            values.append(int(key in on_days))
    if variables.peak is not None:
        loads = np.bincount(data.candidate_group[used], weights=x[used], minlength=len(data.groups))
        sizes = np.array([group.size for group in data.groups], dtype=np.int64)
        busiest = np.ceil(loads / np.maximum(sizes, 1))
        indices.append(variables.peak.index)
        values.append(int(busiest.max(initial=0)))
    hint = model.proto.solution_hint
    hint.vars.extend(indices)
    hint.values.extend(values)


def hint_vector(data: ModelData, plan: Plan) -> npt.NDArray[np.int64]:
    """The candidate counts of a plan; assignments that are not candidates are dropped.

    In the grouped model a hint becomes counts: how many of each group's units the plan puts in
    each slot.
    """
    group_of = data.group_of_unit()
    unit_index = {unit.id: u for u, unit in enumerate(data.instance.units)}
    index = data.candidate_index()
    x = np.zeros(data.n_candidates, dtype=np.int64)
    for a in plan.assignments:
        u = unit_index.get(a.unit)
        group = group_of.get(u, -1) if u is not None else -1
        found = index.get((group, a.venue, a.ring, a.shift))
        if found is not None:
            x[found] = min(x[found] + 1, data.groups[group].size)
    return x


def solve(
    instance: Instance,
    *,
    time_limit: float = 30.0,
    workers: int = 2,
    preset: str = "default",
    seed: int | None = None,
    hint: Plan | None = None,
    progress: ProgressCallback | None = None,
    incumbent: IncumbentCallback | None = None,
    stop: threading.Event | None = None,
    log_search: bool = False,
    baseline: Baseline | None = None,
    sat_parameters: Mapping[str, object] | None = None,
    deterministic_time: float | None = None,
    split: str = "auto",
    scheduler: str | None = None,
    part_progress: PartsCallback | None = None,
) -> Result:
    """Plan a deployment with CP-SAT.

    With the default preset: independent parts of the instance (:mod:`solver.decompose`) are
    solved one by one; each starts from the best of the greedy plans
    (:mod:`solver.model.greedy`, the first of them is the first plan reported) repaired within
    its shifts (:mod:`solver.model.repair`); the terms ranked above
    travel are solved on a pooling of units that ignores distances, the rest on the grouped
    model (:mod:`solver.model.groups`), whose counts become per-unit rosters exactly.

    Parameters
    ----------
    instance
        A validated instance.
    time_limit
        Wall-clock budget in seconds for the whole call.
    workers
        CP-SAT search workers (the machine has 2 cores).
    preset
        Name of a preset in :data:`solver.presets.PRESETS`: the model (``grouped``, the default,
        or ``unit``, needed by terms that tell units apart), warm start, decomposition, staging
        and CP-SAT's parameters.
    seed
        Random seed for CP-SAT; ``None`` keeps the preset's.
    hint
        A plan to start from (warm start) instead of the greedy plans; assignments it holds
        that break a rule are dropped. The grouped model takes it as counts per group and slot
        (honoured, not a fall-back to the per-unit model), and hands the rosters of each group
        to the units that keep most of their hinted assignments.
    progress
        Called with every improving plan (from solver threads).
    incumbent
        Called with the best plan so far, at most once per :data:`INCUMBENT_INTERVAL`, so
        that a caller can keep it (to warm-start an interrupted solve).
    stop
        When set, the search stops within about 50 ms and the best plan so far is returned.
    log_search
        Let CP-SAT write its search log.
    baseline
        Re-plan against this plan in force: the disruption term (moved unit-shifts) is ranked
        right after shortfall, the baseline's locked shifts keep their assignments, and the
        baseline, topped up where the changes need more people, is the warm start unless
        ``hint`` is given. Independent parts are re-planned apart, like a solve (the
        disruption is a sum over parts); with the grouped model, only units that share their
        baseline places are pooled, which keeps the disruption exact on counts
        (:mod:`solver.model.disruption`). Shortfall is searched together with disruption, or,
        with no locked shift, first on the pooling that ignores the baseline
        (:func:`baseline_stages`, :func:`_pooled_terms`).
    sat_parameters
        Further ``SatParameters`` fields over the preset's, such as
        ``{"max_deterministic_time": 5.0}``.
    deterministic_time
        Limit every CP-SAT search by this much of CP-SAT's deterministic time instead of the
        clock, and let no clock cut a heuristic or a shift window short: with one worker and a
        seed the same call returns the same plan on any machine, at any load. ``time_limit``
        stays a safety net (keep it well above what the searches need).
    split
        Where the instance's independent parts are planned (:class:`solver.parts.national.Mode`):
        ``auto`` (national-size instances, a national reserve or a ``scheduler`` go through
        :func:`solver.parts.national.solve_in_parts`, split before any model is built; the
        rest as below), ``off``, ``in-process`` or ``local`` (an embedded Dask cluster).
    scheduler
        Address of a Dask scheduler (``tcp://host:8786``) to plan the parts on.
    part_progress
        Called each time a part returns a plan, when planned in parts.

    Returns
    -------
    Result
        Status, plan, coverage, objective breakdown, activations and warnings. An
        under-resourced instance is a result with shortfalls, never an error.
    """
    mode = Mode(split)
    if baseline is None and hint is None and uses_parts(instance, mode, scheduler):
        return solve_in_parts(
            instance,
            time_limit=time_limit,
            mode=mode,
            scheduler=scheduler,
            preset=preset,
            seed=seed,
            workers=workers,
            stop=stop,
            part_progress=part_progress,
        )
    start = time.perf_counter()
    chosen = preset_parameters(preset)
    overrides: dict[str, object] = {
        "num_workers": max(1, workers),
        "log_search_progress": log_search,
    }
    if seed is not None:
        overrides["random_seed"] = seed
    if sat_parameters:
        overrides.update(sat_parameters)
    if deterministic_time is not None:
        overrides["max_deterministic_time"] = deterministic_time
    parameters = {**chosen.parameters, **overrides}
    if baseline is not None:
        instance = with_disruption_ranked(instance)
        hint = baseline.plan if hint is None else hint
        chosen = replace(chosen, warm_start=False)
    run = _Run(
        chosen,
        parameters,
        start,
        start + time_limit,
        hint,
        progress,
        stop,
        incumbent,
        baseline,
        overrides,
        deterministic=deterministic_time is not None,
    )
    if chosen.decompose:
        # The model data is built once: it tells the parts apart, and is the whole model's
        # (or is cut into the parts').
        began = time.perf_counter()
        history = None if baseline is None else baseline_history(instance, baseline)
        data = build_data(instance, grouped=chosen.model == "grouped", history=history)
        parts = [part for part in independent_parts(instance, data) if part.units]
        built = time.perf_counter() - began
        if len(parts) > 1:
            result, first_weight = _solve_parts(instance, parts, run, data, built)
        else:
            result, first_weight = _solve_whole(instance, run, data, built=built)
    else:
        result, first_weight = _solve_whole(instance, run)
    explain_until = time.perf_counter() + min(EXPLAIN_SECONDS, EXPLAIN_SHARE * time_limit)
    return finished_result(instance, result, first_weight, explain_until)


EXPLAIN_SECONDS = 2.0
"""Most seconds spent explaining short rings after the search (the most short first)."""
EXPLAIN_SHARE = 0.05
"""... and at most this share of the time limit."""


def finished_result(
    instance: Instance, result: Result, first_weight: int, explain_until: float | None = None
) -> Result:
    """``result`` with the bound of each term the search proved, its figures in people
    units, and the rule, reason and remedy of every short ring explained before
    ``explain_until`` (:func:`solver.explain.explained_coverage`; a province plan's 1,900
    short rings take about a second).

    An optimal plan proves every ranked term minimal. Otherwise the scalar bound, whose
    first term has weight ``first_weight`` above everything the later terms can add, bounds
    the first term by ``floor(bound / first_weight)``.
    """
    if not result.status.has_plan:
        return result
    priorities = instance.rules.priorities
    if result.status is SolveStatus.OPTIMAL:
        bounds = {term: result.breakdown.get(term, 0) for term in priorities}
    else:
        first = priorities[0]
        bounds = {
            first: min(result.breakdown.get(first, 0), (result.best_bound or 0) // first_weight)
        }
    coverage = explained_coverage(instance, result.plan, result.coverage, explain_until)
    with_bounds = result.model_copy(update={"term_bounds": bounds, "coverage": coverage})
    return with_bounds.model_copy(update={"figures": with_bounds.people_figures(priorities)})


@dataclass(frozen=True)
class _Run:
    """What one call of :func:`solve` asked for."""

    preset: Preset
    parameters: dict[str, object]
    start: float
    deadline: float
    hint: Plan | None
    progress: ProgressCallback | None
    stop: threading.Event | None
    incumbent: IncumbentCallback | None = None
    baseline: Baseline | None = None
    overrides: Mapping[str, object] = field(default_factory=dict)
    """The caller's CP-SAT parameters (workers, seed, ...), over any preset's."""
    forward: Callable[[npt.NDArray[np.int64]], None] | None = None
    """Called with the counts of every improving plan (of the model data the solve is
    given): how a part's plans reach the whole instance's search."""
    deterministic: bool = False
    """CP-SAT's deterministic time limits the searches, no clock (see :func:`solve`)."""


@dataclass
class _Phase:
    """One CP-SAT model of the instance and the stages solved on it."""

    data: ModelData
    model: cp_model.CpModel
    variables: Variables
    terms: list[Term]
    evaluator: Evaluator
    fine: ModelData | None = None
    """The model data plans are judged on, when this phase pools more coarsely or holds only
    some of its candidates."""
    kept: npt.NDArray[np.int64] | None = None
    """For a neighbourhood of the fine model: the fine index of each of its candidates. What
    such a phase proves holds for the neighbourhood only, not for the instance."""

    @property
    def n(self) -> int:
        return len(self.variables.assign)

    def fine_vector(self, x: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """``x`` as counts of the fine model (the same vector when this phase is fine)."""
        if self.fine is None:
            return x
        if self.kept is not None:
            full = np.zeros(self.fine.n_candidates, dtype=np.int64)
            full[self.kept] = x
            return full
        return _to_fine(self.data, self.fine, x)

    def own_vector(self, x: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """Counts of the fine model as this phase's own."""
        if self.fine is None:
            return x
        if self.kept is not None:
            return x[self.kept]
        return _recount(self.fine, self.data, x)


GREEDY_PORTFOLIO: tuple[tuple[bool, SlotOrder, bool], ...] = (
    (False, "weight", False),
    (False, "day", True),
    (False, "time", True),
    (True, "time", True),
)
"""(police_first, order, days off planned) of the greedy plans tried before the search; no one
of them is best on every instance (see benchmarks/RESULTS.md), and each costs well under a
second at province scale. Those filled in time order keep units off the days
:func:`~solver.model.greedy.planned_days_off` plans (the same plans where the
consecutive-days rule cannot bind): on the loose province it took their weighted shortfall
from 4,148-5,147 to 1,358-2,224."""


def _greedy_start(
    data: ModelData,
    search: _Search,
    to_fine: Callable[[npt.NDArray[np.int64]], npt.NDArray[np.int64]] = lambda x: x,
    start: Sequence[tuple[int, int]] = (),
    closed_shifts: frozenset[int] = frozenset(),
    accept: Callable[[npt.NDArray[np.int64]], bool] = lambda x: True,
) -> npt.NDArray[np.int64] | None:
    """Offer the greedy plans of :data:`GREEDY_PORTFOLIO` (each from ``start``, adding no unit
    in ``closed_shifts``) that ``accept`` takes, then the best one repaired within its shifts
    (:func:`~solver.model.repair.repair_shortfall`, nothing changed in ``closed_shifts``)
    unless that is worse under the ranking; return the start's counts, if any greedy plan was
    taken."""
    best: tuple[int, npt.NDArray[np.int64]] | None = None
    days_off = planned_days_off(data)
    for police_first, order, rotate in GREEDY_PORTFOLIO:
        x = greedy_counts(
            data,
            police_first=police_first,
            order=order,
            start=start,
            closed_shifts=closed_shifts,
            days_off=days_off if rotate else None,
        )
        if not accept(x):
            continue
        fine = to_fine(x)
        search.offer(fine, 0)  # at once: the first plan comes after one greedy pass
        total = search.total(fine)
        if best is None or total < best[0]:
            best = (total, x)
    if best is None:
        return None
    # Units move within their shifts to where they weigh more: a shortfall the greedy order
    # left is often covered from a lighter ring nearby. Where a term is ranked above shortfall
    # (TNI or balance, which a unit called in can raise), the repair may not pay: then the
    # greedy plan stays the start.
    repaired = repair_shortfall(data, best[1], locked=closed_shifts)
    fine = to_fine(repaired)
    if search.total(fine) > best[0]:
        return best[1]
    search.offer(fine, 0)
    return repaired


def _shorten(
    data: ModelData, search: _Search, x: npt.NDArray[np.int64], stage: int, deadline: float
) -> npt.NDArray[np.int64]:
    """Offer ``x`` with its journeys shortened by the ``deadline``
    (:func:`~solver.model.travel.shorten_travel`) and return it, unless that is worse under
    the ranking (a term ranked above travel that the moves may raise, such as balance); then
    return ``x``. Called only before a stage with travel, so travel is ranked."""
    shorter = shorten_travel(data, x, deadline=deadline)
    if search.total(shorter) > search.total(x):
        return x
    search.offer(shorter, stage)
    return shorter


def _baseline_start(
    data: ModelData, search: _Search, index: BaselineIndex
) -> npt.NDArray[np.int64] | None:
    """Offer the plan in force topped up by the greedy plans of :data:`GREEDY_PORTFOLIO`.

    Each keeps every baseline place that the changed instance still allows (in ring and unit
    id order, as the locks do), then fills what is still missing outside the locked shifts, so
    the first plan comes at once and moves no unit; the best one, repaired within its shifts
    (units move to where the changes made them weigh more), is the start. Returns its counts,
    or ``None`` when no top-up holds the locks (a locked place the top-up could not keep).
    """
    units = data.instance.units
    start = sorted(
        ((u, c) for u, _s, c in index.placements),
        key=lambda pair: (data.candidates[pair[1]].slot, units[pair[0]].id),
    )
    locked = [
        c for (_g, s), cands in data.by_group_shift.items() if s in index.locked for c in cands
    ]

    def holds_locks(x: npt.NDArray[np.int64]) -> bool:
        return all(int(x[c]) == index.keep.get(c, 0) for c in locked)

    return _greedy_start(data, search, start=start, closed_shifts=index.locked, accept=holds_locks)


NEIGHBOURHOOD_ROUND = 10.0
"""Seconds of one round of a neighbourhood stage's search (see :func:`_solve_whole`)."""

COARSE_SHARE = 0.5
"""The coarse model is used only when it has at most this share of the fine model's
candidates; otherwise building it costs more than it saves."""


def _coarse_size(data: ModelData) -> int:
    """Candidates of the pooling that ignores distances, counted from the fine model's data."""
    order = np.argsort(data.candidate_group, kind="stable")
    group_of, slot_of = data.candidate_group[order], data.candidate_slot[order]
    present, starts = np.unique(group_of, return_index=True)
    ends = [*starts[1:].tolist(), len(order)] if len(starts) else []
    shift_of = data.slot_shifts()
    slot_shift: list[int] = shift_of.tolist()
    pools: dict[object, int] = {}
    for g, a, b in zip(present.tolist(), starts.tolist(), ends, strict=True):
        group, slots = data.groups[g], slot_of[a:b]
        # needs_own_group reads only the shifts: one slot of each is enough.
        _shifts, first = np.unique(shift_of[slots], return_index=True)
        pairs = [(int(slots[i]), 0) for i in first.tolist()]
        alone = needs_own_group(data.instance, pairs, slot_shift, data.shift_day)
        key = ("group", g) if alone else (group.headcount, group.reserve, slots.tobytes())
        pools[key] = b - a
    return sum(pools.values())


def _judge(data: ModelData, baseline: Baseline | None) -> tuple[Evaluator, list[int]]:
    """How plans of ``data`` are judged: the evaluator of every ranked term and the strict
    weights of the whole ranking (with the disruption against ``baseline`` in a re-plan)."""
    if baseline is None:
        return Evaluator(data), strict_weights(term_uppers(data))
    placed = index_baseline(data, baseline)
    uppers = term_uppers(data, {ObjectiveTerm.DISRUPTION: disruption_upper(data, placed)})
    return BaselineEvaluator(data, placed), strict_weights(uppers)


def _phase(data: ModelData, baseline: Baseline | None = None) -> _Phase:
    model = cp_model.CpModel()
    variables = make_variables(model, data)
    add_constraints(model, data, variables)
    if baseline is None:
        terms = objective_terms(model, data, variables)
        return _Phase(data, model, variables, terms, Evaluator(data))
    disruption, evaluator = add_baseline(model, data, variables, baseline)
    terms = objective_terms(model, data, variables, {ObjectiveTerm.DISRUPTION: disruption})
    return _Phase(data, model, variables, terms, evaluator)


def _pooled_terms(priorities: tuple[ObjectiveTerm, ...], evaluator: Evaluator) -> int:
    """How many of the top-ranked terms the coarse pooling can solve: those before travel
    (they do not depend on distances), and in a re-plan only those before disruption (which
    tells units apart by their places in force), and none when shifts are locked to the plan
    in force (a lock holds single units, which a pooling cannot)."""
    ends = [ObjectiveTerm.TRAVEL]
    if isinstance(evaluator, BaselineEvaluator):
        if evaluator.index.locked:
            return 0
        ends.append(ObjectiveTerm.DISRUPTION)
    return min(priorities.index(t) if t in priorities else len(priorities) for t in ends)


def _fine_stages(terms: list[Term], replan: bool, stage_range: int) -> list[Stage]:
    """The stages of the fine model's terms: a re-plan's (:func:`baseline_stages`), or cut by
    the preset's ``stage_range``."""
    return baseline_stages(terms) if replan else make_stages(terms, stage_range)


def _solve_whole(
    instance: Instance,
    run: _Run,
    data: ModelData | None = None,
    start_x: npt.NDArray[np.int64] | None = None,
    built: float = 0.0,
) -> tuple[Result, int]:
    """Solve ``instance`` as one model; also return the weight of its first ranked term.

    The terms ranked above travel do not depend on distance, so units that differ only in
    their distances are interchangeable for them: with the grouped model, those terms are
    solved first on a coarser pooling (units with the same headcount, reserve status and
    candidate slots), and the rest on the fine one, which keeps what the coarse stages reached.
    A re-plan pools this way only the terms above disruption (:func:`_pooled_terms`); its fine
    stages are those of :func:`baseline_stages`.
    The fine CP-SAT model is then built only when the coarse stages are done, so the search
    starts on the small model at once, and the first plan (a greedy one) comes before either
    model is built.

    ``data``, the instance's model data (grouped with the baseline's history in a re-plan), is
    built here unless given (:func:`_solve_parts` cuts each part's from the whole instance's);
    ``start_x``, counts of it that keep every rule, is then the warm start instead of the
    greedy plans (in a re-plan: instead of the plan in force topped up). ``built``: seconds
    already spent building ``data``, counted in the result's build time.
    """
    began, start, chosen, parameters = time.perf_counter(), run.start, run.preset, run.parameters
    hint, progress, stop = run.hint, run.progress, run.stop
    grouped = chosen.model == "grouped"
    fine_data = data
    if fine_data is None:
        history = None if run.baseline is None else baseline_history(instance, run.baseline)
        fine_data = build_data(instance, grouped=grouped, history=history)
    if chosen.switch is not None and fine_data.n_candidates > chosen.switch[0]:
        # A large model: solve it with the preset for large ones, on the same model.
        name = chosen.switch[1]
        chosen = replace(
            preset_parameters(name),
            model=chosen.model,
            decompose=chosen.decompose,
            warm_start=chosen.warm_start,
        )
        parameters = {**chosen.parameters, **run.overrides}
        logger.info("%d candidates: solved as '%s'", fine_data.n_candidates, name)
    early: _Search | None = None
    topped = None
    heuristic_time = 0.0  # greedy starts: not model building
    if run.baseline is not None and hint is run.baseline.plan and not (stop and stop.is_set()):
        # The plan in force, topped up, is offered before the CP-SAT model is built.
        judge, weights = _judge(fine_data, run.baseline)
        early = _Search(
            fine_data, judge, weights, start, progress, run.incumbent, forward=run.forward
        )
        heuristic = time.perf_counter()
        assert isinstance(judge, BaselineEvaluator)
        topped = _baseline_start(fine_data, early, judge.index)
        heuristic_time += time.perf_counter() - heuristic
    evaluator: Evaluator
    search: _Search | None = None
    if early is not None:
        search, evaluator, full_weights = early, early.evaluator, early.full_weights
    else:
        evaluator, full_weights = _judge(fine_data, run.baseline)
    pooled = _pooled_terms(instance.rules.priorities, evaluator)
    coarse_data: ModelData | None = None
    if grouped and pooled > 0 and _coarse_size(fine_data) <= COARSE_SHARE * fine_data.n_candidates:
        coarse_data = build_data(instance, ignore_km=True, like=fine_data)
    fine: _Phase | None = None
    if search is None:
        search = _Search(
            fine_data, evaluator, full_weights, start, progress, run.incumbent, forward=run.forward
        )
        if topped is not None:
            search.offer(topped, 0)
    x0 = None
    if start_x is not None and topped is None and hint is None:
        search.offer(start_x, 0)
        if coarse_data is None:
            x0 = start_x
        else:
            x0 = hint_vector(coarse_data, plan_from_vector(fine_data, start_x))
    elif topped is None and hint is None and chosen.warm_start:
        # Greedy plans keep every rule: the first is the first plan, the best is the hint.
        heuristic = time.perf_counter()
        if coarse_data is None:
            x0 = _greedy_start(fine_data, search)
        else:
            x0 = _greedy_start(coarse_data, search, lambda x: _to_fine(coarse_data, fine_data, x))
        heuristic_time += time.perf_counter() - heuristic
        assert x0 is not None  # every greedy plan is accepted
    coarse: _Phase | None = None
    if coarse_data is not None:
        coarse = _phase(coarse_data)
        coarse.fine = fine_data
    else:
        fine = _phase(fine_data, run.baseline)
    order = list(instance.rules.priorities)
    if coarse is not None:
        # The fine stages join the schedule once the fine model is built (see below).
        schedule = [(coarse, st) for st in make_stages(coarse.terms[:pooled], chosen.stage_range)]
    else:
        assert fine is not None
        stages = _fine_stages(fine.terms, run.baseline is not None, chosen.stage_range)
        schedule = [(fine, st) for st in stages]
        order = [t.name for t in fine.terms]
    build_time = built + time.perf_counter() - began - heuristic_time
    first = schedule[0][0] if schedule else (coarse or fine)
    if first is not None:
        if topped is not None:
            add_hint(first.model, first.data, first.variables, first.own_vector(topped))
        elif hint is not None:
            # What of the hint keeps every rule is a plan already: the first one, and a fallback.
            search.offer(plan_counts(fine_data, hint), 0)
            add_hint(first.model, first.data, first.variables, hint_vector(first.data, hint))
        elif x0 is not None:
            add_hint(first.model, first.data, first.variables, x0)
    logger.info(
        "model built in %.2f s (greedy start %.2f s apart): %d candidates, %d groups of %d "
        "units, %d slots%s",
        build_time,
        heuristic_time,
        fine_data.n_candidates,
        len(fine_data.groups),
        sum(g.size for g in fine_data.groups),
        len(fine_data.slots),
        f", {coarse.n} candidates in the coarse model" if coarse is not None else "",
    )

    deadline = run.deadline
    all_optimal = True
    bound = 0
    invalid = False
    reached: list[tuple[Stage, int]] = []
    travelled = False  # whether the best plan's travel was bettered before a travel stage
    index = 0
    while index < len(schedule) or fine is None:
        remaining = deadline - time.perf_counter()
        if remaining <= 0 or (stop is not None and stop.is_set()):
            all_optimal = False
            break
        if index == len(schedule):
            # The coarse stages are done: build the fine model, which keeps what they
            # reached, starts from the best plan so far and solves the terms below them
            # (from travel on; in a re-plan from disruption on).
            assert coarse_data is not None
            if run.baseline is None:
                if search.best_x is not None and coarse is not None:
                    # The fine model is built around the best plan: better its travel first.
                    travel_stage = _fine_stages(coarse.terms[pooled:], False, chosen.stage_range)
                    if travel_stage:
                        _improve_travel(fine_data, search, reached, travel_stage[0], run, index)
                    travelled = True
                    if deadline - time.perf_counter() < MIN_FINE_SECONDS:
                        all_optimal = False  # too little time left to build and search it
                        break
                fine = _fine_phase(
                    fine_data, coarse_data, search.best_x, chosen.neighbourhood_above
                )
            else:
                fine = _phase(fine_data, run.baseline)
            rest = _fine_stages(fine.terms[pooled:], run.baseline is not None, chosen.stage_range)
            logger.info(
                "fine model built at %.2f s: %d candidates",
                time.perf_counter() - start,
                fine.n,
            )
            _keep_reached(fine, reached, search)
            schedule += [(fine, st) for st in rest]
            continue
        phase, stage = schedule[index]
        if (
            not travelled
            and phase is fine
            and run.baseline is None
            and search.best_x is not None
            and any(t.name is ObjectiveTerm.TRAVEL for t in stage.terms)
        ):
            _improve_travel(fine_data, search, reached, stage, run, index)
            add_hint(phase.model, phase.data, phase.variables, phase.own_vector(search.best_x))
            travelled = True
            continue  # the time left has changed
        multiplier = _stage_multiplier(stage, order, full_weights)
        if search.best_x is not None and _stage_value(search, stage) == 0:
            # Every term is at least 0, so a plan at 0 is optimal for the stage: no search.
            index += 1
            stage.keep_at_most(phase.model, 0)
            reached.append((stage, 0))
            logger.info("stage %d (%s) is 0 in the best plan: optimal", index, _names(stage))
            continue
        model = phase.model
        stage.minimize_in(model)
        callback = _Callback(
            search, phase, index, bound if all_optimal else search.bound, multiplier
        )
        last = index + 1 == len(schedule) and fine is not None
        budget = remaining if last else remaining * FIRST_STAGE_SHARE
        ends = time.perf_counter() + budget
        if phase.kept is None:
            solver, status = _run_stage(model, callback, parameters, budget, stop)
        else:
            # A neighbourhood proves nothing, so its search may restart at no loss: it runs in
            # rounds, each from the best plan, which bounds the memory CP-SAT's search
            # gathers during one solve (measured ~16 MiB/s on the capital).
            round_limit = min(budget, NEIGHBOURHOOD_ROUND)
            solver, status = _run_stage(model, callback, parameters, round_limit, stop)
            gained = True  # deterministic: rounds go on while each betters the best plan
            while (
                status == cp_model.FEASIBLE
                and ends - time.perf_counter() > 1.0
                and not (stop is not None and stop.is_set())
                and search.best_x is not None
                and gained
            ):
                before = search.best_objective
                add_hint(model, phase.data, phase.variables, phase.own_vector(search.best_x))
                round_limit = min(ends - time.perf_counter(), NEIGHBOURHOOD_ROUND)
                solver, status = _run_stage(model, callback, parameters, round_limit, stop)
                gained = not run.deterministic or search.best_objective != before
        index += 1
        logger.info(
            "stage %d (%s, %s model) ended at %.2f s: %s, value %s, bound %s",
            index,
            _names(stage),
            "coarse" if phase is coarse else "fine",
            time.perf_counter() - start,
            solver.status_name(status),
            round(solver.objective_value)
            if status in (cp_model.OPTIMAL, cp_model.FEASIBLE)
            else "-",
            round(solver.best_objective_bound)
            if status in (cp_model.OPTIMAL, cp_model.FEASIBLE)
            else "-",
        )
        if status == cp_model.MODEL_INVALID:
            logger.error("CP-SAT rejected the model: %s", model.validate())
            invalid = True
            all_optimal = False
            break
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            all_optimal = False
            if search.best_x is None or (stop is not None and stop.is_set()):
                break
            # No plan from CP-SAT in this stage, but there is one from before (the greedy
            # start): keep its value of this stage, and go on to the next.
            value = _stage_value(search, stage)
            stage.keep_at_most(model, value)
            reached.append((stage, value))
            continue
        x = solution_vector(solver.response_proto, phase.n)
        search.offer(phase.fine_vector(x), index - 1)
        if isinstance(evaluator, BaselineEvaluator) and search.best_x is not None:
            # Give units back their places in force wherever that costs no shortfall.
            restored = restore_baseline(fine_data, evaluator.index, search.best_x)
            search.offer(restored, index - 1)
        # CP-SAT's value counts its shortfall variables, which a plan found on the way may
        # leave above the true shortfall; the best plan's own value can be lower, and it is
        # what later stages must keep.
        value = min(round(solver.objective_value), _stage_value(search, stage))
        if phase.kept is not None:
            all_optimal = False  # optimal in the neighbourhood only
        if all_optimal:
            # The overall bound grows only while every earlier stage is proven optimal.
            if status == cp_model.OPTIMAL:
                bound += value * multiplier
            else:
                bound += math.ceil(solver.best_objective_bound - 1e-6) * multiplier
                all_optimal = False
            search.bound = bound
        # Later stages keep what this one reached, proven or not: priorities stay strict.
        stage.keep_at_most(model, value)
        reached.append((stage, value))
        search.hand_over()
        if index < len(schedule) and schedule[index][0] is phase:
            assert search.best_x is not None
            add_hint(model, phase.data, phase.variables, phase.own_vector(search.best_x))

    if not schedule and fine is not None:
        # Nothing to optimise (no requirement, no candidate): the empty plan is optimal.
        search.offer(np.zeros(fine.n, dtype=np.int64), 0)
        search.bound = search.best_objective or 0

    search.hand_over()
    result = _result(search, invalid, all_optimal, build_time, instance, hint)
    return result, full_weights[0] if full_weights else 1


def _same_stage(phase: _Phase, stage: Stage) -> Stage:
    """``stage`` (of another phase) over the terms of the same names in ``phase``."""
    by_name = {t.name: t for t in phase.terms}
    return Stage(tuple(by_name[t.name] for t in stage.terms), stage.weights)


def _keep_reached(phase: _Phase, reached: list[tuple[Stage, int]], search: _Search) -> None:
    """Make a newly built phase keep what the stages before it reached, and start it from the
    best plan so far."""
    for done, value in reached:
        _same_stage(phase, done).keep_at_most(phase.model, value)
    if search.best_x is not None:
        add_hint(phase.model, phase.data, phase.variables, phase.own_vector(search.best_x))


def _fine_phase(
    data: ModelData, coarse: ModelData, best: npt.NDArray[np.int64] | None, above: int | None
) -> _Phase:
    """The fine model for the terms from travel on, once the coarse stages are done.

    When the fine model is large (more than ``above`` candidates, the preset's
    ``neighbourhood_above``), CP-SAT spends the budget presolving it (on the capital scale,
    355,000 candidates: 20 s of presolve and no plan). Then only the neighbourhood of the best
    plan is built: each unit may stand in the slots where its coarse group stands in that plan,
    so units of one coarse group can trade places (which is what travel, balance and
    overstaffing need), and the coarse counts the stages above reached stay within reach. Its
    results are plans, not proofs.
    """
    if best is None or above is None or data.n_candidates <= above:
        return _phase(data)
    coarse_of = coarse.group_of_unit()
    key = [coarse_of.get(group.members[0], -1) for group in data.groups]
    used = {(key[data.candidates[c].group], data.candidates[c].slot) for c in np.flatnonzero(best)}
    kept = [c for c, cand in enumerate(data.candidates) if (key[cand.group], cand.slot) in used]
    phase = _phase(restrict(data, kept))
    phase.fine, phase.kept = data, np.array(kept, dtype=np.int64)
    return phase


WINDOW_SECONDS = 1.0
"""Most seconds CP-SAT spends on one shift's window (see :func:`_search_shifts`); on the
suite's city a window is mostly proven optimal in 0.03-0.4 s."""

MIN_FINE_SECONDS = 1.0
"""Seconds below which the fine model is not built once the coarse stages and the travel
moves are done: building the capital's neighbourhood model alone takes about 0.8 s, and a
province part's travel stage found no plan in its last second (status ``UNKNOWN``)."""

MIN_FINE_SEARCH = 5.0
"""Seconds the fine model's search must be left after the shift windows' share; with less,
the windows take all the time left. A province part's travel stage, reached with 1-1.5 s
left, ended with no plan (status ``UNKNOWN``)."""

MIN_WINDOW = 0.05
"""Seconds below which a shift's window is not searched."""

WINDOWS_ABOVE = 10_000
"""Candidates of the fine model above which the shift windows are searched; a smaller model
(a district) CP-SAT solves whole, and proves, in well under a second."""

WINDOWS_SHARE = 0.3
"""Share of the remaining time the shift windows may use before the fine model's search."""

WINDOWS_MIN_GAIN = 0.01
"""A round of shift windows that lowers the stage's value by no more than this share of it
is the last: what is left is for the fine model's search, which can also prove."""


def _shift_window(data: ModelData, x: npt.NDArray[np.int64], shift: int) -> _Phase:
    """The model of one shift's window of the plan ``x``: every candidate of ``shift`` free,
    the places ``x`` holds in other shifts fixed, nothing else. Every rule holds as in the
    full model (the fixed places count towards rest, most shifts, days in a row and balance);
    its plans are plans of the instance, its bounds only of the window."""
    inside = data.slot_shifts()[data.candidate_slot] == shift
    kept = np.union1d(np.flatnonzero(inside), np.flatnonzero(x))
    phase = _phase(restrict(data, kept.tolist()))
    first, variables = phase.variables.first, phase.model.proto.variables
    for j in np.flatnonzero(~inside[kept]).tolist():
        domain = variables[first + j].domain
        domain.clear()
        domain.extend([int(x[kept[j]])] * 2)
    phase.fine, phase.kept = data, kept
    return phase


def _improve_travel(
    data: ModelData,
    search: _Search,
    reached: list[tuple[Stage, int]],
    stage: Stage,
    run: _Run,
    index: int,
) -> None:
    """Before the first stage with travel (``stage``, of any phase: its terms' names count),
    shorten the best plan's journeys (:func:`_shorten`), then, where the preset asks for it,
    search it shift by shift (:func:`_search_shifts`) for :data:`WINDOWS_SHARE` of the time
    left (all of it when the fine search would get less than :data:`MIN_FINE_SEARCH`) when
    the model has more than :data:`WINDOWS_ABOVE` candidates."""
    assert search.best_x is not None
    _shorten(data, search, search.best_x, index, run.deadline)
    if run.preset.shift_windows and data.n_candidates > WINDOWS_ABOVE:
        now = time.perf_counter()
        left = run.deadline - now
        # Too little time for the fine model's own search: the windows may use all of it.
        share = WINDOWS_SHARE if left * (1 - WINDOWS_SHARE) >= MIN_FINE_SEARCH else 1.0
        until = now + left * share
        longest = math.inf if run.deterministic else WINDOW_SECONDS
        _search_shifts(
            data, search, reached, stage, run.parameters, until, run.stop, index, longest
        )


def _search_shifts(
    data: ModelData,
    search: _Search,
    reached: list[tuple[Stage, int]],
    stage: Stage,
    parameters: dict[str, object],
    until: float,
    stop: threading.Event | None,
    stage_index: int,
    longest: float = WINDOW_SECONDS,
) -> None:
    """Improve the best plan one shift at a time, before the fine model's search.

    In each shift's window (:func:`_shift_window`) CP-SAT minimises ``stage`` (its terms
    taken by name from the window's model) while the stages already ``reached`` keep their
    values. Shifts are taken in order of start, round after round, until a round gains no
    more than :data:`WINDOWS_MIN_GAIN`, ``until`` passes or ``stop`` is set. A window is small
    (one shift of the fine model), so CP-SAT mostly proves it optimal at once: on the suite's
    loose city this took the start's travel from 1,216 km to 876 km in 6 s, where the full
    fine model's search from the same start gained 7 km in 10 s (benchmarks/RESULTS.md).
    Shifts are where a plan decomposes: who stands where in one shift touches the others only
    through the duty rules, which the fixed places enforce.
    """
    shifts = data.instance.shifts
    order = sorted(range(len(shifts)), key=lambda s: (shifts[s].start, s))
    value = _stage_value(search, stage)  # at the start of a round
    while value > 0:
        for shift in order:
            if until - time.perf_counter() <= MIN_WINDOW or (stop is not None and stop.is_set()):
                return
            assert search.best_x is not None
            window = _shift_window(data, search.best_x, shift)
            _keep_reached(window, reached, search)
            _same_stage(window, stage).minimize_in(window.model)
            limit = min(longest, until - time.perf_counter())
            if limit <= MIN_WINDOW:
                return
            callback = _Callback(search, window, stage_index, 0, 1)
            solver, status = _run_stage(window.model, callback, parameters, limit, stop)
            if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
                x = solution_vector(solver.response_proto, window.n)
                search.offer(window.fine_vector(x), stage_index)
        now = _stage_value(search, stage)
        if value - now <= WINDOWS_MIN_GAIN * value:
            return
        value = now


def _stage_value(search: _Search, stage: Stage) -> int:
    """The stage's objective for the best plan so far."""
    assert search.best_x is not None
    values = search.evaluator.terms(search.best_x)
    return sum(w * values[t.name] for w, t in zip(stage.weights, stage.terms, strict=True))


def _names(stage: Stage) -> str:
    return ", ".join(t.name.value for t in stage.terms)


def _to_fine(coarse: ModelData, fine: ModelData, x: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Counts of the coarse model as counts of the fine one (units handed out by roster)."""
    return _recount(coarse, fine, x)


def _recount(
    source: ModelData, target: ModelData, x: npt.NDArray[np.int64]
) -> npt.NDArray[np.int64]:
    """Counts ``x`` of one pooling of an instance's units as counts of another: each unit
    stands where the rosters of ``source`` put it, counted in its group of ``target``. With
    the same slots (as the coarse and fine data of one solve share), by index and in bulk;
    else through the plan (:func:`hint_vector`)."""
    if source.slots is not target.slots:
        return hint_vector(target, plan_from_vector(source, x))
    places = unit_places(source, x)
    units = np.fromiter((u for u, _s, _c in places), dtype=np.int64, count=len(places))
    cands = np.fromiter((c for _u, _s, c in places), dtype=np.int64, count=len(places))
    found = target.candidate_of(target.unit_groups()[units], source.candidate_slot[cands])
    counts: npt.NDArray[np.int64] = np.bincount(
        found[found >= 0], minlength=target.n_candidates
    ).astype(np.int64)
    return counts


def _result(
    search: _Search,
    invalid: bool,
    optimal: bool,
    build_time: float,
    instance: Instance,
    hint: Plan | None,
    plan: Plan | None = None,
) -> Result:
    """The result of the best plan found; ``plan`` is that plan when already per unit."""
    wall = time.perf_counter() - search.start
    warnings = tuple(instance_warnings(instance))
    if search.best_x is None or search.best_objective is None:
        status = SolveStatus.INVALID if invalid else SolveStatus.NO_SOLUTION
        return Result(status=status, wall_time=wall, build_time=build_time, warnings=warnings)
    data, x = search.data, search.best_x
    if plan is None:
        plan = plan_from_vector(data, x, hint)
    objective = search.best_objective
    bound = objective if optimal else min(search.bound, objective)
    return Result(
        status=SolveStatus.OPTIMAL if optimal else SolveStatus.FEASIBLE,
        objective=objective,
        best_bound=bound,
        gap=relative_gap(objective, bound),
        wall_time=wall,
        build_time=build_time,
        first_solution_time=search.first_solution_time,
        plan=plan,
        coverage=coverage_rows(data, search.evaluator.assigned(x)),
        breakdown=search.evaluator.terms(x),
        activations=activations(data, plan),
        warnings=warnings,
    )


def _part_budgets(sizes: list[int], now: float, deadline: float) -> list[float]:
    """Deadlines for parts solved in order, each given time in proportion to its size.

    The deadlines are cumulative, so time a part leaves unused goes to the parts after it.
    """
    total = sum(sizes) or 1
    deadlines, used = [], 0
    for size in sizes:
        used += size
        deadlines.append(now + (deadline - now) * used / total)
    return deadlines


def _solve_parts(
    instance: Instance, parts: list[Part], run: _Run, data: ModelData, built: float
) -> tuple[Result, int]:
    """Solve independent parts one by one and put their plans side by side.

    Parts are solved smallest first, each with time in proportion to its candidates (pass 2
    gets what pass 1 leaves, as parts proven optimal early do not use their time). Until a
    part is solved it holds its share of the greedy plan, so a plan for the whole instance
    exists from the start and a stop returns it. With balance ranked above another term, parts
    whose busiest unit works fewer shifts than the overall busiest are solved again with that
    many shifts as their limit and balance left out, so that they can buy the later terms with
    the slack (pass 2); the combined plan is then optimal when every part solve is.

    ``data`` is the whole instance's model data, built in ``built`` seconds.
    """
    began = time.perf_counter()
    chosen, baseline = run.preset, run.baseline
    evaluator, full_weights = _judge(data, baseline)
    search = _Search(data, evaluator, full_weights, run.start, run.progress, run.incumbent)
    build_time = built + time.perf_counter() - began
    part_of = {u: i for i, part in enumerate(parts) for u in part.units}
    part_of_group = np.array([part_of[g.members[0]] for g in data.groups], dtype=np.int64)
    sizes: list[int] = np.bincount(
        part_of_group[data.candidate_group], minlength=len(parts)
    ).tolist()

    # The plan of the whole instance: each part's latest plan side by side. Every improving
    # plan of a part is offered at once as such a whole plan (from the part's solver threads).
    current = np.zeros(data.n_candidates, dtype=np.int64)
    started = False  # whether ``current`` holds a start for every part
    combining = threading.Lock()

    def put(whole: npt.NDArray[np.int64], x: npt.NDArray[np.int64]) -> None:
        with combining:
            current[whole] = x
            combined = current.copy()
        search.offer(combined, 0)

    start_x: npt.NDArray[np.int64] | None = None
    if baseline is not None and run.hint is baseline.plan:
        # The plan in force topped up, for the whole instance at once.
        assert isinstance(evaluator, BaselineEvaluator)
        start_x = _baseline_start(data, search, evaluator.index)
    if start_x is None and run.hint is not None:
        # What of the hint keeps every rule.
        start_x = plan_counts(data, run.hint)
        search.offer(start_x, 0)
    elif start_x is None and chosen.warm_start:
        # The greedy plans of the whole instance are those of its parts side by side.
        start_x = _greedy_start(data, search)
        assert start_x is not None  # every greedy plan is accepted
    if start_x is not None:
        current[:] = start_x
        started = True

    results: list[Result | None] = [None] * len(parts)
    first_weights = [1] * len(parts)
    priorities = instance.rules.priorities
    second_pass = ObjectiveTerm.BALANCE in priorities[:-1]

    cut_time = 0.0  # cutting each part's model data from the whole instance's

    def solve_part(i: int, sub: Instance, deadline: float) -> None:
        """Solve part ``i`` from its share of ``current`` (when there is a start)."""
        nonlocal cut_time
        began = time.perf_counter()
        sub_data, whole = part_data(data, parts[i], sub)
        cut_time += time.perf_counter() - began
        sub_baseline = None
        if baseline is not None:
            units = {unit.id for unit in sub.units}
            own = tuple(a for a in baseline.plan.assignments if a.unit in units)
            sub_baseline = baseline.model_copy(update={"plan": Plan(assignments=own)})
        with combining:
            own_start = current[whole] if started else None
        sub_run = replace(
            run,
            deadline=deadline,
            progress=None,
            incumbent=None,
            start=began,
            hint=None,
            baseline=sub_baseline,
            forward=lambda x: put(whole, x),
        )
        result, first_weights[i] = _solve_whole(sub, sub_run, sub_data, own_start)
        if result.status.has_plan:
            results[i] = result

    for i, deadline in enumerate(_part_budgets(sizes, time.perf_counter(), run.deadline)):
        if run.stop is not None and run.stop.is_set():
            break
        solve_part(i, part_instance(instance, parts[i]), deadline)

    done = all(r is not None for r in results) and not (run.stop is not None and run.stop.is_set())
    if second_pass and done and search.best_x is not None:
        started = True  # every part holds its plan now
        peak = evaluator.terms(search.best_x)[ObjectiveTerm.BALANCE]
        slack = [
            i
            for i, r in enumerate(results)
            if r is not None and r.breakdown.get(ObjectiveTerm.BALANCE, 0) < peak
        ]
        now = time.perf_counter()
        deadlines = _part_budgets([sizes[i] for i in slack], now, run.deadline)
        for i, deadline in zip(slack, deadlines, strict=True):
            if run.stop is not None and run.stop.is_set():
                done = False
                break
            results[i] = None
            solve_part(i, part_instance(instance, parts[i], balance_cap=peak), deadline)
            done = done and results[i] is not None

    optimal = done and all(r is not None and r.status is SolveStatus.OPTIMAL for r in results)
    if not optimal and priorities[0] is not ObjectiveTerm.BALANCE:
        # Each part's bound, in its own weights, bounds its first term: floor(bound / w0).
        first_term = sum(
            (r.best_bound or 0) // w for r, w in zip(results, first_weights, strict=True) if r
        )
        if priorities[0] is ObjectiveTerm.SHORTFALL:
            # Venues no unit can reach are in no part: all they require is missing.
            reached = {v for part in parts for v in part.venues}
            first_term += sum(
                slot.weight * slot.required for slot in data.slots if slot.venue not in reached
            )
        search.bound = full_weights[0] * first_term
    build_time += cut_time + sum(r.build_time for r in results if r is not None)
    search.hand_over()
    result = _result(search, False, optimal, build_time, instance, run.hint)
    return result, full_weights[0] if full_weights else 1
