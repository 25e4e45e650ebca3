"""What :func:`solver.solve` returns: a plain, frozen, JSON-ready result."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from solver.domain import Assignment, Force, ObjectiveTerm, Plan, RiskLevel


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


class Coverage(_Frozen):
    """Required against assigned headcount in one ring of one venue in one shift."""

    venue: str
    ring: int
    shift: str
    risk: RiskLevel
    capacity: int
    required: int
    assigned: int
    shortfall: int
    reason: str = ""
    """Why the requirement is not met, when it is not."""


class Activation(_Frozen):
    """A reserve (TNI or standby) unit called up: the request the police would send."""

    unit: str
    force: Force
    type: str
    headcount: int
    venue: str
    ring: int
    shifts: tuple[str, ...]


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

    @property
    def total_shortfall(self) -> int:
        """Missing headcount summed over every ring and shift."""
        return sum(row.shortfall for row in self.coverage)

    def summary(self) -> str:
        """A short text report for a person."""
        lines = [f"status: {self.status.value}"]
        if self.objective is not None:
            gap = f"{100 * self.gap:.2f} %" if self.gap is not None else "n/a"
            lines.append(
                f"objective: {self.objective}  bound: {self.best_bound}  gap: {gap}  "
                f"time: {self.wall_time:.2f} s"
            )
            terms = ", ".join(f"{term.value} {value}" for term, value in self.breakdown.items())
            lines.append(f"terms: {terms}")
            lines.append(
                f"assignments: {len(self.plan.assignments)}  "
                f"shortfall: {self.total_shortfall} headcount-shifts"
            )
        short: dict[tuple[str, int], int] = {}
        for row in self.coverage:
            if row.shortfall:
                short[row.venue, row.ring] = short.get((row.venue, row.ring), 0) + row.shortfall
        if short:
            lines.append("shortfall by venue and ring:")
            lines += [f"  {venue} ring {ring}: {n}" for (venue, ring), n in sorted(short.items())]
        if self.activations:
            lines.append("TNI / standby activations:")
            lines += [
                f"  {a.unit} ({a.force.value} {a.type}, {a.headcount}) -> {a.venue} ring {a.ring}"
                f" in {', '.join(a.shifts)}"
                for a in self.activations
            ]
        lines += [f"warning: {w}" for w in self.warnings]
        return "\n".join(lines)


@dataclass(frozen=True)
class Progress:
    """One improving plan found during the search."""

    objective: int
    best_bound: int
    gap: float
    elapsed: float
    """Seconds since the call began."""
    stage: int
    """Index of the priority stage being solved (0 when all terms are solved at once)."""


def relative_gap(objective: int, bound: int) -> float:
    """``(objective - bound) / max(1, |objective|)``, never negative."""
    return max(0.0, (objective - bound) / max(1, abs(objective)))


__all__ = [
    "Activation",
    "Assignment",
    "Coverage",
    "Plan",
    "Progress",
    "Result",
    "SolveStatus",
    "relative_gap",
]
