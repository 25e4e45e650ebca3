"""The HTML report in a real browser: the system's headless Chromium, driven by Playwright.

Chromium comes from the Debian packages (``make browser`` installs ``chromium`` when missing and
root); Playwright is given its path and never downloads one. Screenshots are kept under
``build/test-artefacts/``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from benchmarks.generator import generate
from ringplan.report import render_report
from solver import Instance, Result, load_instance
from solver.explain import explain_shortfalls
from tests.factory import solve_checked

CHROMIUM = Path("/usr/bin/chromium")
RINGPLAN = (sys.executable, "-m", "ringplan")


ROOT = Path(__file__).parent.parent
ARTEFACTS = Path(os.environ.get("RINGPLAN_ARTEFACTS", ROOT / "build" / "test-artefacts"))
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
COLOURS = {
    "c-ok": "rgb(46, 125, 50)",
    "c-near": "rgb(156, 204, 101)",
    "c-mid": "rgb(251, 192, 45)",
    "c-low": "rgb(245, 124, 0)",
    "c-bad": "rgb(198, 40, 40)",
    "c-none": "rgb(238, 238, 238)",
}

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="headless Chromium is not installed at /usr/bin/chromium (make browser installs it "
    "as root with apt-get)",
)


def _expected_class(required: int, met: int) -> str:
    """The colour class of a heat-map cell, worked out here apart from the page's script."""
    if required == 0:
        return "c-none"
    share = met / required
    for bound, name in ((1, "c-ok"), (0.9, "c-near"), (0.75, "c-mid"), (0.5, "c-low")):
        if share >= bound:
            return name
    return "c-bad"


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api")
    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_api.sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=str(CHROMIUM),
            args=FLAGS,
            headless=True,
            viewport={"width": 1280, "height": 900},
        )
        # Loading and waiting get 2 minutes, not Playwright's 30 s: a loaded machine took over
        # 30 s to load the province's page (1.5 MB); what is asserted is unchanged.
        context.set_default_timeout(120_000)
        yield context
        context.close()


def _open(browser: Any, html: Path) -> tuple[Any, list[str]]:
    page = browser.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(html.as_uri())
    page.wait_for_selector("body[data-ready='1']")
    return page, errors


def _check_report(browser: Any, instance: Instance, result: Result, name: str) -> Any:
    html = ARTEFACTS / f"report-{name}.html"
    html.parent.mkdir(parents=True, exist_ok=True)
    html.write_text(render_report(instance, result), encoding="utf-8")
    page, errors = _open(browser, html)
    cells = page.locator("td.cell")
    assert cells.count() == len(instance.venues) * len(instance.shifts)
    totals: dict[tuple[str, str], list[int]] = {}
    for row in result.coverage:
        cell = totals.setdefault((row.venue, row.shift), [0, 0])
        cell[0] += row.required
        cell[1] += min(row.assigned, row.required)
    short = [key for key, (req, met) in totals.items() if met < req]
    assert short, "the test needs short cells"
    for venue, shift in short[:12]:
        cell = page.locator(f"td.cell[data-venue='{venue}'][data-shift='{shift}']")
        expected = _expected_class(*totals[venue, shift])
        assert expected in (cell.get_attribute("class") or "").split()
        colour = cell.evaluate("e => getComputedStyle(e).backgroundColor")
        assert colour == COLOURS[expected], (venue, shift, colour)
    # Hover shows the rings (title), a click shows them with the explanation and remedy.
    venue, shift = short[0]
    cell = page.locator(f"td.cell[data-venue='{venue}'][data-shift='{shift}']")
    rings = [r for r in result.coverage if (r.venue, r.shift) == (venue, shift)]
    title = cell.get_attribute("title") or ""
    for r in rings:
        assert f"ring {r.ring}: {r.assigned} of {r.required} required" in title
    cell.click()
    box = page.locator("#rings")
    assert page.locator("#rings tr[data-ring]").count() == len(rings)
    # The page explains every short ring (the result may carry only the most short ones).
    shown = box.inner_text()
    explained = [
        e
        for e in explain_shortfalls(instance, result.plan, result.coverage)
        if (e.venue, e.shift) == (venue, shift)
    ]
    assert explained and all(e.remedy_text in shown for e in explained)
    page.screenshot(path=str(ARTEFACTS / f"report-{name}.png"))
    assert errors == []
    return page


