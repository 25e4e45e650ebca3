"""What :func:`solver.solve` returns: a plain, frozen, JSON-ready result."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from solver.domain import Assignment, ObjectiveTerm, Plan
from solver.figures import Figures, figures_text, plan_figures
from solver.rows import Activation, Coverage


class SolveStatus(StrEnum):
    """How the search ended."""

    OPTIMAL = "optimal"
    """The plan is proven best under the objective's priorities."""
    FEASIBLE = "feasible"
    """A plan was found; the search stopped (time limit or cancel) before proving it best."""
    NO_SOLUTION = "no_solution"
    """The search stopped before any plan was found."""
    INVALID = "invalid"
    """The model was rejected by the solver (a defect, never the input's fault)."""

    @property
    def has_plan(self) -> bool:
        """Whether the result carries a plan."""
        return self in (SolveStatus.OPTIMAL, SolveStatus.FEASIBLE)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PartSummary(_Frozen):
    """One independent part of an instance planned on its own (see :mod:`solver.parts`)."""

    index: int
    venues: int
    units: int
    provinces: tuple[str, ...]
    """Provinces of the part's venues."""
    cut: str = ""
    """How the part was found: ``""`` (connected), ``"province"`` or ``"region"`` (cut out
    of a bigger part, see :mod:`solver.parts.split`)."""
    status: SolveStatus
    reason: str = ""
    """Why the part has no plan, when it has none (out of time, out of memory, ...)."""
    objective: int | None = None
    """In the part's own weights."""
    best_bound: int | None = None
    """In the part's own weights."""
    shortfall_bound: int = 0
    """Lower bound on the part's first ranked term (weighted shortfall by default)."""
    breakdown: dict[ObjectiveTerm, int] = {}
    wall_time: float = 0.0
    reserve_units: int = 0
    """National reserve units sent to the part."""


class Dispatch(_Frozen):
    """A national reserve unit sent to a venue's area after its mobilisation lead time."""

    unit: str
    venue: str
    """The venue the unit is based at once it arrives; it serves venues within its travel
    limit of there."""
    part: int


class PhaseEnd(StrEnum):
    """Why a phase of the search ended."""

    DONE = "done"
    """It did all it does (a start built, a model built)."""
    PROVED = "proved"
    """CP-SAT proved every stage it searched optimal."""
    NO_MOVE = "no_move"
    """A heuristic or a search found nothing better (or no plan) within its own limits."""
    BUDGET = "budget"
    """The time it was given ran out."""
    STOPPED = "stopped"
    """A stop was requested."""
    SKIPPED = "skipped"
    """It did not apply to this solve, or the search had ended before it."""


class PhaseRun(_Frozen):
    """One phase of the search as it ran: what it was, when, and what it changed."""

    name: str
    start: float
    """Seconds from the call to the phase's start."""
    seconds: float
    before: dict[ObjectiveTerm, int] = {}
    """Objective terms of the best plan when the phase began (empty: no plan yet)."""
    after: dict[ObjectiveTerm, int] = {}
    """Objective terms of the best plan when it ended."""
    end: PhaseEnd
    part: int | None = None
    """Index of the independent part it searched, when the solve had several."""

    def line(self) -> str:
        """One line of a timeline for a person."""
        where = f"part {self.part + 1}: " if self.part is not None else ""
        if self.end is PhaseEnd.SKIPPED:
            return f"{self.start:8.2f} s  {where}{self.name}: skipped"
        changed = [
            f"{term.value} {self.before.get(term, '-')} -> {value}"
            for term, value in self.after.items()
            if self.before.get(term) != value
        ]
        what = ", ".join(changed) if changed else "no change"
        return (
            f"{self.start:8.2f} s  {where}{self.name} ({self.seconds:.2f} s, "
            f"{self.end.value.replace('_', ' ')}): {what}"
        )


