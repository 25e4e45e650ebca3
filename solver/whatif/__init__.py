"""What-if re-planning: changes to the instance in force, a re-plan with few moves, the diff.

See :mod:`solver.whatif.changes` (what may change), :mod:`solver.whatif.replan` (requests,
responses, batches) and :mod:`solver.whatif.diff` (plan differences and key figures).
"""

from solver.model.disruption import Baseline
from solver.whatif.changes import (
    AddVenue,
    Change,
    CloseVenue,
    SetRing,
    SetRisk,
    UnitUnavailable,
    apply_changes,
)
from solver.whatif.diff import Kpis, Move, MoveKind, Place, PlanDiff, plan_diff, plan_kpis
from solver.whatif.replan import (
    ComparisonRow,
    ReplanOptions,
    Scenario,
    WhatIfBatchRequest,
    WhatIfBatchResponse,
    WhatIfRequest,
    WhatIfResponse,
    locked_shifts,
    whatif,
    whatif_batch,
)

__all__ = [
    "AddVenue",
    "Baseline",
    "Change",
    "CloseVenue",
    "ComparisonRow",
    "Kpis",
    "Move",
    "MoveKind",
    "Place",
    "PlanDiff",
    "ReplanOptions",
    "Scenario",
    "SetRing",
    "SetRisk",
    "UnitUnavailable",
    "WhatIfBatchRequest",
    "WhatIfBatchResponse",
    "WhatIfRequest",
    "WhatIfResponse",
    "apply_changes",
    "locked_shifts",
    "plan_diff",
    "plan_kpis",
    "whatif",
    "whatif_batch",
]
