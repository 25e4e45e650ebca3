"""Where one more unit would help most, and why each unit stands where it stands.

:func:`suggest_placements` ranks placements of one extra unit (a ring of a venue and the
shifts it would stand there) by how much each lowers the terms of a plan, without a re-plan:
the plan stays as it is and the new unit fills what is short where it may stand, under the
duty rules. A re-plan with the unit can only do at least as well, which a test confirms.
:func:`unit_contribution` gives one unit's share of each term: the people-shifts it covers,
its overstaffing, its kilometres and its soldier-shifts.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict

from solver.domain import Force, Home, Instance, Location, Plan, Ring, Shift, Unit, Venue
from solver.explain.duty import duty_block
from solver.explain.reach import block_of, km_between
from solver.model.data import is_reserve
from solver.result import Coverage

__all__ = [
    "Contribution",
    "Placement",
    "add_unit",
    "home_of_region",
    "suggest_placements",
    "unit_contribution",
]

SUGGESTED_ID = "suggested-unit"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Placement(_Frozen):
    """One extra unit in one ring of one venue over some shifts, and what it would change."""

    unit: Unit
    """The extra unit, based at its home region's centre."""
    venue: str
    ring: int
    shifts: tuple[str, ...]
    people_shifts_covered: int
    """Uncovered people-shifts it would cover."""
    weighted_covered: int
    """The same, risk-weighted (what the shortfall term drops by)."""
    travel_km: int
    """Kilometres it adds (home to venue, per shift)."""
    tni_soldier_shifts: int
    """Soldier-shifts it adds to the TNI term (a TNI or standby unit)."""

    def __str__(self) -> str:
        text = (
            f"{self.venue} ring {self.ring} in {', '.join(self.shifts)}: covers "
            f"{self.people_shifts_covered} people-shifts (risk-weighted {self.weighted_covered}), "
            f"adds {self.travel_km} km"
        )
        if self.tni_soldier_shifts:
            text += f" and {self.tni_soldier_shifts} TNI soldier-shifts"
        return text


def home_of_region(instance: Instance, region: str) -> Location:
    """The centre of a region: the mean home of its units, else of its venues.

    Raises
    ------
    ValueError
        When the region is unknown or has neither units nor venues.
    """
    points = [u.home.location for u in instance.units if u.home.region == region]
    points = points or [v.location for v in instance.venues if v.region == region]
    if not points:
        known = ", ".join(sorted({r.id for r in instance.regions})) or "none"
        raise ValueError(f"--home: region '{region}' has no units or venues (regions: {known})")
    return Location(
        lat=sum(p.lat for p in points) / len(points), lon=sum(p.lon for p in points) / len(points)
    )


def _weight(instance: Instance, row: Coverage) -> int:
    rules = instance.rules
    return rules.risk_weights[row.risk] * rules.ring_weights[row.ring]


def _placement_in_ring(
    instance: Instance, unit: Unit, venue: Venue, ring: Ring, rows: Sequence[Coverage]
) -> Placement | None:
    """The extra unit placed in one ring for the short shifts it may take there.

    Parameters
    ----------
    instance
        The instance.
    unit
        The extra unit.
    venue, ring
        Where it would stand.
    rows
        The ring's short coverage rows that have room for the unit.

    Returns
    -------
    Placement | None
        The shifts taken greedily by risk-weighted shortfall covered (then by shift id), each
        only when the unit's rules allow it there and its duty rules allow it on top of the
        shifts already taken; ``None`` when no shift can be taken.
    """
    headcount = unit.headcount
    shifts = {s.id: s for s in instance.shifts}
    gains = sorted(
        (
            (min(headcount, row.shortfall) * _weight(instance, row), row)
            for row in rows
            if block_of(instance, unit, venue, ring, shifts[row.shift]) is None
        ),
        key=lambda pair: (-pair[0], pair[1].shift),
    )
    chosen: list[tuple[Shift, str]] = []
    people = weighted = 0
    for gain, row in gains:
        shift = shifts[row.shift]
        if duty_block(instance.rules, unit.id, chosen, shift) is None:
            chosen.append((shift, f"{venue.id} ring {ring.number}"))
            people += min(headcount, row.shortfall)
            weighted += gain
    if not chosen:
        return None
    order = [s.id for s in instance.shifts]
    km = round(km_between(unit, venue))
    return Placement(
        unit=unit,
        venue=venue.id,
        ring=ring.number,
        shifts=tuple(sorted((s.id for s, _ in chosen), key=order.index)),
        people_shifts_covered=people,
        weighted_covered=weighted,
        travel_km=km * len(chosen),
        tni_soldier_shifts=headcount * len(chosen) if is_reserve(unit) else 0,
    )


