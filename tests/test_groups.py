"""Pooling interchangeable units: the grouped model finds the per-unit model's optimum.

Each instance below has several identical units so that groups really form, and exercises one
rule family; both models must prove the same optimal objective, and the grouped model's plan
(counts turned into per-unit rosters) must pass the independent checker.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

import numpy as np
import pytest

from benchmarks.generator import generate
from solver import Instance, ObjectiveTerm, Plan, SolveStatus
from solver.heuristics.greedy import greedy_counts
from solver.model.data import build_data, restrict
from solver.presets import PRESETS, Preset
from solver.report import plan_from_vector
from solver.search import cpsat, stages
from solver.search.counts import hint_vector, recount
from tests.factory import WIB, make, placed, ring, shifts, solve_checked, unit, venue

FAR = {"lat": -6.55, "lon": 108.44}  # about 110 km east of HOME
TNI: dict[str, Any] = {"force": "tni", "type": "infantry", "standby": True}


def _pool(prefix: str, count: int, **extra: Any) -> list[dict[str, Any]]:
    return [unit(f"{prefix}{i}", **extra) for i in range(count)]


def _night_and_overlap_shifts() -> list[dict[str, Any]]:
    # Three 8-hour shifts a day for two days, plus an 8-hour shift overlapping two of them.
    day = shifts(6, hours=8)
    day.append(
        {"id": "mid", "start": "2024-02-14T10:00:00+07:00", "end": "2024-02-14T18:00:00+07:00"}
    )
    return day


def _daily(count: int) -> list[dict[str, Any]]:
    return [
        {
            "id": f"d{i}",
            "start": datetime(2024, 2, 14 + i, 8, tzinfo=WIB).isoformat(),
            "end": datetime(2024, 2, 14 + i, 16, tzinfo=WIB).isoformat(),
        }
        for i in range(count)
    ]


CASES: dict[str, Instance] = {
    # Rest across night shifts and an overlapping shift: 3 units cannot cover 2 rings in all
    # 7 shifts, so the rest windows decide who works when.
    "rest_night_overlap": make(
        [venue(rings=[ring(1, 4, 1), ring(2, 4, 1)])],
        _pool("u", 3),
        _night_and_overlap_shifts(),
        {"min_rest_hours": 8},
    ),
    "max_shifts": make(
        [venue(rings=[ring(1, 4, 2)])],
        _pool("u", 3),
        shifts(6),
        {"min_rest_hours": 0, "max_shifts": 3},
    ),
    "per_24h": make(
        [venue(rings=[ring(1, 4, 2)])],
        _pool("u", 3),
        shifts(9),
        {"min_rest_hours": 0, "max_shifts_per_24h": 2},
    ),
    "consecutive_days": make(
        [venue(rings=[ring(1, 4, 2)])],
        _pool("u", 3),
        _daily(5),
        {"min_rest_hours": 0, "max_consecutive_days": 2},
    ),
    "travel": make(
        [venue("near", rings=[ring(1, 4, 2)]), venue("far", location=FAR, rings=[ring(1, 4, 2)])],
        [*_pool("home", 3), *_pool("east", 2, home={"region": "pwk", "location": FAR})],
        shifts(3),
        {"min_rest_hours": 8, "max_travel_km": 150},
    ),
    "eligibility": make(
        [venue(rings=[ring(1, 4, 2, allowed_types=["brimob"]), ring(2, 6, 3)])],
        [*_pool("brimob", 3, type="brimob"), *_pool("samapta", 2)],
        shifts(3),
        {"min_rest_hours": 8},
    ),
    "availability": make(
        [venue(rings=[ring(1, 4, 2)])],
        [*_pool("early", 2, available_shifts=["s0", "s1"]), *_pool("any", 2)],
        shifts(4),
        {"min_rest_hours": 8},
    ),
    "standby_tni": make(
        [venue(rings=[ring(1, 6, 2, allowed_forces=["polri"]), ring(3, 8, 4)])],
        [*_pool("polri", 3), *_pool("tni", 3, headcount=2, **TNI)],
        shifts(3),
        {"min_rest_hours": 8},
    ),
    "headcounts_and_balance": make(
        [venue("a", rings=[ring(1, 7, 5), ring(2, 9, 6)]), venue("b", rings=[ring(1, 5, 3)])],
        [*_pool("team", 4, headcount=3), *_pool("single", 5)],
        shifts(6),
        {"min_rest_hours": 8, "max_shifts": 3},
    ),
}


def test_identical_units_share_a_group_and_different_ones_do_not() -> None:
    data = build_data(CASES["availability"])
    members = sorted(
        tuple(CASES["availability"].units[u].id for u in g.members) for g in data.groups
    )
    assert members == [("any0", "any1"), ("early0", "early1")]
    per_unit = build_data(CASES["availability"], grouped=False)
    assert data.n_candidates * 2 == per_unit.n_candidates


def test_units_the_consecutive_days_rule_binds_stay_alone() -> None:
    data = build_data(CASES["consecutive_days"])
    assert [g.size for g in data.groups] == [1, 1, 1]


def test_units_with_shifts_of_different_lengths_stay_alone() -> None:
    mixed = [
        *shifts(1, hours=8),
        {"id": "long", "start": "2024-02-15T06:00:00+07:00", "end": "2024-02-15T18:00:00+07:00"},
    ]
    instance = make([venue()], _pool("u", 3), mixed)
    assert [g.size for g in build_data(instance).groups] == [1, 1, 1]


@pytest.mark.parametrize("name", sorted(CASES))
def test_grouped_model_matches_the_per_unit_optimum(name: str) -> None:
    instance = CASES[name]
    per_unit = solve_checked(instance, preset="unit")
    grouped = solve_checked(instance)
    assert per_unit.status is SolveStatus.OPTIMAL
    assert grouped.status is SolveStatus.OPTIMAL
    assert grouped.objective == per_unit.objective
    assert grouped.breakdown == per_unit.breakdown
    assert len(build_data(instance).groups) < len(instance.units) or name == "consecutive_days"


def test_round_robin_rosters_keep_rest_between_back_to_back_shifts() -> None:
    # Two units, six back-to-back 8-hour shifts, 8 h rest: only alternating rosters cover all.
    instance = make([venue()], _pool("u", 2), shifts(6), {"min_rest_hours": 8})
    result = solve_checked(instance)
    assert result.total_shortfall == 0
    worked = {
        u: sorted(a.shift for a in result.plan.assignments if a.unit == u) for u in ("u0", "u1")
    }
    assert sorted(worked.values()) == [["s0", "s2", "s4"], ["s1", "s3", "s5"]]


def test_hint_decides_which_pooled_unit_stands_where() -> None:
    instance = make([venue()], _pool("u", 3))
    hint = Plan.model_validate(
        {"assignments": [{"unit": "u2", "venue": "kpu", "ring": 1, "shift": "s0"}]}
    )
    result = solve_checked(instance, hint=hint)
    assert placed(result) == {("u2", "kpu", 1, "s0")}


def test_units_differing_only_in_distance_share_a_coarse_group() -> None:
    instance = CASES["travel"]
    fine = build_data(instance)
    coarse = build_data(instance, ignore_km=True)
    assert sorted(g.size for g in fine.groups) == [2, 3]
    assert [g.size for g in coarse.groups] == [5]


def test_nearest_units_are_sent_after_the_coarse_stages() -> None:
    # Four identical officers, two next door and two 110 km away; the venue needs two. The
    # coarse model settles shortfall without distances, the fine one then picks the near pair.
    units = [*_pool("near", 2), *_pool("far", 2, home={"region": "pwk", "location": FAR})]
    instance = make([venue(rings=[ring(1, 4, 2)])], units, shifts(1), {"max_travel_km": 150})
    result = solve_checked(instance)
    assert result.status is SolveStatus.OPTIMAL
    assert {a.unit for a in result.plan.assignments} == {"near0", "near1"}
    assert result.breakdown[ObjectiveTerm.TRAVEL] == 0


def _near_and_far() -> Instance:
    units = [*_pool("near", 2), *_pool("far", 2, home={"region": "pwk", "location": FAR})]
    return make([venue(rings=[ring(1, 4, 2)])], units, shifts(1), {"max_travel_km": 150})


def test_neighbourhood_search_keeps_the_coarse_optimum_but_proves_nothing_more() -> None:
    # The fine stages searched around the best plan find the near pair too, but a
    # neighbourhood's optimum is no proof: the status stays feasible. The whole fine model
    # proves the same plan optimal.
    near = solve_checked(_near_and_far(), preset="neighbourhood")
    whole = solve_checked(_near_and_far(), preset="exact")
    assert near.status is SolveStatus.FEASIBLE
    assert whole.status is SolveStatus.OPTIMAL
    for result in (near, whole):
        assert result.total_shortfall == 0
        assert result.breakdown[ObjectiveTerm.TRAVEL] == 0
        assert {a.unit for a in result.plan.assignments} == {"near0", "near1"}
    assert near.best_bound is not None and near.objective is not None
    assert whole.objective is not None
    assert near.best_bound < near.objective <= whole.objective


def test_restricted_model_data_keeps_the_chosen_candidates_and_their_indices() -> None:
    data = build_data(_near_and_far())
    keep = [c for c, cand in enumerate(data.candidates) if cand.group == 1]
    sub = restrict(data, keep)
    assert sub.candidates == [data.candidates[c] for c in keep]
    assert sub.slots is data.slots and sub.groups is data.groups
    for slot, indices in enumerate(sub.by_slot):
        assert all(sub.candidates[c].slot == slot for c in indices)
    assert sum(len(i) for i in sub.by_slot) == len(keep)
    assert {group for group, _shift in sub.by_group_shift} == {1}


@pytest.mark.parametrize(
    ("above", "status"), [(0, SolveStatus.FEASIBLE), (10**9, SolveStatus.OPTIMAL)]
)
def test_a_preset_switches_to_another_above_its_model_size(
    monkeypatch: pytest.MonkeyPatch, above: int, status: SolveStatus
) -> None:
    # Above the size the model is solved with 'neighbourhood' (no proof of the fine stages),
    # at or below it with the preset's own settings (proven optimal).
    monkeypatch.setitem(
        PRESETS, "switching", Preset(PRESETS["default"].parameters, switch=(above, "neighbourhood"))
    )
    result = solve_checked(_near_and_far(), preset="switching")
    assert result.status is status
    assert result.breakdown[ObjectiveTerm.TRAVEL] == 0


def test_a_neighbourhood_search_in_short_rounds_keeps_every_rule_and_improves(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Rounds far shorter than the search needs (the suite's city, whose travel stage takes
    # seconds): each restarts from the best plan so far. Each round is limited by CP-SAT's
    # deterministic time, not the clock, so the same rounds end the same way at any load
    # (rounds of 1 s of the clock ended before CP-SAT's presolve on a loaded machine, with no
    # plan); with deterministic time the rounds go on while each betters the best plan.
    rounds: list[str] = []
    run_stage = cpsat.run_stage

    def counted(*args: Any) -> Any:
        solver, status = run_stage(*args)
        rounds.append(solver.status_name(status))
        return solver, status

    monkeypatch.setattr(stages, "run_stage", counted)
    # No shift windows (each one a CP-SAT run of its own) before the neighbourhood's rounds.
    rounds_only = replace(PRESETS["neighbourhood"], shift_windows=False)
    monkeypatch.setitem(PRESETS, "neighbourhood-rounds", rounds_only)
    seen: list[Any] = []
    instance = generate("city", 0, "loose")
    result = solve_checked(
        instance,
        preset="neighbourhood-rounds",
        workers=1,
        seed=0,
        deterministic_time=0.1,
        time_limit=120,  # a safety net only
        progress=seen.append,
    )
    # The travel stage ran in several rounds, the first cut short by its limit (FEASIBLE, not
    # OPTIMAL within the neighbourhood).
    assert len(rounds) >= 2 and rounds[0] == "FEASIBLE"
    assert result.status is SolveStatus.FEASIBLE  # a neighbourhood proves nothing
    assert result.total_shortfall == 0
    assert result.objective is not None and result.objective < seen[0].objective
    assert result.objective == seen[-1].objective


def test_counts_of_one_pooling_become_those_of_another_as_through_the_plan() -> None:
    # The coarse pooling's plans reach the fine model (and back) by index, in bulk; the counts
    # must be those of the plan that the rosters make.
    instance = generate("city", 0, "tight")
    fine = build_data(instance)
    coarse = build_data(instance, ignore_km=True, like=fine)
    assert coarse.n_candidates < fine.n_candidates
    for source, target in ((coarse, fine), (fine, coarse)):
        x = greedy_counts(source, police_first=True, order="time")
        through_plan = hint_vector(target, plan_from_vector(source, x))
        assert x.sum() > 0
        recounted = recount(source, target, x)
        assert np.array_equal(recounted, through_plan)


def test_interchangeable_units_whose_days_have_a_gap_are_pooled_and_planned() -> None:
    # Six duty days with day 3 unguarded: more days than the limit of five, but no run of
    # more than three, so the rule cannot bind and the two units are pooled; the model must
    # not treat the pooled group as if it needed the consecutive-days rows.
    week = shifts(7, hours=24)
    guarded = [s["id"] for i, s in enumerate(week) if i != 3]
    instance = make(
        [venue(rings=[ring(capacity=2, minimum=2)], guarded_shifts=guarded)],
        [unit("a"), unit("b")],
        week,
        rules={"min_rest_hours": 0, "max_consecutive_days": 5},
    )
    result = solve_checked(instance, time_limit=10.0)
    assert result.status is SolveStatus.OPTIMAL
    assert result.breakdown[ObjectiveTerm.SHORTFALL] == 0
    assert len(result.plan.assignments) == 12
