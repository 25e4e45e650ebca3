"""What the model is built from: requirements per slot, groups of units and candidate assignments.

Pruning happens here, before a variable exists: a unit is a candidate for a ring of a venue in a
shift only when it is available then, its force and type are allowed in the ring, the venue is
within its travel limit, and its headcount fits the ring's capacity.

Units that the model cannot tell apart are pooled into a :class:`Group` (see
:mod:`solver.model.groups`); a candidate belongs to a group, and its variable counts how many of
the group's units stand in the slot. The per-unit model is the special case where every group
holds one unit.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import pairwise
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from solver.domain import Instance, RiskLevel, Shift, Unit
from solver.model.groups import Group, group_units, is_reserve

__all__ = [
    "Candidate",
    "Group",
    "ModelData",
    "Slot",
    "build_data",
    "cut",
    "is_reserve",
    "restrict",
]

EARTH_RADIUS_KM = 6371.0088


def great_circle_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Haversine distance in kilometres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def required_headcount(base: int, multiplier: float) -> int:
    """Base minimum times the risk multiplier, rounded up (with a guard against float noise)."""
    return math.ceil(base * multiplier - 1e-9)


@dataclass(frozen=True)
class Slot:
    """One ring of one venue in one shift: where coverage is required."""

    venue: int
    ring: int
    """Index of the ring within the venue's rings (not its number)."""
    shift: int
    required: int
    capacity: int
    risk: RiskLevel
    weight: int
    """Objective weight of one missing person here (risk weight x ring weight)."""


class Candidate(NamedTuple):
    """A possible assignment: units of group ``group`` in slot ``slot``."""

    group: int
    slot: int
    km: int
    """Rounded travel distance from the units' home to the venue."""


Column = npt.NDArray[np.int64]


