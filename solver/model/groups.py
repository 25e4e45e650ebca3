"""Interchangeable units: pooling them into groups, and giving group counts back to units.

Two units are interchangeable for the model when they have the same headcount, the same reserve
status (TNI or standby) and exactly the same candidates: the same slots at the same rounded
distance, which makes force and type eligibility, availability and travel reach the same too.
The grouped model has one integer per (group, slot) counting how many of the group's units stand
there, instead of one boolean per unit; a group of ``k`` units shrinks the model ``k`` times and
removes the symmetry between the units.

Exactness: every count vector the model accepts is the image of a per-unit plan that keeps every
rule, with the same objective value. Let a group hold ``k`` units, all shifts it can work have the
same length, and write the copies of its on-duty shifts in order of start (shift ``s`` appears
``y[s]`` times, ``y[s]`` summed over the slots of ``s``). :func:`rosters` gives copy ``p`` to
unit ``p mod k`` ("round robin"). Then:

1. Rest and one place per shift. Let copies ``p < q`` of one unit conflict (their intervals
   stretched by the minimum rest, ``[start, end + rest)``, overlap); ``q - p >= k``. Every copy
   from ``p`` to ``q`` starts between them and, lengths being equal, ends no earlier than ``p``,
   so all ``q - p + 1 > k`` stretched intervals contain the start of ``q``: a rest clique whose
   count sum passes ``k``, which the model forbids (``sum over each rest clique <= k``). Stretched
   intervals form an interval graph, so these clique rows are exactly the condition.
2. Most shifts. Each unit gets ``floor(n / k)`` or ``ceil(n / k)`` of the ``n`` copies, and
   ``ceil(n / k) <= M`` exactly when ``n <= k M``.
3. Shifts per 24 hours. The shifts starting in a 24-hour window are a contiguous run of copies;
   a unit gets at most ``ceil(m / k)`` of a run of ``m``, so ``m <= k L`` is exact.
4. Balance. The busiest unit works ``ceil(n / k)`` shifts, so ``k * peak >= n`` is exact.

Two things cannot be made exact on counts this way, so units they touch stay in groups of one
(which is the per-unit model): the consecutive-days rule, when the days a unit can work hold a
run longer than ``max_consecutive_days`` (a count says how many units work a day, not which
ones), and shifts of different lengths (a long shift can conflict with several shorter ones that
do not conflict with each other, and round robin no longer keeps rest).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from solver.domain import Force, Instance, Unit


def is_reserve(unit: Unit) -> bool:
    """TNI and standby units are the reserve the police call on only when needed."""
    return unit.force is Force.TNI or unit.standby


@dataclass(frozen=True)
class Group:
    """Units the model treats as one pool: same headcount, reserve status and candidates."""

    members: tuple[int, ...]
    """Indices of the units, in instance order."""
    headcount: int
    reserve: bool

    @property
    def size(self) -> int:
        """How many units the group holds."""
        return len(self.members)


def longest_day_run(days: set[int]) -> int:
    """The most days of ``days`` (day indices) that follow each other without a gap."""
    longest = run = 0
    previous: int | None = None
    for day in sorted(days):
        run = run + 1 if previous is not None and day == previous + 1 else 1
        longest = max(longest, run)
        previous = day
    return longest


def needs_own_group(
    instance: Instance,
    pairs: Sequence[tuple[int, int]],
    slot_shift: Sequence[int],
    shift_day: Sequence[int],
) -> bool:
    """Whether a unit with candidates ``pairs`` (slot, km) must be modelled on its own.

    It must when the consecutive-days rule can bind for it, or when the shifts it can work
    differ in length (see the module docstring).
    """
    shifts = {slot_shift[slot] for slot, _km in pairs}
    lengths = {instance.shifts[s].end - instance.shifts[s].start for s in shifts}
    if len(lengths) > 1:
        return True
    limit = instance.rules.max_consecutive_days
    return limit is not None and longest_day_run({shift_day[s] for s in shifts}) > limit


def group_units(
    instance: Instance,
    per_unit: Sequence[Sequence[tuple[int, int]]],
    slot_shift: Sequence[int],
    shift_day: Sequence[int],
    *,
    grouped: bool = True,
    ignore_km: bool = False,
    history: Sequence[object] | None = None,
) -> list[Group]:
    """Pool interchangeable units; units without any candidate are left out.

    Parameters
    ----------
    instance
        The instance.
    per_unit
        For each unit, its candidate (slot, km) pairs in slot order.
    slot_shift
        Shift index of each slot.
    shift_day
        Day index of each shift.
    grouped
        When false, every unit gets a group of its own (the per-unit model).
    ignore_km
        Pool units whose candidate slots agree even where their distances differ.
    history
        For each unit, a key that pooled units must share as well: with a plan in force, the
        unit's places in it, so that every member of a group has the same baseline and the
        disruption of a re-plan is linear in the counts (see :mod:`solver.model.disruption`).

    Returns
    -------
    list[Group]
        Groups ordered by their first member; with ``grouped`` false, group ``i`` is the
        ``i``-th unit that has a candidate.
    """
    pools: dict[object, list[int]] = defaultdict(list)
    for u, pairs in enumerate(per_unit):
        if not pairs:
            continue
        unit = instance.units[u]
        alone = not grouped or needs_own_group(instance, pairs, slot_shift, shift_day)
        signature = tuple(slot for slot, _km in pairs) if ignore_km else tuple(pairs)
        past = history[u] if history is not None else None
        key: object = ("unit", u) if alone else (unit.headcount, is_reserve(unit), signature, past)
        pools[key].append(u)
    groups = [
        Group(
            members=tuple(members),
            headcount=instance.units[members[0]].headcount,
            reserve=is_reserve(instance.units[members[0]]),
        )
        for members in pools.values()
    ]
    groups.sort(key=lambda g: g.members[0])
    return groups


def rosters(
    group: Group,
    counts: Sequence[tuple[int, int, int]],
    shift_order: Sequence[int],
    preferred: dict[int, set[tuple[int, int]]] | None = None,
) -> list[tuple[int, int, int]]:
    """Give a group's counts to its units by round robin (see the module docstring).

    Parameters
    ----------
    group
        The group.
    counts
        ``(shift, slot, count)`` for every slot where the group stands.
    shift_order
        Position of each shift when shifts are sorted by start (then end).
    preferred
        Optional (shift, slot) pairs per unit, e.g. from a hint plan: the round-robin rosters
        are handed to units so that as many of these as possible are kept. Any assignment of
        rosters to units is valid, as members are interchangeable.

    Returns
    -------
    list[tuple[int, int, int]]
        ``(unit, shift, slot)`` for every unit placed.
    """
    k = group.size
    copies = sorted(
        ((shift_order[shift], shift, slot) for shift, slot, n in counts for _ in range(n)),
    )
    roster: list[list[tuple[int, int]]] = [[] for _ in range(k)]
    for p, (_order, shift, slot) in enumerate(copies):
        roster[p % k].append((shift, slot))
    owner = list(group.members)
    if preferred:
        # Greedy matching: the roster that keeps the most preferred pairs goes first.
        free = set(group.members)
        owner = [-1] * k
        scores = sorted(
            (
                (-len(preferred.get(u, set()).intersection(roster[r])), r, u)
                for r in range(k)
                for u in group.members
            ),
        )
        for _score, r, u in scores:
            if owner[r] == -1 and u in free:
                owner[r] = u
                free.discard(u)
    return [(owner[r], shift, slot) for r in range(k) for shift, slot in roster[r]]
