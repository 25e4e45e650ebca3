"""Solver performance runs: a deterministic province-like instance and one solve per process.

Usage::

    python -m benchmarks.solver_perf write province --variant loose --out province-loose.json
    python -m benchmarks.solver_perf run provinces3 --preset default --time-limit 30
    python -m benchmarks.solver_perf run province --variant loose --preset default --time-limit 30

``table FILE`` turns a file of such lines into the markdown rows of ``benchmarks/RESULTS.md``.
``run`` solves in this process and prints one JSON line: build time, time to the first plan,
objective, bound, gap, wall time, peak memory (max RSS), whether the checker accepts the plan,
and the objective reached by 2, 6 and 30 s. Run it once per configuration so that peak memory
is the solve's own. ``SCALE`` is ``province`` (built here) or a path to an instance JSON file.

The province is modelled on a Java province: 22 regencies, each with a regency election office
(3 rings) and oversight office, warehouses and party offices in some; the province election
office (4 rings, very high risk on the plenary day) and oversight office in the capital. Each
regency police resort has samapta platoons, intelligence teams, traffic and policewomen's
units based at its headquarters; the regional brigade mobile (brimob) companies sit in the
capital and may travel the whole province; each regency has two TNI standby platoons. 7 days x
3 shifts of 8 hours. ``tight`` has about a third fewer police than ``loose``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from solver import Instance, check_plan, load_instance, parse_instance, solve
from solver.result import Progress

WIB = timezone(timedelta(hours=7))


def _ring(number: int, capacity: int, minimum: int, polri_only: bool = False) -> dict[str, Any]:
    ring: dict[str, Any] = {"number": number, "capacity": capacity, "min_headcount": minimum}
    if polri_only:
        ring["allowed_forces"] = ["polri"]
    return ring


def province_data(
    variant: str = "loose",
    seed: int = 7,
    regencies: int = 22,
    days: int = 7,
    consecutive_days: int | None = None,
) -> dict[str, Any]:
    """A province-like instance as JSON data, the same for the same arguments."""
    rng = random.Random(seed)
    tight = variant == "tight"
    regions: list[dict[str, Any]] = [{"id": "prov", "level": "province"}]
    venues: list[dict[str, Any]] = []
    units: list[dict[str, Any]] = []
    first = datetime(2024, 2, 14, 6, tzinfo=WIB)
    shifts = [
        {
            "id": f"d{d + 1}-{name}",
            "start": (first + timedelta(days=d, hours=8 * k)).isoformat(),
            "end": (first + timedelta(days=d, hours=8 * (k + 1))).isoformat(),
        }
        for d in range(days)
        for k, name in enumerate(("pagi", "siang", "malam"))
    ]
    plenary = [s["id"] for s in shifts if s["id"].startswith(f"d{min(days, 5)}-")]
    capital = {"lat": -6.90, "lon": 107.60}

    def place(loc: dict[str, float], spread: float) -> dict[str, float]:
        return {
            "lat": round(loc["lat"] + rng.uniform(-spread, spread), 4),
            "lon": round(loc["lon"] + rng.uniform(-spread, spread), 4),
        }

    venues.append(
        {
            "id": "kpu-prov",
            "kind": "kpu_province",
            "region": "prov",
            "location": place(capital, 0.02),
            "risk": "high",
            "risk_overrides": [{"shifts": plenary, "risk": "very_high"}],
            "rings": [
                _ring(1, 20, 8, polri_only=True),
                _ring(2, 40, 16, polri_only=True),
                _ring(3, 80, 24),
                _ring(4, 60, 16),
            ],
        }
    )
    venues.append(
        {
            "id": "bawaslu-prov",
            "kind": "oversight_office",
            "region": "prov",
            "location": place(capital, 0.02),
            "risk": "medium",
            "rings": [_ring(1, 10, 4, polri_only=True), _ring(2, 30, 8)],
        }
    )
    for b in range(6 if not tight else 5):
        units.append(
            {
                "id": f"brimob-{b + 1}",
                "force": "polri",
                "type": "brimob",
                "headcount": 30,
                "home": {"region": "prov", "location": capital},
                "max_travel_km": 250,
            }
        )
    for r in range(regencies):
        rid = f"reg-{r + 1:02d}"
        regions.append({"id": rid, "level": "regency", "parent": "prov"})
        centre = {
            "lat": round(-6.2 - 1.3 * rng.random(), 4),
            "lon": round(106.4 + 2.3 * rng.random(), 4),
        }
        risk = rng.choice(["medium", "medium", "high", "high", "very_high"])
        regency_venues: list[tuple[str, str, float, list[str]]] = [
            ("kpu", "kpu_regency", 0.02, []),
            ("bawaslu", "oversight_office", 0.03, ["low", "medium"]),
        ]
        if r % 2 == 0:
            regency_venues.append(("gudang", "logistics_warehouse", 0.05, ["medium", "high"]))
        if r % 3 == 0:
            regency_venues.append(("party", "party_office", 0.04, ["low", "medium", "high"]))
        rings = {
            "kpu": [_ring(1, 10, 4, polri_only=True), _ring(2, 30, 8), _ring(3, 40, 10)],
            "bawaslu": [_ring(1, 8, 3, polri_only=True), _ring(2, 20, 5)],
            "gudang": [_ring(1, 10, 4, polri_only=True), _ring(2, 30, 8)],
            "party": [_ring(1, 10, 3, polri_only=True), _ring(2, 20, 6)],
        }
        for prefix, kind, spread, risks in regency_venues:
            item: dict[str, Any] = {
                "id": f"{prefix}-{rid}",
                "kind": kind,
                "region": rid,
                "location": place(centre, spread),
                "risk": rng.choice(risks) if risks else risk,
                "rings": rings[prefix],
            }
            if prefix == "kpu":
                item["risk_overrides"] = [{"shifts": plenary, "risk": "very_high"}]
            venues.append(item)
        home = {"region": rid, "location": centre}
        if tight:
            roster = [("samapta", 15, 3), ("intelkam", 3, 2), ("lantas", 6, 1), ("polwan", 5, 1)]
        else:
            roster = [("samapta", 15, 4), ("intelkam", 3, 3), ("lantas", 6, 2), ("polwan", 5, 2)]
        for kind, headcount, count in roster:
            for i in range(count):
                units.append(
                    {
                        "id": f"{kind}-{rid}-{i + 1}",
                        "force": "polri",
                        "type": kind,
                        "headcount": headcount,
                        "home": home,
                    }
                )
        for i in range(2):
            units.append(
                {
                    "id": f"yonif-{rid}-{i + 1}",
                    "force": "tni",
                    "type": "infantry",
                    "headcount": 30,
                    "standby": True,
                    "home": home,
                }
            )
    rules: dict[str, Any] = {
        "min_rest_hours": 8,
        "max_shifts": 2 * days,
        "max_shifts_per_24h": 2,
        "max_travel_km": 40,
    }
    if consecutive_days is not None:
        rules["max_consecutive_days"] = consecutive_days
    return {
        "name": f"province ({variant}, seed {seed})",
        "description": "Province-like instance for solver performance runs.",
        "regions": regions,
        "venues": venues,
        "units": units,
        "shifts": shifts,
        "rules": rules,
    }


def provinces_data(count: int, variant: str = "loose", seed: int = 7) -> dict[str, Any]:
    """``count`` provinces side by side, 6 degrees of longitude (about 660 km) apart.

    No unit can reach another province, so the instance falls into independent parts.
    """
    merged: dict[str, Any] = {"regions": [], "venues": [], "units": []}
    for k in range(count):
        data = province_data(variant, seed + k)

        def moved(location: dict[str, float], k: int = k) -> dict[str, float]:
            return {"lat": location["lat"], "lon": round(location["lon"] + 6 * k, 4)}

        for region in data["regions"]:
            parent = region.get("parent")
            merged["regions"].append(
                {**region, "id": f"p{k}-{region['id']}"}
                | ({"parent": f"p{k}-{parent}"} if parent else {})
            )
        for venue in data["venues"]:
            merged["venues"].append(
                {
                    **venue,
                    "id": f"p{k}-{venue['id']}",
                    "region": f"p{k}-{venue['region']}",
                    "location": moved(venue["location"]),
                }
            )
        for unit in data["units"]:
            home = unit["home"]
            merged["units"].append(
                {
                    **unit,
                    "id": f"p{k}-{unit['id']}",
                    "home": {
                        "region": f"p{k}-{home['region']}",
                        "location": moved(home["location"]),
                    },
                }
            )
        merged |= {"shifts": data["shifts"], "rules": data["rules"]}
    merged["name"] = f"{count} provinces ({variant}, seed {seed})"
    return merged


def load(scale: str, variant: str, seed: int, consecutive_days: int | None) -> Instance:
    """The instance named by ``scale``: ``province``, ``provincesN`` or a JSON file's path."""
    if scale == "province":
        return parse_instance(province_data(variant, seed, consecutive_days=consecutive_days))
    if scale.startswith("provinces"):
        return parse_instance(provinces_data(int(scale.removeprefix("provinces")), variant, seed))
    return load_instance(scale)