@dataclass
class ModelData:
    """Indices over an instance, shared by the model builder and the result reader.

    Candidates are held as columns (:attr:`candidate_group`, :attr:`candidate_slot`,
    :attr:`candidate_km`, one entry per candidate): a province model has 140,000 of them, and
    the model builder reads them as arrays. :attr:`candidates` gives them as tuples.
    """

    instance: Instance
    slots: list[Slot]
    groups: list[Group]
    candidate_group: Column
    """Group index of each candidate."""
    candidate_slot: Column
    """Slot index of each candidate."""
    candidate_km: Column
    """Rounded distance from the home of each candidate's units to its venue."""
    by_slot: list[list[int]] = field(default_factory=list)
    """Candidate indices per slot."""
    by_group_shift: dict[tuple[int, int], list[int]] = field(default_factory=dict)
    """Candidate indices per (group, shift)."""
    shift_conflicts: list[tuple[int, int]] = field(default_factory=list)
    """Pairs of shifts one unit may not both work (overlap or too little rest)."""
    windows_24h: list[list[int]] = field(default_factory=list)
    """For each shift, the shifts that start within 24 hours from its start."""
    days: list[date] = field(default_factory=list)
    """Calendar days of the horizon, in order."""
    shift_day: list[int] = field(default_factory=list)
    """Index in :attr:`days` of each shift's start date."""
    unit_pairs: list[list[tuple[int, int]]] | None = field(default=None, repr=False)
    """The (slot, km) pairs of each unit (see :func:`unit_candidates`) when computed; else
    :attr:`per_unit` derives them from the candidates."""
    _candidates: list[Candidate] | None = field(default=None, init=False, repr=False)
    _candidate_index: dict[tuple[int, str, int, str], int] | None = field(
        default=None, init=False, repr=False
    )
    _sorted_keys: tuple[Column, Column] | None = field(default=None, init=False, repr=False)
    _slot_shifts: Column | None = field(default=None, init=False, repr=False)

    @property
    def n_candidates(self) -> int:
        """How many candidates there are."""
        return len(self.candidate_group)

    def candidate_headcount(self) -> Column:
        """Headcount of one unit of each candidate's group."""
        headcount = np.array([group.headcount for group in self.groups], dtype=np.int64)
        per_candidate: Column = headcount[self.candidate_group]
        return per_candidate

    @property
    def candidates(self) -> list[Candidate]:
        """The candidates as tuples, made on first use."""
        if self._candidates is None:
            self._candidates = list(
                map(
                    Candidate._make,
                    zip(
                        self.candidate_group.tolist(),
                        self.candidate_slot.tolist(),
                        self.candidate_km.tolist(),
                        strict=True,
                    ),
                )
            )
        return self._candidates

    @property
    def per_unit(self) -> list[list[tuple[int, int]]]:
        """The (slot, km) pairs of each unit. Where they were not computed (data cut from
        another's), they are derived from the candidates of the unit's group, which is exact
        for data that pools only units with equal pairs (not for ``ignore_km`` data)."""
        if self.unit_pairs is None:
            pairs: list[list[tuple[int, int]]] = [[] for _ in self.instance.units]
            own: list[list[tuple[int, int]]] = [[] for _ in self.groups]
            for g, slot, km in zip(
                self.candidate_group.tolist(),
                self.candidate_slot.tolist(),
                self.candidate_km.tolist(),
                strict=True,
            ):
                own[g].append((slot, km))
            for group, group_pairs in zip(self.groups, own, strict=True):
                for u in group.members:
                    pairs[u] = group_pairs
            self.unit_pairs = pairs
        return self.unit_pairs

    def group_of_unit(self) -> dict[int, int]:
        """Group index of every unit that has a candidate."""
        return {u: g for g, group in enumerate(self.groups) for u in group.members}

    def unit_groups(self) -> Column:
        """Group index of every unit of the instance, as an array (-1: no candidate)."""
        groups: Column = np.full(len(self.instance.units), -1, dtype=np.int64)
        for g, group in enumerate(self.groups):
            groups[list(group.members)] = g
        return groups

    def slot_reach(self) -> list[int]:
        """The most headcount that could stand in each slot: every unit that may."""
        groups = self.groups
        people = np.array([g.headcount * g.size for g in groups], dtype=np.int64)
        reach = np.zeros(len(self.slots), dtype=np.int64)
        if len(people):
            np.add.at(reach, self.candidate_slot, people[self.candidate_group])
        reach_list: list[int] = reach.tolist()
        return reach_list

    def slot_shifts(self) -> Column:
        """Shift index of each slot, as an array (``slot_shifts()[candidate_slot]`` gives
        each candidate's shift)."""
        if self._slot_shifts is None:
            self._slot_shifts = np.array([slot.shift for slot in self.slots], dtype=np.int64)
        return self._slot_shifts

    def candidate_of(self, groups: Column, slots: Column) -> Column:
        """The candidate of each (group, slot) pair of the two arrays, -1 where there is none:
        the vectorised lookup by index (:meth:`candidate_index` looks up by names)."""
        n_slots = len(self.slots)
        if self._sorted_keys is None:
            keys = self.candidate_group * n_slots + self.candidate_slot
            order = np.argsort(keys, kind="stable")
            self._sorted_keys = keys[order], order
        keys, order = self._sorted_keys
        query = np.asarray(groups, dtype=np.int64) * n_slots + np.asarray(slots, dtype=np.int64)
        if not len(keys):
            return np.full(query.shape, -1, dtype=np.int64)
        at = np.minimum(np.searchsorted(keys, query), len(keys) - 1)
        found: Column = np.where(keys[at] == query, order[at], -1)
        return found

    def candidate_index(self) -> dict[tuple[int, str, int, str], int]:
        """``(group, venue id, ring number, shift id) -> candidate``: where a plan's
        assignments stand in the model. Built once, on first use."""
        if self._candidate_index is None:
            instance = self.instance
            names = [
                (
                    instance.venues[slot.venue].id,
                    instance.venues[slot.venue].rings[slot.ring].number,
                    instance.shifts[slot.shift].id,
                )
                for slot in self.slots
            ]
            self._candidate_index = {
                (cand.group, *names[cand.slot]): c for c, cand in enumerate(self.candidates)
            }
        return self._candidate_index


def _available(unit: Unit, shift: Shift) -> bool:
    if unit.available_shifts is not None and shift.id not in unit.available_shifts:
        return False
    if unit.available_windows is not None:
        return any(w.start <= shift.start and shift.end <= w.end for w in unit.available_windows)
    return True


def build_slots(instance: Instance) -> list[Slot]:
    """One slot per venue, ring and shift, with its requirement and shortfall weight.

    In a shift in which the venue is not guarded (:attr:`~solver.domain.Venue.guarded_shifts`)
    the slot requires nobody and holds nobody: it stays, so that slot indices are the same for
    every venue, but no assignment can use it and no coverage is reported for it.
    """
    rules = instance.rules
    slots: list[Slot] = []
    for v, venue in enumerate(instance.venues):
        for r, ring in enumerate(venue.rings):
            for s, shift in enumerate(instance.shifts):
                risk = venue.risk_at(shift.id)
                guarded = venue.guarded_in(shift.id)
                required = required_headcount(ring.min_headcount, rules.risk_multipliers[risk])
                slots.append(
                    Slot(
                        venue=v,
                        ring=r,
                        shift=s,
                        required=required if guarded else 0,
                        capacity=ring.capacity if guarded else 0,
                        risk=risk,
                        weight=rules.risk_weights[risk] * rules.ring_weights[ring.number],
                    )
                )
    return slots


