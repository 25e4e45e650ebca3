"""Changes apply to a copy of the instance; bad changes get errors naming change and field."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from solver import Instance, InstanceError, RiskLevel, parse_instance
from solver.whatif import (
    AddVenue,
    Change,
    CloseVenue,
    SetRing,
    SetRisk,
    UnitUnavailable,
    apply_changes,
)
from tests.factory import instance_data, ring, shifts, unit, venue

CHANGES: TypeAdapter[tuple[Change, ...]] = TypeAdapter(tuple[Change, ...])


def _instance() -> Instance:
    data = instance_data(
        [
            venue("kpu"),
            venue("party-a", kind="party_office"),
            venue("party-b", kind="party_office", region="bdg"),
        ],
        [unit("u1"), unit("u2")],
        shifts(4),
    )
    data["regions"].append({"id": "bdg", "level": "city", "parent": "jabar"})
    return parse_instance(data)


def _risks(instance: Instance, venue_id: str) -> list[RiskLevel]:
    venue_ = next(v for v in instance.venues if v.id == venue_id)
    return [venue_.risk_at(s.id) for s in instance.shifts]


def test_set_risk_of_one_venue_holds_in_every_shift() -> None:
    before = _instance()
    after = apply_changes(before, [SetRisk(venue="kpu", risk=RiskLevel.VERY_HIGH)])
    assert _risks(after, "kpu") == [RiskLevel.VERY_HIGH] * 4
    assert _risks(after, "party-a") == [RiskLevel.LOW] * 4
    assert _risks(before, "kpu") == [RiskLevel.LOW] * 4  # the original is untouched


def test_set_risk_by_kind_and_by_province_selects_every_matching_venue() -> None:
    instance = _instance()
    by_kind = apply_changes(instance, [SetRisk(kind="party_office", risk=RiskLevel.HIGH)])
    assert [v.risk for v in by_kind.venues] == [RiskLevel.LOW, RiskLevel.HIGH, RiskLevel.HIGH]
    # 'jabar' is the province of both 'pwk' and 'bdg': every venue lies in it.
    by_region = apply_changes(instance, [SetRisk(region="jabar", risk=RiskLevel.MEDIUM)])
    assert {v.risk for v in by_region.venues} == {RiskLevel.MEDIUM}
    only_bdg = apply_changes(instance, [SetRisk(region="bdg", risk=RiskLevel.HIGH)])
    assert [v.risk for v in only_bdg.venues] == [RiskLevel.LOW, RiskLevel.LOW, RiskLevel.HIGH]


def test_set_risk_in_a_window_covers_only_those_shifts() -> None:
    instance = _instance()
    change = SetRisk(venue="kpu", risk=RiskLevel.HIGH, first_shift="s1", last_shift="s2")
    after = apply_changes(instance, [change])
    assert _risks(after, "kpu") == [RiskLevel.LOW, RiskLevel.HIGH, RiskLevel.HIGH, RiskLevel.LOW]
    open_end = apply_changes(instance, [SetRisk(venue="kpu", risk="high", first_shift="s2")])
    assert _risks(open_end, "kpu")[2:] == [RiskLevel.HIGH] * 2


def test_unit_unavailable_keeps_only_earlier_shifts() -> None:
    after = apply_changes(_instance(), [UnitUnavailable(unit="u2", from_shift="s2")])
    assert after.units[1].available_shifts == ("s0", "s1")
    assert after.units[0].available_shifts is None


def test_close_add_and_set_ring_change_the_venues() -> None:
    new = venue("posko", rings=[ring(1, capacity=4, minimum=2)])
    changes = CHANGES.validate_python(
        [
            {"type": "close_venue", "venue": "party-a"},
            {"type": "add_venue", "venue": new},
            {"type": "set_ring", "venue": "kpu", "ring": 1, "min_headcount": 3, "capacity": 5},
        ]
    )
    after = apply_changes(_instance(), changes)
    assert [v.id for v in after.venues] == ["kpu", "party-b", "posko"]
    assert (after.venues[0].rings[0].min_headcount, after.venues[0].rings[0].capacity) == (3, 5)
    assert isinstance(changes[1], AddVenue) and isinstance(changes[0], CloseVenue)


def test_close_venue_from_a_shift_guards_it_only_in_earlier_shifts() -> None:
    after = apply_changes(_instance(), [CloseVenue(venue="party-a", from_shift="s2")])
    assert [v.id for v in after.venues] == ["kpu", "party-a", "party-b"]
    assert after.venues[1].guarded_shifts == ("s0", "s1")
    assert after.venues[0].guarded_shifts is None
    # Closing again, earlier, narrows the shifts further; from its first guarded shift it goes.
    changes = [
        CloseVenue(venue="party-a", from_shift="s2"),
        CloseVenue(venue="party-a", from_shift="s1"),
    ]
    assert apply_changes(_instance(), changes).venues[1].guarded_shifts == ("s0",)
    gone = apply_changes(_instance(), [*changes, CloseVenue(venue="party-a", from_shift="s0")])
    assert [v.id for v in gone.venues] == ["kpu", "party-b"]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        # closing from an unknown shift
        (
            [CloseVenue(venue="kpu", from_shift="s9")],
            "changes[0].from_shift: unknown shift 's9'",
        ),
        # unknown venue
        ([SetRisk(venue="x", risk="high")], "changes[0].venue: unknown venue 'x'"),
        # unknown region
        ([SetRisk(region="nowhere", risk="high")], "changes[0].region: unknown region"),
        # a kind no venue has
        ([SetRisk(kind="kpu_national", risk="high")], "changes[0].kind: no venue is of kind"),
        # unknown shift in the window
        (
            [SetRisk(venue="kpu", risk="high", first_shift="s9")],
            "changes[0].first_shift: unknown shift 's9'",
        ),
        # window backwards
        (
            [SetRisk(venue="kpu", risk="high", first_shift="s2", last_shift="s1")],
            "changes[0].last_shift: shift 's1' starts before 's2'",
        ),
        # unknown unit, reported at its own index after a good change
        (
            [CloseVenue(venue="kpu"), UnitUnavailable(unit="zz", from_shift="s1")],
            "changes[1].unit: unknown unit 'zz'",
        ),
        # closing a venue twice: the second no longer finds it
        (
            [CloseVenue(venue="kpu"), CloseVenue(venue="kpu")],
            "changes[1].venue: unknown venue 'kpu'",
        ),
        # adding a venue guarded in a shift the instance lacks
        (
            [AddVenue.model_validate({"venue": venue("posko", guarded_shifts=["s1", "s8"])})],
            "changes[0].venue: unknown shift 's8'",
        ),
        # adding a venue whose id exists
        ([AddVenue.model_validate({"venue": venue("kpu")})], "changes[0].venue: venue 'kpu'"),
        # a ring the venue lacks
        (
            [SetRing(venue="kpu", ring=3, min_headcount=1)],
            "changes[0].ring: venue 'kpu' has no ring 3",
        ),
    ],
)
def test_bad_change_names_the_change_and_field(changes: list[Any], expected: str) -> None:
    with pytest.raises(InstanceError) as caught:
        apply_changes(_instance(), changes)
    assert any(str(p).startswith(expected) for p in caught.value.problems), caught.value


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # two selectors at once
        ({"type": "set_risk", "venue": "kpu", "kind": "other", "risk": "high"}, "exactly one"),
        # no selector
        ({"type": "set_risk", "risk": "high"}, "exactly one"),
        # unknown risk level
        ({"type": "set_risk", "venue": "kpu", "risk": "extreme"}, "risk"),
        # unknown change type
        ({"type": "explode", "venue": "kpu"}, "does not match any of the expected tags"),
        # set_ring with nothing to set
        ({"type": "set_ring", "venue": "kpu", "ring": 1}, "give min_headcount, capacity"),
    ],
)
def test_malformed_change_is_rejected_by_its_model(raw: dict[str, Any], expected: str) -> None:
    with pytest.raises(ValidationError) as caught:
        CHANGES.validate_python([raw])
    assert expected in str(caught.value)
