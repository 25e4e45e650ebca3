"""Split an instance into independent parts on the domain, before any model is built.

A unit can stand at a venue only when the venue lies within its travel limit, one of the
venue's rings admits its force, type and headcount, and the venue is guarded in a shift the unit
is available for. Joining every unit to the venues it reaches this way gives a graph whose
connected parts share nothing: no venue, no unit, so each part is planned alone and the plans
are put side by side. The same parts as :func:`solver.decompose.independent_parts` finds on the
model data, found from the instance alone: distances in NumPy, a block of units at a time (so
memory grows with the block and the number of venues, not with units x venues), and a
union-find over venues.

A part whose units reach more (unit, venue) pairs than its budget allows (``max_pairs``; the
pairs measure its model's size and the time its greedy start and search need) is cut along
provinces: each unit stays with its home province, each venue with its region's province, and
**a unit serves only venues of its own province** (what crosses the cut is a unit's reach into
a neighbouring province, and it is dropped). Each province is then split again into its own
connected parts; a province still too big for ``max_pairs`` is cut the same way by home
regency or city. A province within ``max_pairs`` stays whole: its units keep their reach into
every regency of it.

When the parts together still reach more pairs than all the workers' time allows
(``total_pairs``), the part with the most pairs is cut into its regencies (along provinces
first, then regions) and the next biggest after it, until the total fits; the smaller
provinces stay whole. So regions are cut only in a province whose work does not fit. Each part
names the connected part it was cut from (its ``group``, an index into
:func:`connected_parts`), so that the plans of a group's parts can be weighed against a plan
of the group whole (:func:`cut_groups`).

The plans of cut parts are plans of the instance (every rule holds inside each part and no
unit is in two parts); they may miss what the dropped reach across the cut would have covered.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from solver.domain import Instance, RegionLevel, Unit, Venue
from solver.model.data import EARTH_RADIUS_KM, TIE_KM, great_circle_km

BLOCK_UNITS = 2048
"""Units whose distances to every venue are computed at once."""


@dataclass(frozen=True)
class DomainPart:
    """Indices of the venues and units of one part, and how it was found."""

    venues: tuple[int, ...]
    units: tuple[int, ...]
    pairs: int = 0
    """(unit, venue) pairs the part's units reach in it: the size of its model, roughly."""
    cut: str = ""
    """``""`` for a connected part; ``"province"`` or ``"region"`` when it was cut out of a
    bigger one along that level."""
    group: int = 0
    """Index of the connected part it is or was cut out of, in :func:`connected_parts`."""


def _limit(unit: Unit, instance: Instance) -> float:
    limit = unit.max_travel_km if unit.max_travel_km is not None else instance.rules.max_travel_km
    return np.inf if limit is None else float(limit)


def _admits(venue: Venue, unit: Unit) -> bool:
    """Whether some ring of ``venue`` takes ``unit`` (force, type and headcount)."""
    return any(
        unit.force in ring.allowed_forces
        and (ring.allowed_types is None or unit.type in ring.allowed_types)
        and unit.headcount <= ring.capacity
        for ring in venue.rings
    )


def _open_shifts(instance: Instance, unit: Unit) -> npt.NDArray[np.bool_]:
    shifts = instance.shifts
    if unit.available_shifts is not None:
        allowed = set(unit.available_shifts)
        mask = np.array([s.id in allowed for s in shifts], dtype=bool)
    else:
        mask = np.ones(len(shifts), dtype=bool)
    if unit.available_windows is not None:
        windows = unit.available_windows
        mask &= np.array(
            [any(w.start <= s.start and s.end <= w.end for w in windows) for s in shifts],
            dtype=bool,
        )
    return mask


def reach(instance: Instance) -> list[npt.NDArray[np.int64]]:
    """For each unit, the indices of the venues it can stand at (see the module's rule)."""
    venues, units, shifts = instance.venues, instance.units, instance.shifts
    guarded = np.array(
        [[venue.guarded_in(s.id) for s in shifts] for venue in venues], dtype=bool
    ).reshape(len(venues), len(shifts))
    # Units of one kind (force, type, headcount) are admitted by the same venues.
    admitted: dict[tuple[str, str, int], npt.NDArray[np.bool_]] = {}
    # Units open in the same shifts reach venues guarded in one of them.
    open_venues: dict[bytes, npt.NDArray[np.bool_]] = {}
    sites = np.radians([[v.location.lat, v.location.lon] for v in venues]).reshape(-1, 2)
    result: list[npt.NDArray[np.int64]] = [np.zeros(0, dtype=np.int64)] * len(units)
    shifts_of: dict[object, bytes] = {}
    # Blocks of units close in latitude, so that each block's distances are computed only to
    # the venues in its band of latitudes.
    by_latitude = np.argsort([u.home.location.lat for u in units], kind="stable").tolist()
    for first in range(0, len(units), BLOCK_UNITS):
        indices = by_latitude[first : first + BLOCK_UNITS]
        block = [units[u] for u in indices]
        limits = [_limit(u, instance) for u in block]
        near = _within_latitudes(block, sites, max(limits))
        km = _block_km(block, sites[near], [venues[v] for v in near], limits)
        for row, u, unit, limit in zip(km, indices, block, limits, strict=True):
            key = (unit.force.value, unit.type, unit.headcount)
            if key not in admitted:
                admitted[key] = np.array([_admits(v, unit) for v in venues], dtype=bool)
            when = (unit.available_shifts, unit.available_windows)
            if when not in shifts_of:
                open_mask = _open_shifts(instance, unit)
                shifts_of[when] = open_mask.tobytes()
                if shifts_of[when] not in open_venues:
                    open_venues[shifts_of[when]] = np.asarray(
                        (guarded & open_mask).any(axis=1), dtype=bool
                    )
            ok = admitted[key][near] & (row <= limit) & open_venues[shifts_of[when]][near]
            result[u] = near[np.flatnonzero(ok)].astype(np.int64)
    return result


