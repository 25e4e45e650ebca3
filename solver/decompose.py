"""Independent parts of an instance: venues and units no assignment links to the rest.

A unit can stand only at venues within its travel limit, in rings that admit its force and
type, in shifts it is available for. Join every unit to the venues it can reach this way; the
connected parts of that graph share nothing (no slot, no unit), so each can be solved alone and
the plans put side by side. Venues that no unit reaches form one part of their own: they get no
one, whatever the plan.

Every objective term but balance is a sum over parts; balance (the most shifts any unit works)
is the largest over parts, which :func:`solver.solve.solve` handles by solving again the parts
whose busiest unit works fewer shifts than the overall busiest, with that as their limit.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from solver.domain import Instance, ObjectiveTerm
from solver.model.data import (
    Group,
    ModelData,
    Slot,
    build_slots,
    cut,
    unit_candidates,
)


@dataclass(frozen=True)
class Part:
    """Indices of the venues and units of one independent part."""

    venues: tuple[int, ...]
    units: tuple[int, ...]


def independent_parts(instance: Instance, data: ModelData | None = None) -> list[Part]:
    """The independent parts of ``instance``, smallest first (by units, then venues).

    Units without any candidate belong to no part. ``data``, the instance's model data when
    already built, lends its slots and each unit's candidates.
    """
    if data is not None:
        slots, per_unit = data.slots, data.per_unit
    else:
        slots = build_slots(instance)
        per_unit = unit_candidates(instance, slots)
    parent = list(range(len(instance.venues)))

    def find(v: int) -> int:
        while parent[v] != v:
            parent[v] = parent[parent[v]]
            v = parent[v]
        return v

    reach: list[set[int]] = []
    for pairs in per_unit:
        venues = {slots[slot].venue for slot, _km in pairs}
        reach.append(venues)
        first = next(iter(venues), None)
        for v in venues:
            if first is not None:
                parent[find(v)] = find(first)
    venues_of: dict[int, list[int]] = {}
    units_of: dict[int, list[int]] = {}
    for v in range(len(instance.venues)):
        venues_of.setdefault(find(v), []).append(v)
    for u, venues in enumerate(reach):
        if venues:
            units_of.setdefault(find(next(iter(venues))), []).append(u)
    unreached = [v for root, vs in venues_of.items() if root not in units_of for v in vs]
    parts = [Part(tuple(venues_of[root]), tuple(units)) for root, units in units_of.items()]
    if unreached:
        parts.append(Part(tuple(sorted(unreached)), ()))
    parts.sort(key=lambda p: (len(p.units), len(p.venues), p.venues))
    return parts


def part_instance(instance: Instance, part: Part, balance_cap: int | None = None) -> Instance:
    """The sub-instance of one part.

    With ``balance_cap``, no unit works more than that many shifts and balance leaves the
    objective: the part may use the slack up to the overall busiest unit. Regions and shifts
    are kept whole, so every reference stays valid.
    """
    rules = instance.rules
    if balance_cap is not None:
        limit = balance_cap if rules.max_shifts is None else min(rules.max_shifts, balance_cap)
        priorities = tuple(t for t in rules.priorities if t is not ObjectiveTerm.BALANCE)
        rules = rules.model_copy(update={"max_shifts": limit, "priorities": priorities})
    return instance.model_copy(
        update={
            "venues": tuple(instance.venues[v] for v in part.venues),
            "units": tuple(instance.units[u] for u in part.units),
            "rules": rules,
        }
    )


def part_data(
    data: ModelData, part: Part, instance: Instance
) -> tuple[ModelData, npt.NDArray[np.int64]]:
    """The model data of one part, cut from the whole instance's ``data`` instead of being
    computed again; and, for each of its candidates, the index of that candidate in ``data``.

    ``instance`` is the part's :func:`part_instance` (with or without a balance cap: model data
    does not depend on the rules it changes). A part holds whole groups (pooled units share
    their candidate slots, so their part too) and every slot of its venues; groups, slots and
    candidates keep their relative order, so the result equals model data built from
    ``instance`` directly.
    """
    venue_of = {v: i for i, v in enumerate(part.venues)}
    unit_of = {u: i for i, u in enumerate(part.units)}
    slot_of = np.full(len(data.slots), -1, dtype=np.int64)
    slots: list[Slot] = []
    for index, slot in enumerate(data.slots):
        if slot.venue in venue_of:
            slot_of[index] = len(slots)
            slots.append(replace(slot, venue=venue_of[slot.venue]))
    group_of = np.full(len(data.groups), -1, dtype=np.int64)
    groups: list[Group] = []
    for g, group in enumerate(data.groups):
        if group.members[0] in unit_of:
            group_of[g] = len(groups)
            groups.append(replace(group, members=tuple(unit_of[u] for u in group.members)))
    whole = np.flatnonzero(group_of[data.candidate_group] >= 0)
    sub = ModelData(
        instance=instance,
        slots=slots,
        groups=groups,
        candidate_group=group_of[data.candidate_group[whole]],
        candidate_slot=slot_of[data.candidate_slot[whole]],
        candidate_km=data.candidate_km[whole],
    )
    return cut(data, sub), whole
