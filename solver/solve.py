"""The one entry point: :func:`solve` an instance into a :class:`~solver.result.Result`.

With the default preset: independent parts of the instance (:mod:`solver.decompose`) are solved
one by one (on two or more workers, those of a large instance at the same time in processes of
their own: :mod:`solver.search.concurrent`); each starts from the best of the greedy plans
(:mod:`solver.heuristics.greedy`, the first of them is the first plan reported) repaired within
its shifts (:mod:`solver.heuristics.repair`); the terms ranked above travel are solved on a
pooling of units that ignores distances, the rest on the grouped model
(:mod:`solver.model.groups`), whose counts become per-unit rosters exactly. The order of that
search is a list of phases (:mod:`solver.search`); this module reads the call's options, splits
the instance into its parts and hands each to the phases.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import replace

from solver.bound import ShortfallBound
from solver.decompose import Part, independent_parts, part_data, part_instance
from solver.domain import Instance, Plan
from solver.explain import explained_coverage
from solver.model.data import ModelData, build_data
from solver.model.disruption import Baseline, baseline_history, with_disruption_ranked
from solver.parts.national import Mode, PartsCallback, solve_in_parts, uses_parts
from solver.presets import Preset
from solver.presets import preset as preset_parameters
from solver.result import Result, SolveStatus
from solver.search.construct import coarse_size
from solver.search.context import Run
from solver.search.counts import hint_vector
from solver.search.cpsat import add_hint, solution_vector
from solver.search.incumbent import IncumbentCallback, ProgressCallback
from solver.search.parts import solve_parts
from solver.search.whole import solve_whole

__all__ = ["add_hint", "finished_result", "hint_vector", "solution_vector", "solve"]
"""``add_hint``, ``hint_vector`` and ``solution_vector`` live in :mod:`solver.search`; they
are named here as well for callers of the earlier layout."""


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
    """Plan a deployment with CP-SAT (how: see the module and :mod:`solver.search`).

    Parameters
    ----------
    instance
        A validated instance.
    time_limit
        Wall-clock seconds for the whole call.
    workers
        CP-SAT search workers.
    preset
        A preset of :data:`solver.presets.PRESETS`: the model, warm start, decomposition,
        staging and CP-SAT's parameters.
    seed
        CP-SAT's random seed; ``None`` keeps the preset's.
    hint
        A plan to start from instead of the greedy plans (what breaks a rule is dropped); each
        group's rosters go to the units that keep most of their hinted assignments.
    progress, incumbent
        Called with every improving plan (from solver threads); with the best plan so far, at
        most once a second (to warm-start an interrupted solve).
    stop
        When set, the search returns its best plan within about 50 ms.
    log_search
        Let CP-SAT write its search log.
    baseline
        Re-plan against this plan in force (:mod:`solver.model.disruption`; the re-plan's
        phases are listed in :func:`~solver.search.pipeline.phases_for`).
    sat_parameters
        Further ``SatParameters`` fields over the preset's.
    deterministic_time
        Limit each CP-SAT search by this much deterministic time, not the clock: with one
        worker and a seed, the same plan at any load (``time_limit`` stays a safety net).
    split, scheduler, part_progress
        Where parts are planned (:class:`solver.parts.national.Mode`: ``auto`` sends
        national-size instances, a reserve or a ``scheduler`` to
        :func:`solver.parts.national.solve_in_parts`), a Dask scheduler's address, and a
        callback for each part's plan there.

    Returns
    -------
    Result
        Status, plan, coverage, objective breakdown, activations, warnings and the phases
        that ran; an under-resourced instance is a result with shortfalls, never an error.
    """
    mode = Mode(split)
    if baseline is None and hint is None and uses_parts(instance, mode, scheduler):
        return solve_in_parts(
            instance, time_limit=time_limit, mode=mode, scheduler=scheduler, preset=preset,
            seed=seed, workers=workers, stop=stop, part_progress=part_progress,
            progress=progress, solver=solve,
        )  # fmt: skip
    run = _run(
        preset_parameters(preset), time_limit, hint, progress, stop, incumbent, baseline,
        {"num_workers": max(1, workers), "log_search_progress": log_search},
        seed, sat_parameters, deterministic_time,
    )  # fmt: skip
    if baseline is not None:
        instance = with_disruption_ranked(instance)
    return _solve(instance, run)


def _run(
    chosen: Preset,
    time_limit: float,
    hint: Plan | None,
    progress: ProgressCallback | None,
    stop: threading.Event | None,
    incumbent: IncumbentCallback | None,
    baseline: Baseline | None,
    overrides: dict[str, object],
    seed: int | None,
    sat_parameters: Mapping[str, object] | None,
    deterministic_time: float | None,
) -> Run:
    """What the call of :func:`solve` asks for, with CP-SAT's parameters: the preset's with
    the caller's over them."""
    start = time.perf_counter()
    if seed is not None:
        overrides["random_seed"] = seed
    if sat_parameters:
        overrides.update(sat_parameters)
    if deterministic_time is not None:
        overrides["max_deterministic_time"] = deterministic_time
    parameters = {**chosen.parameters, **overrides}
    rosters = hint
    if baseline is not None:
        rosters = baseline.plan if hint is None else hint
        chosen = replace(chosen, warm_start=False)
    return Run(
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
        rosters=rosters,
    )


