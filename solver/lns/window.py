"""Re-plan a window of a plan: some candidates free, every other place of the plan held.

The window's model is the full model (:mod:`solver.model.constraints`) over the free
candidates and the places the plan holds, with the held ones fixed: every rule holds as in
the whole instance (the held places count towards rest, most shifts and days in a row), so
its plans are plans of the instance; what it proves holds for the window only.
"""

from __future__ import annotations

import threading

import numpy as np
import numpy.typing as npt
from ortools.sat.python import cp_model

from solver.domain import ObjectiveTerm
from solver.model.constraints import add_constraints
from solver.model.data import ModelData, restrict
from solver.model.evaluate import Evaluator
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
) -> IntArray:
    """Minimise the weighted shortfall over the candidates ``free`` with every other place of
    the plan of counts ``x`` held; return the best plan found (counts of ``data``), ``x``
    itself when CP-SAT finds nothing better within ``time_limit`` seconds or ``stop`` is set.

    ``parameters`` are ``SatParameters`` fields (workers, seed, presolve settings).
    """
    kept = np.union1d(np.flatnonzero(free), np.flatnonzero(x))
    window = restrict(data, kept.tolist())
    model = cp_model.CpModel()
    variables = make_variables(model, window)
    add_constraints(model, window, variables)
    terms = {t.name: t for t in objective_terms(model, window, variables)}
    if ObjectiveTerm.SHORTFALL not in terms:
        return x
    Stage((terms[ObjectiveTerm.SHORTFALL],), (1,)).minimize_in(model)
    proto, first = model.proto, variables.first
    held = ~free[kept]
    for j in np.flatnonzero(held).tolist():
        domain = proto.variables[first + j].domain
        domain.clear()
        domain.extend([int(x[kept[j]])] * 2)
    own = x[kept]
    hint = proto.solution_hint
    hint.vars.extend(range(first, first + len(kept)))
    hint.values.extend(own.tolist())
    assigned = Evaluator(window).assigned(own)
    for s, short in variables.shortfall.items():
        hint.vars.append(short.index)
        hint.values.append(max(0, window.slots[s].required - int(assigned[s])))

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
