"""ringplan's planner: domain, CP-SAT model, solve() and the independent checker.

Pure Python: no I/O beyond reading JSON files, no grpc, no protobuf.
"""

from solver.checker import CheckReport, check_plan
from solver.domain import (
    Assignment,
    Force,
    Instance,
    ObjectiveTerm,
    Plan,
    RiskLevel,
    Rules,
    Shift,
    Unit,
    Venue,
)
from solver.result import Progress, Result, SolveStatus
from solver.solve import solve
from solver.validation import InstanceError, Problem, load_instance, parse_instance

__all__ = [
    "Assignment",
    "CheckReport",
    "Force",
    "Instance",
    "InstanceError",
    "ObjectiveTerm",
    "Plan",
    "Problem",
    "Progress",
    "Result",
    "RiskLevel",
    "Rules",
    "Shift",
    "SolveStatus",
    "Unit",
    "Venue",
    "check_plan",
    "load_instance",
    "parse_instance",
    "solve",
]
