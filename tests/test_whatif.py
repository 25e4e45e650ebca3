"""Re-planning against a plan in force, on instances small enough to check by hand."""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any

import pytest
from pydantic import ValidationError

from solver import (
    Assignment,
    Instance,
    ObjectiveTerm,
    Plan,
    SolveStatus,
    check_plan,
    load_instance,
    solve,
)
from solver.whatif import (
    CloseVenue,
    MoveKind,
    ReplanOptions,
    Scenario,
    SetRing,
    SetRisk,
    UnitUnavailable,
    WhatIfBatchRequest,
    WhatIfBatchResponse,
    WhatIfRequest,
    WhatIfResponse,
    whatif,
    whatif_batch,
)
from tests.factory import WIB, make, ring, shifts, solve_checked, unit, venue

FAST = ReplanOptions(time_limit=10, workers=2)
NO_REST = {"min_rest_hours": 0}


def _plan(*rows: tuple[str, str, int, str]) -> Plan:
    return Plan(
        assignments=tuple(Assignment(unit=u, venue=v, ring=r, shift=s) for u, v, r, s in rows)
    )


def _answer(instance: Instance, plan: Plan, changes: list[Any], **extra: Any) -> WhatIfResponse:
    """Re-plan, and check the new plan independently."""
    extra.setdefault("options", FAST)
    response = whatif(WhatIfRequest(instance=instance, plan=plan, changes=changes, **extra))
    report = check_plan(_changed(instance, changes), response.result.plan)
    assert report.ok, report.violations
    assert response.violations == ()
    assert response.result.status is SolveStatus.OPTIMAL
    return response


def _changed(instance: Instance, changes: list[Any]) -> Instance:
    from solver.whatif import apply_changes

    return apply_changes(instance, changes)


def _two_venues() -> tuple[Instance, Plan]:
    """Venues a and b need 2 each at low risk; six single officers; an optimal plan."""
    instance = make(
        [venue("a", rings=[ring(minimum=2)]), venue("b", rings=[ring(minimum=2)])],
        [unit(f"u{i}") for i in range(6)],
    )
    base = solve_checked(instance)
    assert base.total_shortfall == 0 and len(base.plan.assignments) == 4
    return instance, base.plan


def test_raising_risk_adds_exactly_the_needed_units_and_moves_nothing_else() -> None:
    instance, plan = _two_venues()
    # high risk: ceil(2 x 1.5) = 3 at b, so one more officer there.
    response = _answer(instance, plan, [SetRisk(venue="b", risk="high")])
    diff = response.diff
    assert (diff.moved_unit_shifts, diff.assigned, diff.moved, diff.released) == (1, 1, 0, 0)
    (move,) = diff.moves
    assert move.kind is MoveKind.ASSIGNED and move.after is not None and move.after.venue == "b"
    assert set(plan.assignments) < set(response.plan.assignments)
    assert response.after.shortfall == 0 and response.delta.assignments == 1
    assert response.result.breakdown[ObjectiveTerm.DISRUPTION] == 1


def test_whatif_without_changes_returns_the_plan_in_force_unchanged() -> None:
    instance, plan = _two_venues()
    response = _answer(instance, plan, [])
    assert response.diff.is_empty and response.diff.moved_unit_shifts == 0
    assert response.plan == plan
    assert response.delta.shortfall == 0 and response.delta.travel_km == 0
    assert "no change to the plan" in response.summary()


def test_change_that_alters_no_requirement_moves_nothing() -> None:
    instance, plan = _two_venues()
    # Setting the level it already has goes through the full re-plan and keeps every place.
    response = _answer(instance, plan, [SetRisk(venue="a", risk="low")])
    assert response.diff.is_empty
    assert set(response.plan.assignments) == set(plan.assignments)


