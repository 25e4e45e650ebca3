"""One yardstick for every planner: ringplan's objective, evaluated on a plan.

A baseline's plan is turned into ringplan's candidate vector and evaluated term by term with the
model's own evaluator; the terms are combined with the same strict weights ringplan's result
uses, so that a baseline's objective and ringplan's are directly comparable.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ortools.sat.python import cp_model

from solver import Instance, ObjectiveTerm, Plan, check_plan
from solver.model.data import ModelData, build_data, great_circle_km, is_reserve
from solver.model.evaluate import Evaluator
from solver.model.objective import objective_terms, strict_weights
from solver.model.variables import make_variables
from solver.search.counts import hint_vector


@dataclass(frozen=True)
class Score:
    """A plan under ringplan's objective."""

    objective: int
    """Weighted total over the ranked terms, as in :attr:`solver.Result.objective`."""
    terms: dict[ObjectiveTerm, int]
    """Each term's value."""
    weights: dict[ObjectiveTerm, int] = field(default_factory=dict)
    """Each term's strict weight."""


def term_weights(data: ModelData) -> dict[ObjectiveTerm, int]:
    """The strict weight of each ranked term, exactly as ringplan's solve computes them."""
    model = cp_model.CpModel()
    terms = objective_terms(model, data, make_variables(model, data))
    weights = strict_weights([t.upper for t in terms])
    return {t.name: w for t, w in zip(terms, weights, strict=True)}


def score_plan(instance: Instance, plan: Plan, data: ModelData | None = None) -> Score:
    """Evaluate ``plan`` with ringplan's objective.

    Parameters
    ----------
    instance
        The instance the plan is for.
    plan
        Any plan; assignments that are not candidates of ringplan's model (they break a hard
        rule) are left out, so check the plan with :func:`solver.check_plan` as well.
    data
        ``build_data(instance)``, if already at hand.

    Returns
    -------
    Score
        The weighted objective and each term's value.
    """
    data = data if data is not None else build_data(instance, grouped=False)
    weights = term_weights(data)
    terms = Evaluator(data).terms(hint_vector(data, plan))
    objective = sum(weights[t] * terms[t] for t in weights)
    return Score(objective=objective, terms=terms, weights=weights)


def plan_terms(instance: Instance, plan: Plan) -> dict[ObjectiveTerm, int]:
    """Each objective term of ``plan``, computed from the plan and the checker's coverage alone.

    Needs no model data, so it works on instances whose candidate list would not fit in memory;
    on a plan that keeps every hard rule it agrees with ringplan's evaluator.
    """
    rules = instance.rules
    report = check_plan(instance, plan)
    venues = {venue.id: venue for venue in instance.venues}
    units = {unit.id: unit for unit in instance.units}
    shortfall = over = 0
    for (venue_id, ring, shift), row in report.coverage.items():
        risk = venues[venue_id].risk_at(shift)
        shortfall += row.shortfall * rules.risk_weights[risk] * rules.ring_weights[ring]
        over += max(0, row.assigned - row.required)
    tni = travel = 0
    shifts_of: dict[str, int] = {}
    for a in plan.assignments:
        unit, venue = units[a.unit], venues[a.venue]
        if is_reserve(unit):
            tni += unit.headcount
        home = unit.home.location
        travel += round(great_circle_km(home.lat, home.lon, venue.location.lat, venue.location.lon))
        shifts_of[a.unit] = shifts_of.get(a.unit, 0) + 1
    return {
        ObjectiveTerm.SHORTFALL: shortfall,
        ObjectiveTerm.TNI: tni,
        ObjectiveTerm.TRAVEL: travel,
        ObjectiveTerm.BALANCE: max(shifts_of.values(), default=0),
        ObjectiveTerm.OVERSTAFFING: over,
    }
