"""A plan held unit by unit, for moves that change one unit-shift at a time.

The model's counts say how many units of a group stand in a slot; a local move needs to know
which unit stands where. :class:`Placements` turns counts into per-unit places (through the
rosters of :func:`solver.report.unit_places`), keeps each slot's headcount and each
unit's duty (:class:`solver.heuristics.greedy.Duty`), prices a change of a slot's headcount in
weighted shortfall, and turns the places back into counts.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from solver.heuristics.greedy import Duty
from solver.model.data import ModelData
from solver.report import unit_places


class Placements:
    """Which candidate each unit stands in, shift by shift, with slot headcounts and duties."""

    def __init__(self, data: ModelData, x: npt.NDArray[np.int64]) -> None:
        self.data = data
        self.headcount = [unit.headcount for unit in data.instance.units]
        self.place: dict[tuple[int, int], int] = {}
        """``(unit, shift) -> candidate`` of every unit-shift on duty."""
        self.duty = Duty(data)
        self.assigned = [0] * len(data.slots)
        """Headcount standing in each slot."""
        for u, s, c in unit_places(data, x):
            self.place[u, s] = c
            self.duty.take(u, s)
            self.assigned[int(data.candidate_slot[c])] += self.headcount[u]

    def slot(self, c: int) -> int:
        """The slot of candidate ``c``."""
        return int(self.data.candidate_slot[c])

    def room(self, slot: int, headcount: int) -> bool:
        """Whether ``headcount`` more fits in the slot's capacity."""
        return self.assigned[slot] + headcount <= self.data.slots[slot].capacity

    def shortfall_change(self, slot: int, change: int) -> int:
        """How the weighted shortfall of ``slot`` changes when its headcount changes by
        ``change`` (negative: it falls)."""
        target = self.data.slots[slot]
        now = self.assigned[slot]
        return target.weight * (
            max(0, target.required - now - change) - max(0, target.required - now)
        )

    def put(self, u: int, s: int, c: int | None) -> None:
        """Stand unit ``u`` in candidate ``c`` in shift ``s`` (``None``: off duty there); its
        duty follows."""
        old = self.place.pop((u, s), None)
        if old is not None:
            self.assigned[self.slot(old)] -= self.headcount[u]
            if c is None:
                self.duty.drop(u, s)
        elif c is not None:
            self.duty.take(u, s)
        if c is not None:
            self.place[u, s] = c
            self.assigned[self.slot(c)] += self.headcount[u]

    def counts(self) -> npt.NDArray[np.int64]:
        """The places as candidate counts."""
        x = np.zeros(self.data.n_candidates, dtype=np.int64)
        for c in self.place.values():
            x[c] += 1
        return x
