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

from solver.model.data import ModelData
from solver.model.placements import Placements

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
    state = Placements(data, x)
    groups, place, duty = data.groups, state.place, state.duty
    slot_of, km_of, group_of = data.candidate_slot, data.candidate_km, data.candidate_group
    required = np.array([slot.required for slot in data.slots], dtype=np.int64)
    capacity = np.array([slot.capacity for slot in data.slots], dtype=np.int64)
    weight = np.array([slot.weight for slot in data.slots], dtype=np.int64)
    slot_shift = data.slot_shifts()
    assigned = np.array(state.assigned, dtype=np.int64)
    n_units = len(state.headcount)
    unit_group = data.unit_groups()
    headcount = np.array(state.headcount, dtype=np.int64)
    group_reserve = np.array([group.reserve for group in groups], dtype=bool)
    group_headcount = np.array([group.headcount for group in groups], dtype=np.int64)
    # Each slot's candidates, nearest first.
    by_km = np.lexsort((np.arange(len(km_of)), km_of, slot_of))
    bounds = np.searchsorted(slot_of[by_km], np.arange(len(data.slots) + 1)).tolist()
    local = np.zeros(len(data.slots), dtype=np.int64)  # a slot's index within its shift
    # Within the shift being searched: each unit's candidate (-1: off duty), whether it may be
    # called in (off duty, and its duty rules allow the shift), and how many of each group may.
    held = np.full(n_units, -1, dtype=np.int64)
    callable_ = np.zeros(n_units, dtype=bool)
    callable_in = np.zeros(len(groups), dtype=np.int64)

    def short(b: Ints | int, there: Ints | int) -> Ints:
        return np.asarray(weight[b] * np.maximum(0, required[b] - there))

    def move(u: int, s: int, c: int) -> None:
        """Stand ``u`` in candidate ``c`` of shift ``s`` (-1: off duty there)."""
        old = int(held[u])
        if old >= 0:
            assigned[slot_of[old]] -= headcount[u]
        state.put(u, s, c if c >= 0 else None)
        if c >= 0:
            assigned[slot_of[c]] += headcount[u]
        held[u] = c
        partners.clear()
        may = c < 0 and duty.free(u, s)
        if may != callable_[u]:
            callable_[u] = may
            callable_in[unit_group[u]] += 1 if may else -1

    # Per slot, its candidates nearest first with their km, group, headcount and reserve
    # headcount; made when first needed.
    slot_arrays: dict[int, tuple[Ints, Ints, Ints, Ints, Ints]] = {}

    def candidates_of(a: int) -> tuple[Ints, Ints, Ints, Ints, Ints]:
        if a not in slot_arrays:
            cands = by_km[bounds[a] : bounds[a + 1]]
            cand_groups = group_of[cands]
            h2 = group_headcount[cand_groups]
            reserve_h2 = np.where(group_reserve[cand_groups], h2, 0)
            slot_arrays[a] = cands, km_of[cands], cand_groups, h2, reserve_h2
        return slot_arrays[a]

    # The units on duty in the shift with their places (unit, group, km, slot, slot within
    # the shift, headcount); made again after each move.
    partners: list[tuple[Ints, Ints, Ints, Ints, Ints, Ints]] = []

    def on_duty_arrays() -> tuple[Ints, Ints, Ints, Ints, Ints, Ints]:
        if not partners:
            units = np.flatnonzero(held >= 0)
            places = held[units]
            b = slot_of[places]
            partners.append(
                (units, unit_group[units], km_of[places], b, local[b], headcount[units])
            )
        return partners[0]

    def best_move(u: int, c: int, at: Ints) -> tuple[int, int, int, int]:
        """The move of unit ``u`` (in candidate ``c`` of the shift) that saves most:
        ``(km saved, partner or -1, partner's candidate, u's new candidate or -1)``; ``at``
        holds the candidate of each group in each of the shift's slots (-1: none)."""
        a, h, km, g = int(slot_of[c]), int(headcount[u]), int(km_of[c]), int(unit_group[u])
        reserve_h = h if group_reserve[g] else 0
        need, there_a, w_a = int(required[a]), int(assigned[a]), int(weight[a])
        before_a = w_a * max(0, need - there_a)
        best = (0, -1, -1, -1)
        if w_a * max(0, need - there_a + h) <= before_a:
            best = (km, -1, -1, -1)  # stand down
        # Relieve: the nearest unit that may be called in and fits takes u's place.
        cands, kms, cand_groups, h2, reserve_h2 = candidates_of(a)
        there = there_a - h + h2
        fits = np.flatnonzero(
            (km - kms > best[0])
            & (callable_in[cand_groups] > 0)
            & (there <= capacity[a])
            & (reserve_h2 <= reserve_h)
            & (w_a * np.maximum(0, need - there) <= before_a)
        )
        if len(fits):
            c2 = int(cands[fits[0]])
            v = next(v for v in groups[int(cand_groups[fits[0]])].members if callable_[v])
            best = (km - int(kms[fits[0]]), v, c2, -1)
        # Swap: u and a unit on duty elsewhere in this shift trade places.
        units, unit_groups, kmp, b, local_b, h2 = on_duty_arrays()
        c2s, cus = at[unit_groups, local[a]], at[g, local_b]
        gain = km + kmp - km_of[c2s] - km_of[cus]
        ok = (c2s >= 0) & (cus >= 0) & (b != a) & (gain > best[0])
        if ok.any():
            there, there_b = there_a - h + h2, assigned[b] - h2 + h
            ok &= (there <= capacity[a]) & (there_b <= capacity[b])
            ok &= w_a * np.maximum(0, need - there) + short(b, there_b) <= before_a + short(
                b, assigned[b]
            )
            if ok.any():
                i = int(np.argmax(np.where(ok, gain, 0)))
                best = (int(gain[i]), int(units[i]), int(c2s[i]), int(cus[i]))
        return best

    shifts = data.instance.shifts
    on_duty: list[dict[int, int]] = [{} for _ in shifts]
    for (u, s), c in place.items():
        on_duty[s][u] = c
    work = 0
    for _ in range(MAX_SWEEPS):
        swept = False
        for s in sorted(range(len(shifts)), key=lambda s: (shifts[s].start, s)):
            if not on_duty[s]:
                continue
            held[:] = -1
            for u, c in on_duty[s].items():
                held[u] = c
            partners.clear()
            # A unit with no candidate (out of range, say) is in no group and never called.
            callable_[:] = [
                unit_group[u] >= 0 and held[u] < 0 and duty.free(u, s) for u in range(n_units)
            ]
            callable_in[:] = np.bincount(unit_group[callable_], minlength=len(groups))
            own = np.flatnonzero(slot_shift == s)
            local[own] = np.arange(len(own))
            inside = np.flatnonzero(slot_shift[slot_of] == s)
            at = np.full((len(groups), len(own)), -1, dtype=np.int64)
            at[group_of[inside], local[slot_of[inside]]] = inside
            for _ in range(MAX_PASSES):
                moved = False
                on = np.flatnonzero(held >= 0)
                for u in on[np.lexsort((on, -km_of[held[on]]))].tolist():
                    c = int(held[u])
                    if c < 0 or km_of[c] == 0:
                        continue
                    work += 1
                    gain, v, c2, cu = best_move(u, c, at)
                    if gain > 0:
                        moved = swept = True
                        if v < 0:
                            move(u, s, -1)
                        elif cu < 0:
                            move(u, s, -1)
                            move(v, s, c2)
                        else:
                            move(u, s, cu)
                            move(v, s, c2)
                    if work >= max_work or (
                        deadline is not None and time.perf_counter() > deadline
                    ):
                        return state.counts()
                if not moved:
                    break
            on_duty[s] = {int(u): int(held[u]) for u in np.flatnonzero(held >= 0)}
        if not swept:
            break
    return state.counts()
