"""How big a model an instance makes, computed cheaply before anything is built.

A service uses this to turn away an oversized instance before it spends memory on the model.
The count is exact: it applies the same pruning as :mod:`solver.model.data` (availability,
travel limit, force/type eligibility, headcount over capacity), vectorised over venues.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from solver.domain import Instance, Unit
from solver.model.data import EARTH_RADIUS_KM, _available


@dataclass(frozen=True)
class ModelSize:
    """The dimensions of the model an instance makes."""

    units: int
    venues: int
    shifts: int
    slots: int
    """Ring x shift pairs, where coverage is required."""
    candidates: int
    """Candidate assignments (unit, ring, shift) left after pruning."""


def _km_to_venues(unit: Unit, lat: npt.NDArray[np.float64], lon: npt.NDArray[np.float64]) -> Any:
    p1, l1 = np.radians(unit.home.location.lat), np.radians(unit.home.location.lon)
    dp, dl = lat - p1, lon - l1
    h = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(lat) * np.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.minimum(1.0, np.sqrt(h)))


def model_size(instance: Instance) -> ModelSize:
    """Count slots and pruned candidates of ``instance`` without building the model."""
    venues, shifts, rules = instance.venues, instance.shifts, instance.rules
    lat = np.radians(np.array([v.location.lat for v in venues], dtype=np.float64))
    lon = np.radians(np.array([v.location.lon for v in venues], dtype=np.float64))
    rings_for: dict[tuple[str, str, int], npt.NDArray[np.int64]] = {}
    candidates = 0
    for unit in instance.units:
        open_shifts = sum(1 for shift in shifts if _available(unit, shift))
        if not open_shifts:
            continue
        key = (unit.force.value, unit.type, unit.headcount)
        if key not in rings_for:
            rings_for[key] = np.array(
                [
                    sum(
                        1
                        for ring in venue.rings
                        if unit.force in ring.allowed_forces
                        and (ring.allowed_types is None or unit.type in ring.allowed_types)
                        and unit.headcount <= ring.capacity
                    )
                    for venue in venues
                ],
                dtype=np.int64,
            )
        eligible = rings_for[key]
        limit = unit.max_travel_km if unit.max_travel_km is not None else rules.max_travel_km
        if limit is not None:
            eligible = eligible[_km_to_venues(unit, lat, lon) <= limit]
        candidates += int(eligible.sum()) * open_shifts
    return ModelSize(
        units=len(instance.units),
        venues=len(venues),
        shifts=len(shifts),
        slots=sum(len(v.rings) for v in venues) * len(shifts),
        candidates=candidates,
    )
