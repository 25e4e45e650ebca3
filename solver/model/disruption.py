"""Re-planning against a plan in force: the disruption term and the locks of started shifts.

A unit-shift ``(u, s)`` is *moved* when the place of unit ``u`` in shift ``s`` (a ring of a
venue, or none) differs from the baseline plan. As a unit stands in at most one place per shift,
the count is linear in the assignment booleans:

- where the baseline places ``u`` in ``s`` at candidate ``b``: ``moved = 1 - assign[b]`` (and
  ``1`` outright when the baseline place is no longer a candidate: a closed venue, a unit no
  longer available);
- where the baseline leaves ``u`` idle in ``s``: ``moved = sum(assign[c] for c of (u, s))``.

The grouped model pools only units that share their baseline places (:func:`baseline_history`),
so the same holds for counts: a group of ``k`` units in slot ``b`` moves ``k - count[b]``, an
idle group moves as many units as it places, and the rosters of the group may go to its members
in any order without changing the disruption. Pooling stays exact for every other rule, as the
groups are only split further.

Shifts that have already started are *locked*: every other place of a unit in a locked shift is
forbidden, and its baseline place is kept wherever the changed instance still allows it. A
baseline place it no longer allows (the venue closed, the unit left, the ring shrank) is
released: a forced move, which the disruption term counts like any other.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from ortools.sat.python import cp_model

from solver.domain import Frozen, Id, Instance, ObjectiveTerm, Plan
from solver.model.data import ModelData
from solver.model.evaluate import Evaluator
from solver.model.objective import Stage, Term, make_stages
from solver.model.variables import Variables


class Baseline(Frozen):
    """The plan in force and the shifts that may no longer change."""

    plan: Plan
    locked_shifts: tuple[Id, ...] = ()
    """Shifts already started: their assignments stay as in :attr:`plan` where possible."""


@dataclass(frozen=True)
class BaselineIndex:
    """The baseline plan over the candidates of a model."""

    kept: dict[tuple[int, int], int]
    """``(group, shift) -> candidate`` of every baseline place that is still a candidate."""
    lost: int
    """Baseline assignments that are no longer candidates (always moved)."""
    lost_pairs: frozenset[tuple[int, int]]
    """``(group, shift)`` of the lost assignments whose group and shift still exist."""
    locked: frozenset[int]
    """Indices of the locked shifts."""
    placements: tuple[tuple[int, int, int], ...]
    """``(unit, shift, candidate)`` of every baseline assignment that is still a candidate."""
    keep: dict[int, int]
    """Candidate -> units held there: baseline places in locked shifts that the instance still
    allows (every other candidate of a locked shift is held to 0)."""


History = tuple[tuple[Id, Id, int], ...]
"""A unit's places in a plan: ``(shift, venue, ring)`` in order."""


def baseline_history(instance: Instance, baseline: Baseline) -> list[History]:
    """For each unit, its places in the plan in force: ``(shift, venue, ring)``, sorted.

    Pooling only units with the same history (see :func:`solver.model.groups.group_units`)
    gives every member of a group the same baseline, so that the disruption is linear in the
    group's counts and the same whichever member gets which roster.
    """
    places: dict[Id, list[tuple[Id, Id, int]]] = {}
    for a in baseline.plan.assignments:
        places.setdefault(a.unit, []).append((a.shift, a.venue, a.ring))
    return [tuple(sorted(places.get(unit.id, ()))) for unit in instance.units]


def _check_pooling(data: ModelData, baseline: Baseline) -> None:
    history = baseline_history(data.instance, baseline)
    for group in data.groups:
        if any(history[u] != history[group.members[0]] for u in group.members):
            raise ValueError(
                "re-planning against a baseline needs groups whose units share their baseline "
                "places: build the model data with history=baseline_history(...)"
            )


def index_baseline(data: ModelData, baseline: Baseline) -> BaselineIndex:
    """Map the baseline plan onto the candidates; decide which locked places can be kept.

    Every member of a group has the same baseline places (the model data is built with
    :func:`baseline_history`), so a group either stands in one slot of a shift with all its
    units or is idle there. A locked baseline place is kept unless it is no longer a
    candidate, or the locked headcount in its ring exceeds the ring's (lowered) capacity; then
    the units with the greatest ids are released until the rest fits.
    """
    _check_pooling(data, baseline)
    instance = data.instance
    units = {unit.id: u for u, unit in enumerate(instance.units)}
    shifts = {shift.id: s for s, shift in enumerate(instance.shifts)}
    venues = {venue.id: v for v, venue in enumerate(instance.venues)}
    group_of = data.group_of_unit()
    place: dict[tuple[int | None, ...], int] = {}
    for c, cand in enumerate(data.candidates):
        where = data.slots[cand.slot]
        number = instance.venues[where.venue].rings[where.ring].number
        place[cand.group, where.shift, where.venue, number] = c
    kept: dict[tuple[int, int], int] = {}
    kept_units: list[tuple[int, int, int]] = []
    lost_pairs: set[tuple[int, int]] = set()
    lost = 0
    for a in baseline.plan.assignments:
        u, s, v = units.get(a.unit), shifts.get(a.shift), venues.get(a.venue)
        g = group_of.get(u) if u is not None else None
        found = place.get((g, s, v, a.ring))
        if found is not None and g is not None and s is not None and u is not None:
            kept[g, s] = found
            kept_units.append((u, s, found))
            continue
        lost += 1
        if g is not None and s is not None:
            lost_pairs.add((g, s))
    locked = frozenset(shifts[s] for s in baseline.locked_shifts if s in shifts)
    by_slot: dict[int, list[tuple[int, int]]] = {}
    for u, s, c in kept_units:
        if s in locked:
            by_slot.setdefault(data.candidates[c].slot, []).append((u, c))
    keep: dict[int, int] = {}
    for slot, pairs in by_slot.items():
        pairs.sort(key=lambda pair: instance.units[pair[0]].id)
        room = data.slots[slot].capacity
        for u, c in pairs:
            headcount = instance.units[u].headcount
            if headcount <= room:
                keep[c] = keep.get(c, 0) + 1
                room -= headcount
    return BaselineIndex(
        kept=kept,
        lost=lost,
        lost_pairs=frozenset(lost_pairs),
        locked=locked,
        placements=tuple(kept_units),
        keep=keep,
    )


