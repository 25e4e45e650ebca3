"""The data one report page shows, gathered from an instance and a result.

Everything the page needs is put into one compact JSON document (:func:`page_data`) that the
template embeds; the page's script draws the heat map, the rings of a cell, the short rings,
the rosters and the activations from it, a region at a time.
"""

from __future__ import annotations

from typing import Any

from solver import Instance, Result
from solver.explain import explain_shortfalls
from solver.figures import figures_text
from solver.model.data import is_reserve
from solver.whatif import WhatIfResponse

__all__ = ["page_data"]


def _share(required: int, assigned: int) -> float | None:
    """Share of the requirement met, ``None`` where nothing is required."""
    if required == 0:
        return None
    return round(min(required, assigned) / required, 3)


def page_data(
    instance: Instance, result: Result, whatif: WhatIfResponse | None = None
) -> dict[str, Any]:
    """The page's data: heat map cells, rings with explanations, rosters and activations.

    Parameters
    ----------
    instance
        The instance the result plans (for a what-if, the changed instance).
    result
        The result shown.
    whatif
        The what-if answer ``result`` comes from, whose diff and key figures are shown too.
    """
    shift_index = {s.id: k for k, s in enumerate(instance.shifts)}
    venue_index = {v.id: k for k, v in enumerate(instance.venues)}
    explained = {
        (e.venue, e.ring, e.shift): e
        for e in explain_shortfalls(instance, result.plan, result.coverage)
    }
    n = len(instance.shifts)
    cells: list[list[list[int]]] = [[[0, 0, 0] for _ in range(n)] for _ in instance.venues]
    rings: dict[str, list[list[Any]]] = {}
    for row in result.coverage:
        v, s = venue_index[row.venue], shift_index[row.shift]
        cell = cells[v][s]
        cell[0] += row.required
        cell[1] += min(row.assigned, row.required) if row.required else 0
        cell[2] += row.shortfall
        why = explained.get((row.venue, row.ring, row.shift))
        rings.setdefault(f"{v}:{s}", []).append(
            [
                row.ring,
                row.required,
                row.assigned,
                row.capacity,
                row.shortfall,
                row.risk.value,
                why.rule.value if why else "",
                why.reason if why else "",
                why.remedy_text if why else "",
            ]
        )
    regions = {r.id: r.name or r.id for r in instance.regions}
    places: dict[str, dict[int, str]] = {}
    for a in result.plan.assignments:
        places.setdefault(a.unit, {})[shift_index[a.shift]] = f"{a.venue} r{a.ring}"
    units = [
        [
            u.id,
            u.force.value,
            u.type,
            u.headcount,
            u.home.region,
            1 if is_reserve(u) else 0,
            places.get(u.id, {}),
        ]
        for u in instance.units
    ]
    figures = result.people_figures()
    data: dict[str, Any] = {
        "title": instance.name or "ringplan plan",
        "status": result.status_line(),
        "figures": figures_text(figures) if result.status.has_plan else [],
        "shifts": [[s.id, s.name or s.id] for s in instance.shifts],
        "regions": regions,
        "venues": [
            [v.id, v.name or v.id, v.region, v.kind.value, cells[k]]
            for k, v in enumerate(instance.venues)
        ],
        "rings": rings,
        "units": units,
        "activations": [
            [a.unit, a.force.value, a.type, a.headcount, a.venue, a.ring, list(a.shifts)]
            for a in result.activations
        ],
        "warnings": list(result.warnings),
        "whatif": None,
    }
    if whatif is not None:
        data["whatif"] = _whatif_data(whatif)
    return data


def _whatif_data(answer: WhatIfResponse) -> dict[str, Any]:
    diff = answer.diff
    labels = (
        ("uncovered people-shifts", "shortfall"),
        ("risk-weighted shortfall", "weighted_shortfall"),
        ("TNI / standby soldier-shifts", "tni_headcount_shifts"),
        ("travel km", "travel_km"),
        ("assignments (unit-shifts)", "assignments"),
    )
    return {
        "name": answer.name,
        "counts": {
            "moved": diff.moved,
            "assigned": diff.assigned,
            "released": diff.released,
            "forced": diff.forced,
        },
        "activated": list(diff.activated),
        "stood_down": list(diff.stood_down),
        "moves": [
            [m.unit, m.shift, m.kind.value, str(m.before or "idle"), str(m.after or "idle")]
            for m in diff.moves
        ],
        "kpis": [
            [label, getattr(answer.before, f), getattr(answer.after, f), getattr(answer.delta, f)]
            for label, f in labels
        ],
    }
