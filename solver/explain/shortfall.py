"""Why each short ring is short, and the smallest change that would cover it.

For every coverage row with a shortfall, :func:`explain_shortfalls` finds the rule that binds,
in this order:

1. **capacity**: the ring holds fewer people than it requires;
2. **tni_not_allowed**: the ring admits police only, and TNI units within reach stand idle;
3. **reach**: too few people may stand there at all; the rules and the units they block are
   named (no units, venue beyond every unit's travel limit, type or force restriction,
   availability, ``max_shifts: 0``);
4. **busy**: enough people may stand there, but each is placed elsewhere in the shift, or a
   duty rule (rest, most shifts, most shifts in 24 h, consecutive days) keeps them off.

Each explanation carries remedies as data (:mod:`solver.explain.remedy`), computed from the
instance and the plan: the capacity that covers the requirement, the people to add (how many,
of which types, within which distance, in which shift), the force to admit, or the unit to
free and what that costs where it stands.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from enum import StrEnum
from typing import NamedTuple

import numpy as np
from pydantic import BaseModel, ConfigDict

from solver.domain import Assignment, Force, Instance, Plan, Ring, Shift, Unit, Venue
from solver.explain.duty import duty_block
from solver.explain.reach import BLOCK_TEXT, Block, Reach, ReachIndex, block_code
from solver.explain.remedy import AddPeople, AllowForce, FreeUnit, RaiseCapacity, Remedy
from solver.result import Coverage

__all__ = ["Explanation", "Rule", "explain_shortfalls", "explained_coverage"]

_FORCE_CODE = block_code(Block.FORCE)


class Rule(StrEnum):
    """The rule that keeps a ring short."""

    CAPACITY = "capacity"
    TNI_NOT_ALLOWED = "tni_not_allowed"
    REACH = "reach"
    BUSY = "busy"


class Explanation(BaseModel):
    """Why one ring of one venue is short in one shift, and what would cover it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    venue: str
    ring: int
    shift: str
    shortfall: int
    rule: Rule
    reason: str
    remedies: tuple[Remedy, ...] = ()
    """Smallest changes first; each covers the shortfall, or the part its text says."""

    @property
    def remedy_text(self) -> str:
        """The remedies for a person, alternatives joined by "; or "."""
        return "; or ".join(str(r) for r in self.remedies)


def _names(units: Sequence[Unit], most: int = 3) -> str:
    shown = ", ".join(u.id for u in units[:most])
    return shown + (f" and {len(units) - most} more" if len(units) > most else "")


def _people(n: int) -> str:
    return f"{n} person" if n == 1 else f"{n} people"


class _Context:
    """The plan indexed for explanation: who stands where, each ring's coverage."""

    def __init__(self, instance: Instance, plan: Plan, coverage: Iterable[Coverage]) -> None:
        self.instance = instance
        self.venues = {v.id: v for v in instance.venues}
        self.shifts = {s.id: s for s in instance.shifts}
        self.units = {u.id: u for u in instance.units}
        self.where: dict[tuple[str, str], Assignment] = {}
        self.worked: dict[str, list[tuple[Shift, str]]] = {}
        self.standing: dict[tuple[str, int, str], set[str]] = {}
        for a in plan.assignments:
            self.where[a.unit, a.shift] = a
            self.worked.setdefault(a.unit, []).append(
                (self.shifts[a.shift], f"{a.venue} ring {a.ring}")
            )
            self.standing.setdefault((a.venue, a.ring, a.shift), set()).add(a.unit)
        self.rows = {(c.venue, c.ring, c.shift): c for c in coverage}
        self.reach = ReachIndex(instance)
        self.duty: dict[tuple[str, str], str | None] = {}

    def duty_block(self, unit: Unit, shift: Shift) -> str | None:
        """The duty rule that stops ``unit`` taking ``shift`` on top of its other shifts."""
        key = (unit.id, shift.id)
        if key not in self.duty:
            worked = [pair for pair in self.worked.get(unit.id, ()) if pair[0].id != shift.id]
            self.duty[key] = duty_block(self.instance.rules, unit.id, worked, shift)
        return self.duty[key]

    def cost_of_leaving(self, unit: Unit, a: Assignment) -> int:
        """People-shifts the ring ``a`` stands in goes short by when ``unit`` leaves it."""
        row = self.rows.get((a.venue, a.ring, a.shift))
        if row is None:
            return 0
        before = max(0, row.required - row.assigned)
        after = max(0, row.required - (row.assigned - unit.headcount))
        return after - before


def _add_people(
    instance: Instance, venue: Venue, ring: Ring, shift: Shift, people: int
) -> AddPeople:
    return AddPeople(
        venue=venue.id,
        ring=ring.number,
        shift=shift.id,
        people=people,
        forces=ring.allowed_forces,
        types=ring.allowed_types,
        within_km=instance.rules.max_travel_km,
    )


