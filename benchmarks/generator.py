"""Benchmark instances at real scales, deterministic by seed.

Five scales follow public figures of election security operations in Indonesia:

=========  ==========================================================================  ======
scale      what                                                                        days
=========  ==========================================================================  ======
district   one regency election office, 3 rings, 50 officers (+ one TNI standby squad)  3
city       province and city election offices, oversight office, warehouse, party      3
           offices and patrols in one city; 644 officers + TNI standby
province   22 regencies/cities, election and oversight office in each, warehouses,     7
           party offices; 1,952 officers + a TNI standby pool
capital    national election office (4 rings) and the capital's other venues;          3
           3,421 personnel, 2,500 Polri and the rest TNI
national   38 provinces, 514 regencies/cities; 154,088 police + 35,000 TNI standby     7
           (7,000 of it a national reserve) + 4,000 Brimob of the national reserve
=========  ==========================================================================  ======

The people are fixed by those figures; the requirements are scaled to them. A ``loose``
instance asks for about half of what the police alone could give; a ``tight`` one asks for more
than every unit, TNI included, could give even without travel limits or ring rules, so a
shortfall is unavoidable. Tight and loose instances of one scale and seed share geography,
venues, units and risks; only the ring minimums differ.

Everything random comes from one :class:`random.Random` seeded with the scale and the seed, so
the same arguments always give the same instance.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from enum import StrEnum
from typing import Any

from solver import Force, Instance, parse_instance
from solver.model.data import required_headcount


class Variant(StrEnum):
    """How the requirements compare with the people available."""

    TIGHT = "tight"
    """Under-resourced: total requirement exceeds what every unit could give."""
    LOOSE = "loose"
    """Enough people: about half of what the police alone could give is asked for (less on the
    seven-day scales, see :data:`LOOSE_RATIO`)."""


TIGHT_RATIO = 1.3
"""Tight: requirement / (upper bound on the headcount-shifts of every unit)."""
LOOSE_RATIO = 0.5
"""Loose: requirement / (upper bound on the headcount-shifts of the police units). Seven-day
scales use :attr:`Scale.loose_ratio` instead: there the rest, most-shifts and consecutive-days
rules together leave a unit 8 to 10 of its 12 allowed shifts, and rings need whole units."""

WIB = timezone(timedelta(hours=7))
START = datetime(2024, 2, 27, 6, tzinfo=WIB)
SHIFT_NAMES = ("pagi", "siang", "malam")
SHIFT_HOURS = 8

# Ring templates per venue kind: (number, name, base weight, polri only, ring-1 types).
PLENARY_TYPES = ("polwan", "intelkam", "samapta")
RingTemplate = tuple[int, str, float, bool, tuple[str, ...] | None]
RINGS: dict[str, tuple[RingTemplate, ...]] = {
    "kpu_national": (
        (1, "plenary room", 10, True, PLENARY_TYPES),
        (2, "sterile yard", 20, True, None),
        (3, "surrounding streets", 40, False, None),
        (4, "access-road control", 30, False, None),
    ),
    "kpu_province": (
        (1, "plenary room", 8, True, PLENARY_TYPES),
        (2, "sterile yard", 15, True, None),
        (3, "surrounding streets", 30, False, None),
        (4, "access-road control", 20, False, None),
    ),
    "kpu_regency": (
        (1, "plenary room", 4, True, PLENARY_TYPES),
        (2, "inside the building", 5, True, None),
        (3, "outside the fence", 6, False, None),
    ),
    "oversight_office": (
        (1, "inside the building", 3, True, None),
        (3, "outside the fence", 5, False, None),
    ),
    "logistics_warehouse": (
        (2, "store yard", 4, True, None),
        (3, "perimeter", 6, False, None),
    ),
    "party_office": (
        (1, "inside the building", 2, True, None),
        (2, "outside the fence", 4, False, None),
    ),
    "other": ((4, "patrol route", 8, False, None),),
}

# Base risk mix per venue kind: weights of low, medium, high, very high.
RISKS = ("low", "medium", "high", "very_high")
RISK_MIX: dict[str, tuple[int, int, int, int]] = {
    "kpu_national": (0, 2, 5, 3),
    "kpu_province": (0, 4, 4, 2),
    "kpu_regency": (1, 4, 4, 1),
    "oversight_office": (3, 5, 2, 0),
    "logistics_warehouse": (2, 4, 4, 0),
    "party_office": (4, 4, 1, 1),
    "other": (5, 5, 0, 0),
}

# Unit types: (force, type, weight by number of units, headcounts, small-scale headcounts).
UnitType = tuple[str, str, int, tuple[int, ...], tuple[int, ...]]
POLRI_TYPES: tuple[UnitType, ...] = (
    ("polri", "samapta", 40, (5, 5, 10, 10), (3, 3, 5)),
    ("polri", "brimob", 10, (10, 30), (5,)),
    ("polri", "lantas", 12, (2, 4), (2,)),
    ("polri", "polwan", 12, (2, 4), (2,)),
    ("polri", "intelkam", 11, (1, 2), (1,)),
    ("polri", "reskrim", 10, (1, 2), (1, 2)),
)
TNI_TYPES: tuple[UnitType, ...] = (
    ("tni", "infantry", 50, (30,), (10,)),
    ("tni", "kodim", 30, (10,), (10,)),
    ("tni", "marines", 20, (25,), (10,)),
)


ReserveSpec = tuple[str, str, int, int, float, float | None, str]
"""(force, type, personnel, per platoon, lead hours, travel limit, label) of a national
reserve."""

NATIONAL_RESERVE: tuple[ReserveSpec, ...] = (
    # A fifth of the 35,000 TNI standby held by the national command rather than the
    # provinces' military commands, as 30-soldier infantry platoons mobilised within a day.
    ("tni", "infantry", 7_000, 30, 24.0, None, "tni-standby"),
    # 40 Brimob companies of 100 from the national headquarters, sent as 25-strong
    # platoons within 12 hours (Brimob reaches further: 120 km).
    ("polri", "brimob", 4_000, 25, 12.0, 120.0, "brimob-mabes"),
)
"""The national scale's reserve; its TNI comes out of the 35,000 (the provinces keep
28,000), its Brimob comes on top of the 154,088 police."""


@dataclass(frozen=True)
class Scale:
    """The public figures and the shape of one scale."""

    name: str
    days: int
    provinces: int
    regencies: int
    """Regencies and cities over all provinces."""
    police: int
    tni: int
    box: tuple[float, float, float, float]
    """lat_min, lat_max, lon_min, lon_max of the area."""
    max_travel_km: float
    max_shifts: int
    max_consecutive_days: int
    small_units: bool = False
    """Squads and single officers rather than platoons (one office)."""
    gap_share: float = 0.1
    """Share of units with an availability gap of one day."""
    loose_ratio: float = LOOSE_RATIO
    """Requirement / police supply bound of the loose variant."""
    reserve: tuple[ReserveSpec, ...] = ()
    """National reserve: units of no province (see :data:`NATIONAL_RESERVE`)."""


SCALES: dict[str, Scale] = {
    s.name: s
    for s in (
        Scale("district", 3, 1, 1, 50, 10, (-6.60, -6.50, 107.40, 107.50), 40, 6, 3, True),
        Scale("city", 3, 1, 1, 644, 170, (-10.25, -10.12, 123.52, 123.68), 30, 6, 3),
        Scale(
            "province", 7, 1, 22, 1952, 500, (-10.6, -8.2, 119.0, 125.0), 60, 12, 5, loose_ratio=0.3
        ),
        Scale("capital", 3, 1, 6, 2500, 921, (-6.36, -6.09, 106.68, 106.98), 40, 6, 3),
        Scale(
            "national",
            7,
            38,
            514,
            154088,
            35000,
            (-10.5, 5.5, 95.0, 141.0),
            60,
            12,
            5,
            loose_ratio=0.3,
            reserve=NATIONAL_RESERVE,
        ),
    )
}
"""Every scale by name."""


@dataclass
class _Region:
    id: str
    level: str
    parent: str | None
    lat: float
    lon: float
    capital: bool = False
    """The province capital (the seat of the province-level venues)."""


class _Builder:
    """Builds one instance's JSON-ready data from one random stream."""

    def __init__(self, scale: Scale, seed: int) -> None:
        self.scale = scale
        self.rng = random.Random(f"ringplan-bench:{scale.name}:{seed}")
        self.regions: list[_Region] = []
        self.venues: list[dict[str, Any]] = []
        self.venue_weight: dict[str, float] = {}
        self.units: list[dict[str, Any]] = []
        self.shifts = _shifts(scale.days)

    # -- geography ----------------------------------------------------------------------
    def _point(self, lat: float, lon: float, km: float) -> tuple[float, float]:
        """A point uniformly within ``km`` of (lat, lon)."""
        r = km * math.sqrt(self.rng.random())
        angle = self.rng.uniform(0, 2 * math.pi)
        dlat = r * math.cos(angle) / 111.0
        dlon = r * math.sin(angle) / (111.0 * max(0.2, math.cos(math.radians(lat))))
        return round(lat + dlat, 5), round(lon + dlon, 5)

    def build_regions(self) -> None:
        s = self.scale
        lat0, lat1, lon0, lon1 = s.box
        counts = _split(s.regencies, s.provinces, self.rng, least=1)
        for p in range(s.provinces):
            pid = f"prov-{p + 1:02d}"
            if s.provinces == 1:
                plat, plon = (lat0 + lat1) / 2, (lon0 + lon1) / 2
            else:
                plat, plon = self.rng.uniform(lat0, lat1), self.rng.uniform(lon0, lon1)
            self.regions.append(_Region(pid, "province", None, plat, plon))
            spread = 0.0 if s.regencies == s.provinces else _spread(s, counts[p])
            for r in range(counts[p]):
                capital = r == 0
                level = "city" if capital or self.rng.random() < 0.18 else "regency"
                rid = f"{pid}-{'kota' if level == 'city' else 'kab'}-{r + 1:02d}"
                if s.provinces == 1 and s.regencies > 1:
                    lat, lon = self.rng.uniform(lat0, lat1), self.rng.uniform(lon0, lon1)
                elif capital:
                    lat, lon = plat, plon
                else:
                    lat, lon = self._point(plat, plon, spread)
                self.regions.append(_Region(rid, level, pid, lat, lon, capital))

    # -- venues -------------------------------------------------------------------------
    def _venue(self, region: _Region, kind: str, label: str, plenary_day: int | None) -> None:
        vid = f"{label}-{region.id}"
        lat, lon = self._point(region.lat, region.lon, 4.0)
        base = self.rng.choices(RISKS, weights=RISK_MIX[kind])[0]
        venue: dict[str, Any] = {
            "id": vid,
            "name": f"{label} {region.id}",
            "kind": kind,
            "region": region.id,
            "location": {"lat": lat, "lon": lon},
            "risk": base,
            "rings": [],
        }
        if plenary_day is not None:
            day = min(plenary_day, self.scale.days) - 1
            # The plenary day is one level riskier than usual, and at least high.
            riskier = RISKS[min(max(RISKS.index(base) + 1, RISKS.index("high")), len(RISKS) - 1)]
            venue["risk_overrides"] = [
                {"shifts": [s["id"] for s in self.shifts[3 * day : 3 * day + 3]], "risk": riskier}
            ]
        size = self.rng.uniform(0.7, 1.4)
        for number, name, weight, polri_only, types in RINGS[kind]:
            ring: dict[str, Any] = {"number": number, "name": name, "weight": weight * size}
            if polri_only:
                ring["allowed_forces"] = ["polri"]
            if types is not None:
                ring["allowed_types"] = list(types)
            venue["rings"].append(ring)
        self.venues.append(venue)

    def build_venues(self) -> None:
        s = self.scale
        days = s.days
        if s.name == "district":
            self._venue(self.regions[1], "kpu_regency", "kpu", plenary_day=days)
            return
        for region in self.regions:
            if region.level == "province":
                continue
            if s.name == "capital" and region.capital:
                self._venue(region, "kpu_national", "kpu-ri", plenary_day=days)
                self._venue(region, "oversight_office", "bawaslu-ri", None)
                for k in range(18):
                    self._venue(region, "party_office", f"dpp-{k + 1:02d}", None)
            if s.name == "national" and region.capital and region.parent == "prov-01":
                self._venue(region, "kpu_national", "kpu-ri", plenary_day=days)
                self._venue(region, "oversight_office", "bawaslu-ri", None)
                for k in range(18):
                    self._venue(region, "party_office", f"dpp-{k + 1:02d}", None)
            if region.capital:
                self._venue(region, "kpu_province", "kpu-prov", plenary_day=min(5, days))
                self._venue(region, "oversight_office", "bawaslu-prov", None)
                self._venue(region, "logistics_warehouse", "gudang-prov", None)
            self._venue(region, "kpu_regency", "kpu", plenary_day=min(3, days))
            self._venue(region, "oversight_office", "bawaslu", None)
            if s.name == "city":
                for k in range(6):
                    self._venue(region, "party_office", f"partai-{k + 1}", None)
                for k in range(2):
                    self._venue(region, "other", f"patroli-{k + 1}", None)
                continue
            if self.rng.random() < 0.35:
                self._venue(region, "logistics_warehouse", "gudang", None)
            for k in range(self.rng.choice((0, 0, 1)) + (2 if region.capital else 0)):
                self._venue(region, "party_office", f"partai-{k + 1}", None)
            if s.name == "capital":
                self._venue(region, "other", "patroli", None)

    # -- units --------------------------------------------------------------------------
    def _regional_shares(self) -> dict[str, float]:
        """Each regency's share of the total ring weight of its venues."""
        weight: dict[str, float] = {}
        for venue in self.venues:
            w = sum(ring["weight"] for ring in venue["rings"])
            weight[venue["region"]] = weight.get(venue["region"], 0.0) + w
        total = sum(weight.values())
        return {region: w / total for region, w in weight.items()}

    def _unit_sizes(self, types: tuple[UnitType, ...], total: int) -> list[tuple[str, str, int]]:
        """Units of the given types whose headcounts add up to exactly ``total``."""
        small = self.scale.small_units
        units: list[tuple[str, str, int]] = []
        left = total
        weights = [t[2] for t in types]
        while left > 0:
            force, kind, _, sizes, small_sizes = self.rng.choices(types, weights=weights)[0]
            size = self.rng.choice(small_sizes if small else sizes)
            if size > left:
                size = left
            units.append((force, kind, size))
            left -= size
        return units

    def _gap(self) -> list[dict[str, str]] | None:
        """Availability windows that leave out one random day, for a share of units."""
        if self.scale.days < 2 or self.rng.random() >= self.scale.gap_share:
            return None
        day = self.rng.randrange(self.scale.days)
        begin, end = START - timedelta(hours=6), START + timedelta(days=self.scale.days)
        gap_start = START + timedelta(days=day)
        gap_end = gap_start + timedelta(days=1)
        windows = []
        if gap_start > begin:
            windows.append({"start": begin.isoformat(), "end": gap_start.isoformat()})
        if end > gap_end:
            windows.append({"start": gap_end.isoformat(), "end": end.isoformat()})
        return windows

    def _add_units(self, types: tuple[UnitType, ...], total: int, standby: bool) -> None:
        shares = self._regional_shares()
        regions = {r.id: r for r in self.regions}
        order = sorted(shares)
        quotas = _apportion(total, [shares[r] for r in order])
        for region_id, quota in zip(order, quotas, strict=True):
            region = regions[region_id]
            for k, (force, kind, size) in enumerate(self._unit_sizes(types, quota)):
                lat, lon = self._point(region.lat, region.lon, 10.0)
                unit: dict[str, Any] = {
                    "id": f"{region_id}-{kind}-{k + 1}",
                    "force": force,
                    "type": kind,
                    "headcount": size,
                    "home": {"region": region_id, "location": {"lat": lat, "lon": lon}},
                    "standby": standby,
                }
                if kind == "brimob" and self.scale.regencies > 1:
                    unit["max_travel_km"] = 120.0  # a mobile reserve reaches further
                gap = self._gap()
                if gap is not None:
                    unit["available_windows"] = gap
                self.units.append(unit)

    def build_units(self) -> None:
        held = sum(spec[2] for spec in self.scale.reserve if spec[0] == "tni")
        self._add_units(POLRI_TYPES, self.scale.police, standby=False)
        self._add_units(TNI_TYPES, self.scale.tni - held, standby=True)

    def build_reserve(self) -> list[dict[str, Any]]:
        """The national reserve in platoons (:attr:`Scale.reserve`)."""
        reserve: list[dict[str, Any]] = []
        for force, kind, personnel, platoon, lead, reach, label in self.scale.reserve:
            for k, size in enumerate(_split_even(personnel, platoon)):
                unit: dict[str, Any] = {
                    "id": f"reserve-{label}-{k + 1:03d}",
                    "force": force,
                    "type": kind,
                    "headcount": size,
                    "lead_hours": lead,
                }
                if reach is not None:
                    unit["max_travel_km"] = reach
                reserve.append(unit)
        return reserve

    # -- requirements -------------------------------------------------------------------
    def set_requirements(self, variant: Variant) -> None:
        """Ring minimums scaled so that the requirement meets the variant's ratio."""
        polri = sum(_supply_bound(u, self.scale) for u in self.units if u["force"] == "polri")
        every = sum(_supply_bound(u, self.scale) for u in self.units)
        target = TIGHT_RATIO * every if variant is Variant.TIGHT else self.scale.loose_ratio * polri
        factor = target / max(1.0, self._demand(1.0))
        for _ in range(4):  # rounding: correct the factor until the demand is on target
            demand = self._demand(factor)
            factor *= target / max(1.0, demand)
        for venue in self.venues:
            for ring in venue["rings"]:
                minimum = max(1, round(ring["weight"] * factor))
                ring["min_headcount"] = minimum
                ring["capacity"] = _capacity(minimum, ring["number"])

    def _demand(self, factor: float) -> float:
        """Total required headcount-shifts if ring weights are scaled by ``factor``."""
        multipliers = {"low": 1.0, "medium": 1.25, "high": 1.5, "very_high": 2.0}
        total = 0.0
        for venue in self.venues:
            risks = [venue["risk"]] * len(self.shifts)
            for override in venue.get("risk_overrides", ()):
                for shift_id in override["shifts"]:
                    risks[_shift_index(shift_id)] = override["risk"]
            for ring in venue["rings"]:
                minimum = max(1, round(ring["weight"] * factor))
                total += sum(required_headcount(minimum, multipliers[r]) for r in risks)
        return total

    def data(self, variant: Variant, seed: int) -> dict[str, Any]:
        s = self.scale
        venues = []
        for venue in self.venues:
            rings = [{k: v for k, v in ring.items() if k != "weight"} for ring in venue["rings"]]
            venues.append({**venue, "rings": rings})
        return {
            "name": f"{s.name} {variant.value} seed {seed}",
            "description": (
                f"Generated benchmark instance: scale {s.name}, variant {variant.value}, "
                f"seed {seed}; {s.police} police and {s.tni} TNI standby personnel."
            ),
            "regions": [
                {"id": r.id, "level": r.level, **({"parent": r.parent} if r.parent else {})}
                for r in self.regions
            ],
            "venues": venues,
            "units": self.units,
            "shifts": self.shifts,
            "rules": {
                "min_rest_hours": 8,
                "max_shifts": s.max_shifts,
                "max_consecutive_days": s.max_consecutive_days,
                "max_travel_km": s.max_travel_km,
            },
        }


