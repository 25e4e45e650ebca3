"""Hard rules and the coverage rule of the CP-SAT model, one function per family.

Availability, travel limit and force/type eligibility are enforced by construction: a candidate
assignment that breaks one of them has no variable (see :mod:`solver.model.data`).

Variables count units of a group (see :mod:`solver.model.groups`); each per-unit rule is written
on the group's counts with its limit times the group size ``k``, which is exact for the groups
that pooling allows. For a group of one (the per-unit model) the rows are the per-unit rules.

Rows are written straight into the model proto by variable index
(:class:`solver.model.rows.Rows`).
"""

from __future__ import annotations

from collections import defaultdict

from ortools.sat.python import cp_model

from solver.model.data import ModelData
from solver.model.groups import longest_day_run
from solver.model.rows import INT_MAX, INT_MIN, Rows
from solver.model.variables import Variables


def add_constraints(model: cp_model.CpModel, data: ModelData, variables: Variables) -> None:
    """Add every rule to the model, in a fixed order."""
    rows = Rows(model)
    by_group = _group_shift_indices(data, variables)
    cliques = rest_cliques(data)
    # Where a unit can be: one place per shift, and enough rest between shifts.
    _one_place_and_rest(rows, data, by_group, cliques)
    # What a ring can hold and what it needs.
    headcounts: list[int] = data.candidate_headcount().tolist()
    _ring_capacity(rows, data, variables, headcounts)
    _coverage(rows, data, variables, headcounts)
    # How much one unit may work.
    _max_shifts(rows, data, by_group)
    _max_shifts_per_24h(rows, data, by_group)
    _max_consecutive_days(model, rows, data, variables, by_group, cliques)


GroupShiftIndices = dict[int, dict[int, list[int]]]
"""Variable indices of the assignments of each group, by shift."""


def _group_shift_indices(data: ModelData, variables: Variables) -> GroupShiftIndices:
    """Assignment variable indices by group, then by shift."""
    first = variables.first
    grouped: GroupShiftIndices = defaultdict(dict)
    for (group, shift), indices in data.by_group_shift.items():
        grouped[group][shift] = [first + c for c in indices]
    return grouped


def rest_cliques(data: ModelData) -> list[list[int]]:
    """Maximal sets of shifts that pairwise conflict under the rest rule.

    Two shifts conflict when their intervals, each stretched by the minimum rest, overlap. These
    stretched intervals form an interval graph, whose maximal cliques are found at interval
    starts: the clique at shift ``s`` holds every shift whose stretched interval contains the
    start of ``s``. Every shift lies in the clique at its own start.
    """
    conflicts: dict[int, set[int]] = defaultdict(set)
    for a, b in data.shift_conflicts:
        conflicts[a].add(b)
        conflicts[b].add(a)
    shifts = data.instance.shifts
    cliques: list[frozenset[int]] = []
    for s, shift in enumerate(shifts):
        members = {s} | {t for t in conflicts[s] if shifts[t].start <= shift.start}
        cliques.append(frozenset(members))
    maximal = [c for c in set(cliques) if not any(c < other for other in cliques)]
    return sorted(sorted(c) for c in maximal)


def day_cliques(data: ModelData, cliques: list[list[int]]) -> list[list[list[int]]]:
    """For each calendar day, the largest parts of rest cliques that start on it.

    Each is a set of that day's shifts of which a unit works at most one (see
    :func:`rest_cliques`); every shift of the day lies in one of them.
    """
    parts: list[set[frozenset[int]]] = [set() for _ in data.days]
    for clique in cliques:
        for day in {data.shift_day[s] for s in clique}:
            parts[day].add(frozenset(s for s in clique if data.shift_day[s] == day))
    return [sorted(sorted(p) for p in day if not any(p < other for other in day)) for day in parts]


def _one_place_and_rest(
    rows: Rows, data: ModelData, by_group: GroupShiftIndices, cliques: list[list[int]]
) -> None:
    """A unit stands in at most one place per shift, and works no two shifts that conflict.

    For each group g of k units and each rest clique K (see :func:`rest_cliques`):
    ``sum(assign[g, *, s] for s in K) <= k``. As each shift is in a clique, this also keeps a
    unit in one place per shift. For k = 1 the row is an at-most-one.
    """
    for g, shifts in by_group.items():
        size = data.groups[g].size
        for clique in cliques:
            literals = [x for s in clique for x in shifts.get(s, ())]
            if len(literals) <= 1:
                continue
            if size == 1:
                rows.at_most_one(literals)
            else:
                rows.at_most(literals, size)


