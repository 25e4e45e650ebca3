"""The weighted shortfall's linear bound: valid, tight where the duty rules bind, reported."""

from __future__ import annotations

import time
from functools import cache

import numpy as np
import pytest

from benchmarks.generator import generate
from solver import Instance, ObjectiveTerm, Progress, SolveStatus, check_plan, solve
from solver.bound import ShortfallBound, dual_bound, relaxed_data, shortfall_lp
from solver.bound.highs import solve_relaxation
from solver.model.data import build_data
from tests.factory import make, ring, shifts, unit, venue


@cache
def province() -> Instance:
    return generate("province", seed=0, variant="loose")


def cut_down(regions: tuple[str, ...], every: int = 1, shortfall_only: bool = False) -> Instance:
    """The suite's loose province cut down to the venues of ``regions`` and every ``every``-th
    of the units based there: seven days, the consecutive-days rule binding."""
    full = province()
    rules = full.rules
    if shortfall_only:
        rules = rules.model_copy(update={"priorities": (ObjectiveTerm.SHORTFALL,)})
    return full.model_copy(
        update={
            "venues": tuple(v for v in full.venues if v.region in regions),
            "units": tuple(u for u in full.units if u.home.region in regions)[::every],
            "rules": rules,
        }
    )


def bound_of(instance: Instance) -> int:
    value = solve_relaxation(shortfall_lp(build_data(instance)), deadline=time.perf_counter() + 60)
    assert value is not None
    return value


@pytest.mark.parametrize("region", ["prov-01-kab-05", "prov-01-kab-13", "prov-01-kab-02"])
def test_shortfall_lp_bound_is_never_above_the_proven_optimum(region: str) -> None:
    # Cut-down provinces (one regency, half its units) that CP-SAT proves within seconds: the
    # relaxation's bound lies at or below the optimum, and within 2 % of it (the rows per
    # rest clique within the day let the consecutive-days rule bite).
    instance = cut_down((region,), every=2, shortfall_only=True)
    result = solve(instance, time_limit=60, workers=2)
    assert result.status is SolveStatus.OPTIMAL
    assert check_plan(instance, result.plan).ok
    optimum = result.breakdown[ObjectiveTerm.SHORTFALL]
    bound = bound_of(instance)
    assert bound <= optimum
    assert bound >= 0.98 * optimum


def test_shortfall_lp_bound_equals_a_hand_counted_optimum() -> None:
    # One officer for a post needing one, around the clock for a week of three 8 h shifts,
    # 8 h of rest, at most 5 days in a row: 11 of the 21 shifts stay short in every plan,
    # and the relaxation sees all 11.
    rules = {"min_rest_hours": 8, "max_consecutive_days": 5}
    instance = make([venue(rings=[ring(1, 10, 1)])], [unit("u0")], shifts(21), rules)
    weight = build_data(instance).slots[0].weight
    assert bound_of(instance) == 11 * weight


def test_pooled_relaxation_gives_the_bound_of_every_unit_apart() -> None:
    # Three officers based in three places (so in three groups of the model), one post
    # needing two around the clock for two days, 16 h of rest after an 8 h shift: each
    # officer stands one shift a day, so 6 of the 12 places (6 shifts, 2 each) stay empty in every
    # plan. Pooled regardless of distance the three are one group (fewer candidates), and
    # the relaxation still sees the 6, as it does with every officer apart.
    homes = [{"lat": -6.55 + 0.05 * i, "lon": 107.44} for i in range(3)]
    units = [
        unit(f"u{i}", home={"region": "pwk", "location": home}) for i, home in enumerate(homes)
    ]
    instance = make([venue(rings=[ring(1, 10, 2)])], units, shifts(6), {"min_rest_hours": 16})
    data = build_data(instance)
    pooled = relaxed_data(data)
    assert len(data.groups) == 3 and len(pooled.groups) == 1
    assert pooled.n_candidates < data.n_candidates
    result = solve(instance, time_limit=10, workers=2)
    assert result.status is SolveStatus.OPTIMAL
    assert check_plan(instance, result.plan).ok
    optimum = result.breakdown[ObjectiveTerm.SHORTFALL]
    assert optimum == 6 * data.slots[0].weight
    apart = build_data(instance, grouped=False)
    for relaxation in (pooled, apart):
        value = solve_relaxation(shortfall_lp(relaxation), deadline=time.perf_counter() + 60)
        assert value == optimum


def test_dual_bound_holds_for_any_multipliers() -> None:
    # The Lagrangian bound of random multipliers never passes the relaxation's optimum.
    instance = cut_down(("prov-01-kab-05",), every=2)
    lp = shortfall_lp(build_data(instance))
    optimum = bound_of(instance)
    rng = np.random.default_rng(0)
    for scale in (0.1, 1.0, 100.0):
        duals = rng.normal(0.0, scale, lp.n_rows)
        assert dual_bound(lp, duals) <= optimum + 1e-6
    assert dual_bound(lp, np.zeros(lp.n_rows)) == 0.0


def test_solve_reports_the_shortfall_bound_in_result_and_progress() -> None:
    instance = cut_down(("prov-01-kab-19",), every=2)
    lines: list[Progress] = []
    result = solve(instance, time_limit=3, workers=2, preset="lp-bound", progress=lines.append)
    assert check_plan(instance, result.plan).ok
    lp = bound_of(instance)
    bound = result.term_bounds[ObjectiveTerm.SHORTFALL]
    assert lp <= bound <= result.breakdown[ObjectiveTerm.SHORTFALL]
    assert result.bound_note.startswith(f"weighted shortfall at least {lp}:")
    assert result.best_bound is not None and result.best_bound > 0
    assert result.gap_known
    assert any(p.term_bounds.get(ObjectiveTerm.SHORTFALL, 0) >= lp for p in lines)


def test_solve_says_when_the_shortfall_bound_is_not_solved_in_time() -> None:
    # Two regencies with every unit, one part of 11,800 candidates: its relaxation needs
    # about a second and a half of one thread alone.
    instance = cut_down(("prov-01-kab-08", "prov-01-kab-21"))
    result = solve(instance, time_limit=0.3, workers=2, preset="lp-bound")
    assert check_plan(instance, result.plan).ok
    assert result.status is SolveStatus.FEASIBLE
    assert result.bound_note.startswith("weighted shortfall bound incomplete")
    assert result.term_bounds.get(ObjectiveTerm.SHORTFALL, 0) == 0
    assert not result.gap_known
    assert f"bound: {result.bound_note}" in result.summary()


def test_shortfall_bound_thread_gives_up_at_its_deadline() -> None:
    # The two regencies' relaxation needs about a second and a half; given 0.2 s, the
    # thread ends by itself (the interior point method is interrupted) with no bound.
    data = build_data(cut_down(("prov-01-kab-08", "prov-01-kab-21")))
    bound = ShortfallBound([lambda: data], 0, time.perf_counter() + 0.2).start()
    time.sleep(2.0)
    assert not bound.finished
    assert bound.value == 0
    assert bound.note().startswith("weighted shortfall bound incomplete: the linear relaxation")
    bound.close()