UnitCandidates = list[tuple[int, int]]
"""The (slot, km) pairs of one unit, in slot order."""


def _distances(instance: Instance, limits: Sequence[float | None]) -> npt.NDArray[np.float64]:
    """Kilometres from each unit's home to each venue, as :func:`great_circle_km` gives them.

    Computed for all pairs at once; where the last bits of NumPy's arithmetic could decide
    something (a distance within a millimetre of the unit's travel limit in ``limits`` or of a
    half kilometre, where it is rounded), the pair is computed again by
    :func:`great_circle_km` itself.
    """
    homes = np.radians([[u.home.location.lat, u.home.location.lon] for u in instance.units])
    sites = np.radians([[v.location.lat, v.location.lon] for v in instance.venues])
    homes, sites = homes.reshape(-1, 2), sites.reshape(-1, 2)
    p1, p2 = homes[:, :1], sites[:, 0]
    h = (
        np.sin((p2 - p1) / 2) ** 2
        + np.cos(p1) * np.cos(p2) * np.sin((sites[:, 1] - homes[:, 1:]) / 2) ** 2
    )
    km: npt.NDArray[np.float64] = 2 * EARTH_RADIUS_KM * np.arcsin(np.minimum(1.0, np.sqrt(h)))
    most = np.array([np.inf if x is None else x for x in limits], dtype=np.float64)
    close = np.abs(km - most.reshape(-1, 1)) < TIE_KM
    close |= np.abs(km - np.floor(km) - 0.5) < TIE_KM
    for u, v in zip(*np.nonzero(close), strict=True):
        home, venue = instance.units[u].home.location, instance.venues[v].location
        km[u, v] = great_circle_km(home.lat, home.lon, venue.lat, venue.lon)
    return km


TIE_KM = 1e-6
"""How close to a decision (a travel limit, a half kilometre) a vectorised distance is
computed again by :func:`great_circle_km`."""


def unit_candidates(instance: Instance, slots: list[Slot]) -> list[UnitCandidates]:
    """For each unit, the slots it may stand in and the rounded distance to each."""
    rules = instance.rules
    slot_index = {(slot.venue, slot.ring, slot.shift): i for i, slot in enumerate(slots)}
    result: list[UnitCandidates] = []
    limits = [
        unit.max_travel_km if unit.max_travel_km is not None else rules.max_travel_km
        for unit in instance.units
    ]
    distances = _distances(instance, limits)
    for u, (unit, limit) in enumerate(zip(instance.units, limits, strict=True)):
        pairs: UnitCandidates = []
        result.append(pairs)
        open_shifts = [s for s, shift in enumerate(instance.shifts) if _available(unit, shift)]
        if not open_shifts:
            continue
        row = distances[u]
        near = range(len(row)) if limit is None else np.flatnonzero(row <= limit).tolist()
        for v in near:
            venue = instance.venues[v]
            shifts_here = open_shifts
            if venue.guarded_shifts is not None:  # no candidate where the venue holds nobody
                shifts_here = [s for s in open_shifts if venue.guarded_in(instance.shifts[s].id)]
                if not shifts_here:
                    continue
            km = float(row[v])
            for r, ring in enumerate(venue.rings):
                if unit.force not in ring.allowed_forces:
                    continue
                if ring.allowed_types is not None and unit.type not in ring.allowed_types:
                    continue
                if unit.headcount > ring.capacity:
                    continue
                rounded = round(km)
                pairs.extend((slot_index[v, r, s], rounded) for s in shifts_here)
        pairs.sort()
    return result


