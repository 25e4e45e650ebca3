"""The textbook CP-SAT model: one boolean per unit x venue x ring x shift, nothing clever.

No pruning: every combination gets a variable, and those that break availability, force or
type eligibility, the travel limit or the ring's capacity are forbidden by a constraint rather
than left out. Rest is one row per unit and pair of conflicting shifts (no cliques). CP-SAT
runs its stock portfolio (no ``max_lp`` worker). The strict priorities are solved in stages,
one term per stage, each fixing the value it reached.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict

from ortools.sat.python import cp_model

from benchmarks.baselines import Outcome
from solver import Assignment, Instance, ObjectiveTerm, Plan
from solver.model.data import (
    great_circle_km,
    is_reserve,
    required_headcount,
    shift_days,
    shift_relations,
)

MAX_VARIABLES = 5_000_000
"""Above this many booleans the model is not built (it would not fit in memory here)."""

STAGE_SHARE = 0.6
"""Share of the remaining budget one stage may use when later stages follow."""

Key = tuple[int, int, int, int]
"""(unit, venue, ring index, shift)."""


class _FirstSolution(cp_model.CpSolverSolutionCallback):
    """Notes when the first solution of the whole run appears."""

    def __init__(self, outcome: Outcome, start: float) -> None:
        super().__init__()
        self._outcome, self._start = outcome, start

    def on_solution_callback(self) -> None:
        if self._outcome.first_solution_time is None:
            self._outcome.first_solution_time = time.perf_counter() - self._start


def _build(
    instance: Instance,
) -> tuple[cp_model.CpModel, dict[Key, cp_model.IntVar], dict[ObjectiveTerm, cp_model.LinearExprT]]:
    rules = instance.rules
    units, venues, shifts = instance.units, instance.venues, instance.shifts
    model = cp_model.CpModel()
    x: dict[Key, cp_model.IntVar] = {}
    for u in range(len(units)):
        for v, venue in enumerate(venues):
            for r in range(len(venue.rings)):
                for s in range(len(shifts)):
                    x[u, v, r, s] = model.new_bool_var(f"x[{u},{v},{r},{s}]")

    # Eligibility, by constraints rather than by leaving variables out.
    distance: dict[tuple[int, int], float] = {}
    for u, unit in enumerate(units):
        limit = unit.max_travel_km if unit.max_travel_km is not None else rules.max_travel_km
        home = unit.home.location
        for v, venue in enumerate(venues):
            km = great_circle_km(home.lat, home.lon, venue.location.lat, venue.location.lon)
            distance[u, v] = km
            for r, ring in enumerate(venue.rings):
                banned = (
                    (limit is not None and km > limit)
                    or unit.force not in ring.allowed_forces
                    or (ring.allowed_types is not None and unit.type not in ring.allowed_types)
                    or unit.headcount > ring.capacity
                )
                for s, shift in enumerate(shifts):
                    if banned or not _available(unit, shift):
                        model.add(x[u, v, r, s] == 0)

    # One place per shift; rest as pairwise rows.
    conflicts, windows = shift_relations(instance)
    days, shift_day = shift_days(instance)
    on: dict[tuple[int, int], list[cp_model.IntVar]] = defaultdict(list)
    for (u, _v, _r, s), var in x.items():
        on[u, s].append(var)
    for u in range(len(units)):
        for s in range(len(shifts)):
            model.add_at_most_one(on[u, s])
        for a, b in conflicts:
            model.add(sum(on[u, a]) + sum(on[u, b]) <= 1)
        every = [var for s in range(len(shifts)) for var in on[u, s]]
        if rules.max_shifts is not None:
            model.add(sum(every) <= rules.max_shifts)
        if rules.max_shifts_per_24h is not None:
            for window in windows:
                model.add(sum(var for s in window for var in on[u, s]) <= rules.max_shifts_per_24h)
        limit = rules.max_consecutive_days
        if limit is not None and len(days) > limit:
            flags = [model.new_bool_var(f"day_on[{u},{d}]") for d in range(len(days))]
            for s in range(len(shifts)):
                for var in on[u, s]:
                    model.add_implication(var, flags[shift_day[s]])
            for first in range(len(days) - limit):
                model.add(sum(flags[first : first + limit + 1]) <= limit)

    # Capacity, coverage and the objective terms.
    shortfall: list[cp_model.LinearExprT] = []
    over: list[cp_model.LinearExprT] = []
    tni: list[cp_model.LinearExprT] = []
    travel: list[cp_model.LinearExprT] = []
    peak = model.new_int_var(0, len(shifts), "peak")
    for u in range(len(units)):
        model.add(sum(var for s in range(len(shifts)) for var in on[u, s]) <= peak)
    for v, venue in enumerate(venues):
        for r, ring in enumerate(venue.rings):
            for s, shift in enumerate(shifts):
                risk = venue.risk_at(shift.id)
                need = required_headcount(ring.min_headcount, rules.risk_multipliers[risk])
                staffed = sum(units[u].headcount * x[u, v, r, s] for u in range(len(units)))
                model.add(staffed <= ring.capacity)
                if need > 0:
                    short = model.new_int_var(0, need, f"short[{v},{r},{s}]")
                    model.add(staffed + short >= need)
                    weight = rules.risk_weights[risk] * rules.ring_weights[ring.number]
                    shortfall.append(weight * short)
                    over.append(staffed + short - need)
                else:
                    over.append(staffed)
    for (u, v, _r, _s), var in x.items():
        unit = units[u]
        if is_reserve(unit):
            tni.append(unit.headcount * var)
        km = round(distance[u, v])
        if km:
            travel.append(km * var)
    terms: dict[ObjectiveTerm, cp_model.LinearExprT] = {
        ObjectiveTerm.SHORTFALL: sum(shortfall),
        ObjectiveTerm.TNI: sum(tni),
        ObjectiveTerm.TRAVEL: sum(travel),
        ObjectiveTerm.BALANCE: peak,
        ObjectiveTerm.OVERSTAFFING: sum(over),
    }
    return model, x, terms


def _available(unit: object, shift: object) -> bool:
    from solver.domain import Shift, Unit

    assert isinstance(unit, Unit) and isinstance(shift, Shift)
    if unit.available_shifts is not None and shift.id not in unit.available_shifts:
        return False
    if unit.available_windows is None:
        return True
    return any(w.start <= shift.start and shift.end <= w.end for w in unit.available_windows)


def _plan(instance: Instance, x: dict[Key, cp_model.IntVar], solver: cp_model.CpSolver) -> Plan:
    rows = []
    for (u, v, r, s), var in x.items():
        if solver.value(var):
            venue = instance.venues[v]
            rows.append(
                Assignment(
                    unit=instance.units[u].id,
                    venue=venue.id,
                    ring=venue.rings[r].number,
                    shift=instance.shifts[s].id,
                )
            )
    return Plan(assignments=tuple(rows))


def run_naive_cpsat(instance: Instance, *, time_limit: float, workers: int, seed: int) -> Outcome:
    """Solve ``instance`` with the naive model within ``time_limit`` seconds (building included)."""
    start = time.perf_counter()
    size = len(instance.units) * sum(len(v.rings) for v in instance.venues) * len(instance.shifts)
    outcome = Outcome(status="no_solution", plan=None, build_time=0.0, first_solution_time=None)
    if size > MAX_VARIABLES:
        outcome.status = "too_large"
        outcome.note = f"{size:,} booleans, more than {MAX_VARIABLES:,}"
        return outcome
    model, x, terms = _build(instance)
    outcome.build_time = time.perf_counter() - start
    deadline = start + time_limit
    callback = _FirstSolution(outcome, start)
    order = list(instance.rules.priorities)
    proven = True
    for index, term in enumerate(order):
        remaining = deadline - time.perf_counter()
        if remaining <= 0.05:
            proven = False
            break
        last = index + 1 == len(order)
        solver = cp_model.CpSolver()
        solver.parameters.num_workers = max(1, workers)
        solver.parameters.random_seed = seed
        solver.parameters.max_time_in_seconds = remaining if last else remaining * STAGE_SHARE
        model.minimize(terms[term])
        status = solver.solve(model, callback)
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            proven = False
            break
        value = round(solver.objective_value)
        optimal = status == cp_model.OPTIMAL
        proven = proven and optimal
        outcome.stage_bounds.append((term.value, math.floor(solver.best_objective_bound), optimal))
        outcome.plan = _plan(instance, x, solver)
        outcome.plans.append((time.perf_counter() - start, outcome.plan))
        # Later stages keep what this one reached; start them from this plan.
        model.add(terms[term] <= value)
        model.clear_hints()  # type: ignore[no-untyped-call]
        for var in x.values():
            model.add_hint(var, solver.value(var))
    if outcome.plan is not None:
        outcome.status = (
            "optimal" if proven and len(outcome.stage_bounds) == len(order) else "feasible"
        )
    return outcome
