"""ringplan's model as a mixed-integer programme, solved by HiGHS.

The same candidates (from :func:`solver.model.data.build_data`), the same rules and the same
objective terms as ringplan's CP-SAT model:

- ``x[c]`` binary per candidate assignment, ``short[s]`` integer per slot with a requirement,
  ``day_on[u, d]`` binary (consecutive-days rule only), ``peak`` integer (balance term);
- per unit and rest clique: ``sum x <= 1`` (one place per shift, rest);
- per slot: ``sum headcount * x <= capacity`` and ``sum headcount * x + short >= required``;
- per unit: most shifts, shifts per 24 hours, consecutive days, ``sum x <= peak``.

The strict priorities are solved lexicographically, one term per stage (big-M weights of 10^20
would wreck a floating-point solver): minimise the first term, add ``term <= value``, go on to
the next term from the plan found, until the budget runs out.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from benchmarks.baselines import Outcome
from solver import Instance, ObjectiveTerm
from solver.model.constraints import day_cliques, rest_cliques
from solver.model.data import ModelData, build_data, is_reserve
from solver.report import plan_from_vector

STAGE_SHARE = 0.6
"""Share of the remaining budget one stage may use when later stages follow."""


@dataclass
class LinearModel:
    """Columns with bounds and integrality, rows in CSR form, and one cost vector per term."""

    lower: list[float] = field(default_factory=list)
    upper: list[float] = field(default_factory=list)
    starts: list[int] = field(default_factory=lambda: [0])
    indices: list[int] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    row_lower: list[float] = field(default_factory=list)
    row_upper: list[float] = field(default_factory=list)
    costs: dict[ObjectiveTerm, dict[int, float]] = field(default_factory=dict)
    offsets: dict[ObjectiveTerm, float] = field(default_factory=dict)
    """Constant part of a term (the overstaffing term's ``-sum(required)``)."""

    def column(self, lower: float, upper: float) -> int:
        self.lower.append(lower)
        self.upper.append(upper)
        return len(self.lower) - 1

    def row(self, terms: list[tuple[int, float]], lower: float, upper: float) -> None:
        for column, value in terms:
            self.indices.append(column)
            self.values.append(value)
        self.starts.append(len(self.indices))
        self.row_lower.append(lower)
        self.row_upper.append(upper)


def build_mip(data: ModelData, *, day_cliques_rows: bool = False) -> tuple[LinearModel, int]:
    """The MIP of ``data``; returns it and the number of assignment columns (the first ones).

    The consecutive-days rule forces a unit's duty-day flag with one big-M row per day, as a
    first MIP model would; ``day_cliques_rows`` writes it as ringplan's CP-SAT model does, one
    row per part of a rest clique within the day (see
    :func:`solver.model.constraints.day_cliques`), whose linear relaxation is much tighter.
    """
    inf = np.inf
    instance, rules = data.instance, data.instance.rules
    units = instance.units
    m = LinearModel()
    n = data.n_candidates
    for _ in range(n):
        m.column(0, 1)
    # The per-unit model: every group is one unit.
    unit_of = [group.members[0] for group in data.groups]
    headcount = [units[unit_of[c.group]].headcount for c in data.candidates]

    by_unit: dict[int, dict[int, list[int]]] = defaultdict(dict)
    for (g, s), cands in data.by_group_shift.items():
        by_unit[unit_of[g]][s] = cands

    # One place per shift and rest: one row per unit and rest clique.
    cliques = rest_cliques(data)
    parts = day_cliques(data, cliques)
    for shifts in by_unit.values():
        for clique in cliques:
            cols = [c for s in clique for c in shifts.get(s, ())]
            if len(cols) > 1:
                m.row([(c, 1.0) for c in cols], -inf, 1)

    # Capacity and coverage per slot.
    short: dict[int, int] = {}
    for index, slot in enumerate(data.slots):
        cols = data.by_slot[index]
        terms = [(c, float(headcount[c])) for c in cols]
        if sum(headcount[c] for c in cols) > slot.capacity:
            m.row(terms, -inf, slot.capacity)
        if slot.required > 0:
            short[index] = m.column(0, slot.required)
            m.row([*terms, (short[index], 1.0)], slot.required, inf)

    # How much one unit may work.
    for shifts in by_unit.values():
        every = [c for cands in shifts.values() for c in cands]
        if rules.max_shifts is not None and len(shifts) > rules.max_shifts:
            m.row([(c, 1.0) for c in every], -inf, rules.max_shifts)
        if rules.max_shifts_per_24h is not None:
            for window in data.windows_24h:
                present = [s for s in window if s in shifts]
                if len(present) > rules.max_shifts_per_24h:
                    cols = [c for s in present for c in shifts[s]]
                    m.row([(c, 1.0) for c in cols], -inf, rules.max_shifts_per_24h)
        limit = rules.max_consecutive_days
        if limit is not None and len(data.days) > limit:
            by_day: dict[int, list[int]] = defaultdict(list)
            for s, cands in shifts.items():
                by_day[data.shift_day[s]].extend(cands)
            if len(by_day) > limit:
                flags = {}
                for day, cols in by_day.items():
                    flags[day] = m.column(0, 1)
                    if not day_cliques_rows:
                        m.row([*[(c, 1.0) for c in cols], (flags[day], -len(cols))], -inf, 0)
                        continue
                    for part in parts[day]:
                        in_part = [c for s in part for c in shifts.get(s, ())]
                        if in_part:
                            m.row([*[(c, 1.0) for c in in_part], (flags[day], -1.0)], -inf, 0)
                for first in range(len(data.days) - limit):
                    run = [flags[d] for d in range(first, first + limit + 1) if d in flags]
                    if len(run) > limit:
                        m.row([(f, 1.0) for f in run], -inf, limit)

    # Objective terms, as in solver.model.objective.
    m.costs[ObjectiveTerm.SHORTFALL] = {col: data.slots[s].weight for s, col in short.items()}
    m.costs[ObjectiveTerm.TNI] = {
        c: headcount[c]
        for c, cand in enumerate(data.candidates)
        if is_reserve(units[unit_of[cand.group]])
    }
    m.costs[ObjectiveTerm.TRAVEL] = {
        c: cand.km for c, cand in enumerate(data.candidates) if cand.km
    }
    peak = m.column(0, inf)
    for shifts in by_unit.values():
        every = [c for cands in shifts.values() for c in cands]
        m.row([*[(c, 1.0) for c in every], (peak, -1.0)], -inf, 0)
    m.costs[ObjectiveTerm.BALANCE] = {peak: 1.0}
    over: dict[int, float] = {c: float(headcount[c]) for c in range(n)}
    over.update({col: 1.0 for col in short.values()})
    m.costs[ObjectiveTerm.OVERSTAFFING] = over
    m.offsets[ObjectiveTerm.OVERSTAFFING] = -float(sum(data.slots[s].required for s in short))
    return m, n


def _solve_stages(
    data: ModelData,
    model: LinearModel,
    n: int,
    budget: tuple[float, float, int],
    outcome: Outcome,
) -> npt.NDArray[np.float64] | None:
    """Solve the stages in priority order; ``budget`` is (start, time limit, seed)."""
    start, time_limit, seed = budget
    import highspy

    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("mip_rel_gap", 0.0)
    h.setOptionValue("random_seed", seed)

    def on_improving(*_: object) -> None:
        # Every incumbent of any stage keeps every rule, so the first one is a complete plan.
        if outcome.first_solution_time is None:
            outcome.first_solution_time = time.perf_counter() - start

    h.setCallback(on_improving, None)
    h.startCallback(highspy.cb.HighsCallbackType.kCallbackMipImprovingSolution)
    ncols = len(model.lower)
    h.addVars(ncols, np.array(model.lower), np.array(model.upper))
    h.changeColsIntegrality(
        ncols,
        np.arange(ncols, dtype=np.int32),
        np.full(ncols, int(highspy.HighsVarType.kInteger), dtype=np.uint8),
    )
    h.addRows(
        len(model.row_lower),
        np.array(model.row_lower),
        np.array(model.row_upper),
        len(model.indices),
        np.array(model.starts[:-1], dtype=np.int32),
        np.array(model.indices, dtype=np.int32),
        np.array(model.values, dtype=np.float64),
    )
    outcome.build_time = time.perf_counter() - start
    deadline = start + time_limit
    best: npt.NDArray[np.float64] | None = None
    order = [t for t in data.instance.rules.priorities if model.costs.get(t)]
    for index, term in enumerate(order):
        remaining = deadline - time.perf_counter()
        if remaining <= 0.05:
            break
        last = index + 1 == len(order)
        h.setOptionValue("time_limit", remaining if last else remaining * STAGE_SHARE)
        cost = np.zeros(ncols)
        for col, value in model.costs[term].items():
            cost[col] = value
        h.changeColsCost(ncols, np.arange(ncols, dtype=np.int32), cost)
        if best is not None:
            h.setSolution(ncols, np.arange(ncols, dtype=np.int32), best)
        h.run()
        status = h.getModelStatus()
        info = h.getInfo()
        if info.primal_solution_status != int(highspy.SolutionStatus.kSolutionStatusFeasible):
            break
        best = np.array(h.getSolution().col_value)
        elapsed = time.perf_counter() - start
        if outcome.first_solution_time is None:
            outcome.first_solution_time = elapsed
        outcome.plans.append((elapsed, plan_from_vector(data, _rounded(best[:n]))))
        optimal = status == highspy.HighsModelStatus.kOptimal
        value = float(np.round(cost @ best))
        lower = min(value, info.mip_dual_bound) if np.isfinite(info.mip_dual_bound) else 0.0
        offset = model.offsets.get(term, 0.0)
        outcome.stage_bounds.append((term.value, lower + offset, optimal))
        # Later stages keep what this one reached.
        cols = [(col, v) for col, v in model.costs[term].items()]
        h.addRow(
            -np.inf,
            value + 0.5,
            len(cols),
            np.array([c for c, _ in cols], dtype=np.int32),
            np.array([v for _, v in cols], dtype=np.float64),
        )
    return best


def _rounded(x: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
    return (x > 0.5).astype(np.int64)


def run_highs(instance: Instance, *, time_limit: float, workers: int, seed: int) -> Outcome:
    """Solve ``instance`` with HiGHS within ``time_limit`` seconds (model building included).

    ``workers`` is not used: HiGHS's branch and bound runs on one thread.
    """
    start = time.perf_counter()
    data = build_data(instance, grouped=False)
    model, n = build_mip(data)
    outcome = Outcome(status="no_solution", plan=None, build_time=0.0, first_solution_time=None)
    best = _solve_stages(data, model, n, (start, time_limit, seed), outcome)
    if best is None:
        return outcome
    x = _rounded(best[:n])
    outcome.plan = plan_from_vector(data, x)
    proven = len(outcome.stage_bounds) == len(
        [t for t in instance.rules.priorities if model.costs.get(t)]
    ) and all(optimal for _, _, optimal in outcome.stage_bounds)
    outcome.status = "optimal" if proven else "feasible"
    return outcome