def _shifts(days: int) -> list[dict[str, str]]:
    out = []
    for d in range(days):
        for k, name in enumerate(SHIFT_NAMES):
            start = START + timedelta(days=d, hours=SHIFT_HOURS * k)
            end = start + timedelta(hours=SHIFT_HOURS)
            out.append(
                {"id": f"d{d + 1}-{name}", "start": start.isoformat(), "end": end.isoformat()}
            )
    return out


def _shift_index(shift_id: str) -> int:
    day, name = shift_id.split("-")
    return 3 * (int(day[1:]) - 1) + SHIFT_NAMES.index(name)


def _capacity(minimum: int, ring: int) -> int:
    """Room for the very-high-risk requirement and more; outer rings hold a platoon."""
    room = math.ceil(2.5 * minimum)
    return max(room, 15) if ring == 1 else max(room, 30)


def _spread(scale: Scale, regencies: int) -> float:
    """Radius in km of a province's regencies around its capital (national scale)."""
    return 40.0 + 12.0 * math.sqrt(regencies)


def _split_even(total: int, size: int) -> list[int]:
    """``total`` in pieces of ``size``, the last one smaller when it does not divide."""
    return [size] * (total // size) + ([total % size] if total % size else [])


def _split(total: int, parts: int, rng: random.Random, least: int) -> list[int]:
    """``total`` split into ``parts`` random counts of at least ``least``."""
    if parts == 1:
        return [total]
    weights = [rng.uniform(0.5, 1.5) for _ in range(parts)]
    rest = _apportion(total - least * parts, weights)
    return [least + r for r in rest]


def _apportion(total: int, weights: list[float]) -> list[int]:
    """Whole numbers proportional to ``weights`` that add up to ``total`` (largest remainder)."""
    whole = sum(weights)
    exact = [total * w / whole for w in weights]
    counts = [math.floor(e) for e in exact]
    order = sorted(range(len(weights)), key=lambda i: exact[i] - counts[i], reverse=True)
    for i in order[: total - sum(counts)]:
        counts[i] += 1
    return counts


def _unit_bound(headcount: int, gap: bool, shifts: int, max_shifts: int | None) -> int:
    """An upper bound on the headcount-shifts one unit can give.

    With back-to-back 8-hour shifts and 8 hours of rest a unit works at most every other shift;
    a one-day gap (three shifts fewer) can add at most one shift to that; ``max_shifts`` caps it.
    """
    most = math.ceil((shifts - 3) / 2) + 1 if gap else math.ceil(shifts / 2)
    if max_shifts is not None:
        most = min(most, max_shifts)
    return headcount * most


def _supply_bound(unit: dict[str, Any], scale: Scale) -> int:
    gap = "available_windows" in unit
    return _unit_bound(int(unit["headcount"]), gap, 3 * scale.days, scale.max_shifts)


def generate_data(
    scale: str, seed: int = 0, variant: Variant | str = Variant.LOOSE
) -> dict[str, Any]:
    """The JSON-ready data of a generated instance (not yet validated).

    Parameters
    ----------
    scale
        One of :data:`SCALES`: ``district``, ``city``, ``province``, ``capital``, ``national``.
    seed
        Seed of the random stream; the same seed always gives the same instance.
    variant
        ``tight`` (under-resourced) or ``loose`` (enough people).

    Returns
    -------
    dict
        An instance in the JSON format of ``docs/instance-format.md``.
    """
    try:
        spec = SCALES[scale]
    except KeyError:
        raise ValueError(f"unknown scale '{scale}' (known: {', '.join(SCALES)})") from None
    try:
        chosen = Variant(variant)
    except ValueError:
        raise ValueError(f"unknown variant '{variant}' (known: tight, loose)") from None
    builder = _Builder(spec, seed)
    builder.build_regions()
    builder.build_venues()
    builder.build_units()
    builder.set_requirements(chosen)
    data = builder.data(chosen, seed)
    if spec.reserve:
        data["reserve"] = builder.build_reserve()
    return data


def generate(scale: str, seed: int = 0, variant: Variant | str = Variant.LOOSE) -> Instance:
    """A generated instance, validated by the domain (see :func:`generate_data`)."""
    return parse_instance(generate_data(scale, seed, variant))


def supply_bound(instance: Instance, *, police_only: bool = False) -> int:
    """Upper bound on the headcount-shifts the instance's units can give.

    Each unit works at most ``max_shifts`` shifts, at most every other one of its available
    back-to-back shifts (plus one across an availability gap).
    """
    n, limit = len(instance.shifts), instance.rules.max_shifts
    return sum(
        _unit_bound(unit.headcount, unit.available_windows is not None, n, limit)
        for unit in instance.units
        if not police_only or unit.force is Force.POLRI
    )


def total_requirement(instance: Instance) -> int:
    """Required headcount-shifts summed over every ring of every venue and shift."""
    rules = instance.rules
    return sum(
        required_headcount(ring.min_headcount, rules.risk_multipliers[venue.risk_at(shift.id)])
        for venue in instance.venues
        for ring in venue.rings
        for shift in instance.shifts
    )


def write_instance(instance_data: dict[str, Any], path: str) -> None:
    """Write generated instance data as compact JSON."""
    import json
    from pathlib import Path

    Path(path).write_text(json.dumps(instance_data, separators=(",", ":")), encoding="utf-8")
