"""Who may stand in a ring of a venue in a shift, and, for everyone else, the rule that stops it.

Worked out from the instance alone, rule by rule in the order a planner checks them, so that a
shortfall can name the rule that binds and the units it blocks. Like :mod:`solver.checker`, it
shares no code with the model builder.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt

from solver.domain import Force, Instance, Ring, Shift, Unit, Venue

__all__ = [
    "Block",
    "Reach",
    "ReachIndex",
    "block_of",
    "km_between",
    "reach",
    "travel_limit",
    "unit_free_in",
]


class Block(StrEnum):
    """Why a unit may not stand in a ring in a shift, whatever the rest of the plan."""

    MAX_SHIFTS_ZERO = "max_shifts_zero"
    """The rules allow no shift at all (``max_shifts: 0``)."""
    UNAVAILABLE = "unavailable"
    """The unit is not available in the shift."""
    FORCE = "force"
    """The ring does not admit the unit's force."""
    TYPE = "type"
    """The ring does not admit the unit's type."""
    TOO_FAR = "too_far"
    """The venue is beyond the unit's travel limit."""
    TOO_LARGE = "too_large"
    """The unit's headcount exceeds the ring's capacity."""


BLOCK_TEXT: dict[Block, str] = {
    Block.MAX_SHIFTS_ZERO: "max_shifts is 0",
    Block.UNAVAILABLE: "not available in the shift",
    Block.FORCE: "force not allowed in the ring",
    Block.TYPE: "type not allowed in the ring",
    Block.TOO_FAR: "beyond their travel limit",
    Block.TOO_LARGE: "larger than the ring holds",
}


def km_between(unit: Unit, venue: Venue) -> float:
    """Great-circle kilometres from a unit's home to a venue (haversine)."""
    a, b = unit.home.location, venue.location
    p1, p2 = math.radians(a.lat), math.radians(b.lat)
    dp, dl = p2 - p1, math.radians(b.lon - a.lon)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0088 * math.asin(min(1.0, math.sqrt(h)))


def travel_limit(instance: Instance, unit: Unit) -> float | None:
    """The farthest a unit may be sent, in km (``None``: no limit)."""
    return unit.max_travel_km or instance.rules.max_travel_km


def unit_free_in(unit: Unit, shift: Shift) -> bool:
    """Whether a unit's availability admits a shift."""
    if unit.available_shifts is not None and shift.id not in unit.available_shifts:
        return False
    if unit.available_windows is None:
        return True
    return any(w.start <= shift.start and w.end >= shift.end for w in unit.available_windows)


def block_of(
    instance: Instance, unit: Unit, venue: Venue, ring: Ring, shift: Shift
) -> Block | None:
    """The first rule that keeps ``unit`` out of ``ring`` of ``venue`` in ``shift``, if any."""
    if instance.rules.max_shifts == 0:
        return Block.MAX_SHIFTS_ZERO
    if not unit_free_in(unit, shift):
        return Block.UNAVAILABLE
    if unit.force not in ring.allowed_forces:
        return Block.FORCE
    if ring.allowed_types is not None and unit.type not in ring.allowed_types:
        return Block.TYPE
    limit = travel_limit(instance, unit)
    if limit is not None and km_between(unit, venue) > limit + 1e-6:
        return Block.TOO_FAR
    if unit.headcount > ring.capacity:
        return Block.TOO_LARGE
    return None


@dataclass(frozen=True)
class Reach:
    """The units that may stand in one ring of one venue in one shift, and those blocked."""

    eligible: tuple[Unit, ...]
    blocked: dict[Block, tuple[Unit, ...]]

    @property
    def headcount(self) -> int:
        """People of the eligible units."""
        return sum(unit.headcount for unit in self.eligible)

    def blocked_only_by(self, block: Block) -> tuple[Unit, ...]:
        """Units whose first blocking rule is ``block``."""
        return self.blocked.get(block, ())


class ReachIndex:
    """:func:`reach` for many rings and shifts of one instance: each distance and each unit's
    ring rules are worked out once per ring, each availability once per shift."""

    def __init__(self, instance: Instance) -> None:
        self.instance = instance
        self._static: dict[tuple[str, int], npt.NDArray[np.int8]] = {}
        self._free: dict[str, npt.NDArray[np.bool_]] = {}

    def _static_blocks(self, venue: Venue, ring: Ring) -> npt.NDArray[np.int8]:
        """Per unit, the first rule of the ring (force, type, distance, size) that blocks it,
        as its code (0: none; see :data:`_CODE`)."""
        key = (venue.id, ring.number)
        if key not in self._static:
            codes = np.zeros(len(self.instance.units), dtype=np.int8)
            for u, unit in enumerate(self.instance.units):
                if unit.force not in ring.allowed_forces:
                    codes[u] = _CODE[Block.FORCE]
                elif ring.allowed_types is not None and unit.type not in ring.allowed_types:
                    codes[u] = _CODE[Block.TYPE]
                else:
                    limit = travel_limit(self.instance, unit)
                    if limit is not None and km_between(unit, venue) > limit + 1e-6:
                        codes[u] = _CODE[Block.TOO_FAR]
                    elif unit.headcount > ring.capacity:
                        codes[u] = _CODE[Block.TOO_LARGE]
            self._static[key] = codes
        return self._static[key]

    def _free_in(self, shift: Shift) -> npt.NDArray[np.bool_]:
        if shift.id not in self._free:
            self._free[shift.id] = np.array(
                [unit_free_in(unit, shift) for unit in self.instance.units], dtype=np.bool_
            )
        return self._free[shift.id]

    def reach(self, venue: Venue, ring: Ring, shift: Shift) -> Reach:
        """Every unit sorted into eligible for the ring in the shift or blocked by one rule
        (the same as :func:`block_of` unit by unit)."""
        units = self.instance.units
        if self.instance.rules.max_shifts == 0:
            codes = np.full(len(units), _CODE[Block.MAX_SHIFTS_ZERO], dtype=np.int8)
        else:
            codes = np.where(
                self._free_in(shift), self._static_blocks(venue, ring), _CODE[Block.UNAVAILABLE]
            ).astype(np.int8)
        eligible = tuple(units[u] for u in np.flatnonzero(codes == 0).tolist())
        blocked: dict[Block, tuple[Unit, ...]] = {}
        for code in np.unique(codes[codes > 0]).tolist():
            block = _BLOCKS[code - 1]
            blocked[block] = tuple(units[u] for u in np.flatnonzero(codes == code).tolist())
        return Reach(eligible, blocked)


_BLOCKS: tuple[Block, ...] = tuple(Block)
_CODE: dict[Block, int] = {block: k + 1 for k, block in enumerate(_BLOCKS)}
"""Each block's code in the arrays of :class:`ReachIndex`; 0 means eligible."""


def reach(instance: Instance, venue: Venue, ring: Ring, shift: Shift) -> Reach:
    """Every unit of the instance sorted into eligible for the ring or blocked by one rule."""
    return ReachIndex(instance).reach(venue, ring, shift)


def force_names(forces: tuple[Force, ...]) -> str:
    """``police``, ``TNI`` or ``police or TNI``."""
    names = {Force.POLRI: "police", Force.TNI: "TNI"}
    return " or ".join(names[f] for f in forces)
