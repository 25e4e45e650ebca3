"""Objective terms and their strict priorities.

Each term is a linear expression with a known range ``[0, upper]``. Terms are ranked by
``rules.priorities``; a term's weight exceeds the largest total that all lower-ranked terms can
reach, so no amount of a lower term ever buys one unit of a higher one:

    w[last] = 1,    w[k] = w[k+1] * (upper[k+1] + 1)

Where the weights of a whole ranking would pass :data:`MAX_STAGE_RANGE` (beyond which the
solver's floating-point bounds lose exactness), the ranking is cut into stages that are solved
in sequence, each stage fixing the value it reached before the next starts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ortools.sat.python import cp_model

from solver.domain import ObjectiveTerm
from solver.model.data import ModelData, is_reserve
from solver.model.variables import Variables

MAX_STAGE_RANGE = 2**50
"""Largest weighted range of one stage; keeps every objective value exact as a double."""


@dataclass(frozen=True)
class Term:
    """One objective term: its expression and the most it can be."""

    name: ObjectiveTerm
    expr: cp_model.LinearExprT
    upper: int


@dataclass(frozen=True)
class Stage:
    """Terms solved together with strict weights, most important first."""

    terms: tuple[Term, ...]
    weights: tuple[int, ...]

    @property
    def expr(self) -> cp_model.LinearExprT:
        """The weighted sum to minimise."""
        return sum(w * t.expr for w, t in zip(self.weights, self.terms, strict=True))


def _shortfall(data: ModelData, variables: Variables) -> Term:
    """Missing headcount, each person weighted by risk and ring of the slot."""
    expr = sum(data.slots[s].weight * v for s, v in variables.shortfall.items())
    upper = sum(data.slots[s].weight * data.slots[s].required for s in variables.shortfall)
    return Term(ObjectiveTerm.SHORTFALL, expr, upper)


def _tni(data: ModelData, variables: Variables) -> Term:
    """Headcount-shifts of reserve (TNI or standby) units."""
    units = data.instance.units
    expr = []
    shifts_of: dict[int, set[int]] = {}
    for c, candidate in enumerate(data.candidates):
        unit = units[candidate.unit]
        if is_reserve(unit):
            expr.append(unit.headcount * variables.assign[c])
            shifts_of.setdefault(candidate.unit, set()).add(data.slots[candidate.slot].shift)
    upper = sum(units[u].headcount * len(shifts) for u, shifts in shifts_of.items())
    return Term(ObjectiveTerm.TNI, sum(expr), upper)


def _travel(data: ModelData, variables: Variables) -> Term:
    """Kilometres from home base to venue, summed over unit-shifts."""
    expr = sum(c.km * variables.assign[i] for i, c in enumerate(data.candidates) if c.km)
    upper = sum(
        max(data.candidates[c].km for c in indices) for indices in data.by_unit_shift.values()
    )
    return Term(ObjectiveTerm.TRAVEL, expr, upper)


def _balance(model: cp_model.CpModel, data: ModelData, variables: Variables) -> Term:
    """The largest number of shifts any unit works."""
    per_unit: dict[int, list[cp_model.IntVar]] = {}
    for (unit, _shift), indices in data.by_unit_shift.items():
        per_unit.setdefault(unit, []).extend(variables.assign[c] for c in indices)
    shifts_of: dict[int, int] = {}
    for unit, _shift in data.by_unit_shift:
        shifts_of[unit] = shifts_of.get(unit, 0) + 1
    upper = max(shifts_of.values(), default=0)
    limit = data.instance.rules.max_shifts
    if limit is not None:
        upper = min(upper, limit)
    peak = model.new_int_var(0, upper, "peak_shifts_per_unit")
    for xs in per_unit.values():
        model.add(sum(xs) <= peak)
    variables.peak = peak
    return Term(ObjectiveTerm.BALANCE, peak, upper)


def _overstaffing(data: ModelData, variables: Variables) -> Term:
    """Headcount above the requirement, summed over slots.

    Per slot it is ``assigned + shortfall - required``, which equals ``max(0, assigned -
    required)`` once the shortfall is minimal and is never negative.
    """
    units = data.instance.units
    assigned = sum(
        units[c.unit].headcount * variables.assign[i] for i, c in enumerate(data.candidates)
    )
    required = sum(data.slots[s].required for s in variables.shortfall)
    expr = assigned + sum(variables.shortfall.values()) - required
    upper = 0
    for index, slot in enumerate(data.slots):
        reach = sum(units[data.candidates[c].unit].headcount for c in data.by_slot[index])
        upper += min(slot.capacity, reach)
    return Term(ObjectiveTerm.OVERSTAFFING, expr, upper)


def objective_terms(
    model: cp_model.CpModel,
    data: ModelData,
    variables: Variables,
    extra: Mapping[ObjectiveTerm, Term] | None = None,
) -> list[Term]:
    """The terms named in ``rules.priorities``, most important first.

    ``extra`` supplies terms built elsewhere (the disruption of a re-plan); a ranked term with
    no maker and no extra entry is zero.
    """
    extra = extra or {}
    makers = {
        ObjectiveTerm.SHORTFALL: lambda: _shortfall(data, variables),
        ObjectiveTerm.TNI: lambda: _tni(data, variables),
        ObjectiveTerm.TRAVEL: lambda: _travel(data, variables),
        ObjectiveTerm.BALANCE: lambda: _balance(model, data, variables),
        ObjectiveTerm.OVERSTAFFING: lambda: _overstaffing(data, variables),
    }
    terms = []
    for name in data.instance.rules.priorities:
        if name in extra:
            terms.append(extra[name])
        elif name in makers:
            terms.append(makers[name]())
        else:
            terms.append(Term(name, 0, 0))
    return terms


def strict_weights(uppers: list[int]) -> list[int]:
    """Weights that make each term dominate all later ones: ``w[k] > sum(w[j] * upper[j])``."""
    weights = [1] * len(uppers)
    for k in range(len(uppers) - 2, -1, -1):
        weights[k] = weights[k + 1] * (uppers[k + 1] + 1)
    return weights


def make_stages(terms: list[Term], max_range: int = MAX_STAGE_RANGE) -> list[Stage]:
    """Cut the ranked terms into as few stages as keep each stage's range under ``max_range``.

    Terms whose range is zero cannot change the plan's ranking and are dropped.
    """
    stages: list[Stage] = []
    current: list[Term] = []
    for term in terms:
        if term.upper == 0:
            continue
        trial = [*current, term]
        weights = strict_weights([t.upper for t in trial])
        if current and weights[0] * (trial[0].upper + 1) > max_range:
            stages.append(Stage(tuple(current), tuple(strict_weights([t.upper for t in current]))))
            current = [term]
        else:
            current = trial
    if current:
        stages.append(Stage(tuple(current), tuple(strict_weights([t.upper for t in current]))))
    return stages