def _ring_capacity(
    rows: Rows, data: ModelData, variables: Variables, headcounts: list[int]
) -> None:
    """The headcount in a ring in a shift is at most the ring's capacity (a row only where the
    units that can reach the slot could together exceed it):
    ``sum(headcount[g] * assign[g, slot]) <= capacity[slot]``."""
    reach, first = data.slot_reach(), variables.first
    for index, slot in enumerate(data.slots):
        if reach[index] > slot.capacity:
            indices = data.by_slot[index]
            rows.linear(
                [first + c for c in indices], [headcounts[c] for c in indices], 0, slot.capacity
            )


def _coverage(rows: Rows, data: ModelData, variables: Variables, headcounts: list[int]) -> None:
    """Soft: headcount in a ring plus its shortfall reaches the requirement.

    ``sum(min(headcount[g], required) * assign[g, slot]) + shortfall[slot] >= required``; the
    shortfall is what the objective minimises first. ``headcounts`` holds one entry per
    candidate. Counting a unit's headcount at most up to the requirement changes no whole
    plan's shortfall (one such unit covers the ring either way), but keeps the linear
    relaxation from covering a ring with a fraction of a large unit.
    """
    first = variables.first
    for index, short in variables.shortfall.items():
        indices = data.by_slot[index]
        required = data.slots[index].required
        rows.linear(
            [*(first + c for c in indices), short.index],
            [*(min(headcounts[c], required) for c in indices), 1],
            required,
            INT_MAX,
        )


def _max_shifts(rows: Rows, data: ModelData, by_group: GroupShiftIndices) -> None:
    """A unit works at most ``rules.max_shifts`` shifts over the horizon (k times that for k)."""
    limit = data.instance.rules.max_shifts
    if limit is None:
        return
    for g, shifts in by_group.items():
        if len(shifts) > limit:
            rows.at_most([x for xs in shifts.values() for x in xs], limit * data.groups[g].size)


def _max_shifts_per_24h(rows: Rows, data: ModelData, by_group: GroupShiftIndices) -> None:
    """A unit starts at most ``rules.max_shifts_per_24h`` shifts in any 24 hours.

    Any 24-hour window holds no more shift starts than the window opening at one of them, so one
    constraint per shift start suffices. A group of k units starts at most k times the limit.
    """
    limit = data.instance.rules.max_shifts_per_24h
    if limit is None:
        return
    for g, shifts in by_group.items():
        for window in data.windows_24h:
            present = [s for s in window if s in shifts]
            if len(present) > limit:
                most = limit * data.groups[g].size
                rows.at_most([x for s in present for x in shifts[s]], most)


def _max_consecutive_days(
    model: cp_model.CpModel,
    rows: Rows,
    data: ModelData,
    variables: Variables,
    by_group: GroupShiftIndices,
    cliques: list[list[int]],
) -> None:
    """A unit is on duty on at most ``rules.max_consecutive_days`` calendar days in a row.

    ``day_on[u, d]`` is forced up by any assignment of ``u`` to a shift starting on day ``d``:
    for each part of a rest clique within the day (see :func:`day_cliques`), of which ``u``
    works at most one shift, ``sum(assign[u, part]) <= day_on[u, d]``. Every run of ``max + 1``
    consecutive days holds at most ``max`` duty days. Only groups of one unit can need these
    rows: pooling keeps every unit for which the rule can bind on its own (see
    :mod:`solver.model.groups`).

    One row per clique part rather than one per day (``sum(assign[u, d]) <= n * day_on[u,
    d]``) is what lets the linear relaxation see the rule: with the single row, half of two
    clashing shifts of a day cost a small fraction of a duty day, and on the suite's loose
    province the relaxation's shortfall bound was 20 instead of 644 (benchmarks/RESULTS.md).
    """
    limit = data.instance.rules.max_consecutive_days
    if limit is None or len(data.days) <= limit:
        return
    named = variables.named
    parts = day_cliques(data, cliques)
    for unit, shifts in by_group.items():
        days = sorted({data.shift_day[s] for s in shifts})
        if len(days) <= limit:
            continue
        group = data.groups[unit]
        if group.size > 1 and longest_day_run(set(days)) <= limit:
            # Pooled: its days hold no run longer than the limit (more days than the limit,
            # with a gap between), so the rule cannot bind for its units.
            continue
        assert group.size == 1, "a pooled group must not need the consecutive-days rule"
        unit_id = data.instance.units[group.members[0]].id
        for day in days:
            flag = model.new_bool_var(f"day_on(unit={unit_id}, day={day})" if named else "")
            variables.day_on[unit, day] = flag
            for part in parts[day]:
                xs = [x for s in part for x in shifts.get(s, ())]
                if xs:
                    rows.linear([*xs, flag.index], [1] * len(xs) + [-1], INT_MIN, 0)
        for start in range(len(data.days) - limit):
            run = [
                variables.day_on[unit, d].index
                for d in range(start, start + limit + 1)
                if (unit, d) in variables.day_on
            ]
            if len(run) > limit:
                rows.at_most(run, limit)