def test_report_of_the_city_shows_cells_colours_rings_and_no_errors(browser: Any) -> None:
    instance = load_instance(ROOT / "ringplan" / "examples" / "city.json")
    result = solve_checked(instance, time_limit=15.0)
    page = _check_report(browser, instance, result, "city")
    # The short-rings table has one row per short ring, each with a remedy.
    rows = page.locator("#short-table tr[data-search]")
    assert rows.count() == sum(1 for r in result.coverage if r.shortfall)
    # Search narrows the heat map to one venue.
    page.fill("#search", "kpu-kupang")
    visible = page.locator("table.heat tr[data-venue]:visible")
    assert visible.count() == 1
    page.close()


def test_report_of_a_generated_province_groups_regions_and_draws_rosters_lazily(
    browser: Any,
) -> None:
    instance = generate("province", 0, "tight")
    result = solve_checked(instance, time_limit=15.0, preset="large")
    page = _check_report(browser, instance, result, "province")
    regions = {v.region for v in instance.venues}
    assert page.locator("#heat details.region").count() == len(regions)
    # Rosters are drawn when their region is opened.
    assert page.locator("#roster table.timeline").count() == 0
    page.locator("#roster details.region summary").first.click()
    assert page.locator("#roster table.timeline").count() == 1
    page.close()


def test_report_command_writes_one_self_contained_file(tmp_path: Path) -> None:
    example = ROOT / "ringplan" / "examples" / "district.json"
    result_file, html = tmp_path / "result.json", tmp_path / "plan.html"
    report_to = ("--report", str(html))
    run = subprocess.run(
        [*RINGPLAN, "solve", str(example), "--quiet", "--out", str(result_file), *report_to],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    text = html.read_text()
    # No network at view time: nothing is fetched from anywhere.
    for needle in ("http://", "https://", "<link", "src="):
        assert needle not in text
    again = tmp_path / "again.html"
    run = subprocess.run(
        [*RINGPLAN, "report", str(example), str(result_file), "--out", str(again)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert again.read_text() == text


def test_report_of_a_whatif_answer_shows_the_diff_and_key_figures(
    browser: Any, tmp_path: Path
) -> None:
    from solver import RiskLevel, check_plan
    from solver.whatif import SetRisk, WhatIfRequest, apply_changes, whatif

    instance = load_instance(ROOT / "ringplan" / "examples" / "district.json")
    baseline = solve_checked(instance, time_limit=10.0)
    changes = (SetRisk(venue=instance.venues[0].id, risk=RiskLevel.VERY_HIGH),)
    answer = whatif(WhatIfRequest(instance=instance, plan=baseline.plan, changes=changes))
    changed = apply_changes(instance, list(changes))
    assert check_plan(changed, answer.plan).ok
    html = tmp_path / "whatif.html"
    html.write_text(render_report(changed, answer.result, answer), encoding="utf-8")
    page, errors = _open(browser, html)
    # Header and five key figures, each with before, after and change.
    rows = page.locator("#kpi-table tr")
    assert rows.count() == 6
    first = rows.nth(1).locator("td")
    assert first.nth(0).inner_text() == "uncovered people-shifts"
    assert first.nth(1).inner_text() == str(answer.before.shortfall)
    assert first.nth(2).inner_text() == str(answer.after.shortfall)
    moved = answer.diff.moved + answer.diff.assigned + answer.diff.released
    assert page.locator("#moves-table tr").count() == len(answer.diff.moves) + 1
    assert f"{answer.diff.moved} unit-shifts moved" in page.locator("#whatif").inner_text()
    assert moved == len(answer.diff.moves)
    page.screenshot(path=str(ARTEFACTS / "report-whatif.png"))
    assert errors == []
    page.close()
