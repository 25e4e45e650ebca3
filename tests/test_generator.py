"""The benchmark instance generator: deterministic, calibrated, valid and solvable."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.baselines.greedy import plan_greedy
from benchmarks.generator import (
    SCALES,
    generate,
    generate_data,
    supply_bound,
    total_requirement,
)
from ringplan.cli import main
from solver import Force, check_plan, load_instance
from tests.factory import solve_checked

SMALL = ("district", "city", "province", "capital")

# (scale, police headcount, TNI headcount): the public figures the scales are calibrated on.
FIGURES = [
    ("district", 50, 10),
    ("city", 644, 170),
    ("province", 1952, 500),
    ("capital", 2500, 921),
    ("national", 154088, 35000),
]


def test_generator_same_seed_gives_the_same_instance() -> None:
    assert generate_data("city", 7, "tight") == generate_data("city", 7, "tight")


def test_generator_other_seed_gives_another_instance() -> None:
    assert generate_data("city", 7, "tight") != generate_data("city", 8, "tight")


@pytest.mark.parametrize(("scale", "police", "tni"), FIGURES, ids=[f[0] for f in FIGURES])
def test_generator_personnel_matches_the_public_figures(scale: str, police: int, tni: int) -> None:
    data = generate_data(scale, 0, "loose")
    by_force = {"polri": 0, "tni": 0}
    for unit in data["units"]:
        by_force[unit["force"]] += unit["headcount"]
    # The TNI standby the national command holds back is part of the figure.
    by_force["tni"] += sum(u["headcount"] for u in data.get("reserve", ()) if u["force"] == "tni")
    assert by_force == {"polri": police, "tni": tni}
    assert all(u["standby"] for u in data["units"] if u["force"] == "tni")


def test_generator_national_has_38_provinces_and_514_regencies() -> None:
    regions = generate_data("national", 0, "loose")["regions"]
    levels = [r["level"] for r in regions]
    assert levels.count("province") == 38
    assert len(regions) - 38 == 514


def test_generator_national_reserve_holds_tni_standby_and_brimob_platoons() -> None:
    tight, loose = generate_data("national", 0, "tight"), generate_data("national", 0, "loose")
    assert tight["reserve"] == loose["reserve"]
    personnel: dict[tuple[str, str], int] = {}
    for unit in tight["reserve"]:
        key = (unit["force"], unit["type"])
        personnel[key] = personnel.get(key, 0) + unit["headcount"]
    assert personnel == {("tni", "infantry"): 7000, ("polri", "brimob"): 4000}
    assert max(u["headcount"] for u in tight["reserve"]) == 30
    assert "reserve" not in generate_data("province", 0, "tight")


def test_generator_tight_and_loose_differ_only_in_requirements() -> None:
    tight, loose = generate_data("province", 3, "tight"), generate_data("province", 3, "loose")
    assert tight["units"] == loose["units"]
    assert [v["location"] for v in tight["venues"]] == [v["location"] for v in loose["venues"]]
    assert [r["min_headcount"] for v in tight["venues"] for r in v["rings"]] != [
        r["min_headcount"] for v in loose["venues"] for r in v["rings"]
    ]


@pytest.mark.parametrize("scale", SMALL)
def test_generator_tight_asks_more_than_every_unit_can_give(scale: str) -> None:
    instance = generate(scale, 1, "tight")
    assert total_requirement(instance) > supply_bound(instance)


@pytest.mark.parametrize("scale", SMALL)
def test_generator_loose_asks_its_share_of_what_the_police_can_give(scale: str) -> None:
    instance = generate(scale, 1, "loose")
    ratio = total_requirement(instance) / supply_bound(instance, police_only=True)
    assert abs(ratio - SCALES[scale].loose_ratio) <= 0.1


@pytest.mark.parametrize("scale", ["district", "city", "capital"])
def test_generator_loose_is_covered_by_the_greedy_planner(scale: str) -> None:
    instance = generate(scale, 0, "loose")
    report = check_plan(instance, plan_greedy(instance))
    assert report.ok
    assert report.total_shortfall == 0


@pytest.mark.parametrize("scale", SMALL)
def test_generator_instances_have_realistic_features(scale: str) -> None:
    instance = generate(scale, 2, "tight")
    risks = {venue.risk_at(shift.id) for venue in instance.venues for shift in instance.shifts}
    assert risks & {"high", "very_high"}
    assert any(venue.risk_overrides for venue in instance.venues)
    assert max(len(venue.rings) for venue in instance.venues) >= 3
    plenary = [r for v in instance.venues for r in v.rings if r.allowed_types is not None]
    assert plenary and all(r.allowed_forces == (Force.POLRI,) for r in plenary)
    assert any(unit.available_windows for unit in instance.units)
    assert instance.rules.max_travel_km == SCALES[scale].max_travel_km


def test_generate_command_writes_an_instance_that_round_trips(tmp_path: Path) -> None:
    out = tmp_path / "capital.json"
    args = ["generate", "capital", "--seed", "4", "--variant", "tight", "--out", str(out)]
    assert main(args) == 0
    assert load_instance(out) == generate("capital", 4, "tight")


def test_generate_rejects_an_unknown_scale() -> None:
    with pytest.raises(ValueError, match="unknown scale 'planet'"):
        generate_data("planet", 0, "loose")


def test_generated_district_loose_solves_with_no_shortfall() -> None:
    result = solve_checked(generate("district", 0, "loose"), time_limit=10)
    assert result.status.has_plan
    assert result.total_shortfall == 0


def test_generated_district_tight_solves_with_a_shortfall() -> None:
    result = solve_checked(generate("district", 0, "tight"), time_limit=10)
    assert result.status.has_plan
    assert result.total_shortfall > 0
