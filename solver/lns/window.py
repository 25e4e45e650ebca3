"""Re-plan a window of a plan: some candidates free, every other place of the plan held.

The window's model is the full model (:mod:`solver.model.constraints`) over the free
candidates and the places the plan holds that share a row with them (:func:`window_candidates`),
with the held ones fixed: every rule holds as in the whole instance (the held places count
towards rest, most shifts and days in a row, headcount and capacity), so its plans are plans
of the instance; what it proves holds for the window only.
"""

from __future__ import annotations

import threading
from dataclasses import replace

import numpy as np
import numpy.typing as npt
from ortools.sat.python import cp_model

from solver.domain import ObjectiveTerm
from solver.model.constraints import add_constraints
from solver.model.data import ModelData, cut
from solver.model.evaluate import Evaluator
from solver.model.hint import add_hint
from solver.model.objective import Stage, objective_terms
from solver.model.variables import make_variables

IntArray = npt.NDArray[np.int64]


def replan_window(
    data: ModelData,
    x: IntArray,
    free: npt.NDArray[np.bool_],
    *,
    time_limit: float,
    parameters: dict[str, object] | None = None,
    stop: threading.Event | None = None,
    duty_days: bool = True,
) -> IntArray:
    """Minimise the weighted shortfall over the candidates ``free`` with every other place of
    the plan of counts ``x`` held; return the best plan found (counts of ``data``), ``x``
    itself when CP-SAT finds nothing better within ``time_limit`` seconds or ``stop`` is set.

    ``parameters`` are ``SatParameters`` fields (workers, seed, presolve settings).
    ``duty_days``: hint the units' duty days too, so that the hint is complete; without
    them CP-SAT completes it first (on a loaded machine a window of the tight province
    then often found no plan in 0.5 s; on the capital's pools the windows went further
    with it, benchmarks/RESULTS.md).
    """
    kept = window_candidates(data, x, free)
    window = window_data(data, kept)
    model = cp_model.CpModel()
    variables = make_variables(model, window, named=False)  # many small models: no names
    add_constraints(model, window, variables)
    shortfall_only = (ObjectiveTerm.SHORTFALL,)
    terms = {t.name: t for t in objective_terms(model, window, variables, only=shortfall_only)}
    if ObjectiveTerm.SHORTFALL not in terms:
        return x
    Stage((terms[ObjectiveTerm.SHORTFALL],), (1,)).minimize_in(model)
    proto, first = model.proto, variables.first
    held = ~free[kept]
    for j in np.flatnonzero(held).tolist():
        domain = proto.variables[first + j].domain
        domain.clear()
        domain.extend([int(x[kept[j]])] * 2)
    hinted = variables if duty_days else replace(variables, day_on={})
    add_hint(model, window, hinted, x[kept])

    solver = cp_model.CpSolver()
    for key, value in (parameters or {}).items():
        if isinstance(value, list):
            getattr(solver.parameters, key).extend(value)
        else:
            setattr(solver.parameters, key, value)
    solver.parameters.max_time_in_seconds = max(0.01, time_limit)
    if stop is not None and stop.is_set():
        return x
    status = _solve(solver, model, stop)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return x
    values = np.fromiter(solver.response_proto.solution, dtype=np.int64)
    better = x.copy()
    better[kept] = values[first : first + len(kept)]
    evaluator = Evaluator(data)
    if (
        evaluator.terms(better)[ObjectiveTerm.SHORTFALL]
        >= evaluator.terms(x)[ObjectiveTerm.SHORTFALL]
    ):
        return x
    return better


def merge_window(
    data: ModelData, x: IntArray, free: npt.NDArray[np.bool_], window: IntArray
) -> IntArray | None:
    """The plan ``x`` with the candidates ``free`` as in ``window``, a window's plan
    (:func:`replan_window`) re-planned from another plan than ``x``; ``None`` when that
    breaks a ring's capacity.

    Valid when no group with a free candidate has changed between the two plans (the rules
    of a unit are its own); the rings the window fills may have changed: their capacity is
    checked here, and their shortfall is the caller's to compare.
    """
    merged = x.copy()
    merged[free] = window[free]
    touched = np.unique(data.candidate_slot[free])
    capacity = np.array([data.slots[s].capacity for s in touched.tolist()], dtype=np.int64)
    assigned = Evaluator(data).assigned(merged)[touched]
    if (assigned > capacity).any():
        return None
    return merged


def window_candidates(data: ModelData, x: IntArray, free: npt.NDArray[np.bool_]) -> IntArray:
    """The candidates a window's model needs: the free ones, and the places the plan ``x``
    holds in the slots they could fill (those count towards the slots' headcount and
    capacity) or of a group with a free candidate (those count towards its rules). Other
    places held change no row a free candidate is in (every other rule is a group's own), so
    they are left out: the model stays a few times smaller than one over the whole plan."""
    touched = np.zeros(len(data.slots), dtype=bool)
    touched[data.candidate_slot[free]] = True
    moving = np.zeros(len(data.groups), dtype=bool)
    moving[data.candidate_group[free]] = True
    near = touched[data.candidate_slot] | moving[data.candidate_group]
    return np.flatnonzero(free | ((x > 0) & near))


def window_data(data: ModelData, kept: IntArray) -> ModelData:
    """The model data of a window: the candidates ``kept`` (indices into ``data``, in
    increasing order) and only the slots they could fill, renumbered; candidate ``i`` of the
    result is candidate ``kept[i]`` of ``data``. The other slots' shortfall is the same in
    every plan of the window."""
    used = np.unique(data.candidate_slot[kept])
    slot_of = np.full(len(data.slots), -1, dtype=np.int64)
    slot_of[used] = np.arange(len(used))
    return cut(
        data,
        ModelData(
            instance=data.instance,
            slots=[data.slots[s] for s in used.tolist()],
            groups=data.groups,
            candidate_group=data.candidate_group[kept],
            candidate_slot=slot_of[data.candidate_slot[kept]],
            candidate_km=data.candidate_km[kept],
        ),
    )


STOP_POLL_SECONDS = 0.05
"""How often a pending stop request is passed to the solver."""


def _solve(
    solver: cp_model.CpSolver, model: cp_model.CpModel, stop: threading.Event | None
) -> cp_model.CpSolverStatus:
    """Solve, stopping within :data:`STOP_POLL_SECONDS` once ``stop`` is set."""
    if stop is None:
        return solver.solve(model)
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            if stop.wait(STOP_POLL_SECONDS):
                solver.stop_search()
                done.wait(STOP_POLL_SECONDS)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        return solver.solve(model)
    finally:
        done.set()
        watcher.join()