def _within_latitudes(
    block: Sequence[Unit], sites: npt.NDArray[np.float64], limit_km: float
) -> npt.NDArray[np.int64]:
    """Indices of the venues (``sites``: latitude, longitude in radians) whose latitude lies
    within ``limit_km`` of the latitudes of ``block``'s homes: no other venue is that close
    (a great-circle distance is at least the difference of latitudes times the earth's
    radius), so only these need their distances computed."""
    if not np.isfinite(limit_km) or not len(block):
        return np.arange(len(sites), dtype=np.int64)
    lats = np.radians([u.home.location.lat for u in block])
    margin = limit_km / EARTH_RADIUS_KM + 1e-6
    inside = (sites[:, 0] >= lats.min() - margin) & (sites[:, 0] <= lats.max() + margin)
    return np.flatnonzero(inside).astype(np.int64)


def _block_km(
    block: Sequence[Unit],
    sites: npt.NDArray[np.float64],
    venues: Sequence[Venue],
    limits: Sequence[float],
) -> npt.NDArray[np.float64]:
    """Haversine kilometres from each unit of ``block`` to every venue; pairs within
    :data:`~solver.model.data.TIE_KM` of a unit's limit are computed again one by one, as the
    model data does, so that both agree on every limit."""
    homes = np.radians([[u.home.location.lat, u.home.location.lon] for u in block]).reshape(-1, 2)
    p1, p2 = homes[:, :1], sites[:, 0]
    h = (
        np.sin((p2 - p1) / 2) ** 2
        + np.cos(p1) * np.cos(p2) * np.sin((sites[:, 1] - homes[:, 1:]) / 2) ** 2
    )
    km: npt.NDArray[np.float64] = 2 * EARTH_RADIUS_KM * np.arcsin(np.minimum(1.0, np.sqrt(h)))
    most = np.array(limits, dtype=np.float64).reshape(-1, 1)
    for u, v in zip(*np.nonzero(np.abs(km - most) < TIE_KM), strict=True):
        home, site = block[u].home.location, venues[v].location
        km[u, v] = great_circle_km(home.lat, home.lon, site.lat, site.lon)
    return km


def _components(
    reached: Sequence[npt.NDArray[np.int64]] | Mapping[int, npt.NDArray[np.int64]],
    units: Sequence[int],
) -> list[tuple[list[int], list[int]]]:
    """Connected (venues, units) of the given units and the venues they reach, in the order
    of each one's first unit; venues that none of them reaches are left out.

    Vectorised over the (unit, venue) pairs (a union-find over them in Python took most of the
    cut of the nation, some 600,000 pairs gone through twice): each unit joins the venues it
    reaches to its first; labels are hooked to the least of each pair and shortcut until no
    label changes (a few passes: the least label of a component reaches all of it)."""
    members = [u for u in units if len(reached[u])]
    if not members:
        return []
    lists = [reached[u] for u in members]
    venues = np.concatenate(lists)
    firsts = np.repeat([int(v[0]) for v in lists], [len(v) for v in lists])
    found, local = np.unique(venues, return_inverse=True)
    heads = np.searchsorted(found, firsts)
    label = np.arange(len(found))
    while True:
        low = np.minimum(label[heads], label[local])
        hooked = label.copy()
        np.minimum.at(hooked, label[heads], low)
        np.minimum.at(hooked, label[local], low)
        while True:
            jumped = hooked[hooked]
            if np.array_equal(jumped, hooked):
                break
            hooked = jumped
        if np.array_equal(hooked, label):
            break
        label = hooked
    unit_label = label[np.searchsorted(found, [int(v[0]) for v in lists])].tolist()
    units_of: dict[int, list[int]] = {}
    for u, root in zip(members, unit_label, strict=True):
        units_of.setdefault(root, []).append(u)
    venue_label = label.tolist()
    venues_of: dict[int, list[int]] = {}
    for v, root in zip(found.tolist(), venue_label, strict=True):
        venues_of.setdefault(root, []).append(v)
    return [(venues_of[root], group) for root, group in units_of.items()]


def _province_of(instance: Instance) -> Callable[[str], str]:
    parent = {
        r.id: (r.parent if r.level is not RegionLevel.PROVINCE else None) for r in instance.regions
    }

    def province(region: str) -> str:
        up = parent.get(region)
        return region if up is None else up

    return province


