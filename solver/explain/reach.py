"""Who may stand in a ring of a venue in a shift, and, for everyone else, the rule that stops it.

Worked out from the instance alone, rule by rule in the order a planner checks them, so that a
shortfall can name the rule that binds and the units it blocks. Like :mod:`solver.checker`, it
shares no code with the model builder.
"""

from __future__ import annotations

import math
from enum import StrEnum

import numpy as np
import numpy.typing as npt

from solver.domain import Force, Instance, Ring, Shift, Unit, Venue

__all__ = [
    "Block",
    "Reach",
    "ReachIndex",
    "block_code",
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


EARTH_RADIUS_KM = 6371.0088


def km_between(unit: Unit, venue: Venue) -> float:
    """Great-circle kilometres from a unit's home to a venue (haversine)."""
    a, b = unit.home.location, venue.location
    p1, p2 = math.radians(a.lat), math.radians(b.lat)
    dp, dl = p2 - p1, math.radians(b.lon - a.lon)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


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


class Reach:
    """The units that may stand in one ring of one venue in one shift, and those blocked."""

    def __init__(
        self, units: tuple[Unit, ...], codes: npt.NDArray[np.int8], headcount: int
    ) -> None:
        self._units = units
        self.codes = codes
        """Per unit, 0 when eligible, else the code of the rule that blocks it."""
        self.headcount = headcount
        """People of the eligible units."""

    @property
    def eligible(self) -> tuple[Unit, ...]:
        """The units that may stand there."""
        return tuple(self._units[u] for u in np.flatnonzero(self.codes == 0).tolist())

    @property
    def blocked(self) -> dict[Block, tuple[Unit, ...]]:
        """The blocked units by the first rule that blocks them (in :class:`Block` order)."""
        codes = self.codes
        return {
            _BLOCKS[code - 1]: tuple(self._units[u] for u in np.flatnonzero(codes == code).tolist())
            for code in np.unique(codes[codes > 0]).tolist()
        }

    def blocked_only_by(self, block: Block) -> tuple[Unit, ...]:
        """Units whose first blocking rule is ``block``."""
        hits = np.flatnonzero(self.codes == _CODE[block]).tolist()
        return tuple(self._units[u] for u in hits)


class ReachIndex:
    """:func:`reach` for many rings and shifts of one instance: distances are worked out once
    per venue, each ring's rules once per ring, availability once per shift (as arrays over
    the units)."""

    def __init__(self, instance: Instance) -> None:
        self.instance = instance
        units = instance.units
        self._lat = np.radians([u.home.location.lat for u in units])
        self._lon = np.radians([u.home.location.lon for u in units])
        self._limit = np.array(
            [travel_limit(instance, u) or np.inf for u in units], dtype=np.float64
        )
        self._force = np.array([u.force.value for u in units], dtype=object)
        self._type = np.array([u.type for u in units], dtype=object)
        self._headcount = np.array([u.headcount for u in units], dtype=np.int64)
        self._far: dict[str, npt.NDArray[np.bool_]] = {}
        self._static: dict[tuple[str, int, tuple[Force, ...]], npt.NDArray[np.int8]] = {}
        self._free: dict[str, npt.NDArray[np.bool_]] = {}

    def _too_far(self, venue: Venue) -> npt.NDArray[np.bool_]:
        """Per unit, whether the venue lies beyond its travel limit (haversine, as
        :func:`km_between`)."""
        if venue.id not in self._far:
            lat, lon = math.radians(venue.location.lat), math.radians(venue.location.lon)
            h = (
                np.sin((lat - self._lat) / 2) ** 2
                + np.cos(self._lat) * math.cos(lat) * np.sin((lon - self._lon) / 2) ** 2
            )
            km = 2 * EARTH_RADIUS_KM * np.arcsin(np.minimum(1.0, np.sqrt(h)))
            self._far[venue.id] = km > self._limit + 1e-6
        return self._far[venue.id]

    def static_blocks(
        self, venue: Venue, ring: Ring, forces: tuple[Force, ...] | None = None
    ) -> npt.NDArray[np.int8]:
        """Per unit, the code of the first rule of the ring (force, type, distance, size) that
        blocks it (0: none; see :data:`_CODE`); ``forces`` replaces the ring's forces."""
        forces = ring.allowed_forces if forces is None else forces
        key = (venue.id, ring.number, forces)
        if key not in self._static:
            force_ok = np.isin(self._force, [f.value for f in forces])
            type_ok = (
                np.ones(len(self._type), dtype=np.bool_)
                if ring.allowed_types is None
                else np.isin(self._type, list(ring.allowed_types))
            )
            self._static[key] = np.select(
                [~force_ok, ~type_ok, self._too_far(venue), self._headcount > ring.capacity],
                [_CODE[b] for b in (Block.FORCE, Block.TYPE, Block.TOO_FAR, Block.TOO_LARGE)],
                0,
            ).astype(np.int8)
        return self._static[key]

    def free_in(self, shift: Shift) -> npt.NDArray[np.bool_]:
        """Per unit, whether its availability admits the shift."""
        if shift.id not in self._free:
            self._free[shift.id] = np.array(
                [unit_free_in(unit, shift) for unit in self.instance.units], dtype=np.bool_
            )
        return self._free[shift.id]

    def reach(self, venue: Venue, ring: Ring, shift: Shift) -> Reach:
        """Every unit sorted into eligible for the ring in the shift or blocked by one rule
        (the same as :func:`block_of` unit by unit)."""
        if self.instance.rules.max_shifts == 0:
            codes = np.full(len(self._headcount), _CODE[Block.MAX_SHIFTS_ZERO], dtype=np.int8)
        else:
            codes = np.where(
                self.free_in(shift), self.static_blocks(venue, ring), _CODE[Block.UNAVAILABLE]
            ).astype(np.int8)
        return Reach(self.instance.units, codes, int(self._headcount[codes == 0].sum()))


_BLOCKS: tuple[Block, ...] = tuple(Block)
_CODE: dict[Block, int] = {block: k + 1 for k, block in enumerate(_BLOCKS)}
"""Each block's code in the arrays of :class:`ReachIndex`; 0 means eligible."""


def block_code(block: Block) -> int:
    """The code of ``block`` in :attr:`Reach.codes` (0 means eligible)."""
    return _CODE[block]


def reach(instance: Instance, venue: Venue, ring: Ring, shift: Shift) -> Reach:
    """Every unit of the instance sorted into eligible for the ring or blocked by one rule."""
    return ReachIndex(instance).reach(venue, ring, shift)


def force_names(forces: tuple[Force, ...]) -> str:
    """``police``, ``TNI`` or ``police or TNI``."""
    names = {Force.POLRI: "police", Force.TNI: "TNI"}
    return " or ".join(names[f] for f in forces)
