"""Why a plan falls short, and what would cover it (see :mod:`solver.explain.shortfall`)."""

from solver.explain.remedy import (
    AddPeople,
    AllowForce,
    FreeUnit,
    RaiseCapacity,
    Remedy,
    apply_remedy,
    apply_to_plan,
)
from solver.explain.shortfall import Explanation, Rule, explain_shortfalls, explained_coverage

__all__ = [
    "AddPeople",
    "AllowForce",
    "Explanation",
    "FreeUnit",
    "RaiseCapacity",
    "Remedy",
    "Rule",
    "apply_remedy",
    "apply_to_plan",
    "explain_shortfalls",
    "explained_coverage",
]
