"""The domain split: parts found from the instance alone, before any model is built."""

from __future__ import annotations

from benchmarks.generator import generate
from solver import parse_instance, solve
from solver.decompose import independent_parts
from solver.domain import Instance, ObjectiveTerm, Plan, RiskLevel
from solver.parts.national import PartsProgress
from solver.parts.split import domain_parts, unreached_venues
from solver.rows import Coverage
from tests.factory import unit
from tests.provinces import assert_checked, province_place, provinces, provinces_data


def test_domain_parts_match_the_model_datas_parts_on_generated_instances() -> None:
    for scale in ("district", "city", "province", "capital"):
        instance = generate(scale, 0, "tight")
        found = sorted((p.venues, p.units) for p in domain_parts(instance))
        model = sorted((p.venues, p.units) for p in independent_parts(instance) if p.units)
        assert found == model, scale


def test_domain_parts_keep_far_provinces_apart() -> None:
    parts = domain_parts(provinces(count=3))
    assert sorted(p.venues for p in parts) == [(0,), (1,), (2,)]
    assert all(len(p.units) == 3 and p.cut == "" for p in parts)


def test_domain_parts_leave_out_venues_no_unit_reaches() -> None:
    data = provinces_data(count=2)
    data["units"] = [u for u in data["units"] if not u["id"].startswith("u-1-")]
    instance = parse_instance(data)
    parts = domain_parts(instance)
    assert [p.venues for p in parts] == [(0,)]
    assert unreached_venues(instance, parts) == [1]


def test_domain_parts_cut_a_part_too_big_along_provinces() -> None:
    # A Brimob-like unit of province 0 reaches province 1's venue (320 km away): one part.
    data = provinces_data(count=2)
    far = unit("brimob-0", home={"region": "kab-0", "location": province_place(0)})
    far["max_travel_km"] = 400
    data["units"].append(far)
    instance = parse_instance(data)
    assert [p.venues for p in domain_parts(instance)] == [(0, 1)]
    # Six officers reach their own venue, the Brimob-like unit both: eight pairs.
    assert [p.pairs for p in domain_parts(instance)] == [8]
    cut = domain_parts(instance, max_pairs=4)
    assert sorted(p.venues for p in cut) == [(0,), (1,)]
    assert {p.cut for p in cut} == {"province"}
    # The far-reaching unit stays with its home province.
    brimob = len(instance.units) - 1
    assert next(p for p in cut if brimob in p.units).venues == (0,)


def _province_of_two_regencies() -> Instance:
    """Province 0 with a second regency 11 km from the first (its venue is index 2, its
    three officers reach both venues of the province: 12 pairs), province 1 as ever (3 pairs)."""
    data = provinces_data(count=2)
    data["regions"].append({"id": "kab-0b", "level": "regency", "parent": "prov-0"})
    near = {"lat": -6.5, "lon": 100.1}
    second = dict(data["venues"][0], id="kpu-0b", region="kab-0b", location=near)
    data["venues"].append(second)
    data["units"] += [
        unit(f"u-0b-{k}", home={"region": "kab-0b", "location": near}) for k in range(3)
    ]
    return parse_instance(data)


def test_domain_parts_keep_a_province_within_its_budget_whole() -> None:
    instance = _province_of_two_regencies()
    parts = domain_parts(instance, max_pairs=12)
    assert [(p.venues, p.pairs, p.cut) for p in parts] == [((0, 2), 12, ""), ((1,), 3, "")]


def test_domain_parts_cut_a_province_over_its_budget_into_regencies() -> None:
    instance = _province_of_two_regencies()
    parts = domain_parts(instance, max_pairs=11)
    # Across the regency cut each officer keeps only its own regency's venue.
    assert sorted((p.venues, p.pairs, p.cut) for p in parts) == [
        ((0,), 3, "region"),
        ((1,), 3, ""),
        ((2,), 3, "region"),
    ]


