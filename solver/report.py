"""Turns a solution vector into the plan, coverage rows and TNI activations."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from solver.domain import Assignment, Instance, Plan
from solver.model.data import ModelData, Slot, is_reserve
from solver.model.groups import rosters
from solver.result import Activation, Coverage


def unit_places(
    data: ModelData, x: npt.NDArray[np.int64], hint: Plan | None = None
) -> list[tuple[int, int, int]]:
    """``(unit, shift, candidate)`` of every unit placed by the counts ``x``.

    Each group's counts go to its units by the round robin of :func:`solver.model.groups.rosters`;
    with a ``hint``, rosters go to the units that keep most of their hinted assignments.
    """
    shifts = data.instance.shifts
    shift_order = [0] * len(shifts)
    for position, s in enumerate(
        sorted(range(len(shifts)), key=lambda s: (shifts[s].start, shifts[s].end, s))
    ):
        shift_order[s] = position
    per_group: dict[int, list[tuple[int, int, int]]] = {}
    candidate_of: dict[tuple[int, int], int] = {}
    for c in np.flatnonzero(x).tolist():
        g, slot = int(data.candidate_group[c]), int(data.candidate_slot[c])
        per_group.setdefault(g, []).append((data.slots[slot].shift, slot, int(x[c])))
        candidate_of[g, slot] = c
    preferred = _preferred(data, hint) if hint is not None else None
    return [
        (u, shift, candidate_of[g, slot])
        for g, counts in per_group.items()
        for u, shift, slot in rosters(data.groups[g], counts, shift_order, preferred)
    ]


def plan_from_vector(data: ModelData, x: npt.NDArray[np.int64], hint: Plan | None = None) -> Plan:
    """The assignments of the counts ``x`` (see :func:`unit_places`), ordered by shift, venue,
    ring and unit."""
    instance = data.instance
    shifts = instance.shifts
    rows = []
    for u, shift, c in unit_places(data, x, hint):
        slot = data.slots[int(data.candidate_slot[c])]
        venue = instance.venues[slot.venue]
        rows.append(
            (
                shift,
                slot.venue,
                slot.ring,
                u,
                Assignment(
                    unit=instance.units[u].id,
                    venue=venue.id,
                    ring=venue.rings[slot.ring].number,
                    shift=shifts[shift].id,
                ),
            )
        )
    rows.sort(key=lambda row: row[:4])
    return Plan(assignments=tuple(row[4] for row in rows))


def _preferred(data: ModelData, plan: Plan) -> dict[int, set[tuple[int, int]]]:
    """The (shift, slot) pairs of every unit in ``plan`` that are candidates of the model."""
    instance = data.instance
    unit_index = {unit.id: u for u, unit in enumerate(instance.units)}
    slot_index = {
        (
            instance.venues[slot.venue].id,
            instance.venues[slot.venue].rings[slot.ring].number,
            instance.shifts[slot.shift].id,
        ): s
        for s, slot in enumerate(data.slots)
    }
    preferred: dict[int, set[tuple[int, int]]] = {}
    for a in plan.assignments:
        u, s = unit_index.get(a.unit), slot_index.get((a.venue, a.ring, a.shift))
        if u is not None and s is not None:
            preferred.setdefault(u, set()).add((data.slots[s].shift, s))
    return preferred


def coverage_rows(data: ModelData, assigned: npt.NDArray[np.int64]) -> tuple[Coverage, ...]:
    """One row per ring and shift that has a requirement or any assigned headcount (the
    reasons of short rows are filled in by :func:`solver.explain.explained_coverage`)."""
    return slot_coverage(data.instance, data.slots, assigned)


def slot_coverage(
    instance: Instance,
    slots: Sequence[Slot],
    assigned: Sequence[int] | npt.NDArray[np.int64] | None = None,
    reason: str = "",
) -> tuple[Coverage, ...]:
    """Coverage rows of ``slots`` (built from ``instance``), with no model needed.

    Parameters
    ----------
    instance
        The instance the slots index into (venues, their rings, shifts).
    slots
        The rings and shifts to report.
    assigned
        Headcount assigned in each slot, in slot order; ``None``: nobody anywhere.
    reason
        Why the rows are short, when one reason holds for all of them.

    Returns
    -------
    tuple[Coverage, ...]
        One row per slot that has a requirement or any assigned headcount, in slot order.
    """
    rows = []
    for index, slot in enumerate(slots):
        got = 0 if assigned is None else int(assigned[index])
        if slot.required == 0 and got == 0:
            continue
        venue = instance.venues[slot.venue]
        rows.append(
            Coverage(
                venue=venue.id,
                ring=venue.rings[slot.ring].number,
                shift=instance.shifts[slot.shift].id,
                risk=slot.risk,
                capacity=slot.capacity,
                required=slot.required,
                assigned=got,
                shortfall=max(0, slot.required - got),
                reason=reason,
            )
        )
    return tuple(rows)


def activations(data: ModelData, plan: Plan) -> tuple[Activation, ...]:
    """Reserve units in the plan, one row per unit, venue and ring, with their shifts."""
    return plan_activations(data.instance, plan)


def plan_activations(instance: Instance, plan: Plan) -> tuple[Activation, ...]:
    """:func:`activations` of a plan of ``instance``, with no model needed."""
    units = {unit.id: unit for unit in instance.units}
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