def test_locked_shifts_never_move() -> None:
    instance = make(
        [venue("a", rings=[ring(minimum=2)])],
        [unit(f"u{i}") for i in range(4)],
        shifts(3),
        NO_REST,
    )
    plan = _plan(
        ("u0", "a", 1, "s0"), ("u1", "a", 1, "s0"),
        ("u0", "a", 1, "s1"), ("u1", "a", 1, "s1"),
        ("u2", "a", 1, "s2"), ("u3", "a", 1, "s2"),
    )  # fmt: skip
    now = datetime(2024, 2, 14, 15, tzinfo=WIB)  # s0 (06-14) and s1 (14-22) have started
    response = _answer(instance, plan, [SetRisk(venue="a", risk="very_high")], now=now)
    assert response.locked_shifts == ("s0", "s1")
    kept = {a for a in response.plan.assignments if a.shift in ("s0", "s1")}
    assert kept == {a for a in plan.assignments if a.shift in ("s0", "s1")}
    # very high: 4 needed. Only s2 may change: u0 and u1 join u2 and u3 there.
    assert {m.shift for m in response.diff.moves} == {"s2"}
    assert response.diff.assigned == 2
    assert response.after.shortfall == 4  # 2 short in each locked shift


def test_closing_a_venue_releases_its_units_and_reports_them() -> None:
    instance, plan = _two_venues()
    at_b = {a.unit for a in plan.assignments if a.venue == "b"}
    response = _answer(instance, plan, [CloseVenue(venue="b")])
    assert response.diff.released == 2 and response.diff.moved_unit_shifts == 2
    assert {m.unit for m in response.diff.moves} == at_b
    assert all(m.before is not None and m.before.venue == "b" for m in response.diff.moves)
    assert not response.diff.forced
    assert "2 released" in response.summary()


def test_closing_a_venue_from_a_shift_keeps_earlier_shifts_and_releases_later_ones() -> None:
    instance = make(
        [venue("a", rings=[ring(minimum=2)]), venue("b", rings=[ring(minimum=2)])],
        [unit(f"u{i}") for i in range(6)],
        shifts(3),
        NO_REST,
    )
    plan = solve_checked(instance).plan
    assert len(plan.assignments) == 12  # 2 at each venue in each of 3 shifts
    later_at_b = {(a.unit, a.shift) for a in plan.assignments if a.venue == "b" and a.shift != "s0"}
    change = CloseVenue(venue="b", from_shift="s1")
    response = _answer(instance, plan, [change])
    assert _changed(instance, [change]).venues[1].guarded_shifts == ("s0",)
    # s0 exactly as in force; from s1 on nobody at b, a untouched.
    new = set(response.plan.assignments)
    assert {a for a in new if a.shift == "s0"} == {a for a in plan.assignments if a.shift == "s0"}
    assert not [a for a in new if a.venue == "b" and a.shift != "s0"]
    assert {a for a in new if a.venue == "a"} == {a for a in plan.assignments if a.venue == "a"}
    diff = response.diff
    assert {(m.unit, m.shift) for m in diff.moves} == later_at_b
    assert {(m.kind, m.before and m.before.venue) for m in diff.moves} == {(MoveKind.RELEASED, "b")}
    assert (diff.released, diff.moved_unit_shifts, diff.forced) == (4, 4, 0)
    assert response.after.shortfall == 0 and response.delta.assignments == -4


def test_closing_a_venue_in_a_started_shift_is_a_forced_move_not_a_failure() -> None:
    instance = make([venue("a"), venue("b")], [unit("u0"), unit("u1")], shifts(2), NO_REST)
    plan = _plan(("u0", "a", 1, "s0"), ("u1", "b", 1, "s0"), ("u0", "a", 1, "s1"),
                 ("u1", "b", 1, "s1"))  # fmt: skip
    now = datetime(2024, 2, 14, 7, tzinfo=WIB)
    response = _answer(instance, plan, [CloseVenue(venue="b")], now=now)
    forced = [m for m in response.diff.moves if m.forced]
    assert [(m.unit, m.shift, m.kind) for m in forced] == [("u1", "s0", MoveKind.RELEASED)]
    # u0 keeps a in both shifts; u1 is free in s1 and a needs only one: released there too.
    assert placed_set(response) == {("u0", "a", 1, "s0"), ("u0", "a", 1, "s1")}
    assert response.diff.forced == 1


def placed_set(response: WhatIfResponse) -> set[tuple[str, str, int, str]]:
    return {(a.unit, a.venue, a.ring, a.shift) for a in response.plan.assignments}


