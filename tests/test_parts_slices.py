"""Groups cut into parts against their slice of the first whole plan, and the cut's rate."""

from __future__ import annotations

import time

import pytest

from solver import Instance, parse_instance
from solver.decompose import Part, part_instance
from solver.parts import national
from solver.parts.first import FirstPlan, slice_outcome
from solver.parts.national import (
    Mode,
    PartsProgress,
    choose_parts,
    quick_rate,
    solve_in_parts,
)
from solver.parts.reserve import weighted_shortfall
from solver.parts.split import connected_parts, cut_groups, domain_parts, reach
from solver.parts.task import PartTask, solve_part
from tests.factory import ring, unit
from tests.provinces import assert_checked, provinces_data


def _officers_across_the_cut() -> Instance:
    """Province 0: a high-risk venue in regency kab-0, where no unit lives, and a low-risk
    venue 11 km away in regency kab-0b, home of three officers who reach both. Province 1 as
    ever (its own venue and three officers). Cut into regencies, province 0's officers keep
    only their own regency's venue and the high-risk one gets no one."""
    data = provinces_data(count=2)
    data["units"] = [u for u in data["units"] if not u["id"].startswith("u-0-")]
    data["venues"][0]["risk"] = "high"
    data["regions"].append({"id": "kab-0b", "level": "regency", "parent": "prov-0"})
    near = {"lat": -6.5, "lon": 100.1}
    data["venues"].append(
        dict(
            data["venues"][0],
            id="kpu-0b",
            region="kab-0b",
            location=near,
            risk="low",
            rings=[ring(1, 10, 1, allowed_forces=["polri"])],
        )
    )
    data["units"] += [
        unit(f"u-0b-{k}", home={"region": "kab-0b", "location": near}) for k in range(3)
    ]
    return parse_instance(data)


def test_cut_groups_name_the_connected_part_each_part_was_cut_from() -> None:
    instance = _officers_across_the_cut()
    connected = connected_parts(instance)
    # Province 0's two venues (indices 0 and 2) are one group; province 1's venue another.
    assert sorted(p.venues for p in connected) == [(0, 2), (1,)]
    parts = domain_parts(instance, max_pairs=4, connected=connected)
    groups = cut_groups(parts)
    province_0 = next(p.group for p in connected if p.venues == (0, 2))
    # Cut into regencies, province 0 keeps one part (kab-0b's venue); the high-risk venue
    # is in none.
    assert [parts[i].venues for i in groups[province_0]] == [(2,)]
    assert all(parts[i].group == province_0 for i in groups[province_0])


def test_a_group_whose_cut_parts_plan_worse_than_its_slice_keeps_the_slice() -> None:
    instance = _officers_across_the_cut()
    # Cut for no time at all: every province is cut into its regencies.
    seen: list[PartsProgress] = []
    result = solve_in_parts(
        instance,
        time_limit=30,
        mode=Mode.LOCAL,
        n_workers=2,
        cut_for=(0.001, 1),
        part_progress=seen.append,
    )
    assert_checked(instance, result)
    assert ("slices", 1, 1) in [(p.round, p.done, p.total) for p in seen]
    # Province 0 is planned whole again (its two venues in one part, nothing cut): its
    # officers stand at the high-risk venue across the regency line.
    whole = next(p for p in result.parts if p.provinces == ("prov-0",))
    assert (whole.venues, whole.cut) == (2, "")
    assert {a.venue for a in result.plan.assignments if a.unit.startswith("u-0b-")} >= {"kpu-0"}
    # Province 1's cut part planned as well as its slice: it stays as cut.
    assert [p.cut for p in result.parts if p.provinces == ("prov-1",)] == ["region"]
    rows = [row.model_dump(mode="json") for row in result.coverage]
    short = weighted_shortfall(instance, rows)
    cut_only = solve_in_parts(
        instance, time_limit=30, mode=Mode.IN_PROCESS, cut_for=(0.001, 1), slices=False
    )
    assert_checked(instance, cut_only)
    assert short < weighted_shortfall(
        instance, [r.model_dump(mode="json") for r in cut_only.coverage]
    )


def test_choose_parts_keeps_more_whole_at_a_higher_rate() -> None:
    instance = _officers_across_the_cut()
    # Province 0 reaches 6 pairs, province 1 3; at 0.75 of 10 s on each of two workers, 0.8
    # pairs a second leaves 6 pairs a worker (province 0 whole), 0.4 three (cut).
    fast = choose_parts(instance, 10.0, 2, rate=0.8)
    slow = choose_parts(instance, 10.0, 2, rate=0.4)
    assert sorted(p.cut for p in fast) == ["", ""]
    assert "region" in {p.cut for p in slow}


def test_slice_outcome_is_what_the_model_makes_of_the_same_plan() -> None:
    # A TNI platoon beside the police, so that every term has something to count.
    data = provinces_data(count=2, units_each=2, minimum=3)
    data["units"].append(
        unit("tni-0", headcount=3, force="tni", type="infanteri", home=data["units"][0]["home"])
    )
    instance = parse_instance(data)
    reached = reach(instance)
    first = FirstPlan(instance, reached, time.time() + 30, time.perf_counter())
    group = max(connected_parts(instance, reached), key=lambda p: p.pairs)
    rows = first.hints([group])[0]
    assert any(row[0] == "tni-0" for row in rows)
    sub = part_instance(instance, Part(group.venues, group.units))
    model = solve_part(
        PartTask(
            index=0,
            instance=sub.model_dump(mode="json"),
            budget=1,
            deadline=0.0,
            quick=True,
            hint=rows,
        )
    )
    mine = slice_outcome(instance, group, rows, 0, model.uppers)
    assert sorted(mine.assignments) == sorted(model.assignments)
    assert mine.breakdown == model.breakdown
    assert (mine.objective, mine.uppers) == (model.objective, model.uppers)
    assert sorted(map(str, mine.coverage)) == sorted(map(str, model.coverage))
    assert mine.activations == model.activations
    assert (mine.shortfall, mine.weighted_shortfall) == (model.shortfall, model.weighted_shortfall)


def test_quick_rate_is_measured_only_on_instances_big_enough(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    instance = _officers_across_the_cut()
    first = FirstPlan(instance, reach(instance), time.time() + 30, time.perf_counter())
    # Nine pairs: too few to measure the machine by, the fixed rate holds.
    assert quick_rate(first) == national.QUICK_PAIRS_PER_SECOND
    monkeypatch.setattr(national, "RATE_MIN_PAIRS", 1)
    low, high = national.QUICK_RATE_RANGE
    speed = first.pairs_per_second()
    assert first.pairs == 9 and speed is not None
    expected = min(high, max(low, national.QUICK_PER_WAVE_PAIR * speed))
    assert quick_rate(first) == expected
