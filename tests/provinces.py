"""A small nation: provinces far apart, each with its own venues and units."""

from __future__ import annotations

from typing import Any

from solver import Instance, Result, check_plan, parse_instance
from solver.parts.reserve import dispatched_instance
from tests.factory import ring, shifts, unit, venue


def province_place(p: int) -> dict[str, float]:
    """Province ``p``'s capital: provinces lie 3 degrees of longitude (over 300 km) apart."""
    return {"lat": -6.5, "lon": 100.0 + 3.0 * p}


def provinces_data(
    count: int = 3,
    units_each: int = 3,
    minimum: int = 2,
    shift_count: int = 2,
    short: tuple[int, ...] = (),
    reserve: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """``count`` provinces with one regency each; each regency has one venue (two rings:
    ring 1 police only, ring 3 anyone) and ``units_each`` police units of one officer; the
    provinces in ``short`` have one unit only."""
    regions: list[dict[str, Any]] = []
    venues: list[dict[str, Any]] = []
    units: list[dict[str, Any]] = []
    for p in range(count):
        place = province_place(p)
        regions += [
            {"id": f"prov-{p}", "level": "province"},
            {"id": f"kab-{p}", "level": "regency", "parent": f"prov-{p}"},
        ]
        venues.append(
            venue(
                f"kpu-{p}",
                region=f"kab-{p}",
                location=place,
                rings=[ring(1, 10, minimum, allowed_forces=["polri"]), ring(3, 40, minimum)],
            )
        )
        for k in range(1 if p in short else units_each):
            units.append(unit(f"u-{p}-{k}", home={"region": f"kab-{p}", "location": place}))
    data: dict[str, Any] = {
        "name": "provinces",
        "regions": regions,
        "venues": venues,
        "units": units,
        "shifts": shifts(shift_count, hours=8),
        "rules": {"max_travel_km": 60, "min_rest_hours": 8},
    }
    if reserve is not None:
        data["reserve"] = reserve
    return data


def provinces(**options: Any) -> Instance:
    return parse_instance(provinces_data(**options))


def assert_checked(instance: Instance, result: Result) -> None:
    """The plan keeps every rule of the whole instance (with its dispatched reserve) and the
    reported coverage is the checker's."""
    whole = dispatched_instance(instance, result.dispatches)
    report = check_plan(whole, result.plan)
    assert report.ok, report.violations
    recomputed = {key: row.shortfall for key, row in report.coverage.items()}
    reported = {(r.venue, r.ring, r.shift): r.shortfall for r in result.coverage}
    assert reported == recomputed
