"""Hard rules and the coverage rule of the CP-SAT model, one function per family.

Availability, travel limit and force/type eligibility are enforced by construction: a candidate
assignment that breaks one of them has no variable (see :mod:`solver.model.data`).

Variables count units of a group (see :mod:`solver.model.groups`); each per-unit rule is written
on the group's counts with its limit times the group size ``k``, which is exact for the groups
that pooling allows. For a group of one (the per-unit model) the rows are the per-unit rules.
"""

from __future__ import annotations

from collections import defaultdict

from ortools.sat.python import cp_model

from solver.model.data import ModelData
from solver.model.variables import Variables


def add_constraints(model: cp_model.CpModel, data: ModelData, variables: Variables) -> None:
    """Add every rule to the model, in a fixed order."""
    # Where a unit can be: one place per shift, and enough rest between shifts.
    _one_place_and_rest(model, data, variables)
    # What a ring can hold and what it needs.
    headcount = _slot_headcounts(data, variables)
    _ring_capacity(model, data, headcount)
    _coverage(model, data, variables, headcount)
    # How much one unit may work.
    _max_shifts(model, data, variables)
    _max_shifts_per_24h(model, data, variables)
    _max_consecutive_days(model, data, variables)


GroupShiftVars = dict[int, dict[int, list[cp_model.IntVar]]]


def _group_shift_vars(data: ModelData, variables: Variables) -> GroupShiftVars:
    """Assignment variables by group, then by shift."""
    grouped: GroupShiftVars = defaultdict(dict)
    for (group, shift), indices in data.by_group_shift.items():
        grouped[group][shift] = [variables.assign[c] for c in indices]
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


def _one_place_and_rest(model: cp_model.CpModel, data: ModelData, variables: Variables) -> None:
    """A unit stands in at most one place per shift, and works no two shifts that conflict.

    For each group g of k units and each rest clique K (see :func:`rest_cliques`):
    ``sum(assign[g, *, s] for s in K) <= k``. As each shift is in a clique, this also keeps a
    unit in one place per shift. For k = 1 the row is an at-most-one.
    """
    cliques = rest_cliques(data)
    for g, shifts in _group_shift_vars(data, variables).items():
        size = data.groups[g].size
        for clique in cliques:
            literals = [x for s in clique for x in shifts.get(s, ())]
            if size == 1 and len(literals) > 1:
                model.add_at_most_one(literals)
            elif size > 1 and len(literals) > 1:
                model.add(cp_model.LinearExpr.sum(literals) <= size)


def _slot_headcounts(data: ModelData, variables: Variables) -> list[cp_model.LinearExpr]:
    """Headcount standing in each slot: ``sum(headcount[g] * assign[g, slot])``."""
    groups, candidates, assign = data.groups, data.candidates, variables.assign
    return [
        cp_model.LinearExpr.weighted_sum(
            [assign[c] for c in indices], [groups[candidates[c].group].headcount for c in indices]
        )
        for indices in data.by_slot
    ]


def _ring_capacity(
    model: cp_model.CpModel, data: ModelData, headcount: list[cp_model.LinearExpr]
) -> None:
    """The headcount in a ring in a shift is at most the ring's capacity (a row only where the
    units that can reach the slot could together exceed it)."""
    reach = data.slot_reach()
    for index, slot in enumerate(data.slots):
        if reach[index] > slot.capacity:
            model.add(headcount[index] <= slot.capacity)


def _coverage(
    model: cp_model.CpModel,
    data: ModelData,
    variables: Variables,
    headcount: list[cp_model.LinearExpr],
) -> None:
    """Soft: headcount in a ring plus its shortfall reaches the requirement.

    ``sum(headcount[u] * assign[u, slot]) + shortfall[slot] >= required[slot]``; the shortfall
    is what the objective minimises first.
    """
    for index, short in variables.shortfall.items():
        model.add(headcount[index] + short >= data.slots[index].required)


def _max_shifts(model: cp_model.CpModel, data: ModelData, variables: Variables) -> None:
    """A unit works at most ``rules.max_shifts`` shifts over the horizon (k times that for k)."""
    limit = data.instance.rules.max_shifts
    if limit is None:
        return
    for g, shifts in _group_shift_vars(data, variables).items():
        if len(shifts) > limit:
            xs = [x for xs in shifts.values() for x in xs]
            model.add(cp_model.LinearExpr.sum(xs) <= limit * data.groups[g].size)


def _max_shifts_per_24h(model: cp_model.CpModel, data: ModelData, variables: Variables) -> None:
    """A unit starts at most ``rules.max_shifts_per_24h`` shifts in any 24 hours.

    Any 24-hour window holds no more shift starts than the window opening at one of them, so one
    constraint per shift start suffices. A group of k units starts at most k times the limit.
    """
    limit = data.instance.rules.max_shifts_per_24h
    if limit is None:
        return
    for g, shifts in _group_shift_vars(data, variables).items():
        for window in data.windows_24h:
            present = [s for s in window if s in shifts]
            if len(present) > limit:
                most = limit * data.groups[g].size
                model.add(cp_model.LinearExpr.sum([x for s in present for x in shifts[s]]) <= most)


def _max_consecutive_days(model: cp_model.CpModel, data: ModelData, variables: Variables) -> None:
    """A unit is on duty on at most ``rules.max_consecutive_days`` calendar days in a row.

    ``day_on[u, d]`` is forced up by any assignment of ``u`` to a shift starting on day ``d``
    (``sum(assign[u, d]) <= n * day_on[u, d]``, one row per unit and day rather than one
    implication per assignment); every run of ``max + 1`` consecutive days holds at most
    ``max`` duty days. Only groups of one unit can need this row: pooling keeps every unit for
    which the rule can bind on its own (see :mod:`solver.model.groups`).
    """
    limit = data.instance.rules.max_consecutive_days
    if limit is None or len(data.days) <= limit:
        return
    for unit, shifts in _group_shift_vars(data, variables).items():
        by_day: dict[int, list[cp_model.IntVar]] = defaultdict(list)
        for s, xs in shifts.items():
            by_day[data.shift_day[s]].extend(xs)
        if len(by_day) <= limit:
            continue
        group = data.groups[unit]
        assert group.size == 1, "a pooled group must not need the consecutive-days rule"
        unit_id = data.instance.units[group.members[0]].id
        for day, xs in by_day.items():
            flag = model.new_bool_var(f"day_on(unit={unit_id}, day={day})")
            variables.day_on[unit, day] = flag
            model.add(cp_model.LinearExpr.sum(xs) <= len(xs) * flag)
        for first in range(len(data.days) - limit):
            run = [
                variables.day_on[unit, d]
                for d in range(first, first + limit + 1)
                if (unit, d) in variables.day_on
            ]
            if len(run) > limit:
                model.add(cp_model.LinearExpr.sum(run) <= limit)
