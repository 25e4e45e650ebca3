"""A plan as CP-SAT's solution hint, with every variable it determines."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from ortools.sat.python import cp_model

from solver.model.data import ModelData
from solver.model.evaluate import Evaluator
from solver.model.variables import Variables


def add_hint(
    model: cp_model.CpModel, data: ModelData, variables: Variables, x: npt.NDArray[np.int64]
) -> None:
    """Hint ``x`` (candidate counts) and every variable it determines (shortfall, duty days,
    peak), so that CP-SAT needs no completion. Written into the model proto in bulk."""
    model.clear_hints()  # type: ignore[no-untyped-call]
    indices: list[int] = list(range(variables.first, variables.first + len(x)))
    values: list[int] = x.tolist()
    assigned = Evaluator(data).assigned(x)
    for s, short in variables.shortfall.items():
        indices.append(short.index)
        values.append(max(0, data.slots[s].required - int(assigned[s])))
    used = np.flatnonzero(x)
    if variables.day_on:
        slot_day = np.array([data.shift_day[slot.shift] for slot in data.slots], dtype=np.int64)
        groups = data.candidate_group[used].tolist()
        days = slot_day[data.candidate_slot[used]].tolist() if len(used) else []
        on_days = set(zip(groups, days, strict=True))
        for key, flag in variables.day_on.items():
            indices.append(flag.index)
            values.append(int(key in on_days))
    if variables.peak is not None:
        loads = np.bincount(data.candidate_group[used], weights=x[used], minlength=len(data.groups))
        sizes = np.array([group.size for group in data.groups], dtype=np.int64)
        busiest = np.ceil(loads / np.maximum(sizes, 1))
        indices.append(variables.peak.index)
        values.append(int(busiest.max(initial=0)))
    hint = model.proto.solution_hint
    hint.vars.extend(indices)
    hint.values.extend(values)