def run(instance: Instance, preset: str, time_limit: float, workers: int) -> dict[str, Any]:
    """Solve once and measure."""
    events: list[tuple[float, int]] = []

    def progress(p: Progress) -> None:
        events.append((p.elapsed, p.objective))

    load1 = os.getloadavg()[0]
    began = time.perf_counter()
    result = solve(
        instance, time_limit=time_limit, workers=workers, preset=preset, progress=progress
    )
    wall = time.perf_counter() - began
    report = check_plan(instance, result.plan)

    def reached(t: float) -> int | None:
        before = [objective for elapsed, objective in events if elapsed <= t]
        return min(before) if before else None

    return {
        "instance": instance.name,
        "units": len(instance.units),
        "headcount": sum(u.headcount for u in instance.units),
        "venues": len(instance.venues),
        "shifts": len(instance.shifts),
        "preset": preset,
        "time_limit": time_limit,
        "status": result.status.value,
        "build_s": round(result.build_time, 2),
        "first_plan_s": None
        if result.first_solution_time is None
        else round(result.first_solution_time, 2),
        "wall_s": round(wall, 2),
        "objective": result.objective,
        "bound": result.best_bound,
        "gap": None if result.gap is None else round(result.gap, 5),
        "shortfall": result.total_shortfall,
        "breakdown": {k.value: v for k, v in result.breakdown.items()},
        "at_2s": reached(2),
        "at_6s": reached(6),
        "at_30s": reached(30),
        "peak_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "checker_ok": report.ok,
        "load1": round(load1, 2),
        "commit": _commit(),
    }


