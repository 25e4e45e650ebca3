"""Shortfalls that are sure before any search: what ``ringplan validate`` warns about.

Alongside :func:`solver.validation.instance_warnings` (a ring that requires more than it
holds): an instance without units; ``max_shifts: 0``; a venue beyond the travel limit of every
unit; a ring whose force and type rules admit no unit of the instance; a risk override on a
shift in which its venue is not guarded (it has no effect).
"""

from __future__ import annotations

from solver.domain import Instance, Unit, Venue
from solver.explain.reach import km_between, travel_limit

__all__ = ["sure_shortfall_warnings"]


def _reachable(instance: Instance, venue: Venue, ordered: list[Unit]) -> bool:
    for unit in ordered:
        limit = travel_limit(instance, unit)
        if limit is None or km_between(unit, venue) <= limit + 1e-6:
            return True
    return False


def sure_shortfall_warnings(instance: Instance) -> list[str]:
    """Every sure shortfall of the instance, one sentence each, naming the rule."""
    warnings: list[str] = []
    units = instance.units
    if not units:
        warnings.append("the instance has no units: everything it requires will be short")
        return warnings
    if instance.rules.max_shifts == 0:
        warnings.append("rules.max_shifts is 0: no unit may work, everything will be short")
    by_region: dict[str, list[Unit]] = {}
    for unit in units:
        by_region.setdefault(unit.home.region, []).append(unit)
    for venue in instance.venues:
        # Units of the venue's own region first: most venues are reached at the first try.
        ordered = by_region.get(venue.region, []) + [
            u for u in units if u.home.region != venue.region
        ]
        if not _reachable(instance, venue, ordered):
            nearest = min(units, key=lambda u: km_between(u, venue))
            limit = travel_limit(instance, nearest)
            warnings.append(
                f"venue '{venue.id}': no unit is within its travel limit (nearest "
                f"'{nearest.id}' at {km_between(nearest, venue):.0f} km, limit {limit:g} km); "
                "everything it requires will be short"
            )
        for ring in venue.rings:
            if ring.min_headcount and not any(
                u.force in ring.allowed_forces
                and (ring.allowed_types is None or u.type in ring.allowed_types)
                for u in units
            ):
                types = ", ".join(ring.allowed_types or ()) or "any"
                forces = ", ".join(f.value for f in ring.allowed_forces)
                warnings.append(
                    f"venue '{venue.id}' ring {ring.number}: no unit of an allowed force "
                    f"({forces}) and type ({types}); everything it requires will be short"
                )
        if venue.guarded_shifts is not None:
            for override in venue.risk_overrides:
                unguarded = [s for s in override.shifts if s not in venue.guarded_shifts]
                if unguarded:
                    warnings.append(
                        f"venue '{venue.id}': risk override for {', '.join(unguarded)}, in "
                        "which the venue is not guarded; it has no effect there"
                    )
    return warnings
