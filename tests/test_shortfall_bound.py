"""Lower bounds of the weighted shortfall: the LP, the strengthened LP and the MIP."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.shortfall_bound import main
from solver.model.data import build_data
from tests.factory import make, ring, shifts, unit, venue


def test_strengthened_coverage_rows_lift_the_lp_bound_to_the_optimum(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # One unit of 6 for a ring needing 3 in two back-to-back shifts; with 8 h of rest it can
    # stand in one only. Half the unit in each shift covers both in the plain LP (bound 0);
    # counted at most 3, it covers half of each, which is the optimum: 3 people short.
    instance = make([venue(rings=[ring(1, 10, 3)])], [unit("u0", headcount=6)], shifts(2))
    path = tmp_path / "instance.json"
    path.write_text(instance.model_dump_json())
    weight = build_data(instance).slots[0].weight
    main([str(path), "--time-limit", "10"])
    row = json.loads(capsys.readouterr().out)
    assert row["lp"] == pytest.approx(0.0)
    assert row["lp_strengthened"] == pytest.approx(3 * weight)
    assert row["mip_best"] == pytest.approx(3 * weight)
    assert row["mip_bound"] == pytest.approx(3 * weight)


def test_day_clique_rows_lift_the_lp_bound_where_the_consecutive_days_rule_binds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # One officer for a post needing one, around the clock for 7 days of three 8 h shifts,
    # with 8 h of rest and at most 5 duty days in a row. With one big-M row per day, working
    # half of every shift costs half a duty day a day, so the LP covers half of each shift
    # all week; per rest clique within a day, half of two clashing shifts is a whole duty day,
    # and the 5-in-6 limit bites, as it does on every plan.
    rules = {"min_rest_hours": 8, "max_consecutive_days": 5}
    instance = make([venue(rings=[ring(1, 10, 1)])], [unit("u0")], shifts(21), rules)
    path = tmp_path / "instance.json"
    path.write_text(instance.model_dump_json())
    main([str(path), "--time-limit", "10"])
    row = json.loads(capsys.readouterr().out)
    assert row["lp_strengthened"] == pytest.approx(row["lp"])
    assert row["lp_day_cliques"] > row["lp_strengthened"] + 1e-6
    # ... here up to the optimum: 11 of the 21 shifts short (a day off breaks the every
    # other shift rhythm), where the big-M rows' LP has 10.
    weight = build_data(instance).slots[0].weight
    assert row["lp_strengthened"] == pytest.approx(10 * weight)
    assert row["lp_day_cliques"] == pytest.approx(11 * weight)
    assert row["mip_best"] == pytest.approx(11 * weight)