class Result(_Frozen):
    """The outcome of one solve."""

    status: SolveStatus
    objective: int | None = None
    """Weighted objective over all ranked terms (lower is better)."""
    best_bound: int | None = None
    """Proven lower bound on :attr:`objective`."""
    gap: float | None = None
    """``(objective - best_bound) / max(1, objective)``."""
    wall_time: float
    """Seconds from the call to the return, model building included."""
    build_time: float = 0.0
    """Seconds spent building the model (model data and CP-SAT models, not the greedy
    starts); with independent parts, the sum over the parts."""
    first_solution_time: float | None = None
    """Seconds from the call to the first plan."""
    plan: Plan = Plan()
    coverage: tuple[Coverage, ...] = ()
    breakdown: dict[ObjectiveTerm, int] = {}
    """Each objective term's value in the plan."""
    activations: tuple[Activation, ...] = ()
    warnings: tuple[str, ...] = ()
    term_bounds: dict[ObjectiveTerm, int] = {}
    """Proven lower bound of each term where one is known: every ranked term's value when
    :attr:`status` is optimal, else the first ranked term's from the search's bound, and the
    weighted shortfall's from its linear relaxation (see :mod:`solver.bound`)."""
    bound_note: str = ""
    """How the shortfall's linear bound was found, or why it is missing or covers only some
    parts (its relaxation not solved within the time limit); empty when none was sought."""
    figures: Figures | None = None
    """The plan's figures in people units (see :mod:`solver.figures`)."""

    phases: tuple[PhaseRun, ...] = ()
    """The search's phases in the order they ran (see :mod:`solver.search`)."""

    def people_figures(self, priorities: tuple[ObjectiveTerm, ...] | None = None) -> Figures:
        """:attr:`figures`, or, when the result does not carry them, computed from it."""
        if self.figures is not None and priorities is None:
            return self.figures
        return plan_figures(
            self.coverage,
            self.activations,
            self.breakdown,
            assignments=len(self.plan.assignments),
            priorities=priorities,
            bounds=self.term_bounds,
            optimal=self.status is SolveStatus.OPTIMAL,
        )

    def status_line(self) -> str:
        """The status in words that agree with what the search proved."""
        if self.status is SolveStatus.OPTIMAL:
            return "status: optimal (every term proven minimal)"
        if self.status is SolveStatus.FEASIBLE:
            figures = self.people_figures()
            proven = [t.term.value for t in figures.terms if t.proven_minimal]
            text = "status: feasible (stopped before proving the plan best"
            if proven:
                text += f"; proven minimal: {', '.join(proven)}"
            return text + ")"
        if self.status is SolveStatus.NO_SOLUTION:
            return "status: no_solution (stopped before any plan was found)"
        return f"status: {self.status.value}"

    parts: tuple[PartSummary, ...] = ()
    """Each independent part, when the instance was planned in parts (:mod:`solver.parts`).
    Then :attr:`best_bound` is the sum of the parts' bounds on the first ranked term in the
    whole instance's weights: valid for the instance with the national reserve relaxed (a
    reserve unit counted in every part it could go to)."""
    dispatches: tuple[Dispatch, ...] = ()
    """National reserve units sent out; the plan is checked on
    :func:`solver.parts.reserve.dispatched_instance` of the instance and these."""

    @property
    def gap_known(self) -> bool:
        """Whether :attr:`gap` rests on a bound: false when the plan is not proven and no
        bound above 0 was found, so that a gap of 100 % says nothing about the plan."""
        return self.status is SolveStatus.OPTIMAL or bool(self.best_bound) or not self.objective

    @property
    def total_shortfall(self) -> int:
        """Missing headcount summed over every ring and shift."""
        return sum(row.shortfall for row in self.coverage)

    def timeline(self) -> str:
        """The phases of the search, one line each, for a person."""
        return "\n".join(run.line() for run in self.phases)

    def summary(self) -> str:
        """A short text report for a person."""
        lines = [self.status_line(), f"time: {self.wall_time:.2f} s"]
        if self.status.has_plan:
            lines += figures_text(self.people_figures())
        if self.bound_note:
            lines.append(f"bound: {self.bound_note}")
        short: dict[tuple[str, int], int] = {}
        for row in self.coverage:
            if row.shortfall:
                short[row.venue, row.ring] = short.get((row.venue, row.ring), 0) + row.shortfall
        if short:
            lines.append("uncovered people-shifts by venue and ring:")
            lines += [f"  {venue} ring {ring}: {n}" for (venue, ring), n in sorted(short.items())]
        if self.activations:
            lines.append("TNI / standby activations:")
            lines += [
                f"  {a.unit} ({a.force.value} {a.type}, {a.headcount} soldiers) -> {a.venue} "
                f"ring {a.ring} in {', '.join(a.shifts)}"
                for a in self.activations
            ]
        if self.parts:
            lines.append(f"parts: {len(self.parts)}")
            lines += [
                f"  part {p.index} ({', '.join(p.provinces)}{', cut' if p.cut else ''}): "
                f"{p.units} units, {p.venues} venues, {p.status.value}"
                + (f" ({p.reason})" if p.reason else "")
                + (
                    f", shortfall {p.breakdown.get(ObjectiveTerm.SHORTFALL, 0)}"
                    if p.breakdown
                    else ""
                )
                + f", bound {p.shortfall_bound}"
                + (f", {p.reserve_units} reserve units" if p.reserve_units else "")
                for p in self.parts
            ]
        if self.dispatches:
            lines.append(f"national reserve sent: {len(self.dispatches)} units")
        lines += [f"warning: {w}" for w in self.warnings]
        return "\n".join(lines)


@dataclass(frozen=True)
class Progress:
    """One improving plan found during the search, or a better bound for the best plan."""

    objective: int
    best_bound: int
    gap: float
    elapsed: float
    """Seconds since the call began."""
    stage: int
    """Index of the priority stage being solved (0 when all terms are solved at once)."""
    terms: dict[ObjectiveTerm, int] = field(default_factory=dict)
    """Each term's value in the plan (units as in :data:`solver.figures.TERM_UNITS`)."""
    term_bounds: dict[ObjectiveTerm, int] = field(default_factory=dict)
    """Proven lower bounds of terms known so far (the weighted shortfall's linear bound as
    soon as it is solved); a progress line may report a new bound for the same plan."""
    parts_done: int = 0
    """Planned in parts: parts that have returned (0 otherwise)."""
    parts_total: int = 0
    """Planned in parts: parts in all (0 otherwise)."""
    shortfall: int = 0
    """Planned in parts: missing headcount-shifts in the parts returned so far."""


def relative_gap(objective: int, bound: int) -> float:
    """``(objective - bound) / max(1, |objective|)``, never negative."""
    return max(0.0, (objective - bound) / max(1, abs(objective)))


__all__ = [
    "Activation",
    "Assignment",
    "Coverage",
    "Dispatch",
    "Figures",
    "PartSummary",
    "PhaseEnd",
    "PhaseRun",
    "Plan",
    "Progress",
    "Result",
    "SolveStatus",
    "relative_gap",
]
