"""Decision variables of the CP-SAT model.

One variable per candidate (already pruned by :mod:`solver.model.data`): a boolean for a group
of one unit, otherwise an integer counting the group's units in the slot; one shortfall variable
per slot with a requirement; variables that only some rules or objective
terms use are created lazily by those.
"""

from __future__ import annotations

import json
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
    named: bool = True
    """Whether variables get readable names (small models only, see :data:`NAMED_UP_TO`)."""

    @property
    def first(self) -> int:
        """Model index of ``assign[0]``: the assignment variables are contiguous, so candidate
        ``c``'s variable has index ``first + c``."""
        return self.assign[0].index if self.assign else 0


NAMED_UP_TO = 20_000
"""Models with at most this many candidates get readable variable names (for CP-SAT's
messages and logs); larger ones are built without, as naming costs a third of their build."""


def make_variables(model: cp_model.CpModel, data: ModelData) -> Variables:
    """Create the assignment variables and the shortfall variables.

    They are written into the model in one bulk (see :func:`_add_bulk`): creating them one by
    one from Python takes most of a province model's build.
    """
    instance = data.instance
    named = len(data.candidates) <= NAMED_UP_TO
    domains, names = [], []
    for candidate in data.candidates:
        slot = data.slots[candidate.slot]
        group = data.groups[candidate.group]
        domains.append(1 if group.size == 1 else min(group.size, slot.capacity // group.headcount))
        if named:
            unit = instance.units[group.members[0]].id
            what = (
                f"assign(unit={unit}" if group.size == 1 else f"count(group={unit}+{group.size - 1}"
            )
            names.append(f"{what}, {_where(data, candidate.slot)})")
    assign = _add_bulk(model, domains, names)
    required = [s for s, slot in enumerate(data.slots) if slot.required > 0]
    short_names = [f"shortfall({_where(data, s)})" for s in required] if named else []
    short = _add_bulk(model, [data.slots[s].required for s in required], short_names)
    return Variables(assign=assign, shortfall=dict(zip(required, short, strict=True)), named=named)


def _where(data: ModelData, slot_index: int) -> str:
    instance, slot = data.instance, data.slots[slot_index]
    venue = instance.venues[slot.venue]
    return (
        f"venue={venue.id}, ring={venue.rings[slot.ring].number}, "
        f"shift={instance.shifts[slot.shift].id}"
    )


def _add_bulk(
    model: cp_model.CpModel, uppers: list[int], names: list[str]
) -> list[cp_model.IntVar]:
    """Integer variables ``[0, upper]`` (named when ``names`` is given), added to the model
    proto in one text-format merge, then wrapped as variables of ``model``."""
    first = len(model.proto.variables)
    if names:
        text = "".join(
            f"variables {{ name: {json.dumps(name, ensure_ascii=False)} domain: [0, {upper}] }}\n"
            for name, upper in zip(names, uppers, strict=True)
        )
    else:
        text = "".join(f"variables {{ domain: [0, {upper}] }}\n" for upper in uppers)
    if text and not model.proto.merge_text_format(text):
        raise RuntimeError("CP-SAT did not accept the variables")
    proto = model.model_proto
    return [cp_model.IntVar(proto, first + i) for i in range(len(uppers))]
