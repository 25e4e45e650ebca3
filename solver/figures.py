"""A plan's figures in the units people count in: people, soldiers, kilometres and shifts.

The objective the search minimises is one scalar that weighs its ranked terms so that each
dominates the ones below; that number means nothing to a planner. :func:`plan_figures` reads a
result's coverage rows, TNI activations and per-term values into :class:`Figures`, and pairs
each ranked term with its proven bound where the search proved one. Nothing here looks at the
solver's internals.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pydantic import BaseModel, ConfigDict

from solver.domain import ObjectiveTerm
from solver.rows import Activation, Coverage

__all__ = ["TERM_UNITS", "Figures", "TermFigure", "figures_text", "plan_figures", "terms_text"]

TERM_UNITS: dict[ObjectiveTerm, str] = {
    ObjectiveTerm.SHORTFALL: "risk-weighted people-shifts",
    ObjectiveTerm.TNI: "TNI / standby soldier-shifts",
    ObjectiveTerm.TRAVEL: "km",
    ObjectiveTerm.BALANCE: "shifts of the busiest unit",
    ObjectiveTerm.OVERSTAFFING: "people-shifts above requirement",
    ObjectiveTerm.DISRUPTION: "unit-shifts moved",
}
"""What one unit of each objective term counts."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TermFigure(_Frozen):
    """One ranked term of the objective, in its own unit, with what the search proved."""

    term: ObjectiveTerm
    value: int
    unit: str
    """What :attr:`value` counts (see :data:`TERM_UNITS`)."""
    bound: int | None = None
    """Proven lower bound on :attr:`value` over every plan, when the search proved one."""
    proven_minimal: bool = False
    """No plan has a lower value of this term without raising a term ranked above it."""


class Figures(_Frozen):
    """A plan's key figures in people units (what a planner reads, what a program charts)."""

    uncovered_people_shifts: int = 0
    """Missing headcount summed over every ring and shift."""
    weighted_shortfall: int = 0
    """The same, each person weighted by risk and ring (the shortfall term)."""
    short_ring_shifts: int = 0
    """Ring-shifts with any missing headcount."""
    tni_units: int = 0
    """TNI or standby units activated."""
    tni_soldiers: int = 0
    """Headcount of those units."""
    tni_soldier_shifts: int = 0
    """Their headcount summed over the shifts they stand."""
    travel_km: int = 0
    """Kilometres from home base to venue, summed over unit-shifts."""
    busiest_unit_shifts: int = 0
    """Shifts worked by the busiest unit (the balance term)."""
    overstaffed_people_shifts: int = 0
    """Headcount above the requirement summed over ring-shifts."""
    moved_unit_shifts: int | None = None
    """Re-plans only: unit-shifts whose place differs from the plan in force."""
    assigned_unit_shifts: int = 0
    """Assignments in the plan (one unit in one ring in one shift)."""
    terms: tuple[TermFigure, ...] = ()
    """The ranked terms, most important first."""