def test_unit_unavailable_from_a_shift_moves_only_its_later_shifts() -> None:
    instance = make([venue("a")], [unit("u1"), unit("u2")], shifts(3), NO_REST)
    plan = _plan(("u1", "a", 1, "s0"), ("u1", "a", 1, "s1"), ("u1", "a", 1, "s2"))
    response = _answer(instance, plan, [UnitUnavailable(unit="u1", from_shift="s1")])
    assert placed_set(response) == {
        ("u1", "a", 1, "s0"),
        ("u2", "a", 1, "s1"),
        ("u2", "a", 1, "s2"),
    }
    assert {(m.unit, m.shift, m.kind) for m in response.diff.moves} == {
        ("u1", "s1", MoveKind.RELEASED),
        ("u1", "s2", MoveKind.RELEASED),
        ("u2", "s1", MoveKind.ASSIGNED),
        ("u2", "s2", MoveKind.ASSIGNED),
    }


def test_disruption_never_outranks_shortfall() -> None:
    # Three officers at b (needs 3, low) cover a (needs 1 low, at very high 2) only by moving.
    instance = make(
        [venue("a", rings=[ring(minimum=1)]), venue("b", rings=[ring(minimum=3)])],
        [unit("u0"), unit("u1"), unit("u2"), unit("u3")],
    )
    plan = _plan(("u0", "a", 1, "s0"), ("u1", "b", 1, "s0"), ("u2", "b", 1, "s0"),
                 ("u3", "b", 1, "s0"))  # fmt: skip
    response = _answer(instance, plan, [SetRisk(venue="a", risk="very_high")])
    # One officer short somewhere either way; at a it weighs 8 x 4, at b 1 x 4: move one.
    assert response.diff.moved == 1
    cold = solve_checked(response_instance(instance, "a"))
    shortfall = response.result.breakdown[ObjectiveTerm.SHORTFALL]
    assert shortfall == cold.breakdown[ObjectiveTerm.SHORTFALL] == 4


def response_instance(instance: Instance, venue_id: str) -> Instance:
    return _changed(instance, [SetRisk(venue=venue_id, risk="very_high")])


def test_batch_results_equal_individual_runs() -> None:
    instance, plan = _two_venues()
    options = ReplanOptions(time_limit=10, reproducible=True, deterministic_time=5)
    scenarios = (
        Scenario(name="b-high", changes=(SetRisk(venue="b", risk="high"),)),
        Scenario(name="close-a", changes=(CloseVenue(venue="a"),)),
        Scenario(name="all-very-high", changes=(SetRisk(region="pwk", risk="very_high"),)),
    )
    batch = whatif_batch(
        WhatIfBatchRequest(
            instance=instance, plan=plan, scenarios=scenarios, options=options, max_parallel=2
        )
    )
    assert [r.name for r in batch.table] == ["b-high", "close-a", "all-very-high"]
    assert batch.workers_per_solve == 1
    for scenario, answer in zip(scenarios, batch.scenarios, strict=True):
        alone = whatif(
            WhatIfRequest(instance=instance, plan=plan, changes=scenario.changes, options=options)
        )
        assert answer.plan == alone.plan
        assert answer.diff == alone.diff
        assert check_plan(_changed(instance, list(scenario.changes)), answer.plan).ok
    rows = {r.name: r for r in batch.table}
    assert rows["b-high"].moved_unit_shifts == 1
    assert rows["close-a"].released == 2
    text = batch.table_text()
    assert text.splitlines()[0].startswith("scenario") and "all-very-high" in text
    again = WhatIfBatchResponse.model_validate_json(batch.model_dump_json())
    assert again == batch


