"""Named solver presets: the model to build and CP-SAT's parameters are data, not code.

On two workers CP-SAT's stock portfolio runs a single full-problem worker with the default
linear relaxation, whose bound is too weak to prove even tiny coverage problems optimal; the
``max_lp`` worker (the full linear relaxation, with every clique and coverage row) proves them
at the root. Every preset but ``stock`` therefore asks for ``max_lp`` first.

Models: ``grouped`` pools interchangeable units and counts them (see
:mod:`solver.model.groups`); ``unit`` has one boolean per unit and candidate slot. Both give the
same optimum; ``unit`` is for objective terms that must tell units apart.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from solver.model.objective import MAX_STAGE_RANGE

ModelKind = Literal["grouped", "unit"]


@dataclass(frozen=True)
class Preset:
    """How to build the model and which CP-SAT parameters to solve it with."""

    parameters: Mapping[str, Any] = field(default_factory=dict)
    """Fields of ``SatParameters``; workers and time limit are set apart."""
    model: ModelKind = "grouped"
    """``grouped`` (counts per group of interchangeable units) or ``unit`` (one boolean each)."""
    stage_range: int = MAX_STAGE_RANGE
    """Largest weighted range of one priority stage; 1 solves each term on its own, in order
    (lexicographically)."""
    decompose: bool = True
    """Solve independent parts (see :mod:`solver.decompose`) one by one."""
    warm_start: bool = True
    """Without a caller's hint, start from the greedy plan of :mod:`solver.heuristics.greedy`: it is
    the first plan reported, and CP-SAT's hint."""
    switch: tuple[int, str] | None = None
    """``(candidates, preset)``: a model with more candidates than this is solved with that
    preset instead (its model kind and decomposition stay this preset's)."""
    shift_windows: bool = True
    """Before the fine model's first stage (travel, in the default ranking), search one shift
    at a time with every other shift held as it is (see
    :class:`solver.search.improve.ShiftWindows`):
    fast descent, no proof. Off where plans must repeat exactly (``reproducible``)."""
    neighbourhood_above: int | None = 100_000
    """After the coarse stages, a fine model with more candidates than this is searched only in
    the neighbourhood of the best plan (its results are plans, not proofs); ``None``: never."""
    duty_windows: bool = True
    """Before the shortfall stage of a model over 10,000 candidates, re-plan the best plan a
    few units at a time, whole weeks, around its short rings (see
    :class:`solver.search.duty.DutyWindows`)."""
    lp_bound_above: int | None = 50_000
    """Beside the search of an instance with more candidates than this (where CP-SAT finds no
    bound of the shortfall within minutes), a thread solves the shortfall's linear relaxation
    part by part (:mod:`solver.bound`) for a bound; ``None``: never. Only with ``decompose``."""
    concurrent_above: int | None = 20_000
    """On two or more workers, plan the independent parts of an instance with more candidates
    than this at the same time, one process per lane of parts (:mod:`solver.search.concurrent`;
    below, a part's search ends within seconds and a process start does not pay); ``None``:
    one by one, as where plans must repeat exactly (``reproducible``)."""


_MAX_LP: dict[str, Any] = {"extra_subsolvers": ["max_lp"]}

LARGE_ABOVE = 50_000
"""Candidates above which ``default`` solves a model as ``large``."""

PRESETS: dict[str, Preset] = {
    "default": Preset(
        # Province models and larger are solved as ``large`` (measured better shortfall there,
        # see benchmarks/RESULTS.md).
        _MAX_LP,
        switch=(LARGE_ABOVE, "large"),
    ),
    "unit": Preset(_MAX_LP, model="unit"),
    "whole": Preset(_MAX_LP, decompose=False),
    "cold": Preset(_MAX_LP, warm_start=False),
    "unit-cold": Preset(_MAX_LP, model="unit", decompose=False, warm_start=False),
    "exact": Preset(
        # The fine model whole, however large: slower on the capital scale, but what it proves
        # holds for the instance.
        _MAX_LP,
        neighbourhood_above=None,
    ),
    "lp-bound": Preset(
        # The shortfall's linear bound beside the search on any instance, not only the large.
        _MAX_LP,
        switch=(LARGE_ABOVE, "large"),
        lp_bound_above=0,
    ),
    "parts-at-once": Preset(
        # Independent parts planned at the same time on any instance, not only the large.
        _MAX_LP,
        switch=(LARGE_ABOVE, "large"),
        concurrent_above=0,
    ),
    "neighbourhood": Preset(
        # The fine stages always in the neighbourhood of the best plan: quick improvements of
        # travel, balance and overstaffing, never a proof of them.
        _MAX_LP,
        neighbourhood_above=0,
    ),
    "reproducible": Preset(
        # One interleaved search with a fixed seed returns the same plan on every run.
        {**_MAX_LP, "interleave_search": True, "random_seed": 0},
        shift_windows=False,
        duty_windows=False,
        lp_bound_above=None,
        concurrent_above=None,
    ),
    "fast": Preset(
        # Large instances: presolve once, skip probing and symmetry detection. On a
        # province-sized per-unit model this halves the time to the first plan.
        {**_MAX_LP, "symmetry_level": 0, "max_presolve_iterations": 1, "cp_model_probing_level": 0}
    ),
    "large": Preset(
        # Province scale and up: presolve once without probing or symmetry detection (pooling
        # already removed the symmetry between units), small LNS neighbourhoods (each one is
        # cheaper to presolve on a model of tens of thousands of variables), and each
        # objective term solved on its own, in order.
        {
            **_MAX_LP,
            "symmetry_level": 0,
            "max_presolve_iterations": 1,
            "cp_model_probing_level": 0,
            "lns_initial_difficulty": 0.05,
        },
        stage_range=1,
    ),
    "stock": Preset(
        # CP-SAT's own portfolio on the per-unit model, cold, for comparison in benchmarks.
        {},
        model="unit",
        decompose=False,
        warm_start=False,
        duty_windows=False,
        lp_bound_above=None,
    ),
}
"""Preset name -> preset."""


def preset(name: str) -> Preset:
    """The preset called ``name``; raises ``ValueError`` naming the known presets."""
    try:
        return PRESETS[name]
    except KeyError:
        known = ", ".join(sorted(PRESETS))
        raise ValueError(f"unknown preset '{name}' (known: {known})") from None
