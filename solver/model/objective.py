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

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from ortools.sat.python import cp_model

from solver.domain import ObjectiveTerm
from solver.model.data import ModelData
from solver.model.rows import INT_MIN, Rows
from solver.model.variables import Variables

MAX_STAGE_RANGE = 2**50
"""Largest weighted range of one stage; keeps every objective value exact as a double."""


Ints = Sequence[int] | npt.NDArray[np.integer]
"""Integers as a list or a numpy array."""


@dataclass(frozen=True)
class Term:
    """One objective term, ``offset + sum(coefficients[i] * x[indices[i]])`` over model
    variable indices, and the most it can be.

    Kept as indices and coefficients rather than an expression: a stage's weighted sum is then
    merged per variable and written into the model in bulk (see :class:`Stage`), with no
    Python object per variable.
    """

    name: ObjectiveTerm
    indices: Ints
    coefficients: Ints
    upper: int
    offset: int = 0


@dataclass(frozen=True)
class Stage:
    """Terms solved together with strict weights, most important first."""

    terms: tuple[Term, ...]
    weights: tuple[int, ...]

    def linear(self) -> tuple[list[int], list[int], int]:
        """The weighted sum as ``(indices, coefficients, offset)``, one coefficient per
        variable (terms that share a variable are merged), zero coefficients left out."""
        indices, coefficients = [], []
        offset = 0
        for weight, term in zip(self.weights, self.terms, strict=True):
            offset += weight * term.offset
            indices.append(np.asarray(term.indices, dtype=np.int64))
            coefficients.append(np.asarray(term.coefficients, dtype=np.int64) * weight)
        index = np.concatenate(indices) if indices else np.zeros(0, dtype=np.int64)
        coefficient = np.concatenate(coefficients) if coefficients else index
        variables, where = np.unique(index, return_inverse=True)
        merged = np.zeros(len(variables), dtype=np.int64)
        np.add.at(merged, where, coefficient)
        nonzero = merged != 0
        return variables[nonzero].tolist(), merged[nonzero].tolist(), offset

    def minimize_in(self, model: cp_model.CpModel) -> None:
        """Make the weighted sum the objective of ``model``, written into its proto in bulk
        (CP-SAT's ``minimize`` reads a flattened expression back one variable at a time)."""
        indices, coefficients, offset = self.linear()
        model.clear_objective()  # type: ignore[no-untyped-call]
        objective = model.proto.objective
        objective.vars.extend(indices)
        objective.coeffs.extend(coefficients)
        objective.offset = offset
        objective.scaling_factor = 1.0

    def keep_at_most(self, model: cp_model.CpModel, value: int) -> None:
        """Add the row ``weighted sum <= value``: later stages keep what this one reached."""
        indices, coefficients, offset = self.linear()
        Rows(model).linear(indices, coefficients, INT_MIN, value - offset)


def _shortfall(data: ModelData, variables: Variables) -> Term:
    """Missing headcount, each person weighted by risk and ring of the slot."""
    shortfall = variables.shortfall
    weights = [data.slots[s].weight for s in shortfall]
    indices = [v.index for v in shortfall.values()]
    return Term(ObjectiveTerm.SHORTFALL, indices, weights, _shortfall_upper(data))


def _shortfall_upper(data: ModelData) -> int:
    return sum(slot.weight * slot.required for slot in data.slots)


def _tni(data: ModelData, variables: Variables) -> Term:
    """Headcount-shifts of reserve (TNI or standby) units."""
    reserve_group = np.array([g.reserve for g in data.groups], dtype=bool)
    reserve = np.flatnonzero(reserve_group[data.candidate_group])
    return Term(
        ObjectiveTerm.TNI,
        reserve + variables.first,
        data.candidate_headcount()[reserve],
        _tni_upper(data),
    )


def _tni_upper(data: ModelData) -> int:
    groups = data.groups
    return sum(
        groups[g].headcount * groups[g].size
        for g, _shift in data.by_group_shift
        if groups[g].reserve
    )


def _travel(data: ModelData, variables: Variables) -> Term:
    """Kilometres from home base to venue, summed over unit-shifts."""
    km = data.candidate_km
    moved = np.flatnonzero(km)
    return Term(ObjectiveTerm.TRAVEL, moved + variables.first, km[moved], _travel_upper(data))