def plan_figures(
    coverage: Sequence[Coverage],
    activations: Sequence[Activation],
    breakdown: Mapping[ObjectiveTerm, int],
    *,
    assignments: int,
    priorities: Sequence[ObjectiveTerm] | None = None,
    bounds: Mapping[ObjectiveTerm, int] | None = None,
    optimal: bool = False,
) -> Figures:
    """The figures of a plan from its coverage rows, activations and per-term values.

    Parameters
    ----------
    coverage, activations, breakdown
        As in :class:`solver.result.Result`.
    assignments
        Number of assignments in the plan.
    priorities
        The ranked terms; ``None`` takes the terms of ``breakdown`` in its order.
    bounds
        Proven lower bound of each term, where one is known.
    optimal
        The search proved the plan best: every ranked term is minimal given those above it.
    """
    bounds = dict(bounds or {})
    ranked = tuple(priorities) if priorities is not None else tuple(breakdown)
    terms = []
    for term in ranked:
        value = int(breakdown.get(term, 0))
        bound = value if optimal else bounds.get(term)
        terms.append(
            TermFigure(
                term=term,
                value=value,
                unit=TERM_UNITS[term],
                bound=bound,
                proven_minimal=bound is not None and bound >= value,
            )
        )
    reserve_units = {a.unit: a.headcount for a in activations}
    reserve_shifts = {(a.unit, shift): a.headcount for a in activations for shift in a.shifts}
    moved = breakdown.get(ObjectiveTerm.DISRUPTION)
    return Figures(
        uncovered_people_shifts=sum(row.shortfall for row in coverage),
        weighted_shortfall=int(breakdown.get(ObjectiveTerm.SHORTFALL, 0)),
        short_ring_shifts=sum(1 for row in coverage if row.shortfall),
        tni_units=len(reserve_units),
        tni_soldiers=sum(reserve_units.values()),
        tni_soldier_shifts=sum(reserve_shifts.values()),
        travel_km=int(breakdown.get(ObjectiveTerm.TRAVEL, 0)),
        busiest_unit_shifts=int(breakdown.get(ObjectiveTerm.BALANCE, 0)),
        overstaffed_people_shifts=sum(max(0, row.assigned - row.required) for row in coverage),
        moved_unit_shifts=None if moved is None else int(moved),
        assigned_unit_shifts=assignments,
        terms=tuple(terms),
    )


def _proof(figures: Figures, term: ObjectiveTerm) -> str:
    """`` (proven minimal)`` or `` (proven at least N)`` for a ranked term, else nothing."""
    for figure in figures.terms:
        if figure.term is term:
            if figure.proven_minimal:
                return " (proven minimal)"
            if figure.bound is not None:
                return f" (proven at least {figure.bound})"
    return ""


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def figures_text(figures: Figures) -> list[str]:
    """The figures as lines for a person, each term with what the search proved of it."""
    f = figures
    lines = [
        f"uncovered: {f.uncovered_people_shifts} people-shifts in {f.short_ring_shifts} "
        f"ring-shifts; risk-weighted {f.weighted_shortfall}" + _proof(f, ObjectiveTerm.SHORTFALL),
        f"TNI / standby activated: {_count(f.tni_units, 'unit')}, "
        f"{_count(f.tni_soldiers, 'soldier')}, "
        f"{f.tni_soldier_shifts} soldier-shifts" + _proof(f, ObjectiveTerm.TNI),
        f"travel: {f.travel_km} km" + _proof(f, ObjectiveTerm.TRAVEL),
        f"busiest unit: {f.busiest_unit_shifts} shifts" + _proof(f, ObjectiveTerm.BALANCE),
        f"overstaffing: {f.overstaffed_people_shifts} people-shifts above requirement"
        + _proof(f, ObjectiveTerm.OVERSTAFFING),
    ]
    if f.moved_unit_shifts is not None:
        lines.append(
            f"moves: {f.moved_unit_shifts} unit-shifts changed"
            + _proof(f, ObjectiveTerm.DISRUPTION)
        )
    lines.append(f"assignments: {f.assigned_unit_shifts} unit-shifts")
    return lines


_SHORT_LABELS: dict[ObjectiveTerm, str] = {
    ObjectiveTerm.SHORTFALL: "shortfall {} (risk-weighted people-shifts)",
    ObjectiveTerm.TNI: "TNI {} soldier-shifts",
    ObjectiveTerm.TRAVEL: "travel {} km",
    ObjectiveTerm.BALANCE: "busiest unit {} shifts",
    ObjectiveTerm.OVERSTAFFING: "overstaffing {} people-shifts",
    ObjectiveTerm.DISRUPTION: "moves {} unit-shifts",
}


def terms_text(terms: Mapping[ObjectiveTerm, int]) -> str:
    """Per-term values on one line, each with its unit (for progress lines)."""
    return ", ".join(_SHORT_LABELS[term].format(value) for term, value in terms.items())
