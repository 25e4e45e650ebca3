"""The independent checker catches every kind of broken rule in a hand-made plan."""

from __future__ import annotations

from typing import Any

import pytest

from solver import Plan, check_plan
from tests.factory import make, ring, shifts, unit, venue


def _plan(*rows: tuple[str, str, int, str]) -> Plan:
    return Plan.model_validate(
        {"assignments": [{"unit": u, "venue": v, "ring": r, "shift": s} for u, v, r, s in rows]}
    )


def _instance(rules: dict[str, Any] | None = None, **unit_extra: Any) -> Any:
    rings = [ring(1, capacity=2, minimum=1, allowed_forces=["polri"]), ring(2, capacity=5)]
    units = [
        unit("u1", **unit_extra),
        unit("u2", headcount=2),
        unit("t1", force="tni", type="infantry", standby=True),
    ]
    return make([venue(rings=rings)], units, shifts(6), rules or {"min_rest_hours": 8})


def test_valid_plan_holds_and_coverage_is_recomputed() -> None:
    report = check_plan(_instance(), _plan(("u1", "kpu", 1, "s0"), ("u2", "kpu", 2, "s0")))
    assert report.ok, report.violations
    assert report.coverage["kpu", 1, "s0"].assigned == 1
    assert report.coverage["kpu", 2, "s1"].shortfall == 1


@pytest.mark.parametrize(
    ("rules", "unit_extra", "rows", "expected"),
    [
        # unknown references
        (None, {}, [("ghost", "kpu", 1, "s0")], "unknown unit 'ghost'"),
        (None, {}, [("u1", "kpu", 3, "s0")], "venue has no ring 3"),
        # two places in one shift
        (None, {}, [("u1", "kpu", 1, "s0"), ("u1", "kpu", 2, "s0")], "already at kpu ring 1"),
        # capacity: 1 + 2 headcount in a ring of 2
        (None, {}, [("u1", "kpu", 1, "s0"), ("u2", "kpu", 1, "s0")], "exceeds capacity 2"),
        # force not allowed in ring 1
        (None, {}, [("t1", "kpu", 1, "s0")], "force tni is not allowed"),
        # availability
        (None, {"available_shifts": ["s1"]}, [("u1", "kpu", 2, "s0")], "not available"),
        # rest: back-to-back shifts
        (None, {}, [("u1", "kpu", 2, "s0"), ("u1", "kpu", 2, "s1")], "only 0 h between s0"),
        # max shifts
        (
            {"min_rest_hours": 0, "max_shifts": 1},
            {},
            [("u1", "kpu", 2, "s0"), ("u1", "kpu", 2, "s3")],
            "works 2 shifts, at most 1",
        ),
        # max shifts per 24 h
        (
            {"min_rest_hours": 0, "max_shifts_per_24h": 1},
            {},
            [("u1", "kpu", 2, "s0"), ("u1", "kpu", 2, "s2")],
            "2 shifts start within 24 h",
        ),
        # consecutive days (s0 day 1, s3 day 2 at 06:00, ... s5 day 2)
        (
            {"min_rest_hours": 0, "max_consecutive_days": 1},
            {},
            [("u1", "kpu", 2, "s0"), ("u1", "kpu", 2, "s3")],
            "on duty 2 days in a row",
        ),
        # travel
        (
            {"max_travel_km": 10},
            {"home": {"region": "pwk", "location": {"lat": -6.9, "lon": 107.6}}},
            [("u1", "kpu", 2, "s0")],
            "exceeds the limit of 10 km",
        ),
    ],
)
def test_broken_rule_is_reported(
    rules: dict[str, Any] | None,
    unit_extra: dict[str, Any],
    rows: list[tuple[str, str, int, str]],
    expected: str,
) -> None:
    report = check_plan(_instance(rules, **unit_extra), _plan(*rows))
    assert not report.ok
    assert any(expected in v for v in report.violations), report.violations


def test_assignment_where_the_venue_is_not_guarded_is_a_violation_and_needs_no_cover() -> None:
    instance = make([venue(guarded_shifts=["s0"])], [unit("u1")], shifts(2))
    report = check_plan(instance, _plan(("u1", "kpu", 1, "s1")))
    assert report.violations == ["u1 at kpu ring 1 in s1: the venue is not guarded in this shift"]
    # s0 is guarded and uncovered; s1 requires nobody, so only the assignment shows there.
    assert report.coverage["kpu", 1, "s0"].shortfall == 1
    assert (report.coverage["kpu", 1, "s1"].required, report.total_shortfall) == (0, 1)
    held = check_plan(instance, _plan(("u1", "kpu", 1, "s0")))
    assert held.ok and held.total_shortfall == 0 and ("kpu", 1, "s1") not in held.coverage