def build_data(
    instance: Instance,
    *,
    grouped: bool = True,
    ignore_km: bool = False,
    history: Sequence[object] | None = None,
    like: ModelData | None = None,
) -> ModelData:
    """Compute slots, groups, pruned candidates and the shift relations the rules need.

    With ``grouped`` false every unit is its own group (the per-unit model). With ``ignore_km``
    units that differ only in their distances share a group, for the objective terms that do
    not depend on distance; a candidate's ``km`` is then that of the group's first unit. With
    ``history`` (one key per unit) only units with equal keys share a group. ``like``, model
    data of the same instance, lends its slots and per-unit candidates instead of computing
    them again.
    """
    if like is not None:
        slots, per_unit = like.slots, like.per_unit
    else:
        slots = build_slots(instance)
        per_unit = unit_candidates(instance, slots)
    days, shift_day = shift_days(instance)
    slot_shift = [slot.shift for slot in slots]
    groups = group_units(
        instance,
        per_unit,
        slot_shift,
        shift_day,
        grouped=grouped,
        ignore_km=ignore_km,
        history=history,
    )
    lengths = [len(per_unit[group.members[0]]) for group in groups]
    pairs = np.array(
        [pair for group in groups for pair in per_unit[group.members[0]]], dtype=np.int64
    ).reshape(-1, 2)
    data = ModelData(
        instance=instance,
        slots=slots,
        groups=groups,
        candidate_group=np.repeat(np.arange(len(groups), dtype=np.int64), lengths),
        candidate_slot=pairs[:, 0].copy(),
        candidate_km=pairs[:, 1].copy(),
        unit_pairs=per_unit,
    )
    data.shift_conflicts, data.windows_24h = shift_relations(instance)
    data.days, data.shift_day = days, shift_day
    return _indexed(data)


def _indexed(data: ModelData) -> ModelData:
    """Fill the candidate indices per slot and per (group, shift), each in candidate order."""
    slot = data.candidate_slot
    order = np.argsort(slot, kind="stable")
    bounds = np.searchsorted(slot[order], np.arange(len(data.slots) + 1)).tolist()
    data.by_slot = [order[a:b].tolist() for a, b in pairwise(bounds)]
    n_shifts = len(data.instance.shifts)
    key = data.candidate_group * n_shifts + (data.slot_shifts()[slot] if len(slot) else slot)
    order = np.argsort(key, kind="stable")
    keys, starts = np.unique(key[order], return_index=True)
    ends = [*starts[1:].tolist(), len(order)] if len(starts) else []
    ordered = order.tolist()  # slicing a list is many times faster than one tolist per key
    data.by_group_shift = {
        (k // n_shifts, k % n_shifts): ordered[a:b]
        for k, a, b in zip(keys.tolist(), starts.tolist(), ends, strict=True)
    }
    return data


def restrict(data: ModelData, keep: Sequence[int]) -> ModelData:
    """The same slots and groups with only the candidates ``keep`` (indices into ``data``, in
    increasing order): a neighbourhood of the full model for a search that cannot cover it all.
    Candidate ``i`` of the result is candidate ``keep[i]`` of ``data``."""
    kept = np.asarray(keep, dtype=np.int64)
    return cut(
        data,
        ModelData(
            instance=data.instance,
            slots=data.slots,
            groups=data.groups,
            candidate_group=data.candidate_group[kept],
            candidate_slot=data.candidate_slot[kept],
            candidate_km=data.candidate_km[kept],
            unit_pairs=data.unit_pairs,
        ),
    )


def cut(data: ModelData, sub: ModelData) -> ModelData:
    """``sub``, model data made from part of ``data``, with the shift relations of ``data``
    (the same shifts) and its candidate indices filled."""
    sub.shift_conflicts, sub.windows_24h = data.shift_conflicts, data.windows_24h
    sub.days, sub.shift_day = data.days, data.shift_day
    return _indexed(sub)


def shift_days(instance: Instance) -> tuple[list[date], list[int]]:
    """The calendar days of the horizon and each shift's day (its start date, local time)."""
    starts = [shift.start.date() for shift in instance.shifts]
    first, last = min(starts), max(starts)
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    return days, [(day - first).days for day in starts]


def start_positions(instance: Instance) -> dict[int, int]:
    """Each shift's position when shifts are ordered by start (then index)."""
    shifts = instance.shifts
    by_start = sorted(range(len(shifts)), key=lambda s: (shifts[s].start, s))
    return {s: p for p, s in enumerate(by_start)}


def shift_relations(instance: Instance) -> tuple[list[tuple[int, int]], list[list[int]]]:
    """Conflicting shift pairs under the rest rule, and the 24-hour windows."""
    rest = timedelta(hours=instance.rules.min_rest_hours)
    shifts = instance.shifts
    conflicts = []
    windows = []
    for a, sa in enumerate(shifts):
        for b in range(a + 1, len(shifts)):
            sb = shifts[b]
            if sb.start < sa.end + rest and sa.start < sb.end + rest:
                conflicts.append((a, b))
        windows.append(
            [b for b, sb in enumerate(shifts) if sa.start <= sb.start < sa.start + timedelta(1)]
        )
    return conflicts, windows
