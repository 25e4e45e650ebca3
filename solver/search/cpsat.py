"""CP-SAT models of an instance and one stage's search on them.

A :class:`StageModel` is one CP-SAT model (fine, coarse, a neighbourhood or a shift's window)
with its objective terms; :func:`run_stage` searches it under a time limit, stoppable from
outside; :class:`StageCallback` hands each improving solution to the incumbent keeper.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

import numpy as np
from ortools.sat.python import cp_model

from solver.domain import ObjectiveTerm
from solver.model.constraints import add_constraints
from solver.model.data import ModelData, restrict
from solver.model.disruption import Baseline, add_baseline
from solver.model.evaluate import Evaluator
from solver.model.hint import add_hint as add_hint  # re-exported: callers hint stage models
from solver.model.objective import Stage, Term, objective_terms
from solver.model.variables import Variables, make_variables
from solver.search.counts import Counts, recount
from solver.search.incumbent import Incumbent

STOP_POLL_SECONDS = 0.05
"""How often a pending stop request is re-sent to the solver."""


@dataclass
class StageModel:
    """One CP-SAT model of the instance and the stages solved on it."""

    data: ModelData
    model: cp_model.CpModel
    variables: Variables
    terms: list[Term]
    evaluator: Evaluator
    fine: ModelData | None = None
    """The model data plans are judged on, when this model pools more coarsely or holds only
    some of its candidates."""
    kept: Counts | None = None
    """For a neighbourhood of the fine model: the fine index of each of its candidates. What
    such a model proves holds for the neighbourhood only, not for the instance."""

    @property
    def n(self) -> int:
        """Candidates of the model (its assignment variables)."""
        return len(self.variables.assign)

    def fine_vector(self, x: Counts) -> Counts:
        """``x`` as counts of the fine model (the same vector when this model is fine)."""
        if self.fine is None:
            return x
        if self.kept is not None:
            full = np.zeros(self.fine.n_candidates, dtype=np.int64)
            full[self.kept] = x
            return full
        return recount(self.data, self.fine, x)

    def own_vector(self, x: Counts) -> Counts:
        """Counts of the fine model as this model's own."""
        if self.fine is None:
            return x
        if self.kept is not None:
            return x[self.kept]
        return recount(self.fine, self.data, x)

    def hint(self, x: Counts) -> None:
        """Hint the fine counts ``x`` to this model."""
        self.hint_own(self.own_vector(x))

    def hint_own(self, x: Counts) -> None:
        """Hint counts ``x`` of this model's own data."""
        add_hint(self.model, self.data, self.variables, x)

    def same_stage(self, stage: Stage) -> Stage:
        """``stage`` (of another model) over the terms of the same names in this one."""
        by_name = {t.name: t for t in self.terms}
        return Stage(tuple(by_name[t.name] for t in stage.terms), stage.weights)


def build_model(data: ModelData, baseline: Baseline | None = None) -> StageModel:
    """The CP-SAT model of ``data``: variables, every rule, and the objective terms (with the
    disruption against ``baseline`` in a re-plan)."""
    model = cp_model.CpModel()
    variables = make_variables(model, data)
    add_constraints(model, data, variables)
    if baseline is None:
        terms = objective_terms(model, data, variables)
        return StageModel(data, model, variables, terms, Evaluator(data))
    disruption, evaluator = add_baseline(model, data, variables, baseline)
    terms = objective_terms(model, data, variables, {ObjectiveTerm.DISRUPTION: disruption})
    return StageModel(data, model, variables, terms, evaluator)


def shift_window(data: ModelData, x: Counts, shift: int) -> StageModel:
    """The model of one shift's window of the plan ``x``: every candidate of ``shift`` free,
    the places ``x`` holds in other shifts fixed, nothing else. Every rule holds as in the
    full model (the fixed places count towards rest, most shifts, days in a row and balance);
    its plans are plans of the instance, its bounds only of the window."""
    inside = data.slot_shifts()[data.candidate_slot] == shift
    kept = np.union1d(np.flatnonzero(inside), np.flatnonzero(x))
    window = build_model(restrict(data, kept.tolist()))
    first, variables = window.variables.first, window.model.proto.variables
    for j in np.flatnonzero(~inside[kept]).tolist():
        domain = variables[first + j].domain
        domain.clear()
        domain.extend([int(x[kept[j]])] * 2)
    window.fine, window.kept = data, kept
    return window


def neighbourhood_model(
    data: ModelData, coarse: ModelData, best: Counts | None, above: int | None
) -> StageModel:
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
        return build_model(data)
    coarse_of = coarse.group_of_unit()
    key = [coarse_of.get(group.members[0], -1) for group in data.groups]
    used = {(key[data.candidates[c].group], data.candidates[c].slot) for c in np.flatnonzero(best)}
    kept = [c for c, cand in enumerate(data.candidates) if (key[cand.group], cand.slot) in used]
    around = build_model(restrict(data, kept))
    around.fine, around.kept = data, np.array(kept, dtype=np.int64)
    return around


def solution_vector(response: object, n: int) -> Counts:
    """The first ``n`` solution values (the assignment booleans) of a CP-SAT response."""
    values = response.solution  # type: ignore[attr-defined]
    return np.fromiter(values, dtype=np.int64, count=len(values))[:n]


class StageCallback(cp_model.CpSolverSolutionCallback):
    """Offers each improving solution; lifts the overall bound from the stage's bound."""

    def __init__(
        self, keeper: Incumbent, stage_model: StageModel, stage: int, prefix: int, multiplier: int
    ) -> None:
        super().__init__()
        self._keeper, self._model, self._stage = keeper, stage_model, stage
        self._prefix, self._multiplier = prefix, multiplier

    def on_solution_callback(self) -> None:
        if self._model.kept is None:  # a neighbourhood's bound is no bound of the instance
            stage_bound = math.ceil(self.best_objective_bound - 1e-6)
            bound = self._prefix + stage_bound * self._multiplier
            self._keeper.bound = max(self._keeper.bound, bound)
        x = self._model.fine_vector(solution_vector(self.response_proto, self._model.n))
        self._keeper.offer(x, self._stage)


def run_stage(
    model: cp_model.CpModel,
    callback: StageCallback,
    parameters: dict[str, object],
    time_limit: float,
    stop: threading.Event | None,
) -> tuple[cp_model.CpSolver, cp_model.CpSolverStatus]:
    """Search ``model`` with ``parameters`` for at most ``time_limit`` seconds; a set ``stop``
    ends the search within :data:`STOP_POLL_SECONDS`."""
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


def stage_value(keeper: Incumbent, stage: Stage) -> int:
    """The stage's objective for the best plan so far."""
    assert keeper.best_x is not None
    values = keeper.evaluator.terms(keeper.best_x)
    return sum(w * values[t.name] for w, t in zip(stage.weights, stage.terms, strict=True))


def keep_reached(
    stage_model: StageModel, reached: list[tuple[Stage, int]], keeper: Incumbent
) -> None:
    """Make a newly built model keep what the stages before it reached, and start it from the
    best plan so far."""
    for done, value in reached:
        stage_model.same_stage(done).keep_at_most(stage_model.model, value)
    if keeper.best_x is not None:
        stage_model.hint(keeper.best_x)


def stage_names(stage: Stage) -> str:
    """The names of the stage's terms, for a log line."""
    return ", ".join(t.name.value for t in stage.terms)