def _solve(instance: Instance, run: Run) -> Result:
    """Solve the instance whole, or its independent parts (one by one or at the same time)."""
    if run.preset.decompose:
        # The model data is built once: it tells the parts apart, and is the whole model's
        # (or is cut into the parts').
        began = time.perf_counter()
        baseline = run.baseline
        history = None if baseline is None else baseline_history(instance, baseline)
        data = build_data(instance, grouped=run.preset.model == "grouped", history=history)
        parts = [part for part in independent_parts(instance, data) if part.units]
        built = time.perf_counter() - began
        above = run.preset.lp_bound_above
        if above is not None and baseline is None and data.n_candidates > above:
            run = replace(run, lp=_start_bound(instance, data, parts, run))
        try:
            if len(parts) > 1:
                result, first_weight = solve_parts(instance, parts, run, data, built)
            else:
                result, first_weight = solve_whole(instance, run, data, built=built)
        finally:
            if run.lp is not None:
                run.lp.close()
    else:
        result, first_weight = solve_whole(instance, run)
    time_limit = run.deadline - run.start
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
    the first term by ``floor(bound / first_weight)``; bounds the result holds already (the
    weighted shortfall's linear bound) stay.
    """
    if not result.status.has_plan:
        return result
    priorities = instance.rules.priorities
    if result.status is SolveStatus.OPTIMAL:
        bounds = {term: result.breakdown.get(term, 0) for term in priorities}
    else:
        first = priorities[0]
        proven = min(result.breakdown.get(first, 0), (result.best_bound or 0) // first_weight)
        bounds = {**result.term_bounds, first: max(result.term_bounds.get(first, 0), proven)}
    coverage = explained_coverage(instance, result.plan, result.coverage, explain_until)
    with_bounds = result.model_copy(update={"term_bounds": bounds, "coverage": coverage})
    return with_bounds.model_copy(update={"figures": with_bounds.people_figures(priorities)})


LP_CANDIDATES_PER_SECOND = 3_000.0
"""Candidates of the shortfall's relaxation solved per second beside the search: the loose
province's 140,000 took 23 s of one idle thread, 50 s beside a search on a loaded machine
(benchmarks/RESULTS.md). A relaxation that needs more than the time left is not tried, so
that its thread does not take a core from a search it cannot help."""


def _start_bound(
    instance: Instance, data: ModelData, parts: list[Part], run: Run
) -> ShortfallBound:
    """Start the weighted shortfall's linear bound in a thread, part by part in the order the
    search takes them; slots of venues in no part (no unit reaches them) add all they need."""
    reached = {v for part in parts for v in part.venues}
    unreached = sum(s.weight * s.required for s in data.slots if s.venue not in reached)

    def cutter(part: Part) -> Callable[[], ModelData]:
        return lambda: part_data(data, part, part_instance(instance, part))[0]

    makers = [cutter(part) for part in parts]
    # The relaxation is solved on the pooling that ignores distances where it is smaller
    # (:func:`solver.bound.relaxed_data`): the capital's 355,000 candidates pool to 31,000.
    columns = min(data.n_candidates, coarse_size(data))
    needs = columns / LP_CANDIDATES_PER_SECOND
    left = run.deadline - time.perf_counter()
    skip = ""
    if needs > left:
        skip = (
            f"weighted shortfall bound incomplete: its linear relaxation ({columns} "
            f"candidates) needs about {needs:.0f} s beside the search, more than the "
            f"{left:.0f} s left; not tried"
        )
    return ShortfallBound(makers, unreached, run.deadline, run.stop, skip).start()
