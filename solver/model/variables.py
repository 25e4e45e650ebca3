"""Decision variables of the CP-SAT model.

One variable per candidate (already pruned by :mod:`solver.model.data`): a boolean for a group
of one unit, otherwise an integer counting the group's units in the slot; one shortfall variable
per slot with a requirement; variables that only some rules or objective
terms use are created lazily by those.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import overload

import numpy as np
from ortools.sat.python import cp_model

from solver.model.data import ModelData


class AssignVars(Sequence[cp_model.IntVar]):
    """The assignment variables, ``first`` to ``first + count - 1`` in the model, as a sequence
    of variables made on access: the model's rows and terms refer to them by index, and a
    province model has no use for 80,000 Python objects."""

    def __init__(self, model: cp_model.CpModel, first: int, count: int) -> None:
        self._proto, self.first, self._count = model.model_proto, first, count

    def __len__(self) -> int:
        return self._count

    @overload
    def __getitem__(self, index: int) -> cp_model.IntVar: ...

    @overload
    def __getitem__(self, index: slice) -> list[cp_model.IntVar]: ...

    def __getitem__(self, index: int | slice) -> cp_model.IntVar | list[cp_model.IntVar]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self._count))]
        if not -self._count <= index < self._count:
            raise IndexError(index)
        return cp_model.IntVar(self._proto, self.first + index % self._count)


@dataclass
class Variables:
    """The model's variables, indexed like :class:`ModelData`."""

    assign: AssignVars
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
        """Model index of ``assign[0]``: candidate ``c``'s variable has index ``first + c``."""
        return self.assign.first


NAMED_UP_TO = 20_000
"""Models with at most this many candidates get readable variable names (for CP-SAT's
messages and logs); larger ones are built without, as naming costs a third of their build."""


def make_variables(
    model: cp_model.CpModel, data: ModelData, *, named: bool | None = None
) -> Variables:
    """Create the assignment variables and the shortfall variables.

    They are written into the model in one bulk (see :func:`_add_bulk`): creating them one by
    one from Python takes most of a province model's build. ``named``: whether they get
    readable names; by default those with at most :data:`NAMED_UP_TO` candidates do.
    """
    instance = data.instance
    if named is None:
        named = data.n_candidates <= NAMED_UP_TO
    sizes = np.array([g.size for g in data.groups], dtype=np.int64)
    capacity = np.array([s.capacity for s in data.slots], dtype=np.int64)
    count = sizes[data.candidate_group]
    most = np.minimum(count, capacity[data.candidate_slot] // data.candidate_headcount())
    domains: list[int] = np.where(count == 1, 1, most).tolist()
    names = []
    if named:
        for candidate in data.candidates:
            members = data.groups[candidate.group].members
            unit = instance.units[members[0]].id
            pooled = len(members) > 1
            what = f"count(group={unit}+{len(members) - 1}" if pooled else f"assign(unit={unit}"
            names.append(f"{what}, {_where(data, candidate.slot)})")
    assign = AssignVars(model, _add_bulk(model, domains, names), len(domains))
    required = [s for s, slot in enumerate(data.slots) if slot.required > 0]
    short_names = [f"shortfall({_where(data, s)})" for s in required] if named else []
    first = _add_bulk(model, [data.slots[s].required for s in required], short_names)
    short = [cp_model.IntVar(model.model_proto, first + i) for i in range(len(required))]
    return Variables(assign=assign, shortfall=dict(zip(required, short, strict=True)), named=named)


def _where(data: ModelData, slot_index: int) -> str:
    instance, slot = data.instance, data.slots[slot_index]
    venue = instance.venues[slot.venue]
    return (
        f"venue={venue.id}, ring={venue.rings[slot.ring].number}, "
        f"shift={instance.shifts[slot.shift].id}"
    )


def _add_bulk(model: cp_model.CpModel, uppers: list[int], names: list[str]) -> int:
    """Add integer variables ``[0, upper]`` (named when ``names`` is given) to the model proto
    in one text-format merge; return the index of the first."""
    first = len(model.proto.variables)
    if names:
        text = "".join(
            f"variables {{ name: {json.dumps(name, ensure_ascii=False)} domain: [0, {upper}] }}\n"
            for name, upper in zip(names, uppers, strict=True)
        )
    else:
        # Most uppers repeat (1, a group's size): each distinct one is formatted once.
        formatted = {upper: f"variables{{domain:[0,{upper}]}}" for upper in set(uppers)}
        text = "".join([formatted[upper] for upper in uppers])
    if text and not model.proto.merge_text_format(text):
        raise RuntimeError("CP-SAT did not accept the variables")
    return first
