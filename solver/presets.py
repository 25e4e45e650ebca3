"""Named CP-SAT parameter sets: solver settings are data, not code."""

from __future__ import annotations

from typing import Any

PRESETS: dict[str, dict[str, Any]] = {
    "default": {},
    "reproducible": {
        # One interleaved search with a fixed seed returns the same plan on every run.
        "interleave_search": True,
        "random_seed": 0,
    },
    "quick": {
        # Favour early plans over proofs: fewer linear relaxation cuts.
        "linearization_level": 0,
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
