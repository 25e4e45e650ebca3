"""Bad input gets named errors, all at once; impossible situations are warnings."""

from __future__ import annotations

from typing import Any

import pytest

from solver import InstanceError, parse_instance
from solver.validation import instance_warnings
from tests.factory import instance_data, ring, shifts, unit, venue


def _problems(data: dict[str, Any]) -> list[str]:
    with pytest.raises(InstanceError) as caught:
        parse_instance(data)
    return [str(p) for p in caught.value.problems]


def _base() -> dict[str, Any]:
    return instance_data([venue()], [unit("u1"), unit("u2")], shifts(2))


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        # dangling reference: unknown home region
        (
            lambda d: d["units"][1]["home"].update(region="ntt-x"),
            "units[1].home.region: unknown region 'ntt-x'",
        ),
        # dangling reference: unknown venue region
        (lambda d: d["venues"][0].update(region="nowhere"), "venues[0].region: unknown region"),
        # dangling reference: unknown shift in availability
        (
            lambda d: d["units"][0].update(available_shifts=["s9"]),
            "units[0].available_shifts[0]: unknown shift 's9'",
        ),
        # dangling reference: unknown shift in a venue's guarded shifts
        (
            lambda d: d["venues"][0].update(guarded_shifts=["s1", "s9"]),
            "venues[0].guarded_shifts[1]: unknown shift 's9'",
        ),
        # a venue guarded in no shift at all
        (
            lambda d: d["venues"][0].update(guarded_shifts=[]),
            "venues[0].guarded_shifts: Tuple should have at least 1 item",
        ),
        # duplicate id
        (lambda d: d["units"][1].update(id="u1"), "units[1].id: duplicate id 'u1'"),
        # end before start
        (
            lambda d: d["shifts"][1].update(end="2024-02-14T06:00:00+07:00"),
            "shifts[1].end: end 2024-02-14T06:00:00+07:00 is not after start",
        ),
        # a shift in the year 1: the horizon would span two thousand years
        (
            lambda d: d["shifts"][0].update(start="0001-01-01T00:00:00Z"),
            "shifts[0].start: 0001-01-01T00:00:00+00:00 is outside 1970-01-01 to 2100-01-01",
        ),
        # a shift of more than a week
        (
            lambda d: d["shifts"][1].update(end="2024-03-14T06:00:00+07:00"),
            "shifts[1].end: a shift lasts at most 168 hours",
        ),
        # an availability window in the year 3000
        (
            lambda d: d["units"][0].update(
                available_windows=[
                    {"start": "2024-02-14T06:00:00+07:00", "end": "3000-01-01T00:00Z"}
                ]
            ),
            "units[0].available_windows[0].end: 3000-01-01T00:00:00+00:00 is outside",
        ),
        # shifts a year and more apart
        (
            lambda d: d["shifts"][1].update(
                start="2025-03-14T06:00:00+07:00", end="2025-03-14T14:00:00+07:00"
            ),
            "shifts[1].end: the shifts span more than 366 days (from shift 's0' to this one)",
        ),
        # negative headcount
        (
            lambda d: d["units"][0].update(headcount=-3),
            "units[0].headcount: Input should be greater than or equal to 1",
        ),
        # unknown risk level
        (lambda d: d["venues"][0].update(risk="extreme"), "venues[0].risk: Input should be"),
        # empty rings
        (
            lambda d: d["venues"][0].update(rings=[]),
            "venues[0].rings: a venue needs 1 to 4 rings, got 0",
        ),
        # a ring number outside 1..4
        (
            lambda d: d["venues"][0]["rings"][0].update(number=5),
            "venues[0].rings[0].number: Input should be less than or equal to 4",
        ),
        # negative capacity
        (
            lambda d: d["venues"][0]["rings"][0].update(capacity=-1),
            "venues[0].rings[0].capacity: Input should be greater than or equal to 0",
        ),
        # a naive timestamp
        (
            lambda d: d["shifts"][0].update(start="2024-02-14T06:00:00"),
            "shifts[0].start: Input should have timezone info",
        ),
        # an unknown field
        (lambda d: d["units"][0].update(colour="red"), "units[0].colour: Extra inputs"),
        # a headcount beyond any unit (would overflow the objective)
        (
            lambda d: d["units"][0].update(headcount=2**63 - 1),
            "units[0].headcount: Input should be less than or equal to 100000",
        ),
        # a risk weight beyond the cap
        (
            lambda d: d["rules"].update(
                risk_weights={"low": 1, "medium": 2, "high": 4, "very_high": 2**62}
            ),
            "rules.risk_weights: weights must be 1 to 1000",
        ),
        # an infinite risk multiplier
        (
            lambda d: d["rules"].update(
                risk_multipliers={"low": 1, "medium": 1, "high": 1, "very_high": float("inf")}
            ),
            "rules.risk_multipliers: multiplier must be 0 to 10 for very_high",
        ),
        # a rest longer than a year
        (
            lambda d: d["rules"].update(min_rest_hours=1e300),
            "rules.min_rest_hours: Input should be less than or equal to 8784",
        ),
    ],
)
def test_bad_input_names_entity_and_field(change: Any, expected: str) -> None:
    data = _base()
    change(data)
    problems = _problems(data)
    assert any(p.startswith(expected) for p in problems), problems


