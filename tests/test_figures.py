"""A plan's figures in people units: what the summary, the JSON and the wire carry."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from server.convert import (
    progress_from_proto,
    progress_to_proto,
    result_from_proto,
    result_to_proto,
)
from solver import Instance, ObjectiveTerm, Progress, SolveStatus
from solver.figures import TERM_UNITS
from tests.factory import make, ring, shifts, solve_checked, unit, venue

GOLDEN = Path(__file__).parent / "golden"
EXAMPLES = Path(__file__).parent.parent / "ringplan" / "examples"


def _short_instance() -> Instance:
    """Ring 1 needs 4 in each of 2 shifts and holds 3; two police of 1 and one TNI platoon
    of 5 (standby) that may stand only in ring 2, which needs 5."""
    return make(
        [venue(rings=[ring(1, 3, 4), ring(2, 10, 5)])],
        [
            unit("p1"),
            unit("p2"),
            unit("tni-1", headcount=5, force="tni", type="infantry", standby=True),
        ],
        shifts(2, hours=12),
        rules={"min_rest_hours": 0},
    )


def test_figures_count_people_soldiers_and_kilometres() -> None:
    instance = _short_instance()
    result = solve_checked(instance)
    assert result.status is SolveStatus.OPTIMAL
    figures = result.people_figures()
    # Ring 1: 4 required, 3 fit, only p1 and p2 are police: 2 short per shift (the platoon of
    # 5 fits neither ring 1's capacity of 3 ... it stands in ring 2).
    assert figures.uncovered_people_shifts == sum(r.shortfall for r in result.coverage)
    assert figures.uncovered_people_shifts == 4
    assert figures.short_ring_shifts == 2
    assert figures.tni_units == 1
    assert figures.tni_soldiers == 5
    assert figures.tni_soldier_shifts == 10
    assert figures.travel_km == 0
    assert figures.assigned_unit_shifts == len(result.plan.assignments) == 6
    assert [t.term for t in figures.terms] == list(instance.rules.priorities)
    assert all(t.proven_minimal and t.bound == t.value for t in figures.terms)
    assert [t.unit for t in figures.terms] == [TERM_UNITS[t] for t in instance.rules.priorities]


def test_summary_speaks_in_people_and_never_shows_the_objective() -> None:
    result = solve_checked(_short_instance())
    text = result.summary()
    assert "status: optimal (every term proven minimal)" in text
    assert "uncovered: 4 people-shifts in 2 ring-shifts" in text
    assert "TNI / standby activated: 1 unit, 5 soldiers, 10 soldier-shifts" in text
    assert "objective" not in text and "gap" not in text and "bound" not in text


def test_stopped_search_proves_only_what_it_proved() -> None:
    import threading

    stop = threading.Event()
    stop.set()  # stops as soon as the first plan is in: nothing is proven
    result = solve_checked(_short_instance(), stop=stop)
    assert result.status is SolveStatus.FEASIBLE
    figures = result.people_figures()
    # What is proven is never above the value, and "proven minimal" means bound == value.
    for term in figures.terms:
        assert term.bound is None or term.bound <= term.value
        assert term.proven_minimal == (term.bound is not None and term.bound == term.value)
    assert "status: feasible (stopped before proving the plan best" in result.summary()
    assert "optimal" not in result.summary()


def test_figures_and_term_bounds_survive_the_wire() -> None:
    result = solve_checked(_short_instance())
    back = result_from_proto(result_to_proto(result))
    assert back.figures == result.figures
    assert back.term_bounds == result.term_bounds
    progress = Progress(1, 0, 1.0, 0.5, 0, {ObjectiveTerm.SHORTFALL: 8, ObjectiveTerm.TRAVEL: 3})
    assert progress_from_proto(progress_to_proto(progress)).terms == progress.terms


def test_result_json_carries_figures_in_people_units(tmp_path: Path) -> None:
    out = tmp_path / "result.json"
    run = _ringplan("solve", str(EXAMPLES / "district.json"), "--quiet", "--out", str(out))
    assert run.returncode == 0, run.stderr
    figures = json.loads(out.read_text())["figures"]
    assert figures["tni_units"] == 1 and figures["tni_soldiers"] == 10
    assert figures["travel_km"] == 143
    assert figures["terms"][0] == {
        "term": "shortfall",
        "value": 0,
        "unit": "risk-weighted people-shifts",
        "bound": 0,
        "proven_minimal": True,
    }


def _ringplan(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ringplan", *args], capture_output=True, text=True, timeout=180
    )


def _normalised(text: str) -> str:
    """The summary with its run time (which no two runs share) blanked out."""
    return re.sub(r"^time: [0-9.]+ s$", "time: <seconds> s", text, flags=re.MULTILINE)


@pytest.mark.parametrize(
    ("example", "limits"),
    [
        # proven optimal in well under a second: every line is fixed
        ("district", ("--time-limit", "10")),
        # stops before the proof: unproven lines are matched by pattern. Each search is limited
        # by CP-SAT's deterministic time, not the clock, so the shortfall's proof comes at any
        # load (20 s of the clock did not always bring it on a loaded machine); the time limit
        # is a safety net.
        (
            "city",
            ("--workers", "2", "--seed", "0", "--deterministic-time", "1", "--time-limit", "120"),
        ),
    ],
    ids=["district", "city"],
)
def test_cli_summary_matches_golden(example: str, limits: tuple[str, ...]) -> None:
    run = _ringplan("solve", str(EXAMPLES / f"{example}.json"), "--quiet", *limits)
    assert run.returncode == 0, run.stderr
    golden = (GOLDEN / f"summary-{example}.txt").read_text()
    got = _normalised(run.stdout)
    if "<" not in golden.replace("<seconds>", ""):
        assert got == golden
        return
    # <n> in a golden line matches any number; a line "<lines>" matches any lines.
    pattern = "".join(
        {"<n>": r"\d+", "<lines>\n": r"(?:.*\n)*"}.get(part, re.escape(part))
        for part in re.split(r"(<n>|<lines>\n)", golden)
    )
    assert re.fullmatch(pattern, got), got