def connected_parts(
    instance: Instance, reached: Sequence[npt.NDArray[np.int64]] | None = None
) -> list[DomainPart]:
    """The connected parts of ``instance``, uncut (each with its index as ``group``), in the
    order :func:`domain_parts` numbers them. ``reached`` is :func:`reach` of the instance,
    when already known."""
    reached = reach(instance) if reached is None else reached
    found = _components(reached, range(len(instance.units)))
    return [
        DomainPart(tuple(venues), tuple(units), sum(len(reached[u]) for u in units), "", group)
        for group, (venues, units) in enumerate(found)
    ]


def domain_parts(
    instance: Instance,
    max_pairs: int | None = None,
    reached: Sequence[npt.NDArray[np.int64]] | None = None,
    total_pairs: int | None = None,
    connected: Sequence[DomainPart] | None = None,
) -> list[DomainPart]:
    """The independent parts of ``instance``, largest first (by pairs, units, then venues).

    Venues that no unit reaches belong to no part (all they require is missing whatever the
    plan); units that reach no venue belong to none either. With ``max_pairs``, a part whose
    units reach more (unit, venue) pairs is cut along provinces, then regions (see the
    module's rule); a part of one region is never cut. With ``total_pairs``, the biggest
    parts are then cut into regions, one after another, until all parts together reach at
    most that many pairs (or none is left to cut). ``reached`` is :func:`reach` of the
    instance and ``connected`` its :func:`connected_parts`, when already known. Each part's
    ``group`` is the connected part it was cut from.
    """
    reached = reach(instance) if reached is None else reached
    province = _province_of(instance)
    levels: list[tuple[str, Callable[[str], str]]] = [
        ("province", province),
        ("region", lambda region: region),
    ]
    # Each venue's province (and region), by level: the same for every part placed.
    venue_keys = [
        np.array([key_of(venue.region) for venue in instance.venues], dtype=object)
        for _, key_of in levels
    ]
    Own = Sequence[npt.NDArray[np.int64]] | Mapping[int, npt.NDArray[np.int64]]
    # Every part with the reach its units keep in it and the level it was placed at.
    placed: list[tuple[DomainPart, Own, int]] = []

    def place(
        venues: list[int],
        units: list[int],
        own: Own,
        level: int,
        cut: str,
        limit: int | None,
        group: int,
    ) -> None:
        pairs = sum(len(own[u]) for u in units)
        if limit is None or pairs <= limit or level == len(levels):
            placed.append((DomainPart(tuple(venues), tuple(units), pairs, cut, group), own, level))
            return
        name, key_of = levels[level]
        groups: dict[str, list[int]] = {}
        for u in units:
            groups.setdefault(key_of(instance.units[u].home.region), []).append(u)
        venue_key = venue_keys[level]
        for key, members in sorted(groups.items()):
            # A unit keeps only the venues of its own province (or region): its reach
            # across the cut is dropped.
            mine = {u: own[u][venue_key[own[u]] == key] for u in members}
            for sub_venues, sub_units in _components(mine, members):
                place(sub_venues, sub_units, mine, level + 1, name, limit, group)

    for whole in connected_parts(instance, reached) if connected is None else connected:
        place(list(whole.venues), list(whole.units), reached, 0, "", max_pairs, whole.group)
    if total_pairs is not None:
        _cut_biggest(placed, total_pairs, len(levels), place)
    parts = [part for part, _, _ in placed]
    parts.sort(key=lambda p: (-p.pairs, -len(p.units), -len(p.venues), p.venues))
    return parts


def _cut_biggest(
    placed: list[tuple[DomainPart, Any, int]],
    total_pairs: int,
    depth: int,
    place: Callable[[list[int], list[int], Any, int, str, int | None, int], None],
) -> None:
    """Cut the part with the most pairs into its regions (from the level it was placed at),
    then the next, until ``placed`` reaches at most ``total_pairs`` pairs in all."""
    while sum(part.pairs for part, _, _ in placed) > total_pairs:
        cuttable = [i for i, (_, _, level) in enumerate(placed) if level < depth]
        if not cuttable:
            return
        biggest = max(cuttable, key=lambda i: placed[i][0].pairs)
        part, own, level = placed.pop(biggest)
        # A limit of 0 cuts it down to its regions: what comes out is placed at the last level.
        place(list(part.venues), list(part.units), own, level, part.cut, 0, part.group)


def cut_groups(parts: Sequence[DomainPart]) -> dict[int, list[int]]:
    """The indices of ``parts`` of each connected part that was cut (into more than one part,
    or into one that dropped some reach), by ``group``."""
    members: dict[int, list[int]] = {}
    for i, part in enumerate(parts):
        members.setdefault(part.group, []).append(i)
    return {g: found for g, found in members.items() if any(parts[i].cut for i in found)}


def unreached_venues(instance: Instance, parts: Sequence[DomainPart]) -> list[int]:
    """Venues in no part: no unit can stand there."""
    covered = {v for part in parts for v in part.venues}
    return [v for v in range(len(instance.venues)) if v not in covered]