def _travel_upper(data: ModelData) -> int:
    """Every unit in its farthest candidate slot in each shift it can work."""
    if not data.n_candidates:
        return 0
    n_shifts = len(data.instance.shifts)
    key = data.candidate_group * n_shifts + data.slot_shifts()[data.candidate_slot]
    farthest = np.zeros(len(data.groups) * n_shifts, dtype=np.int64)
    np.maximum.at(farthest, key, data.candidate_km)
    sizes = np.array([group.size for group in data.groups], dtype=np.int64)
    return int((farthest.reshape(len(data.groups), n_shifts).sum(axis=1) * sizes).sum())


def _balance(model: cp_model.CpModel, data: ModelData, variables: Variables) -> Term:
    """The largest number of shifts any unit works.

    A group of k units whose counts sum to n has a busiest unit with ``ceil(n / k)`` shifts
    (see :mod:`solver.model.groups`), hence ``n <= k * peak``.
    """
    order = np.argsort(data.candidate_group, kind="stable")
    groups, starts = np.unique(data.candidate_group[order], return_index=True)
    indices = (order + variables.first).tolist()
    ends = [*starts[1:].tolist(), len(indices)] if len(indices) else []
    upper = _balance_upper(data)
    peak = model.new_int_var(0, upper, "peak_shifts_per_unit")
    rows = Rows(model)
    for group, a, b in zip(groups.tolist(), starts.tolist(), ends, strict=True):
        # sum(xs) - k * peak <= 0
        rows.linear(
            [*indices[a:b], peak.index], [1] * (b - a) + [-data.groups[group].size], INT_MIN, 0
        )
    variables.peak = peak
    return Term(ObjectiveTerm.BALANCE, [peak.index], [1], upper)


def _balance_upper(data: ModelData) -> int:
    shifts_of: dict[int, int] = {}
    for group, _shift in data.by_group_shift:
        shifts_of[group] = shifts_of.get(group, 0) + 1
    upper = max(shifts_of.values(), default=0)
    limit = data.instance.rules.max_shifts
    return upper if limit is None else min(upper, limit)


def _overstaffing(data: ModelData, variables: Variables) -> Term:
    """Headcount above the requirement, summed over slots.

    Per slot it is ``assigned + shortfall - required``, which equals ``max(0, assigned -
    required)`` once the shortfall is minimal and is never negative.
    """
    shortfall = [v.index for v in variables.shortfall.values()]
    first, n = variables.first, data.n_candidates
    return Term(
        ObjectiveTerm.OVERSTAFFING,
        np.concatenate([np.arange(first, first + n), np.array(shortfall, dtype=np.int64)]),
        np.concatenate([data.candidate_headcount(), np.ones(len(shortfall), dtype=np.int64)]),
        _overstaffing_upper(data),
        offset=-sum(data.slots[s].required for s in variables.shortfall),
    )


def _overstaffing_upper(data: ModelData) -> int:
    reach = data.slot_reach()
    return sum(min(slot.capacity, most) for slot, most in zip(data.slots, reach, strict=True))


def objective_terms(
    model: cp_model.CpModel,
    data: ModelData,
    variables: Variables,
    extra: Mapping[ObjectiveTerm, Term] | None = None,
    only: Collection[ObjectiveTerm] | None = None,
) -> list[Term]:
    """The terms named in ``rules.priorities``, most important first.

    ``extra`` supplies terms built elsewhere (the disruption of a re-plan); a ranked term with
    no maker and no extra entry is zero. ``only``: build just these terms (a model that
    minimises one term needs no variables or rows of the others).
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
        if only is not None and name not in only:
            continue
        if name in extra:
            terms.append(extra[name])
        elif name in makers:
            terms.append(makers[name]())
        else:
            terms.append(Term(name, [], [], 0))
    return terms


def term_uppers(data: ModelData, extra: Mapping[ObjectiveTerm, int] | None = None) -> list[int]:
    """The most each term of ``rules.priorities`` can be, most important first, without a model.

    ``extra`` gives the upper bounds of terms built elsewhere (the disruption of a re-plan); a
    ranked term with neither is 0, as in :func:`objective_terms`.
    """
    known = extra or {}
    uppers = {
        ObjectiveTerm.SHORTFALL: _shortfall_upper,
        ObjectiveTerm.TNI: _tni_upper,
        ObjectiveTerm.TRAVEL: _travel_upper,
        ObjectiveTerm.BALANCE: _balance_upper,
        ObjectiveTerm.OVERSTAFFING: _overstaffing_upper,
    }
    return [
        known[name] if name in known else uppers[name](data) if name in uppers else 0
        for name in data.instance.rules.priorities
    ]


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