def _explanation(
    row: Coverage, rule: Rule, reasons: list[str], remedies: list[Remedy]
) -> Explanation:
    """The explanation of ``row``: its binding rule, its reasons joined, its remedies."""
    return Explanation(
        venue=row.venue, ring=row.ring, shift=row.shift, shortfall=row.shortfall,
        rule=rule, reason="; ".join(reasons), remedies=tuple(remedies),
    )  # fmt: skip


def _explain_one(ctx: _Context, row: Coverage) -> Explanation:
    """Why one short row is short: the first rule that binds, in the module's order.

    Capacity is noted and, when it is all that binds, returned alone; otherwise the first of
    idle TNI kept out by the ring's force rule, too few people within reach, and everyone who
    may stand there busy is added. Every explanation past capacity ends with the people to add.
    """
    venue, shift = ctx.venues[row.venue], ctx.shifts[row.shift]
    ring = next(r for r in venue.rings if r.number == row.ring)
    reasons: list[str] = []
    remedies: list[Remedy] = []
    rule: Rule | None = None
    if row.required > row.capacity:
        rule = Rule.CAPACITY
        reasons.append(
            f"requires {row.required} but ring {ring.number} holds at most {row.capacity}"
        )
        remedies.append(
            RaiseCapacity(venue=venue.id, ring=ring.number, capacity=row.capacity, to=row.required)
        )
    need = min(row.required, row.capacity) - row.assigned
    if need <= 0:
        assert rule is not None
        return _explanation(row, rule, reasons, remedies)
    room = row.capacity - row.assigned
    found = ctx.reach.reach(venue, ring, shift)
    idle_tni = _idle_tni(ctx, venue, ring, shift, found, room)
    if idle_tni:
        rule = rule or Rule.TNI_NOT_ALLOWED
        people = sum(u.headcount for u in idle_tni)
        reasons.append(
            f"only police may stand in ring {ring.number}, and {_people(people)} of TNI "
            f"({_names(idle_tni)}) are idle within reach in {shift.id}"
        )
        remedies.append(
            AllowForce(
                venue=venue.id, ring=ring.number, force=Force.TNI,
                idle=tuple(u.id for u in idle_tni),
            )
        )  # fmt: skip
    elif found.headcount < min(row.required, row.capacity):
        rule = rule or Rule.REACH
        reasons.append(_reach_text(ctx.instance, found.blocked, found.headcount, row, venue))
    else:
        rule = rule or Rule.BUSY
        here = ctx.standing.get((venue.id, ring.number, shift.id), set())
        eligible = [u for u in found.eligible if u.id not in here]
        reason, freed = _busy(ctx, venue, ring, shift, eligible, room, need, found.headcount)
        reasons.append(reason)
        remedies += freed
    remedies.append(_add_people(ctx.instance, venue, ring, shift, need))
    return _explanation(row, rule, reasons, remedies)


def _idle_tni(
    ctx: _Context, venue: Venue, ring: Ring, shift: Shift, found: Reach, room: int
) -> list[Unit]:
    """TNI units that only the ring's force rule keeps out: within reach, unplaced in the
    shift, small enough for the room left and free of duty rules (none if TNI may stand)."""
    if Force.TNI in ring.allowed_forces:
        return []
    widened = ctx.reach.static_blocks(venue, ring, (*ring.allowed_forces, Force.TNI))
    admitted = (found.codes == _FORCE_CODE) & (widened == 0) & ctx.reach.free_in(shift)
    return [
        u
        for u in (ctx.instance.units[k] for k in np.flatnonzero(admitted).tolist())
        if (u.id, shift.id) not in ctx.where
        and u.headcount <= room
        and ctx.duty_block(u, shift) is None
    ]


class _Busy(NamedTuple):
    """The units that may stand in a ring, sorted by what keeps each from it in a shift."""

    elsewhere: list[tuple[Unit, Assignment]]
    """Placed in another ring in the shift, with where."""
    on_duty: list[str]
    """A duty rule each, for units that rule keeps off."""
    too_big: list[Unit]
    """Free, but larger than the room left."""
    idle: list[Unit]
    """Free and small enough."""


def _sort_busy(ctx: _Context, shift: Shift, eligible: Sequence[Unit], room: int) -> _Busy:
    """Sort the eligible units by what keeps each from the ring in ``shift``."""
    busy = _Busy([], [], [], [])
    for unit in eligible:
        placed = ctx.where.get((unit.id, shift.id))
        if placed is not None:
            busy.elsewhere.append((unit, placed))
            continue
        blocked = ctx.duty_block(unit, shift)
        if blocked is not None:
            busy.on_duty.append(blocked)
        elif unit.headcount > room:
            busy.too_big.append(unit)
        else:
            busy.idle.append(unit)
    return busy