def disruption_coefficients(
    data: ModelData, index: BaselineIndex
) -> tuple[int, npt.NDArray[np.int64]]:
    """``(constant, coefficients)`` with ``moved = constant + coefficients . assign``.

    A group of ``k`` units that stands in slot ``b`` of a shift in the baseline moves
    ``k - count[b]`` unit-shifts there; one that is idle moves as many as it now places.
    """
    coef = np.zeros(data.n_candidates, dtype=np.int64)
    constant = index.lost
    for (g, s), cands in data.by_group_shift.items():
        base = index.kept.get((g, s))
        if base is not None:
            coef[base] = -1
            constant += data.groups[g].size
        elif (g, s) not in index.lost_pairs:
            coef[cands] = 1
    return constant, coef


def disruption_term(data: ModelData, variables: Variables, index: BaselineIndex) -> Term:
    """Unit-shifts whose place differs from the baseline."""
    constant, coef = disruption_coefficients(data, index)
    moved = np.flatnonzero(coef)
    return Term(
        ObjectiveTerm.DISRUPTION,
        moved + variables.first,
        coef[moved],
        disruption_upper(data, index),
        offset=constant,
    )


def disruption_upper(data: ModelData, index: BaselineIndex) -> int:
    """The most unit-shifts a re-plan can move: every baseline place, every idle unit-shift."""
    constant, _coef = disruption_coefficients(data, index)
    idle = sum(
        data.groups[g].size
        for g, s in data.by_group_shift
        if (g, s) not in index.kept and (g, s) not in index.lost_pairs
    )
    return constant + idle


def add_locks(
    model: cp_model.CpModel, data: ModelData, variables: Variables, index: BaselineIndex
) -> None:
    """In a locked shift a unit keeps its baseline place (where allowed) and takes no other."""
    if not index.locked:
        return
    for (_g, s), cands in data.by_group_shift.items():
        if s not in index.locked:
            continue
        for c in cands:
            model.add(variables.assign[c] == index.keep.get(c, 0))


class BaselineEvaluator(Evaluator):
    """The usual terms plus the disruption against a baseline."""

    def __init__(self, data: ModelData, index: BaselineIndex) -> None:
        super().__init__(data)
        self.index = index
        self.constant, self.coef = disruption_coefficients(data, index)

    def terms(self, x: npt.NDArray[np.int64]) -> dict[ObjectiveTerm, int]:
        """Value of every objective term, disruption included."""
        values = super().terms(x)
        values[ObjectiveTerm.DISRUPTION] = self.constant + int(self.coef @ x)
        return values


def with_disruption_ranked(instance: Instance) -> Instance:
    """The instance with disruption ranked right after shortfall (unless already ranked)."""
    priorities = instance.rules.priorities
    if ObjectiveTerm.DISRUPTION in priorities:
        return instance
    at = priorities.index(ObjectiveTerm.SHORTFALL) + 1
    ranked = (*priorities[:at], ObjectiveTerm.DISRUPTION, *priorities[at:])
    rules = instance.rules.model_copy(update={"priorities": ranked})
    return instance.model_copy(update={"rules": rules})


def add_baseline(
    model: cp_model.CpModel, data: ModelData, variables: Variables, baseline: Baseline
) -> tuple[Term, BaselineEvaluator]:
    """Lock the started shifts; return the disruption term and an evaluator that knows it."""
    index = index_baseline(data, baseline)
    add_locks(model, data, variables, index)
    return disruption_term(data, variables, index), BaselineEvaluator(data, index)


def baseline_stages(terms: list[Term]) -> list[Stage]:
    """Stages for a re-plan: the terms above disruption (shortfall) together with disruption,
    then disruption alone, then the terms below. With no term above disruption (they were
    solved before, on a coarser model), disruption comes first, alone.

    The first stage ranks disruption right under shortfall in one objective, so every plan
    the search improves to is one with fewer moves at equal shortfall; a stage of shortfall
    alone wanders from the baseline, and what it moved needed undoing in the time left. On the
    province what-if benchmark (5 venues raised, 30 s, seeds 7, 0, 1, 2) the joint stage ends
    at weighted shortfall 902-1,109 with 151-534 moved unit-shifts, against 976-1,064 and
    964-2,779 for a stage of shortfall alone (benchmarks/RESULTS.md). Disruption alone then
    goes on lowering the moves with the shortfall held, which is the dedicated min-moves model.
    The order stays strict: each stage keeps what the stages before it reached.
    """
    names = [t.name for t in terms]
    if ObjectiveTerm.DISRUPTION not in names:
        return make_stages(terms)
    at = names.index(ObjectiveTerm.DISRUPTION)
    joint = make_stages(terms[: at + 1]) if at > 0 else []
    return joint + make_stages([terms[at]]) + make_stages(terms[at + 1 :])
