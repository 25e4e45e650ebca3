"""Shortening a plan's journeys without losing coverage or calling more reserve.

Where a unit stands within a shift decides only coverage and capacity; whether it works a
shift at all decides its duty rules. So, shift by shift, :func:`shorten_travel` makes three
kinds of move wherever they cut kilometres and neither lower any slot's coverage below what
it asks (the weighted shortfall never rises) nor call more reserve (TNI) headcount in:

- *stand down*: a unit whose ring is covered without it goes off duty there;
- *relieve*: a nearer unit that is free in the shift (its duty rules allow it) takes the
  place of one on duty, who goes off duty there;
- *swap*: two units on duty in the same shift trade places.

Greedy plans fill a slot with the first unit that fits its need, often from far away, and
overshoot a ring's requirement by whole units; CP-SAT's search brings such a start down only
slowly on a city-sized model (hundreds of units, tens of thousands of candidates). The moves
take the farthest journeys first, the move that saves most for each; every move cuts the
travel, so the search ends. A deterministic work limit bounds it (the same plan on every run),
and a caller's deadline may cut it shorter. The partners of a unit-shift are weighed together
with NumPy: every unit on duty in the shift as a swap partner, every nearer candidate of the
slot as a relief.
"""

from __future__ import annotations

import time

import numpy as np
import numpy.typing as npt

from solver.heuristics.placements import Placements
from solver.model.data import ModelData

MAX_PASSES = 10
"""Most passes over one shift's unit-shifts in a sweep; a pass that moves no unit ends the
shift's turn."""

MAX_SWEEPS = 3
"""Most sweeps over the shifts, in order of start: a relief changes who is free in the shifts
around, so a sweep that moved a unit is followed by another."""

MAX_WORK = 20_000
"""Most unit-shifts weighed (each against every partner in its shift at once) in one search:
it bounds the search's time on large instances and, unlike a clock, gives the same plan on
every run. Measured on greedy starts: 0.1-0.2 s on the suite's city (which converges well
within it), 1.4-1.6 s on the whole province and the capital (the capital converges at about
11,000)."""

Ints = npt.NDArray[np.int64]


def shorten_travel(
    data: ModelData,
    x: npt.NDArray[np.int64],
    *,
    max_work: int = MAX_WORK,
    deadline: float | None = None,
) -> npt.NDArray[np.int64]:
    """Counts ``x`` with journeys shortened by the moves of the module docstring.

    The result keeps every rule that ``x`` keeps; no slot's shortfall rises, the reserve
    headcount on duty does not rise, and the travel falls strictly whenever any move was made.
    The search stops after ``max_work`` unit-shifts weighed, or once ``time.perf_counter()``
    passes ``deadline``.
    """
    search = _Shorten(data, x, max_work, deadline)
    shifts = data.instance.shifts
    on_duty: list[dict[int, int]] = [{} for _ in shifts]
    for (u, s), c in search.state.place.items():
        on_duty[s][u] = c
    for _ in range(MAX_SWEEPS):
        swept = False
        for s in sorted(range(len(shifts)), key=lambda s: (shifts[s].start, s)):
            if not on_duty[s]:
                continue
            at = search.enter(s, on_duty[s])
            moved, done = search.sweep_shift(s, at)
            swept = swept or moved
            if done:
                return search.state.counts()
            held = search.held
            on_duty[s] = {int(u): int(held[u]) for u in np.flatnonzero(held >= 0)}
        if not swept:
            break
    return search.state.counts()


