"""Changes to an instance that a what-if asks about, and :func:`apply_changes`.

Each change is a frozen model tagged by ``type``. Changes apply in order, each to the result of
the ones before; every problem is reported at once with a path that names the change and its
field, such as ``changes[2].venue: unknown venue 'x'``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Literal, Self

from pydantic import Field, ValidationError, model_validator

from solver.domain import (
    Frozen,
    Id,
    Instance,
    RiskLevel,
    RiskOverride,
    Shift,
    Unit,
    Venue,
    VenueKind,
)
from solver.validation import InstanceError, PathPart, Problem, problems_from_validation_error


class SetRisk(Frozen):
    """Set the risk level of venues: one venue, every venue of a region, or of a kind.

    Without ``first_shift`` and ``last_shift`` the level holds in every shift (earlier
    overrides of the chosen venues are dropped); with either, it holds in the shifts from
    ``first_shift`` to ``last_shift`` inclusive, by start time (an open end runs to the edge
    of the horizon).
    """

    type: Literal["set_risk"] = "set_risk"
    venue: Id | None = None
    region: Id | None = None
    """A region id; a province also selects the venues of its regencies and cities."""
    kind: VenueKind | None = None
    risk: RiskLevel
    first_shift: Id | None = None
    last_shift: Id | None = None

    @model_validator(mode="after")
    def _one_selector(self) -> Self:
        chosen = [n for n in ("venue", "region", "kind") if getattr(self, n) is not None]
        if len(chosen) != 1:
            raise ValueError("name exactly one of venue, region or kind")
        return self


class UnitUnavailable(Frozen):
    """A unit can no longer work from the start of ``from_shift`` on."""

    type: Literal["unit_unavailable"] = "unit_unavailable"
    unit: Id
    from_shift: Id


class AddVenue(Frozen):
    """A new venue to guard."""

    type: Literal["add_venue"] = "add_venue"
    venue: Venue


class CloseVenue(Frozen):
    """A venue closes: it is no longer guarded and its units are released.

    Without ``from_shift`` the venue leaves the instance. With it, the venue closes from the
    start of that shift on: in the shifts that start earlier it is guarded as before, from then
    on it requires nobody and nobody may stand there (its
    :attr:`~solver.domain.Venue.guarded_shifts` become the earlier shifts). A venue left
    guarded in no shift leaves the instance, as without ``from_shift``.
    """

    type: Literal["close_venue"] = "close_venue"
    venue: Id
    from_shift: Id | None = None


class SetRing(Frozen):
    """Override the requirement (and, if given, the capacity) of one ring of a venue."""

    type: Literal["set_ring"] = "set_ring"
    venue: Id
    ring: int = Field(ge=1, le=4)
    min_headcount: int | None = Field(default=None, ge=0)
    capacity: int | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _something_set(self) -> Self:
        if self.min_headcount is None and self.capacity is None:
            raise ValueError("give min_headcount, capacity or both")
        return self


Change = Annotated[
    SetRisk | UnitUnavailable | AddVenue | CloseVenue | SetRing, Field(discriminator="type")
]
"""One change; the ``type`` field says which."""


class _State:
    """The instance being changed, as mutable lists of frozen parts."""

    def __init__(self, instance: Instance) -> None:
        self.instance = instance
        self.venues: list[Venue] = list(instance.venues)
        self.units: list[Unit] = list(instance.units)
        self.shifts: list[Shift] = sorted(instance.shifts, key=lambda s: (s.start, s.end))
        self.shift_ids = {s.id for s in self.shifts}
        self.problems: list[Problem] = []

    def fail(self, at: int, field: str, message: str) -> None:
        self.problems.append(Problem(("changes", at, field), message))

    def venue_index(self, at: int, venue_id: str) -> int | None:
        for v, venue in enumerate(self.venues):
            if venue.id == venue_id:
                return v
        self.fail(at, "venue", f"unknown venue '{venue_id}'")
        return None

    def known_shift(self, at: int, field: str, shift_id: str | None) -> bool:
        if shift_id is None or shift_id in self.shift_ids:
            return True
        self.fail(at, field, f"unknown shift '{shift_id}'")
        return False


def _regions_within(instance: Instance, region: str) -> set[str]:
    """The region and, for a province, the regions whose parent it is."""
    return {region} | {r.id for r in instance.regions if r.parent == region}


def _set_risk(state: _State, at: int, change: SetRisk) -> None:
    if change.venue is not None:
        v = state.venue_index(at, change.venue)
        chosen = [] if v is None else [v]
    elif change.region is not None:
        if change.region not in {r.id for r in state.instance.regions}:
            state.fail(at, "region", f"unknown region '{change.region}'")
            return
        within = _regions_within(state.instance, change.region)
        chosen = [v for v, venue in enumerate(state.venues) if venue.region in within]
        if not chosen:
            state.fail(at, "region", f"no venue lies in region '{change.region}'")
    else:
        assert change.kind is not None
        chosen = [v for v, venue in enumerate(state.venues) if venue.kind is change.kind]
        if not chosen:
            state.fail(at, "kind", f"no venue is of kind '{change.kind.value}'")
    ok = state.known_shift(at, "first_shift", change.first_shift)
    ok = state.known_shift(at, "last_shift", change.last_shift) and ok
    if not ok or not chosen:
        return
    ids = [s.id for s in state.shifts]
    first = ids.index(change.first_shift) if change.first_shift else 0
    last = ids.index(change.last_shift) if change.last_shift else len(ids) - 1
    if first > last:
        state.fail(
            at, "last_shift", f"shift '{change.last_shift}' starts before '{change.first_shift}'"
        )
        return
    whole = change.first_shift is None and change.last_shift is None
    for v in chosen:
        venue = state.venues[v]
        if whole:
            update: dict[str, object] = {"risk": change.risk, "risk_overrides": ()}
        else:
            override = RiskOverride(shifts=tuple(ids[first : last + 1]), risk=change.risk)
            update = {"risk_overrides": (*venue.risk_overrides, override)}
        state.venues[v] = venue.model_copy(update=update)


def _unit_unavailable(state: _State, at: int, change: UnitUnavailable) -> None:
    u = next((i for i, unit in enumerate(state.units) if unit.id == change.unit), None)
    if u is None:
        state.fail(at, "unit", f"unknown unit '{change.unit}'")
    if not state.known_shift(at, "from_shift", change.from_shift) or u is None:
        return
    cut = next(s for s in state.shifts if s.id == change.from_shift).start
    unit = state.units[u]
    before = [s.id for s in state.shifts if s.start < cut]
    if unit.available_shifts is not None:
        allowed = set(unit.available_shifts)
        before = [s for s in before if s in allowed]
    state.units[u] = unit.model_copy(update={"available_shifts": tuple(before)})


def _add_venue(state: _State, at: int, change: AddVenue) -> None:
    if any(v.id == change.venue.id for v in state.venues):
        state.fail(at, "venue", f"venue '{change.venue.id}' already exists")
        return
    if change.venue.region not in {r.id for r in state.instance.regions}:
        state.fail(at, "venue", f"unknown region '{change.venue.region}'")
        return
    for override in change.venue.risk_overrides:
        for shift in override.shifts:
            if not state.known_shift(at, "venue", shift):
                return
    for shift in change.venue.guarded_shifts or ():
        if not state.known_shift(at, "venue", shift):
            return
    state.venues.append(change.venue)


def _close_venue(state: _State, at: int, change: CloseVenue) -> None:
    v = state.venue_index(at, change.venue)
    if not state.known_shift(at, "from_shift", change.from_shift) or v is None:
        return
    if change.from_shift is not None:
        venue = state.venues[v]
        cut = next(s for s in state.shifts if s.id == change.from_shift).start
        before = [s.id for s in state.shifts if s.start < cut and venue.guarded_in(s.id)]
        if before:
            state.venues[v] = venue.model_copy(update={"guarded_shifts": tuple(before)})
            return
    if len(state.venues) == 1:
        state.fail(at, "venue", f"'{change.venue}' is the only venue left; it cannot close")
        return
    del state.venues[v]


def _set_ring(state: _State, at: int, change: SetRing) -> None:
    v = state.venue_index(at, change.venue)
    if v is None:
        return
    venue = state.venues[v]
    rings = list(venue.rings)
    r = next((i for i, ring in enumerate(rings) if ring.number == change.ring), None)
    if r is None:
        state.fail(at, "ring", f"venue '{change.venue}' has no ring {change.ring}")
        return
    update: dict[str, object] = {}
    if change.min_headcount is not None:
        update["min_headcount"] = change.min_headcount
    if change.capacity is not None:
        update["capacity"] = change.capacity
    rings[r] = rings[r].model_copy(update=update)
    state.venues[v] = venue.model_copy(update={"rings": tuple(rings)})


def apply_changes(instance: Instance, changes: Sequence[Change]) -> Instance:
    """The instance with ``changes`` applied in order.

    Parameters
    ----------
    instance
        A validated instance.
    changes
        Validated changes; they apply in order, each to the result of those before.

    Returns
    -------
    Instance
        A new, validated instance; ``instance`` itself is not altered.

    Raises
    ------
    InstanceError
        With every problem found, each located as ``changes[i].field``.
    """
    state = _State(instance)
    for at, change in enumerate(changes):
        if isinstance(change, SetRisk):
            _set_risk(state, at, change)
        elif isinstance(change, UnitUnavailable):
            _unit_unavailable(state, at, change)
        elif isinstance(change, AddVenue):
            _add_venue(state, at, change)
        elif isinstance(change, CloseVenue):
            _close_venue(state, at, change)
        else:
            _set_ring(state, at, change)
    if state.problems:
        raise InstanceError(state.problems)
    data = instance.model_dump(mode="json")
    data["venues"] = [v.model_dump(mode="json") for v in state.venues]
    data["units"] = [u.model_dump(mode="json") for u in state.units]
    try:
        return Instance.model_validate(data)
    except ValidationError as error:
        prefix: tuple[PathPart, ...] = ("changes",)
        problems = problems_from_validation_error(error)
        raise InstanceError(
            [Problem(prefix, f"the changed instance is invalid: {p}") for p in problems]
        ) from None
    except InstanceError as error:
        raise InstanceError(
            [Problem(("changes",), f"the changed instance is invalid: {p}") for p in error.problems]
        ) from None