def suggest_placements(
    instance: Instance,
    plan: Plan,
    coverage: Sequence[Coverage],
    *,
    unit_type: str,
    headcount: int,
    home: str,
    force: Force = Force.POLRI,
    standby: bool = False,
    top: int = 5,
) -> list[Placement]:
    """The best placements of one extra unit, best first.

    Parameters
    ----------
    instance, plan, coverage
        The instance, the plan in force and its coverage rows.
    unit_type, headcount, home, force, standby
        The extra unit: its type, people, home region, force and whether it is standby.
    top
        How many placements to return.

    Returns
    -------
    list[Placement]
        Ranked by risk-weighted shortfall covered, then people-shifts, then fewer km; only
        placements that cover something.
    """
    unit = Unit(
        id=SUGGESTED_ID,
        force=force,
        type=unit_type,
        headcount=headcount,
        home=Home(region=home, location=home_of_region(instance, home)),
        standby=standby,
    )
    by_ring: dict[tuple[str, int], list[Coverage]] = {}
    for row in coverage:
        if row.shortfall and row.assigned + headcount <= row.capacity:
            by_ring.setdefault((row.venue, row.ring), []).append(row)
    venues = {v.id: v for v in instance.venues}
    placements = []
    for (venue_id, number), rows in by_ring.items():
        venue = venues[venue_id]
        ring = next(r for r in venue.rings if r.number == number)
        placement = _placement_in_ring(instance, unit, venue, ring, rows)
        if placement is not None:
            placements.append(placement)
    placements.sort(key=lambda p: (-p.weighted_covered, -p.people_shifts_covered, p.travel_km))
    return placements[:top]


def add_unit(instance: Instance, unit: Unit) -> Instance:
    """The instance with one more unit (validated again)."""
    data = instance.model_dump(mode="json")
    data["units"].append(unit.model_dump(mode="json"))
    return Instance.model_validate(data)


class Contribution(_Frozen):
    """What one unit adds to each term in one shift."""

    venue: str
    ring: int
    shift: str
    covers: int
    """People-shifts that would be uncovered without it."""
    overstaffing: int
    """People above the requirement that it accounts for."""
    km: float
    soldier_shifts: int
    """Its headcount when it is TNI or standby (the TNI term), else 0."""

    def __str__(self) -> str:
        text = (
            f"{self.shift}: {self.venue} ring {self.ring}, covers {self.covers} people-shifts, "
            f"{self.overstaffing} above requirement, {self.km:.1f} km from home"
        )
        return text + (f", {self.soldier_shifts} TNI soldier-shifts" if self.soldier_shifts else "")


def unit_contribution(
    instance: Instance, plan: Plan, coverage: Sequence[Coverage], unit_id: str
) -> list[Contribution]:
    """Why ``unit_id`` stands where it stands: its share of each term, shift by shift.

    Raises
    ------
    ValueError
        When the instance has no such unit.
    """
    unit = next((u for u in instance.units if u.id == unit_id), None)
    if unit is None:
        raise ValueError(f"unit '{unit_id}' is not in the instance")
    rows = {(c.venue, c.ring, c.shift): c for c in coverage}
    venues = {v.id: v for v in instance.venues}
    order = {s.id: k for k, s in enumerate(instance.shifts)}
    out = []
    for a in sorted(
        (a for a in plan.assignments if a.unit == unit_id), key=lambda a: order[a.shift]
    ):
        row = rows.get((a.venue, a.ring, a.shift))
        required = row.required if row else 0
        assigned = row.assigned if row else unit.headcount
        without = max(0, required - (assigned - unit.headcount))
        covers = without - max(0, required - assigned)
        out.append(
            Contribution(
                venue=a.venue,
                ring=a.ring,
                shift=a.shift,
                covers=covers,
                overstaffing=unit.headcount - covers,
                km=round(km_between(unit, venues[a.venue]), 1),
                soldier_shifts=unit.headcount if is_reserve(unit) else 0,
            )
        )
    return out
