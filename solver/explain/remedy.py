"""The smallest changes that would cover a shortfall, as data that can be applied.

A remedy is either a change to the instance (:class:`RaiseCapacity`, :class:`AddPeople`,
:class:`AllowForce`), which :func:`apply_remedy` makes so that a re-plan can confirm it, or a
change to the plan (:class:`FreeUnit`), which :func:`apply_to_plan` makes.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from solver.domain import Assignment, Force, Instance, Plan

__all__ = [
    "AddPeople",
    "AllowForce",
    "FreeUnit",
    "RaiseCapacity",
    "Remedy",
    "apply_remedy",
    "apply_to_plan",
]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RaiseCapacity(_Frozen):
    """Let a ring hold more people."""

    kind: Literal["raise_capacity"] = "raise_capacity"
    venue: str
    ring: int
    capacity: int
    """The ring's capacity now."""
    to: int
    """The capacity that covers the requirement."""

    def __str__(self) -> str:
        return f"{self.venue} ring {self.ring} capacity {self.capacity} -> {self.to}"


class AddPeople(_Frozen):
    """Bring more people who may stand in a ring within reach of its venue in a shift."""

    kind: Literal["add_people"] = "add_people"
    venue: str
    ring: int
    shift: str
    people: int = Field(ge=1)
    forces: tuple[Force, ...]
    types: tuple[str, ...] | None = None
    """Unit types the ring admits; ``None``: any."""
    within_km: float | None = None
    """The travel limit, where there is one."""

    def __str__(self) -> str:
        names = {Force.POLRI: "police", Force.TNI: "TNI"}
        who = " or ".join(self.types) if self.types else " or ".join(names[f] for f in self.forces)
        where = (
            f"within {self.within_km:g} km of {self.venue}"
            if self.within_km
            else f"at {self.venue}"
        )
        noun = "person" if self.people == 1 else "people"
        return f"{self.people} more {who} {noun} {where} ring {self.ring} in {self.shift}"


class AllowForce(_Frozen):
    """Admit a force in a ring (TNI, say, where only police may stand)."""

    kind: Literal["allow_force"] = "allow_force"
    venue: str
    ring: int
    force: Force
    idle: tuple[str, ...] = ()
    """Units of that force within reach and idle in the shift."""

    def __str__(self) -> str:
        text = f"allow {self.force.value.upper() if self.force is Force.TNI else 'police'} in "
        text += f"{self.venue} ring {self.ring}"
        if self.idle:
            text += f" ({', '.join(self.idle)} idle within reach)"
        return text


class FreeUnit(_Frozen):
    """Move a unit from where it stands in the shift to the short ring."""

    kind: Literal["free_unit"] = "free_unit"
    unit: str
    shift: str
    from_venue: str | None
    """Where it stands in the shift; ``None``: it is idle."""
    from_ring: int | None
    to_venue: str
    to_ring: int
    people: int
    """The unit's headcount: what the short ring gains."""
    cost: int
    """People-shifts the ring it leaves goes short by."""

    def __str__(self) -> str:
        if self.from_venue is None:
            return f"assign idle {self.unit} to {self.to_venue} ring {self.to_ring} in {self.shift}"
        text = f"free {self.unit} from {self.from_venue} ring {self.from_ring} in {self.shift}"
        if self.cost:
            return text + f", costing {self.cost} people-shifts there"
        return text + " (no shortfall there)"


Remedy = Annotated[RaiseCapacity | AddPeople | AllowForce | FreeUnit, Field(discriminator="kind")]


def apply_remedy(instance: Instance, remedy: RaiseCapacity | AddPeople | AllowForce) -> Instance:
    """The instance with the remedy made (validated again)."""
    data = instance.model_dump(mode="json")
    venue = next(v for v in data["venues"] if v["id"] == remedy.venue)
    ring = next(r for r in venue["rings"] if r["number"] == remedy.ring)
    if isinstance(remedy, RaiseCapacity):
        ring["capacity"] = remedy.to
    elif isinstance(remedy, AllowForce):
        ring["allowed_forces"] = [*ring["allowed_forces"], remedy.force.value]
    else:
        force = Force.POLRI if Force.POLRI in remedy.forces else remedy.forces[0]
        data["units"].append(
            {
                "id": _fresh_id(instance, f"added-{remedy.venue}-{remedy.shift}"),
                "force": force.value,
                "type": remedy.types[0] if remedy.types else "samapta",
                "headcount": remedy.people,
                "home": {"region": venue["region"], "location": venue["location"]},
                "available_shifts": [remedy.shift],
            }
        )
    return Instance.model_validate(data)


def _fresh_id(instance: Instance, base: str) -> str:
    taken = {unit.id for unit in instance.units}
    candidate, n = base, 1
    while candidate in taken:
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def apply_to_plan(plan: Plan, remedy: FreeUnit) -> Plan:
    """The plan with the unit moved to the short ring in the shift."""
    moved = Assignment(
        unit=remedy.unit, venue=remedy.to_venue, ring=remedy.to_ring, shift=remedy.shift
    )
    kept = [a for a in plan.assignments if not (a.unit == remedy.unit and a.shift == remedy.shift)]
    return Plan(assignments=(*kept, moved))