def _busy(
    ctx: _Context,
    venue: Venue,
    ring: Ring,
    shift: Shift,
    eligible: Sequence[Unit],
    room: int,
    need: int,
    reachable: int,
) -> tuple[str, list[Remedy]]:
    """Enough people may stand in the ring but none is free: say what holds each, and the
    unit to free (an idle one, else the one placed elsewhere whose leaving costs least)."""
    busy = _sort_busy(ctx, shift, eligible, room)
    parts = []
    if busy.elsewhere:
        places = ", ".join(f"{u.id} at {a.venue} ring {a.ring}" for u, a in busy.elsewhere[:2])
        more = f" and {len(busy.elsewhere) - 2} more" if len(busy.elsewhere) > 2 else ""
        parts.append(f"placed elsewhere in {shift.id}: {places}{more}")
    if busy.on_duty:
        more = f" and {len(busy.on_duty) - 2} more" if len(busy.on_duty) > 2 else ""
        parts.append("kept off by duty rules: " + "; ".join(busy.on_duty[:2]) + more)
    if busy.too_big:
        parts.append(f"too large for the {_people(room)} of room left: {_names(busy.too_big)}")
    if busy.idle:
        parts.append(f"idle and free: {_names(busy.idle)}")
    reason = f"{_people(reachable)} may stand here within reach, but " + (
        "; ".join(parts) if parts else "none is free"
    )
    remedies: list[Remedy] = []
    if busy.idle:
        u = busy.idle[0]
        remedies.append(
            FreeUnit(
                unit=u.id, shift=shift.id, from_venue=None, from_ring=None,
                to_venue=venue.id, to_ring=ring.number, people=u.headcount, cost=0,
            )
        )  # fmt: skip
        return reason, remedies
    costs = [
        (ctx.cost_of_leaving(u, a), u.id, u, a) for u, a in busy.elsewhere if u.headcount <= room
    ]
    if costs:
        cost, _, u, a = min(costs, key=lambda c: (c[0] - min(c[2].headcount, need), c[:2]))
        remedies.append(
            FreeUnit(
                unit=u.id, shift=shift.id, from_venue=a.venue, from_ring=a.ring,
                to_venue=venue.id, to_ring=ring.number, people=u.headcount, cost=cost,
            )
        )  # fmt: skip
    return reason, remedies


def _reach_text(
    instance: Instance,
    blocked: dict[Block, tuple[Unit, ...]],
    people: int,
    row: Coverage,
    venue: Venue,
) -> str:
    """Too few people may stand in the ring: say which rules block which units."""
    need = min(row.required, row.capacity)
    if not instance.units:
        return f"the instance has no units; ring {row.ring} requires {need}"
    head = f"only {_people(people)} may stand here in {row.shift} for a requirement of {need}"
    parts = []
    for block, units in blocked.items():
        plural = "s" if len(units) != 1 else ""
        text = f"{len(units)} unit{plural} {BLOCK_TEXT[block]} ({_names(units)})"
        if block is Block.TOO_FAR and len(units) == len(instance.units):
            text = f"the venue is beyond the travel limit of every unit ({_names(units)})"
        parts.append(text)
    return head + ("; blocked: " + "; ".join(parts) if parts else "")


def explain_shortfalls(
    instance: Instance,
    plan: Plan,
    coverage: Sequence[Coverage],
    deadline: float | None = None,
) -> list[Explanation]:
    """An explanation with remedies for every coverage row that has a shortfall.

    Parameters
    ----------
    instance
        The instance the plan is for.
    plan
        The plan.
    coverage
        Its coverage rows (:attr:`solver.result.Result.coverage`).
    deadline
        A :func:`time.perf_counter` time after which no further row is explained (the rows
        are taken most short first); ``None`` explains every row.
    """
    ctx = _Context(instance, plan, coverage)
    short = sorted((row for row in coverage if row.shortfall > 0), key=lambda row: -row.shortfall)
    explained = []
    for row in short:
        if deadline is not None and time.perf_counter() > deadline:
            break
        explained.append(_explain_one(ctx, row))
    return explained


def explained_coverage(
    instance: Instance,
    plan: Plan,
    coverage: Sequence[Coverage],
    deadline: float | None = None,
) -> tuple[Coverage, ...]:
    """The coverage rows with the rule, reason and remedy of every short one filled in (until
    ``deadline``, see :func:`explain_shortfalls`)."""
    explained = {
        (e.venue, e.ring, e.shift): e
        for e in explain_shortfalls(instance, plan, coverage, deadline)
    }
    rows = []
    for row in coverage:
        why = explained.get((row.venue, row.ring, row.shift))
        if why is not None:
            row = row.model_copy(
                update={"rule": why.rule.value, "reason": why.reason, "remedy": why.remedy_text}
            )
        rows.append(row)
    return tuple(rows)
