"""Named CP-SAT parameter sets: solver settings are data, not code.

On two workers CP-SAT's stock portfolio runs a single full-problem worker with the default
linear relaxation, whose bound is too weak to prove even tiny coverage problems optimal; the
``max_lp`` worker (the full linear relaxation, with every clique and coverage row) proves them
at the root. Every preset therefore asks for ``max_lp`` first.
"""

from __future__ import annotations

from typing import Any

PRESETS: dict[str, dict[str, Any]] = {
    "default": {
        "extra_subsolvers": ["max_lp"],
    },
    "reproducible": {
        # One interleaved search with a fixed seed returns the same plan on every run.
        "extra_subsolvers": ["max_lp"],
        "interleave_search": True,
        "random_seed": 0,
    },
    "fast": {
        # Large instances: presolve once, skip probing and symmetry detection. On a
        # province-sized model this halves the time to the first plan.
        "extra_subsolvers": ["max_lp"],
        "symmetry_level": 0,
        "max_presolve_iterations": 1,
        "cp_model_probing_level": 0,
    },
    "stock": {
        # CP-SAT's own portfolio, for comparison in benchmarks.
    },
}
"""Preset name -> fields of ``SatParameters``; workers and time limit are set apart."""


def preset(name: str) -> dict[str, Any]:
    """The parameters of a preset; raises ``ValueError`` naming the known presets."""
    try:
        return PRESETS[name]
    except KeyError:
        known = ", ".join(sorted(PRESETS))
        raise ValueError(f"unknown preset '{name}' (known: {known})") from None
