"""``ringplan export``: a plan as CSV files for spreadsheets.

Three files: ``roster.csv`` (one row per unit and shift, idle included), ``coverage.csv`` (one
row per venue, ring and shift with a requirement or anyone assigned, short rows with their
explanation and remedy) and ``activations.csv`` (the TNI and standby units called up).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from pathlib import Path

from solver import Instance, Result
from solver.explain import explain_shortfalls
from solver.explain.reach import km_between

__all__ = ["write_csv"]


def _write(path: Path, header: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)


def write_csv(instance: Instance, result: Result, directory: Path) -> list[Path]:
    """Write ``roster.csv``, ``coverage.csv`` and ``activations.csv`` into ``directory``.

    Parameters
    ----------
    instance
        The instance the result plans.
    result
        The result.
    directory
        Where the files go; made if missing.

    Returns
    -------
    list[Path]
        The files written.
    """
    directory.mkdir(parents=True, exist_ok=True)
    venues = {v.id: v for v in instance.venues}
    where = {(a.unit, a.shift): a for a in result.plan.assignments}
    roster = directory / "roster.csv"
    rows = []
    for unit in instance.units:
        for shift in instance.shifts:
            a = where.get((unit.id, shift.id))
            km = round(km_between(unit, venues[a.venue]), 1) if a else ""
            rows.append(
                [
                    unit.id,
                    unit.force.value,
                    unit.type,
                    unit.headcount,
                    unit.home.region,
                    shift.id,
                    shift.start.isoformat(),
                    a.venue if a else "",
                    a.ring if a else "",
                    km,
                ]
            )
    _write(
        roster,
        (
            "unit",
            "force",
            "type",
            "headcount",
            "home_region",
            "shift",
            "shift_start",
            "venue",
            "ring",
            "km_from_home",
        ),
        rows,
    )
    explained = {
        (e.venue, e.ring, e.shift): e
        for e in explain_shortfalls(instance, result.plan, result.coverage)
    }
    coverage = directory / "coverage.csv"
    _write(
        coverage,
        (
            "venue",
            "region",
            "ring",
            "shift",
            "risk",
            "capacity",
            "required",
            "assigned",
            "shortfall",
            "rule",
            "reason",
            "remedy",
        ),
        (
            [
                c.venue,
                venues[c.venue].region,
                c.ring,
                c.shift,
                c.risk.value,
                c.capacity,
                c.required,
                c.assigned,
                c.shortfall,
                *(
                    (e.rule.value, e.reason, e.remedy_text)
                    if (e := explained.get((c.venue, c.ring, c.shift)))
                    else ("", "", "")
                ),
            ]
            for c in result.coverage
        ),
    )
    activations = directory / "activations.csv"
    _write(
        activations,
        ("unit", "force", "type", "soldiers", "venue", "ring", "shifts", "soldier_shifts"),
        (
            [
                a.unit,
                a.force.value,
                a.type,
                a.headcount,
                a.venue,
                a.ring,
                " ".join(a.shifts),
                a.headcount * len(a.shifts),
            ]
            for a in result.activations
        ),
    )
    return [roster, coverage, activations]
