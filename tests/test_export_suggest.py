"""``ringplan export``, ``suggest`` and ``why`` on instances small enough to check by hand."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

from solver import Instance, Result
from solver.suggest import add_unit, suggest_placements, unit_contribution
from tests.factory import make, ring, shifts, solve_checked, unit, venue

RINGPLAN = (sys.executable, "-m", "ringplan")
BRIMOB = ("--unit-type", "brimob", "--headcount", "4")


def _short_instance() -> Instance:
    """The VIP ring needs 6 at very high risk (weight 8 x 4) and the low ring 3 (weight 1 x 4);
    two police of 1 and a TNI platoon of 3 that may stand only at the low venue (40 km
    limit, the VIP venue is 111 km away)."""
    return make(
        [
            venue("vip", rings=[ring(1, 10, 3)], risk="very_high"),
            venue("low", rings=[ring(1, 10, 3)], location={"lat": -5.55, "lon": 107.44}),
        ],
        [
            unit("p1"),
            unit("p2"),
            unit(
                "yonif-1",
                headcount=3,
                force="tni",
                type="infantry",
                home={"region": "pwk", "location": {"lat": -5.56, "lon": 107.44}},
            ),
        ],
        shifts(1),
        rules={"max_travel_km": 40},
    )


def _solved(tmp_path: Path) -> tuple[Instance, Result, Path, Path]:
    instance = _short_instance()
    result = solve_checked(instance)
    instance_file, result_file = tmp_path / "instance.json", tmp_path / "result.json"
    instance_file.write_text(instance.model_dump_json())
    result_file.write_text(result.model_dump_json())
    return instance, result, instance_file, result_file


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_export_writes_roster_coverage_and_activations(tmp_path: Path) -> None:
    instance, result, instance_file, result_file = _solved(tmp_path)
    out = tmp_path / "csv"
    run = subprocess.run(
        [*RINGPLAN, "export", str(instance_file), str(result_file), "--csv", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    roster = _rows(out / "roster.csv")
    assert len(roster) == len(instance.units) * len(instance.shifts)
    placed = {(r["unit"], r["venue"], r["ring"]) for r in roster if r["venue"]}
    assert placed == {(a.unit, a.venue, str(a.ring)) for a in result.plan.assignments}
    coverage = {(r["venue"], r["shift"]): r for r in _rows(out / "coverage.csv")}
    assert len(coverage) == len(result.coverage)
    vip = coverage["vip", "s0"]
    # Very high risk: 3 x 2 = 6 required, the two police stand there.
    assert (vip["required"], vip["assigned"], vip["shortfall"]) == ("6", "2", "4")
    assert vip["rule"] == "reach" and vip["remedy"].startswith("4 more police or TNI people")
    [activation] = _rows(out / "activations.csv")
    assert activation["unit"] == "yonif-1" and activation["soldier_shifts"] == "3"


def test_first_suggestion_applied_and_replanned_lowers_the_shortfall_as_promised(
    tmp_path: Path,
) -> None:
    instance, result, instance_file, result_file = _solved(tmp_path)
    [first, *_] = suggest_placements(
        instance,
        result.plan,
        result.coverage,
        unit_type="brimob",
        headcount=4,
        home="pwk",
    )
    assert (first.venue, first.ring, first.shifts) == ("vip", 1, ("s0",))
    assert (first.people_shifts_covered, first.weighted_covered) == (4, 4 * 8 * 4)
    before = result.people_figures()
    after = solve_checked(add_unit(instance, first.unit)).people_figures()
    assert before.weighted_shortfall - after.weighted_shortfall == first.weighted_covered
    assert before.uncovered_people_shifts - after.uncovered_people_shifts == (
        first.people_shifts_covered
    )
    run = subprocess.run(
        [*RINGPLAN, "suggest", str(instance_file), str(result_file), *BRIMOB, "--home", "pwk"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert "1. vip ring 1 in s0: covers 4 people-shifts (risk-weighted 128)" in run.stdout


def test_why_gives_a_units_share_of_each_term(tmp_path: Path) -> None:
    instance, result, instance_file, result_file = _solved(tmp_path)
    [row] = unit_contribution(instance, result.plan, result.coverage, "yonif-1")
    # The low ring needs 3 and holds the platoon alone: it covers all 3, 1.1 km from home.
    assert (row.venue, row.covers, row.overstaffing, row.soldier_shifts) == ("low", 3, 0, 3)
    assert 1.0 < row.km < 1.3
    run = subprocess.run(
        [*RINGPLAN, "why", str(instance_file), str(result_file), "yonif-1"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("yonif-1: 1 shift, covers 3 people-shifts")
    missing = subprocess.run(
        [*RINGPLAN, "why", str(instance_file), str(result_file), "nobody"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert missing.returncode == 2
    assert "unit 'nobody' is not in the instance" in missing.stderr


def test_suggest_names_an_unknown_home_region(tmp_path: Path) -> None:
    _, _, instance_file, result_file = _solved(tmp_path)
    run = subprocess.run(
        [*RINGPLAN, "suggest", str(instance_file), str(result_file), *BRIMOB, "--home", "atlantis"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 2
    assert "--home: region 'atlantis' has no units or venues" in run.stderr
    assert json.loads(result_file.read_text())["status"] == "optimal"