def test_reproducible_mode_returns_the_same_plan_twice() -> None:
    instance = load_instance("ringplan/examples/district.json")
    base = solve(
        instance,
        time_limit=10,
        preset="reproducible",
        sat_parameters={"max_deterministic_time": 1.0},
    )
    venue_id = instance.venues[0].id
    # A deterministic budget small enough to stop the search before it proves optimality.
    request = WhatIfRequest(
        instance=instance,
        plan=base.plan,
        changes=(SetRisk(venue=venue_id, risk="very_high"),),
        options=ReplanOptions(time_limit=5, reproducible=True, deterministic_time=0.2),
    )
    first, second = whatif(request), whatif(request)
    assert first.plan == second.plan
    assert first.diff == second.diff and first.diff.moved_unit_shifts > 0
    assert first.result.objective == second.result.objective
    assert check_plan(response_instance(instance, venue_id), first.plan).ok


def test_request_and_response_round_trip_through_json() -> None:
    instance, plan = _two_venues()
    request = WhatIfRequest(
        instance=instance,
        plan=plan,
        changes=(SetRisk(kind="kpu_regency", risk="high", first_shift="s0"),),
        now=datetime(2024, 2, 14, 5, tzinfo=WIB),
        options=FAST,
    )
    assert WhatIfRequest.model_validate_json(request.model_dump_json()) == request
    response = whatif(request)
    assert WhatIfResponse.model_validate_json(response.model_dump_json()) == response
    data = response.model_dump(mode="json")
    assert data["diff"]["moved_unit_shifts"] == response.diff.moved_unit_shifts
    assert data["after"]["shortfall"] == response.after.shortfall == 0
    assert data["result"]["breakdown"]["disruption"] == 2  # ceil(2 x 1.5) = 3 at each venue


def test_disruption_ranked_without_a_baseline_is_zero() -> None:
    priorities = ["shortfall", "disruption", "tni", "travel", "balance", "overstaffing"]
    instance = make([venue("a")], [unit("u0")], rules={"priorities": priorities})
    result = solve_checked(instance)
    assert result.breakdown.get(ObjectiveTerm.DISRUPTION, 0) == 0
    assert result.total_shortfall == 0 and result.status is SolveStatus.OPTIMAL


def test_whatif_stopped_before_the_search_answers_the_plan_in_force_less_what_is_impossible() -> (
    None
):
    instance, plan = _two_venues()
    stop = threading.Event()
    stop.set()
    request = WhatIfRequest(
        instance=instance, plan=plan, changes=(CloseVenue(venue="b"),), options=FAST
    )
    response = whatif(request, stop=stop)
    # No search ran: the answer is the plan in force with venue b's places released.
    assert response.result.status is SolveStatus.FEASIBLE
    kept = {a for a in plan.assignments if a.venue != "b"}
    assert set(response.plan.assignments) == kept and len(kept) == 2
    assert response.diff.released == 2 and response.diff.moved == response.diff.assigned == 0
    assert response.violations == ()
    assert "feasible" in response.summary()


def test_ring_shrunk_in_a_started_shift_releases_the_excess_as_forced_moves() -> None:
    instance = make([venue("a", rings=[ring(capacity=3, minimum=3)])],
                    [unit("u0"), unit("u1"), unit("u2")], shifts(2), NO_REST)  # fmt: skip
    plan = _plan(*[(f"u{i}", "a", 1, s) for i in range(3) for s in ("s0", "s1")])
    now = datetime(2024, 2, 14, 7, tzinfo=WIB)
    change = SetRing(venue="a", ring=1, capacity=2)
    response = _answer(instance, plan, [change], now=now)
    # s0 is locked: u0 and u1 stay, u2 (the greatest id) no longer fits and is released.
    forced = [(m.unit, m.shift) for m in response.diff.moves if m.forced]
    assert forced == [("u2", "s0")]
    assert response.diff.forced == 1 and response.diff.released == 2
    placed_now = {(a.unit, a.shift) for a in response.plan.assignments}
    assert {(u, s) for u, s in placed_now if s == "s0"} == {("u0", "s0"), ("u1", "s0")}
    # s1 is free to change: any two of the three stay, one is released (not forced).
    assert len([1 for _u, s in placed_now if s == "s1"]) == 2


def test_replan_options_reject_an_unknown_preset_by_name() -> None:
    with pytest.raises(ValidationError) as caught:
        ReplanOptions(preset="turbo")
    assert "preset" in str(caught.value) and "unknown preset 'turbo'" in str(caught.value)
