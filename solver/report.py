"""Turns a solution vector into the plan, coverage rows with reasons, and TNI activations."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from solver.domain import Assignment, Plan
from solver.model.data import ModelData, is_reserve
from solver.result import Activation, Coverage


def plan_from_vector(data: ModelData, x: npt.NDArray[np.int64]) -> Plan:
    """The assignments chosen in ``x``, ordered by shift, venue, ring and unit."""
    instance = data.instance
    rows = []
    for c in np.flatnonzero(x):
        candidate = data.candidates[int(c)]
        slot = data.slots[candidate.slot]
        venue = instance.venues[slot.venue]
        rows.append(
            (
                slot.shift,
                slot.venue,
                slot.ring,
                candidate.unit,
                Assignment(
                    unit=instance.units[candidate.unit].id,
                    venue=venue.id,
                    ring=venue.rings[slot.ring].number,
                    shift=instance.shifts[slot.shift].id,
                ),
            )
        )
    rows.sort(key=lambda row: row[:4])
    return Plan(assignments=tuple(row[4] for row in rows))


def _reason(data: ModelData, slot_index: int, shortfall: int) -> str:
    slot = data.slots[slot_index]
    if shortfall == 0:
        return ""
    if slot.required > slot.capacity:
        return f"requires {slot.required} but the ring holds at most {slot.capacity}"
    units = data.instance.units
    reachable = {data.candidates[c].unit for c in data.by_slot[slot_index]}
    reach = sum(units[u].headcount for u in reachable)
    if reach < slot.required:
        return (
            f"only {reach} headcount is available, eligible and within travel range "
            f"for a requirement of {slot.required}"
        )
    return (
        f"the {reach} eligible headcount in range is deployed to other rings or resting "
        "under the duty rules"
    )


def coverage_rows(data: ModelData, assigned: npt.NDArray[np.int64]) -> tuple[Coverage, ...]:
    """One row per ring and shift that has a requirement or any assigned headcount."""
    instance = data.instance
    rows = []
    for index, slot in enumerate(data.slots):
        got = int(assigned[index])
        if slot.required == 0 and got == 0:
            continue
        venue = instance.venues[slot.venue]
        short = max(0, slot.required - got)
        rows.append(
            Coverage(
                venue=venue.id,
                ring=venue.rings[slot.ring].number,
                shift=instance.shifts[slot.shift].id,
                risk=slot.risk,
                capacity=slot.capacity,
                required=slot.required,
                assigned=got,
                shortfall=short,
                reason=_reason(data, index, short),
            )
        )
    return tuple(rows)


def activations(data: ModelData, plan: Plan) -> tuple[Activation, ...]:
    """Reserve units in the plan, one row per unit, venue and ring, with their shifts."""
    units = {unit.id: unit for unit in data.instance.units}
    grouped: dict[tuple[str, str, int], list[str]] = {}
    for a in plan.assignments:
        if is_reserve(units[a.unit]):
            grouped.setdefault((a.unit, a.venue, a.ring), []).append(a.shift)
    return tuple(
        Activation(
            unit=unit_id,
            force=units[unit_id].force,
            type=units[unit_id].type,
            headcount=units[unit_id].headcount,
            venue=venue,
            ring=ring,
            shifts=tuple(shifts),
        )
        for (unit_id, venue, ring), shifts in sorted(grouped.items())
    )
