"""A first plan of a whole instance in seconds, from the domain, in NumPy.

The greedy of :mod:`solver.heuristics.greedy` fills one slot at a time in Python; on the nation
(26,000 units, 100,000 ring-shifts) that takes minutes. This planner fills many slots at once.
Slots are taken in waves, heaviest shortfall weight first and, within one weight, shift by
shift in time order (the greedy's ``weight`` order). In a wave every unit that its duty rules
leave free for the shift (one place per shift, rest, most shifts, shifts per 24 hours,
consecutive days) offers itself to the nearest ring of the wave it may stand in; each ring
takes the offers it needs, police before the reserve and then the nearest, while its capacity
allows; units not taken offer themselves to their next nearest ring, until every ring of the
wave has what it needs or no unit is left to offer. A unit is placed only where its force, type,
headcount, availability, travel limit and the ring's capacity allow, and only when free, so
the plan keeps every rule (:func:`solver.check_plan` agrees).

Which venues a unit reaches comes from :func:`solver.parts.split.reach` (the split's rule, so
the plan and the parts agree on every travel limit). The planner stops at ``deadline`` and
returns the plan so far, which is valid too.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from solver.domain import Instance
from solver.model.data import (
    EARTH_RADIUS_KM,
    _available,
    build_slots,
    shift_days,
    shift_relations,
    start_positions,
)
from solver.model.groups import is_reserve

PlainAssignment = tuple[str, str, int, str]
"""(unit, venue, ring number, shift) of one assignment."""

Array = npt.NDArray[np.int64]

MAX_BITS = 62
"""Most shifts and days the planner handles (each unit's shifts and days are one integer)."""

MAX_OFFERS = 40
"""Most rounds of offers in one wave (almost every wave settles in a few)."""


def fits(instance: Instance) -> bool:
    """Whether :func:`wave_plan` can plan ``instance`` (at most :data:`MAX_BITS` shifts and
    days)."""
    days, _ = shift_days(instance) if instance.shifts else ([], [])
    return 0 < len(instance.shifts) <= MAX_BITS and len(days) <= MAX_BITS


class _Duty:
    """Each unit's shifts, count and days as NumPy integers, and who is free for a shift."""

    def __init__(self, instance: Instance, n_units: int) -> None:
        n_shifts = len(instance.shifts)
        conflicts, windows = shift_relations(instance)
        _days, self.shift_day = shift_days(instance)
        self.rules = instance.rules
        self.conflict = [1 << s for s in range(n_shifts)]
        for a, b in conflicts:
            self.conflict[a] |= 1 << b
            self.conflict[b] |= 1 << a
        window_mask = [sum(1 << s for s in window) for window in windows]
        self.windows_of: list[list[int]] = [[] for _ in range(n_shifts)]
        for a, window in enumerate(windows):
            for s in window:
                self.windows_of[s].append(window_mask[a])
        self.worked = np.zeros(n_units, dtype=np.int64)
        self.load = np.zeros(n_units, dtype=np.int64)
        self.days = np.zeros(n_units, dtype=np.int64)

    def free(self, shift: int) -> npt.NDArray[np.bool_]:
        """Which units may also work ``shift`` under the duty rules."""
        rules, worked = self.rules, self.worked
        ok: npt.NDArray[np.bool_] = (worked & self.conflict[shift]) == 0
        if rules.max_shifts is not None:
            ok &= self.load < rules.max_shifts
        if rules.max_shifts_per_24h is not None:
            for mask in self.windows_of[shift]:
                ok &= np.bitwise_count(worked & mask) < rules.max_shifts_per_24h
        limit = rules.max_consecutive_days
        if limit is not None:
            on = self.days | (1 << self.shift_day[shift])
            run = on.copy()
            for _ in range(limit):
                run &= run >> 1
            ok &= (run == 0) | (on == self.days)
        return ok

    def take(self, units: Array, shift: int) -> None:
        """``units`` (each once) work ``shift``."""
        self.worked[units] |= 1 << shift
        self.load[units] += 1
        self.days[units] |= 1 << self.shift_day[shift]


def _pairs(instance: Instance, reached: Sequence[Array]) -> tuple[Array, Array, Array]:
    """(unit, line, km) of every ring a unit may stand in, sorted by line; a line is one ring
    of one venue (``venue``'s rings in order, venues in order)."""
    venues, units = instance.venues, instance.units
    ring_counts = np.array([len(v.rings) for v in venues], dtype=np.int64)
    first_line = np.concatenate(([0], np.cumsum(ring_counts)))
    lengths = np.array([len(r) for r in reached], dtype=np.int64)
    unit_of = np.repeat(np.arange(len(units), dtype=np.int64), lengths)
    venue_of = (
        np.concatenate([np.asarray(r, dtype=np.int64) for r in reached])
        if len(reached)
        else np.zeros(0, dtype=np.int64)
    )
    homes = np.radians([[u.home.location.lat, u.home.location.lon] for u in units]).reshape(-1, 2)
    sites = np.radians([[v.location.lat, v.location.lon] for v in venues]).reshape(-1, 2)
    a, b = homes[unit_of], sites[venue_of]
    h = (
        np.sin((b[:, 0] - a[:, 0]) / 2) ** 2
        + np.cos(a[:, 0]) * np.cos(b[:, 0]) * np.sin((b[:, 1] - a[:, 1]) / 2) ** 2
    )
    km = np.rint(2 * EARTH_RADIUS_KM * np.arcsin(np.minimum(1.0, np.sqrt(h)))).astype(np.int64)
    # Which rings take which kind of unit (force, type, headcount).
    rings = [ring for venue in venues for ring in venue.rings]
    capacity = np.array([ring.capacity for ring in rings], dtype=np.int64)
    force_ok: dict[str, npt.NDArray[np.bool_]] = {}
    type_ok: dict[str, npt.NDArray[np.bool_]] = {}
    kinds: dict[tuple[str, str, int], int] = {}
    rows = []
    kind_of = np.zeros(len(units), dtype=np.int64)
    for u, unit in enumerate(units):
        key = (unit.force.value, unit.type, unit.headcount)
        k = kinds.get(key)
        if k is None:
            k = kinds[key] = len(kinds)
            if unit.force.value not in force_ok:
                force_ok[unit.force.value] = np.array(
                    [unit.force in ring.allowed_forces for ring in rings], dtype=bool
                )
            if unit.type not in type_ok:
                type_ok[unit.type] = np.array(
                    [r.allowed_types is None or unit.type in r.allowed_types for r in rings],
                    dtype=bool,
                )
            rows.append(
                force_ok[unit.force.value] & type_ok[unit.type] & (unit.headcount <= capacity)
            )
        kind_of[u] = k
    admits = np.array(rows, dtype=bool).reshape(len(rows), len(rings))
    most = int(ring_counts.max()) if len(ring_counts) else 0
    out_u, out_l, out_k = [], [], []
    for r in range(most):
        has = ring_counts[venue_of] > r
        line = first_line[venue_of[has]] + r
        ok = admits[kind_of[unit_of[has]], line]
        out_u.append(unit_of[has][ok])
        out_l.append(line[ok])
        out_k.append(km[has][ok])
    if not out_u:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    p_unit, p_line = np.concatenate(out_u), np.concatenate(out_l)
    p_km = np.concatenate(out_k)
    order = np.argsort(p_line, kind="stable")
    return p_unit[order], p_line[order], p_km[order]


@dataclass(frozen=True)
class WavePlan:
    """A plan made by :func:`wave_plan` and what it leaves short."""

    assignments: tuple[PlainAssignment, ...]
    weighted_shortfall: int
    """Missing people weighted by risk and ring, over every ring-shift of the instance."""
    shortfall: int
    """Missing headcount-shifts."""
    seconds: float
    """How long the planner took."""
    venue_weighted: tuple[int, ...] = ()
    """:attr:`weighted_shortfall` venue by venue (in the instance's order)."""


def wave_plan(
    instance: Instance, reached: Sequence[Array], *, deadline: float | None = None
) -> WavePlan:
    """A valid plan of ``instance`` (see the module).

    ``reached`` holds, for each unit, the indices of the venues it can stand at
    (:func:`solver.parts.split.reach`). At ``deadline`` (``time.time()``) the waves stop and the
    plan so far is returned. The instance must :func:`fit`.
    """
    began = time.perf_counter()
    if not fits(instance):
        raise ValueError(f"the wave planner handles at most {MAX_BITS} shifts and days")
    units, shifts = instance.units, instance.shifts
    n_shifts = len(shifts)
    slots = build_slots(instance)  # venue by venue, ring by ring, shift by shift
    need = np.array([s.required for s in slots], dtype=np.int64).reshape(-1, n_shifts)
    room = np.array([s.capacity for s in slots], dtype=np.int64).reshape(-1, n_shifts)
    weight = np.array([s.weight for s in slots], dtype=np.int64).reshape(-1, n_shifts)
    p_unit, p_line, p_km = _pairs(instance, reached)
    line_start = np.searchsorted(p_line, np.arange(need.shape[0] + 1))
    headcount = np.array([u.headcount for u in units], dtype=np.int64)
    reserve = np.array([is_reserve(u) for u in units], dtype=np.int64)
    available = _open_shifts(instance)
    duty = _Duty(instance, len(units))
    position = start_positions(instance)
    by_time = sorted(range(n_shifts), key=position.__getitem__)

    placed: list[tuple[Array, Array, int]] = []
    for w in sorted({int(x) for x in np.unique(weight[need > 0])}, reverse=True):
        for s in by_time:
            if deadline is not None and time.time() >= deadline:
                return _result(instance, placed, need, weight, began)
            lines = np.flatnonzero((weight[:, s] == w) & (need[:, s] > 0))
            if len(lines) == 0:
                continue
            starts, ends = line_start[lines], line_start[lines + 1]
            counts = ends - starts
            if counts.sum() == 0:
                continue
            idx = np.repeat(starts - np.cumsum(counts) + counts, counts) + np.arange(counts.sum())
            free = duty.free(s) & ((available >> s) & 1 == 1)
            idx = idx[free[p_unit[idx]]]
            took_units, took_lines = _wave(
                idx, p_unit, p_line, p_km, headcount, reserve, need[:, s], room[:, s]
            )
            if len(took_units):
                duty.take(took_units, s)
                placed.append((took_units, took_lines, s))
    return _result(instance, placed, need, weight, began)


def _open_shifts(instance: Instance) -> Array:
    """Bitmask of the shifts each unit is available for."""
    shifts = instance.shifts
    seen: dict[object, int] = {}
    masks = np.zeros(len(instance.units), dtype=np.int64)
    for u, unit in enumerate(instance.units):
        key = (unit.available_shifts, unit.available_windows)
        mask = seen.get(key)
        if mask is None:
            mask = seen[key] = sum(
                1 << s for s, shift in enumerate(shifts) if _available(unit, shift)
            )
        masks[u] = mask
    return masks


def _wave(
    idx: Array,
    p_unit: Array,
    p_line: Array,
    p_km: Array,
    headcount: Array,
    reserve: Array,
    need: Array,
    room: Array,
) -> tuple[Array, Array]:
    """One wave's rounds of offers over the pairs ``idx``; ``need`` and ``room`` (per line, of
    this shift) are lowered in place. Returns the units placed and their lines."""
    # Each unit's pairs nearest first: a unit's offer is its first pair still open.
    idx = idx[np.lexsort((p_km[idx], p_unit[idx]))]
    u, line, km = p_unit[idx], p_line[idx], p_km[idx]
    h = headcount[u]
    live = h <= room[line]
    took_u: list[Array] = []
    took_l: list[Array] = []
    for _ in range(MAX_OFFERS):
        open_ = np.flatnonzero(live)
        if len(open_) == 0:
            break
        _, first = np.unique(u[open_], return_index=True)
        offer = open_[first]
        # Each line takes its offers police first, then the nearest, while it needs people
        # and has room.
        offer = offer[np.lexsort((km[offer], reserve[u[offer]], line[offer]))]
        o_line, o_h = line[offer], h[offer]
        cum = np.cumsum(o_h)
        begins = np.flatnonzero(np.r_[True, o_line[1:] != o_line[:-1]])
        runs = np.diff(np.r_[begins, len(offer)])
        before = cum - o_h - np.repeat(cum[begins] - o_h[begins], runs)
        take = (before < need[o_line]) & (before + o_h <= room[o_line])
        taken = offer[take]
        if len(taken):
            np.subtract.at(need, line[taken], h[taken])
            np.subtract.at(room, line[taken], h[taken])
            took_u.append(u[taken])
            took_l.append(line[taken])
            gone = np.zeros(int(u.max()) + 1, dtype=bool)
            gone[u[taken]] = True
            live &= ~gone[u]
        live &= (need[line] > 0) & (h <= room[line])
        # An offer a line turned down while it still needs people: the line preferred others
        # (or had no room for this one); the unit offers itself elsewhere next round.
        live[offer[~take]] = False
    if not took_u:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    return np.concatenate(took_u), np.concatenate(took_l)


def _result(
    instance: Instance,
    placed: Sequence[tuple[Array, Array, int]],
    need: Array,
    weight: Array,
    began: float,
) -> WavePlan:
    """The placements as (unit, venue, ring number, shift), and the need left."""
    line_ring = [(v.id, ring.number) for v in instance.venues for ring in v.rings]
    units, shifts = instance.units, instance.shifts
    short = np.maximum(need, 0)
    line_venue = np.repeat(
        np.arange(len(instance.venues)), [len(venue.rings) for venue in instance.venues]
    )
    by_venue = np.zeros(len(instance.venues), dtype=np.int64)
    np.add.at(by_venue, line_venue, (short * weight).sum(axis=1))
    return WavePlan(
        assignments=tuple(
            (units[u].id, *line_ring[line], shifts[s].id)
            for took_u, took_l, s in placed
            for u, line in zip(took_u.tolist(), took_l.tolist(), strict=True)
        ),
        weighted_shortfall=int((short * weight).sum()),
        shortfall=int(short.sum()),
        seconds=time.perf_counter() - began,
        venue_weighted=tuple(by_venue.tolist()),
    )
