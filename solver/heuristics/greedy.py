"""A quick plan to start from: what a human planner would do, as a warm start for CP-SAT.

Slots are filled in one of three orders (most important first over the whole horizon, or day
by day, or shift by shift, most important first within); each takes, while its
requirement is not met and its capacity allows, the best free unit, then the least busy, then
the nearest. Two rankings of "best" are offered: ``police_first`` is the human planner's
(police before the reserve, then a unit that fits the remaining need before one that overshoots
it, largest first); the other covers the need with the least flexible unit that covers it (the
one with the fewest candidate slots, often a reserve platoon that fits only the outer rings),
keeping flexible units for the slots only they can fill. A unit is free when taking the slot
keeps every duty rule (one place per shift, rest, most shifts, shifts per 24 hours,
consecutive days). The plan is built unit by unit, so it is a valid plan, and its counts are
valid for the grouped model too.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Literal

import numpy as np
import numpy.typing as npt

from solver.domain import Plan
from solver.model.data import ModelData, start_positions


def _has_run_longer(days: int, limit: int) -> bool:
    """Whether the day bitmask ``days`` holds more than ``limit`` days in a row.

    After ``k`` steps of ``days &= days >> 1`` a bit is left where a run of ``k + 1`` days
    starts, so a bit left after ``limit`` steps means a run of ``limit + 1``.
    """
    for _ in range(limit):
        days &= days >> 1
        if not days:
            return False
    return days != 0


def past(deadline: float | None, stop: threading.Event | None = None) -> bool:
    """Whether ``deadline`` (``time.time()``) has passed or ``stop`` is set."""
    return (deadline is not None and time.time() >= deadline) or (
        stop is not None and stop.is_set()
    )


SlotOrder = Literal["weight", "day", "time"]


class Duty:
    """What each unit works so far, and whether one more shift keeps every duty rule (one
    place per shift, rest, most shifts, shifts per 24 hours, consecutive days)."""

    def __init__(self, data: ModelData) -> None:
        self.data = data
        self.days_off: Mapping[int, int] = {}
        """Bitmask of the days each unit is kept off (see :func:`planned_days_off`)."""
        rules = data.instance.rules
        self.rules = rules
        n_shifts = len(data.instance.shifts)
        self.conflict = [1 << s for s in range(n_shifts)]
        for a, b in data.shift_conflicts:
            self.conflict[a] |= 1 << b
            self.conflict[b] |= 1 << a
        self.window_mask = [sum(1 << s for s in window) for window in data.windows_24h]
        self.windows_of: list[list[int]] = [[] for _ in range(n_shifts)]
        for a, window in enumerate(data.windows_24h):
            for s in window:
                self.windows_of[s].append(a)
        self.worked: dict[int, int] = {}
        self.load: dict[int, int] = {}
        self.days: dict[int, int] = {}
        """Bitmask of the days each unit is on duty."""

    def free(self, u: int, shift: int) -> bool:
        """Whether unit ``u`` may also work ``shift``."""
        rules, mask = self.rules, self.worked.get(u, 0)
        if mask & self.conflict[shift]:
            return False
        if self.days_off.get(u, 0) >> self.data.shift_day[shift] & 1:
            return False
        if rules.max_shifts is not None and self.load.get(u, 0) >= rules.max_shifts:
            return False
        if rules.max_shifts_per_24h is not None:
            for a in self.windows_of[shift]:
                if (mask & self.window_mask[a]).bit_count() >= rules.max_shifts_per_24h:
                    return False
        limit = rules.max_consecutive_days
        if limit is not None:
            days = self.days.get(u, 0)
            on = days | 1 << self.data.shift_day[shift]
            if on != days and _has_run_longer(on, limit):
                return False
        return True

    def take(self, u: int, shift: int) -> None:
        """Unit ``u`` works ``shift``."""
        self.worked[u] = self.worked.get(u, 0) | 1 << shift
        self.load[u] = self.load.get(u, 0) + 1
        self.days[u] = self.days.get(u, 0) | 1 << self.data.shift_day[shift]

    def drop(self, u: int, shift: int) -> None:
        """Unit ``u`` no longer works ``shift``, which it worked."""
        mask = self.worked[u] & ~(1 << shift)
        self.worked[u] = mask
        self.load[u] -= 1
        days, shift_day = 0, self.data.shift_day
        while mask:
            low = mask & -mask
            days |= 1 << shift_day[low.bit_length() - 1]
            mask ^= low
        self.days[u] = days

    def shifts(self, u: int) -> list[int]:
        """The shifts unit ``u`` works, in index order."""
        mask, found = self.worked.get(u, 0), []
        while mask:
            low = mask & -mask
            found.append(low.bit_length() - 1)
            mask ^= low
        return found


def planned_days_off(data: ModelData) -> dict[int, int]:
    """Days off planned ahead for the consecutive-days rule, spread over the units.

    Filling slots in time order, a greedy that keeps every unit busy runs them all into the
    rule's limit together: on the loose province most units had worked five days running by
    the sixth, which then went short. Here each unit for which the rule can bind is kept off
    every ``max + 1``-th day from an offset of its own, the offsets (those that plan the
    fewest days off over the horizon) taken in turn along the units sorted by home, so that
    neighbours rest on different days. Returns a day bitmask per such unit.
    """
    limit = data.instance.rules.max_consecutive_days
    n_days = len(data.days)
    if limit is None or n_days <= limit:
        return {}
    patterns = [sum(1 << d for d in range(r, n_days, limit + 1)) for r in range(limit + 1)]
    fewest = min(p.bit_count() for p in patterns)
    offsets = [p for p in patterns if p.bit_count() == fewest]
    # The days each group has a candidate on; a group whose days hold a longer run than the
    # rule allows is a single unit (pooling keeps such units on their own).
    slot_day = np.asarray(data.shift_day, dtype=np.int64)[data.slot_shifts()]
    keys = np.unique(data.candidate_group * n_days + slot_day[data.candidate_slot])
    masks = [0] * len(data.groups)  # Python integers: a horizon may hold over 63 days
    for key in keys.tolist():
        masks[key // n_days] |= 1 << key % n_days
    units = data.instance.units
    bound = [
        group.members[0]
        for group, days in zip(data.groups, masks, strict=True)
        if group.size == 1 and _has_run_longer(days, limit)
    ]
    bound.sort(key=lambda u: (units[u].home.location.lon, units[u].home.location.lat, u))
    return {u: offsets[i % len(offsets)] for i, u in enumerate(bound)}


def _free_options(data: ModelData, s: int, duty: Duty, reach: Sequence[int]) -> list[Option]:
    """The units free to take slot ``s`` as :func:`_pick` ranks them, one option per unit and
    candidate. Placing a unit changes only that unit's duty, so who is free (and each one's
    load) stays the same while the slot is filled: the greedy asks once per slot."""
    shift = data.slots[s].shift
    units, candidates, groups = data.instance.units, data.candidates, data.groups
    options: list[Option] = []
    for c in data.by_slot[s]:
        g, _slot, km = candidates[c]
        static = (int(groups[g].reserve), reach[g])
        for u in groups[g].members:
            if duty.free(u, shift):
                options.append((units[u].headcount, *static, duty.load.get(u, 0), km, c, u))
    return options


def greedy_counts(
    data: ModelData,
    *,
    police_first: bool = True,
    order: SlotOrder = "weight",
    start: Sequence[tuple[int, int]] = (),
    closed_shifts: frozenset[int] = frozenset(),
    days_off: Mapping[int, int] | None = None,
    deadline: float | None = None,
    stop: threading.Event | None = None,
) -> npt.NDArray[np.int64]:
    """Candidate counts of a greedy plan (see the module docstring).

    ``order`` is the order slots are filled in: ``weight`` (heaviest shortfall weight first,
    then time), ``day`` (day by day, heaviest first within a day) or ``time`` (shift by shift,
    heaviest first within a shift). ``start`` holds ``(unit, candidate)`` placements made
    first, in order, each kept only where the ring's capacity and the unit's duty rules allow
    (a plan in force, which the greedy then tops up); no unit is added in ``closed_shifts``.
    ``days_off`` (a day bitmask per unit, see :func:`planned_days_off`) keeps units off days
    (it adds no unit there; the start's places stay). At ``deadline`` (``time.time()``) the
    greedy stops filling slots and returns the plan so far (a valid plan too); so it does
    once ``stop`` is set.
    """
    instance = data.instance
    position = start_positions(instance)

    reach = [0] * len(data.groups)
    for candidate in data.candidates:
        reach[candidate.group] += 1
    duty = Duty(data)
    x = np.zeros(data.n_candidates, dtype=np.int64)

    def rank(s: int) -> tuple[int, ...]:
        slot = data.slots[s]
        if order == "day":
            return (data.shift_day[slot.shift], -slot.weight, position[slot.shift], s)
        if order == "time":
            return (position[slot.shift], -slot.weight, s)
        return (-slot.weight, position[slot.shift], s)

    def place(c: int, u: int, shift: int) -> None:
        x[c] += 1
        duty.take(u, shift)

    placed = _place_start(data, start, duty, x)

    duty.days_off = days_off or {}  # for what is added; the start keeps its places
    slots = sorted(
        (
            s
            for s, slot in enumerate(data.slots)
            if slot.required > placed.get(s, 0) and slot.shift not in closed_shifts
        ),
        key=rank,
    )
    for s in slots:
        if past(deadline, stop):
            break
        slot = data.slots[s]
        need, room = slot.required - placed.get(s, 0), slot.capacity - placed.get(s, 0)
        options = _free_options(data, s, duty, reach)
        while need > 0 and options:
            best = _pick(options, need, room, police_first)
            if best is None:
                break
            headcount, _r, _s, _b, _k, c, u = options.pop(best)
            place(c, u, slot.shift)
            need -= headcount
            room -= headcount
    return x


def plan_counts(data: ModelData, plan: Plan) -> npt.NDArray[np.int64]:
    """Candidate counts of the largest part of ``plan`` that keeps every rule.

    Assignments are taken in time order (then venue, ring and unit id), each kept when it is a
    candidate, its ring has room and its unit is free under the duty rules; so a hint or a plan
    in force that a change made partly impossible still yields a valid plan to start from.
    """
    rows = [(a.unit, a.venue, a.ring, a.shift) for a in plan.assignments]
    # Every shift closed: the plan's own placements, and nothing added.
    closed = frozenset(range(len(data.instance.shifts)))
    return greedy_counts(data, start=plan_start(data, rows), closed_shifts=closed)


def plan_start(data: ModelData, rows: Iterable[tuple[str, str, int, str]]) -> list[tuple[int, int]]:
    """The (unit, candidate) placements of the assignments ``rows`` (unit, venue, ring number,
    shift) that are candidates of ``data``, in time order (then venue, ring and unit id): a
    ``start`` for :func:`greedy_counts`, which keeps those that keep every rule.

    The rows are looked up by index (:meth:`~solver.model.data.ModelData.candidate_of`), not
    through a dictionary of every candidate: on a part of 30,000 (unit, venue) pairs that
    dictionary alone took half of the part's quick plan."""
    instance = data.instance
    units = {unit.id: u for u, unit in enumerate(instance.units)}
    position = {s.id: (s.start, i) for i, s in enumerate(instance.shifts)}
    ordered = sorted(
        (row for row in rows if row[3] in position and row[0] in units),
        key=lambda row: (position[row[3]], row[1], row[2], row[0]),
    )
    if not ordered:
        return []
    venues, shifts = instance.venues, instance.shifts
    slot_of = {
        (
            venues[slot.venue].id,
            venues[slot.venue].rings[slot.ring].number,
            shifts[slot.shift].id,
        ): k
        for k, slot in enumerate(data.slots)
    }
    slots = np.array([slot_of.get(row[1:], -1) for row in ordered], dtype=np.int64)
    placed = np.array([units[row[0]] for row in ordered], dtype=np.int64)
    groups = data.unit_groups()[placed]
    found = np.full(len(ordered), -1, dtype=np.int64)
    known = (slots >= 0) & (groups >= 0)
    found[known] = data.candidate_of(groups[known], slots[known])
    return [(u, c) for u, c in zip(placed.tolist(), found.tolist(), strict=True) if c >= 0]


Option = tuple[int, int, int, int, int, int, int]
"""A unit free for a slot: (headcount, reserve, candidates of its group, load, km, candidate,
unit)."""


def _pick(options: list[Option], need: int, room: int, police_first: bool) -> int | None:
    """Index of the option the greedy places next in a slot still ``need`` short with ``room``
    left, or ``None`` when none fits. Police first: police before reserves, then a unit that
    fits the need (the largest such) before one that overshoots (the smallest); else a unit
    that covers the need (the smallest) before one that does not (the largest), fewest
    candidates first. Then the least busy, then the nearest."""
    best: tuple[tuple[int, ...], int] | None = None
    for i, (headcount, reserve, spread, busy, km, _c, _u) in enumerate(options):
        if headcount > room:
            continue
        if police_first:
            fits = headcount <= need
            key: tuple[int, ...] = (
                reserve,
                0 if fits else 1,
                -headcount if fits else headcount,
                busy,
                km,
            )
        else:
            covers = headcount >= need
            key = (
                0 if covers else 1,
                spread,
                headcount if covers else -headcount,
                reserve,
                busy,
                km,
            )
        if best is None or key < best[0]:
            best = (key, i)
    return None if best is None else best[1]


def _place_start(
    data: ModelData, start: Sequence[tuple[int, int]], duty: Duty, x: npt.NDArray[np.int64]
) -> dict[int, int]:
    """Place ``start``'s ``(unit, candidate)`` pairs in order into ``x``, each where the
    ring's capacity and the unit's duty rules allow; return the headcount placed per slot."""
    placed: dict[int, int] = {}
    for u, c in start:
        s = data.candidates[c].slot
        headcount = data.instance.units[u].headcount
        shift = data.slots[s].shift
        if placed.get(s, 0) + headcount <= data.slots[s].capacity and duty.free(u, shift):
            x[c] += 1
            duty.take(u, shift)
            placed[s] = placed.get(s, 0) + headcount
    return placed
