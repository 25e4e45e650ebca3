"""Decision variables of the CP-SAT model.

One variable per candidate (already pruned by :mod:`solver.model.data`): a boolean for a group
of one unit, otherwise an integer counting the group's units in the slot; one shortfall variable
per slot with a requirement; variables that only some rules or objective
terms use are created lazily by those.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ortools.sat.python import cp_model

from solver.model.data import ModelData


@dataclass
class Variables:
    """The model's variables, indexed like :class:`ModelData`."""

    assign: list[cp_model.IntVar]
    """``assign[c]``: how many units of candidate ``c``'s group stand in its slot."""
    shortfall: dict[int, cp_model.IntVar]
    """Missing headcount per slot index, for slots with a requirement."""
    day_on: dict[tuple[int, int], cp_model.IntVar] = field(default_factory=dict)
    """``day_on[g, d]`` is 1 when the one unit of group ``g`` works on day ``d`` (consecutive-days
    rule only)."""
    peak: cp_model.IntVar | None = None
    """Most shifts any unit works (balance term only)."""


def make_variables(model: cp_model.CpModel, data: ModelData) -> Variables:
    """Create the assignment variables and the shortfall variables."""
    instance = data.instance
    assign = []
    for candidate in data.candidates:
        slot = data.slots[candidate.slot]
        group = data.groups[candidate.group]
        unit = instance.units[group.members[0]].id
        venue = instance.venues[slot.venue]
        where = (
            f"venue={venue.id}, ring={venue.rings[slot.ring].number}, "
            f"shift={instance.shifts[slot.shift].id}"
        )
        if group.size == 1:
            assign.append(model.new_bool_var(f"assign(unit={unit}, {where})"))
        else:
            most = min(group.size, slot.capacity // group.headcount)
            name = f"count(group={unit}+{group.size - 1}, {where})"
            assign.append(model.new_int_var(0, most, name))
    shortfall = {}
    for index, slot in enumerate(data.slots):
        if slot.required > 0:
            venue = instance.venues[slot.venue]
            name = (
                f"shortfall(venue={venue.id}, ring={venue.rings[slot.ring].number}, "
                f"shift={instance.shifts[slot.shift].id})"
            )
            shortfall[index] = model.new_int_var(0, slot.required, name)
    return Variables(assign=assign, shortfall=shortfall)
