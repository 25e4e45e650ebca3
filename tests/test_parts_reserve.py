"""The national reserve: units of no province sent where a part needs them."""

from __future__ import annotations

from typing import Any

import pytest

from solver import InstanceError, parse_instance, solve
from solver.domain import Force, ObjectiveTerm
from tests.provinces import assert_checked, provinces, provinces_data


def brimob(uid: str, lead_hours: float = 0.0) -> dict[str, Any]:
    return {
        "id": uid,
        "force": "polri",
        "type": "brimob",
        "headcount": 2,
        "lead_hours": lead_hours,
    }


def test_reserve_unit_goes_to_the_one_province_that_needs_it() -> None:
    # Eight officers cover both shifts of provinces 0 and 2 (four headcount a shift, each
    # officer one shift for the rest rule); province 1 has one officer.
    instance = provinces(count=3, units_each=8, short=(1,), reserve=[brimob("brimob-1")])
    result = solve(instance, time_limit=30, split="in-process")
    assert_checked(instance, result)
    assert [(d.unit, d.venue) for d in result.dispatches] == [("brimob-1", "kpu-1")]
    assert [p.reserve_units for p in sorted(result.parts, key=lambda p: p.provinces)] == [0, 1, 0]
    assert any(a.unit == "brimob-1" for a in result.plan.assignments)
    called = [a for a in result.activations if a.unit == "brimob-1"]
    assert called and all(type(a.force) is Force for a in called)
    without = solve(provinces(count=3, units_each=8, short=(1,)), time_limit=30, split="in-process")
    ranked = ObjectiveTerm.SHORTFALL
    assert result.breakdown[ranked] < without.breakdown[ranked]


def test_reserve_unit_waits_for_its_lead_time() -> None:
    # Ready only 8 hours after the first shift starts: it may stand in the second shift only.
    instance = provinces(count=2, units_each=8, short=(1,), reserve=[brimob("brimob-1", 8.0)])
    result = solve(instance, time_limit=30, split="in-process")
    assert_checked(instance, result)
    shifts = {a.shift for a in result.plan.assignments if a.unit == "brimob-1"}
    assert shifts == {"s1"}


@pytest.mark.parametrize(
    ("reserve", "path"),
    [
        # A reserve unit may not take a province unit's id.
        ([brimob("u-0-0")], "reserve[0].id"),
        # Two reserve units with one id.
        ([brimob("b"), brimob("b")], "reserve[1].id"),
        # A mobilisation lead time cannot be negative.
        ([brimob("b", -1.0)], "reserve[0].lead_hours"),
    ],
)
def test_reserve_rejects_bad_units_naming_the_field(
    reserve: list[dict[str, Any]], path: str
) -> None:
    with pytest.raises(InstanceError) as caught:
        parse_instance(provinces_data(count=2, reserve=reserve))
    assert path in [p.location for p in caught.value.problems]
