"""Named presets: every one plans a small instance to the same proven optimum."""

from __future__ import annotations

import pytest

from solver import SolveStatus, solve
from solver.presets import PRESETS
from tests.factory import make, ring, shifts, solve_checked, unit, venue

INSTANCE = make(
    [venue("a", rings=[ring(1, 6, 2), ring(2, 8, 3)]), venue("b", rings=[ring(1, 4, 2)])],
    [unit(f"u{i}", headcount=1 + i % 2) for i in range(6)],
    shifts(3),
    {"min_rest_hours": 8, "max_shifts": 2},
)


@pytest.fixture(scope="module")
def reference() -> int:
    result = solve_checked(INSTANCE, preset="unit-cold")
    assert result.status is SolveStatus.OPTIMAL and result.objective is not None
    return result.objective


# 'stock' is CP-SAT's own portfolio, kept for comparison: on two workers it has no max_lp
# worker and cannot prove even this optimum (see solver/presets.py).
@pytest.mark.parametrize("name", sorted(set(PRESETS) - {"stock"}))
def test_every_preset_reaches_the_same_optimum(name: str, reference: int) -> None:
    result = solve_checked(INSTANCE, preset=name)
    assert result.status is SolveStatus.OPTIMAL
    assert result.objective == reference


def test_unknown_preset_is_an_error_naming_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"unknown preset 'quick' \(known: cold, default"):
        solve(INSTANCE, preset="quick")