class _Shorten:
    """The state of one travel search: the plan unit by unit, and within the shift being
    searched each unit's place and who may be called in."""

    def __init__(
        self, data: ModelData, x: npt.NDArray[np.int64], max_work: int, deadline: float | None
    ) -> None:
        self.state = state = Placements(data, x)
        self.data, self.max_work, self.deadline, self.work = data, max_work, deadline, 0
        groups = data.groups
        self.slot_of, self.km_of = data.candidate_slot, data.candidate_km
        self.group_of = data.candidate_group
        self.required = np.array([slot.required for slot in data.slots], dtype=np.int64)
        self.capacity = np.array([slot.capacity for slot in data.slots], dtype=np.int64)
        self.weight = np.array([slot.weight for slot in data.slots], dtype=np.int64)
        self.slot_shift = data.slot_shifts()
        self.assigned = np.array(state.assigned, dtype=np.int64)
        self.n_units = len(state.headcount)
        self.unit_group = data.unit_groups()
        self.headcount = np.array(state.headcount, dtype=np.int64)
        self.group_reserve = np.array([group.reserve for group in groups], dtype=bool)
        self.group_headcount = np.array([group.headcount for group in groups], dtype=np.int64)
        # Each slot's candidates, nearest first.
        km_of, slot_of = self.km_of, self.slot_of
        self.by_km = np.lexsort((np.arange(len(km_of)), km_of, slot_of))
        self.bounds = np.searchsorted(slot_of[self.by_km], np.arange(len(data.slots) + 1)).tolist()
        self.local = np.zeros(len(data.slots), dtype=np.int64)  # a slot's index in its shift
        # Within the shift being searched: each unit's candidate (-1: off duty), whether it
        # may be called in (off duty, and its duty rules allow the shift), and how many of
        # each group may.
        self.held = np.full(self.n_units, -1, dtype=np.int64)
        self.callable_ = np.zeros(self.n_units, dtype=bool)
        self.callable_in = np.zeros(len(groups), dtype=np.int64)
        # Per slot, its candidates nearest first with their km, group, headcount and reserve
        # headcount; made when first needed.
        self.slot_arrays: dict[int, tuple[Ints, Ints, Ints, Ints, Ints]] = {}
        # The units on duty in the shift with their places (unit, group, km, slot, slot
        # within the shift, headcount); made again after each move.
        self.partners: list[tuple[Ints, Ints, Ints, Ints, Ints, Ints]] = []

    def short(self, b: Ints | int, there: Ints | int) -> Ints:
        """Weighted shortfall of slots ``b`` holding ``there``."""
        return np.asarray(self.weight[b] * np.maximum(0, self.required[b] - there))

    def move(self, u: int, s: int, c: int) -> None:
        """Stand ``u`` in candidate ``c`` of shift ``s`` (-1: off duty there)."""
        old = int(self.held[u])
        if old >= 0:
            self.assigned[self.slot_of[old]] -= self.headcount[u]
        self.state.put(u, s, c if c >= 0 else None)
        if c >= 0:
            self.assigned[self.slot_of[c]] += self.headcount[u]
        self.held[u] = c
        self.partners.clear()
        may = c < 0 and self.state.duty.free(u, s)
        if may != self.callable_[u]:
            self.callable_[u] = may
            self.callable_in[self.unit_group[u]] += 1 if may else -1

    def candidates_of(self, a: int) -> tuple[Ints, Ints, Ints, Ints, Ints]:
        """Slot ``a``'s candidates nearest first, with km, group, headcount, reserve."""
        if a not in self.slot_arrays:
            cands = self.by_km[self.bounds[a] : self.bounds[a + 1]]
            cand_groups = self.group_of[cands]
            h2 = self.group_headcount[cand_groups]
            reserve_h2 = np.where(self.group_reserve[cand_groups], h2, 0)
            self.slot_arrays[a] = cands, self.km_of[cands], cand_groups, h2, reserve_h2
        return self.slot_arrays[a]

    def on_duty_arrays(self) -> tuple[Ints, Ints, Ints, Ints, Ints, Ints]:
        """The units on duty in the shift with their places."""
        if not self.partners:
            units = np.flatnonzero(self.held >= 0)
            places = self.held[units]
            b = self.slot_of[places]
            self.partners.append(
                (
                    units,
                    self.unit_group[units],
                    self.km_of[places],
                    b,
                    self.local[b],
                    self.headcount[units],
                )
            )
        return self.partners[0]

    def enter(self, s: int, on_duty: dict[int, int]) -> Ints:
        """Make shift ``s`` the one searched, with ``on_duty`` its places; return the
        candidate of each group in each of the shift's slots (-1: none)."""
        held, slot_of, slot_shift = self.held, self.slot_of, self.slot_shift
        held[:] = -1
        for u, c in on_duty.items():
            held[u] = c
        self.partners.clear()
        # A unit with no candidate (out of range, say) is in no group and never called.
        free = self.state.duty.free
        unit_group = self.unit_group
        self.callable_[:] = [
            unit_group[u] >= 0 and held[u] < 0 and free(u, s) for u in range(self.n_units)
        ]
        groups = len(self.data.groups)
        self.callable_in[:] = np.bincount(unit_group[self.callable_], minlength=groups)
        own = np.flatnonzero(slot_shift == s)
        self.local[own] = np.arange(len(own))
        inside = np.flatnonzero(slot_shift[slot_of] == s)
        at = np.full((groups, len(own)), -1, dtype=np.int64)
        at[self.group_of[inside], self.local[slot_of[inside]]] = inside
        return at

    def sweep_shift(self, s: int, at: Ints) -> tuple[bool, bool]:
        """Passes over the shift's units, farthest first, each making its best move, until a
        pass moves nobody; return whether any moved, and whether the search must end."""
        held, km_of = self.held, self.km_of
        swept = False
        for _ in range(MAX_PASSES):
            moved = False
            on = np.flatnonzero(held >= 0)
            for u in on[np.lexsort((on, -km_of[held[on]]))].tolist():
                c = int(held[u])
                if c < 0 or km_of[c] == 0:
                    continue
                self.work += 1
                gain, v, c2, cu = self.best_move(u, c, at)
                if gain > 0:
                    moved = swept = True
                    if v < 0:
                        self.move(u, s, -1)
                    elif cu < 0:
                        self.move(u, s, -1)
                        self.move(v, s, c2)
                    else:
                        self.move(u, s, cu)
                        self.move(v, s, c2)
                if self.work >= self.max_work or (
                    self.deadline is not None and time.perf_counter() > self.deadline
                ):
                    return swept, True
            if not moved:
                break
        return swept, False

    def best_move(self, u: int, c: int, at: Ints) -> tuple[int, int, int, int]:
        """The move of unit ``u`` (in candidate ``c`` of the shift) that saves most:
        ``(km saved, partner or -1, partner's candidate, u's new candidate or -1)``; ``at``
        holds the candidate of each group in each of the shift's slots (-1: none)."""
        slot_of, km_of, required = self.slot_of, self.km_of, self.required
        a, h, km = int(slot_of[c]), int(self.headcount[u]), int(km_of[c])
        g = int(self.unit_group[u])
        reserve_h = h if self.group_reserve[g] else 0
        need, there_a, w_a = int(required[a]), int(self.assigned[a]), int(self.weight[a])
        before_a = w_a * max(0, need - there_a)
        best = (0, -1, -1, -1)
        if w_a * max(0, need - there_a + h) <= before_a:
            best = (km, -1, -1, -1)  # stand down
        # Relieve: the nearest unit that may be called in and fits takes u's place.
        cands, kms, cand_groups, h2, reserve_h2 = self.candidates_of(a)
        there = there_a - h + h2
        fits = np.flatnonzero(
            (km - kms > best[0])
            & (self.callable_in[cand_groups] > 0)
            & (there <= self.capacity[a])
            & (reserve_h2 <= reserve_h)
            & (w_a * np.maximum(0, need - there) <= before_a)
        )
        if len(fits):
            c2 = int(cands[fits[0]])
            members = self.data.groups[int(cand_groups[fits[0]])].members
            v = next(v for v in members if self.callable_[v])
            best = (km - int(kms[fits[0]]), v, c2, -1)
        return self.best_swap(a, h, km, g, at, best)

    def best_swap(
        self, a: int, h: int, km: int, g: int, at: Ints, best: tuple[int, int, int, int]
    ) -> tuple[int, int, int, int]:
        """Swap: the unit (of group ``g``, headcount ``h``, ``km`` from slot ``a``) and a unit
        on duty elsewhere in this shift trade places, if that saves more than ``best``."""
        local, km_of, assigned = self.local, self.km_of, self.assigned
        need, there_a, w_a = int(self.required[a]), int(assigned[a]), int(self.weight[a])
        before_a = w_a * max(0, need - there_a)
        units, unit_groups, kmp, b, local_b, h2 = self.on_duty_arrays()
        c2s, cus = at[unit_groups, local[a]], at[g, local_b]
        gain = km + kmp - km_of[c2s] - km_of[cus]
        ok = (c2s >= 0) & (cus >= 0) & (b != a) & (gain > best[0])
        if ok.any():
            there, there_b = there_a - h + h2, assigned[b] - h2 + h
            ok &= (there <= self.capacity[a]) & (there_b <= self.capacity[b])
            ok &= w_a * np.maximum(0, need - there) + self.short(b, there_b) <= before_a + (
                self.short(b, assigned[b])
            )
            if ok.any():
                i = int(np.argmax(np.where(ok, gain, 0)))
                best = (int(gain[i]), int(units[i]), int(c2s[i]), int(cus[i]))
        return best