def _commit() -> str:
    """The commit measured: ``$RINGPLAN_COMMIT``, else ``git rev-parse`` here."""
    if "RINGPLAN_COMMIT" in os.environ:
        return os.environ["RINGPLAN_COMMIT"]
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).parent,
        )
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return out.stdout.strip()


COLUMNS = (
    "instance",
    "preset",
    "time_limit",
    "status",
    "build_s",
    "first_plan_s",
    "wall_s",
    "gap",
    "shortfall",
    "tni",
    "travel",
    "balance",
    "overstaffing",
    "peak_mib",
    "checker_ok",
    "load1",
    "commit",
)


def table(lines: list[str]) -> str:
    """Markdown rows of ``run`` outputs (the weighted shortfall and the other terms)."""
    rows = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for line in lines:
        if not line.startswith("{"):
            continue
        row = json.loads(line)
        row |= row.pop("breakdown", {})
        rows.append("| " + " | ".join(str(row.get(c, "")) for c in COLUMNS) + " |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("table", help="markdown rows from the JSON lines of 'run'")
    p.add_argument("rows", help="file of JSON lines")
    for name in ("write", "run"):
        p = sub.add_parser(name)
        p.add_argument("scale", help="'province', 'provincesN' (N apart) or an instance file")
        p.add_argument("--variant", choices=("loose", "tight"), default="loose")
        p.add_argument("--seed", type=int, default=7)
        p.add_argument("--consecutive-days", type=int, default=None)
        if name == "write":
            p.add_argument("--out", required=True)
        else:
            p.add_argument("--preset", default="default")
            p.add_argument("--time-limit", type=float, default=30.0)
            p.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    if args.command == "table":
        print(table(Path(args.rows).read_text(encoding="utf-8").splitlines()))
        return 0
    instance = load(args.scale, args.variant, args.seed, args.consecutive_days)
    if args.command == "write":
        Path(args.out).write_text(instance.model_dump_json(indent=1), encoding="utf-8")
        return 0
    print(json.dumps(run(instance, args.preset, args.time_limit, args.workers)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