def test_every_reference_problem_is_reported_at_once() -> None:
    data = _base()
    data["units"][0]["home"]["region"] = "x1"
    data["units"][1]["home"]["region"] = "x2"
    data["venues"][0]["region"] = "x3"
    problems = _problems(data)
    assert len(problems) == 3


def test_every_field_problem_is_reported_at_once() -> None:
    data = _base()
    data["units"][0]["headcount"] = 0
    data["units"][1]["force"] = "navy"
    data["venues"][0]["rings"] = []
    assert len(_problems(data)) == 3


def test_region_hierarchy_is_checked() -> None:
    data = _base()
    data["regions"].append({"id": "orphan", "level": "city"})
    assert "regions[2].parent: a city needs its province as parent" in _problems(data)


def test_ring_requirement_above_capacity_is_a_warning_not_an_error() -> None:
    data = instance_data([venue(rings=[ring(capacity=3, minimum=2)], risk="very_high")], [])
    instance = parse_instance(data)
    (warning,) = instance_warnings(instance)
    assert "requires 4 at very_high risk but holds at most 3" in warning


def test_requirement_above_capacity_only_where_the_venue_is_not_guarded_is_no_warning() -> None:
    overrides = [{"shifts": ["s1"], "risk": "very_high"}]
    tight = venue(rings=[ring(capacity=3, minimum=2)], risk_overrides=overrides)
    assert instance_warnings(parse_instance(instance_data([tight], [], shifts(2))))
    closed_then = {**tight, "guarded_shifts": ["s0"]}
    assert instance_warnings(parse_instance(instance_data([closed_then], [], shifts(2)))) == []


def test_instance_is_immutable() -> None:
    instance = parse_instance(_base())
    with pytest.raises(ValueError, match="frozen"):
        instance.units[0].headcount = 5  # type: ignore[misc]


def test_field_and_reference_problems_are_reported_together() -> None:
    data = _base()
    data["units"][0]["headcount"] = -1
    data["units"][1]["home"]["region"] = "ntt-x"
    data["units"][1]["id"] = "u1"
    data["venues"][0]["rings"] = []
    problems = _problems(data)
    assert "units[0].headcount: Input should be greater than or equal to 1" in problems
    assert "units[1].home.region: unknown region 'ntt-x'" in problems
    assert "units[0].id: duplicate id 'u1'" in problems
    assert "units[1].id: duplicate id 'u1'" in problems
    assert any(p.startswith("venues[0].rings: ") for p in problems)
    assert len(problems) == 5