def test_domain_parts_cut_the_biggest_province_first_when_the_total_does_not_fit() -> None:
    instance = _province_of_two_regencies()
    assert sum(p.pairs for p in domain_parts(instance, 12, total_pairs=15)) == 15
    parts = domain_parts(instance, max_pairs=12, total_pairs=10)
    # Cutting province 0 (12 pairs) into its regencies leaves 9; province 1 stays whole.
    assert sorted((p.venues, p.pairs, p.cut) for p in parts) == [
        ((0,), 3, "region"),
        ((1,), 3, ""),
        ((2,), 3, "region"),
    ]


def test_solve_in_parts_plan_is_checked_on_the_whole_instance() -> None:
    instance = provinces(count=3, short=(1,))
    result = solve(instance, time_limit=20, split="in-process")
    assert_checked(instance, result)
    assert len(result.parts) == 3
    assert all(p.status.has_plan for p in result.parts)
    # Provinces 0 and 2 have three officers for two rings of two: both shifts covered
    # except what rest forbids; province 1 has one officer for four headcount per shift.
    assert result.total_shortfall == sum(r.shortfall for r in result.coverage)
    short = {p.provinces: p.breakdown[ObjectiveTerm.SHORTFALL] for p in result.parts}
    assert short[("prov-1",)] > short[("prov-0",)]
    # The merged rows are the models a validation afresh gives, enums and all.
    assert all(type(row.risk) is RiskLevel for row in result.coverage)
    assert result.coverage == tuple(
        Coverage.model_validate(r.model_dump()) for r in result.coverage
    )
    assert result.plan == Plan.model_validate(result.plan.model_dump())


def test_solve_in_parts_reports_a_venue_no_unit_reaches_as_a_plain_solve_does() -> None:
    data = provinces_data(count=2)
    data["units"] = [u for u in data["units"] if not u["id"].startswith("u-1-")]
    instance = parse_instance(data)
    split = solve(instance, time_limit=10, split="in-process")
    whole = solve(instance, time_limit=10, split="off")
    assert_checked(instance, split)
    assert_checked(instance, whole)
    unreached = instance.venues[1].id
    rows = [r for r in split.coverage if r.venue == unreached]
    assert rows and all(r.assigned == 0 and r.shortfall == r.required > 0 for r in rows)
    # Each row says which rule keeps it short and what would cover it: no unit is within
    # reach, so people of the ring's kind within the travel limit.
    assert all(
        r.rule == "reach" and "beyond the travel limit of every unit" in r.reason for r in rows
    )
    assert all(r.remedy.startswith(f"{r.shortfall} more ") for r in rows)
    # The same rows, figures, rule, reason, remedy and order, as the model's coverage of the
    # whole instance.
    figures = ("venue", "ring", "shift", "risk", "capacity", "required", "assigned", "shortfall")
    explained = {*figures, "rule", "reason", "remedy"}
    plain = [r for r in whole.coverage if r.venue == unreached]
    assert [r.model_dump(include=explained) for r in rows] == [
        r.model_dump(include=explained) for r in plain
    ]


def test_solve_in_parts_reports_progress_per_part() -> None:
    seen: list[PartsProgress] = []
    instance = provinces(count=2, short=(1,))
    result = solve(instance, time_limit=20, split="in-process", part_progress=seen.append)
    assert_checked(instance, result)
    # First the whole instance's first plan, then every part's quick plan from it, then
    # every part's search from that.
    rounds = [(p.round, p.done, p.total) for p in seen]
    assert rounds == [
        ("first plan", 0, 2),
        ("first plans", 1, 2),
        ("first plans", 2, 2),
        ("search", 1, 2),
        ("search", 2, 2),
    ]
    assert seen[0].planned == seen[2].planned == 2
    # The last report adds up the parts' final plans: the result's shortfall, plain and
    # weighted (province 1 has one officer for four headcount a shift: it is short).
    last = seen[-1]
    assert last.shortfall == result.total_shortfall > 0
    assert last.weighted == result.breakdown[ObjectiveTerm.SHORTFALL]
