"""A result's rows: each ring-shift's coverage and each reserve unit called up.

They sit apart from :mod:`solver.result` so that :mod:`solver.figures`, which reads them, and
the result, which carries the figures, import in one direction only.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from solver.domain import Force, RiskLevel

__all__ = ["Activation", "Coverage"]


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
    rule: str = ""
    """The rule that binds when short: ``capacity``, ``tni_not_allowed``, ``reach`` or
    ``busy`` (see :mod:`solver.explain.shortfall`)."""
    remedy: str = ""
    """The smallest changes that would cover the shortfall, alternatives joined by "; or "."""


class Activation(_Frozen):
    """A reserve (TNI or standby) unit called up: the request the police would send."""

    unit: str
    force: Force
    type: str
    headcount: int
    venue: str
    ring: int
    shifts: tuple[str, ...]
