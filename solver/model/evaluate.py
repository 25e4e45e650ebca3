"""Objective term values of a solution vector, computed with NumPy.

Used for progress reports and the result's breakdown; the independent check of a plan lives in
:mod:`solver.checker` and shares nothing with this.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from solver.domain import ObjectiveTerm
from solver.model.data import ModelData


class Evaluator:
    """Computes every objective term from the vector of candidate counts.

    The busiest unit of a group of ``k`` whose counts sum to ``n`` works ``ceil(n / k)`` shifts
    (the round-robin rosters of :mod:`solver.model.groups`).
    """

    def __init__(self, data: ModelData) -> None:
        groups = data.groups
        n_slots = len(data.slots)
        self.n_slots = n_slots
        self.n_groups = len(groups)
        group_reserve = np.array([g.reserve for g in groups], dtype=bool)
        self.group = data.candidate_group
        self.headcount = data.candidate_headcount()
        self.km = data.candidate_km
        self.reserve = group_reserve[self.group]
        self.slot = data.candidate_slot
        self.size = np.array([g.size for g in groups], dtype=np.int64)
        self.required = np.array([s.required for s in data.slots], dtype=np.int64)
        self.weight = np.array([s.weight for s in data.slots], dtype=np.int64)

    def assigned(self, x: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """Headcount per slot."""
        return np.bincount(self.slot, weights=x * self.headcount, minlength=self.n_slots).astype(
            np.int64
        )

    def terms(self, x: npt.NDArray[np.int64]) -> dict[ObjectiveTerm, int]:
        """Value of every objective term for the assignment vector ``x``."""
        assigned = self.assigned(x)
        short = np.maximum(0, self.required - assigned)
        over = np.maximum(0, assigned - self.required)
        loads = np.bincount(self.group, weights=x, minlength=self.n_groups).astype(np.int64)
        loads = -(-loads // self.size) if self.n_groups else loads
        return {
            ObjectiveTerm.SHORTFALL: int((short * self.weight).sum()),
            ObjectiveTerm.TNI: int((x * self.headcount * self.reserve).sum()),
            ObjectiveTerm.TRAVEL: int((x * self.km).sum()),
            ObjectiveTerm.BALANCE: int(loads.max()) if len(loads) else 0,
            ObjectiveTerm.OVERSTAFFING: int(over.sum()),
        }
