"""Golden plans: a fixed set of solves whose plans and objective terms must not change.

Every case solves with one worker, a fixed seed and CP-SAT's deterministic time (no clock), so
it returns the same plan on every run and at any load. A refactor of the search keeps these
digests; a change of behaviour updates them on purpose, with
``python -m tests.golden_plans write [CASE ...]``; ``python -m tests.golden_plans check``
compares every case, the extended ones too.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from benchmarks.generator import generate
from solver import Instance, Result, check_plan, solve
from solver.whatif import Baseline, CloseVenue, SetRisk, UnitUnavailable, apply_changes

DIGESTS = Path(__file__).parent / "golden" / "plans.json"
"""Case name -> digest of its plan, status and objective terms."""

SEED = 0
SAFETY_NET = 600.0
"""Wall-clock limit of a case: far above what its deterministic searches take."""


@dataclass(frozen=True)
class Case:
    """One golden solve."""

    name: str
    scale: str
    variant: str
    deterministic_time: float
    """CP-SAT deterministic time of each search."""
    preset: str = "default"
    changes: Callable[[Instance], list[object]] | None = None
    """For a what-if: the changes to the instance, re-planned against the case's own plan."""
    locked: int = 0
    """For a what-if: how many of the first shifts are locked to the plan in force."""
    extended: bool = False
    """Checked by ``python -m tests.golden_plans check`` only, not by the test suite (a minute
    or more on a loaded machine, through the same phases as another case)."""


def _close_busiest(instance: Instance) -> list[object]:
    """Close the venue with most rings from the second shift on."""
    venue = max(instance.venues, key=lambda v: (len(v.rings), v.id))
    return [CloseVenue(venue=venue.id, from_shift=instance.shifts[1].id)]


def _lose_units(instance: Instance) -> list[object]:
    """Take three units away from the fourth shift on, and raise the first venue's risk."""
    shift = instance.shifts[3].id
    lost: list[object] = [UnitUnavailable(unit=u.id, from_shift=shift) for u in instance.units[:3]]
    return [*lost, SetRisk(venue=instance.venues[0].id, risk="very_high")]


CASES: tuple[Case, ...] = (
    Case("district-tight", "district", "tight", 0.5),
    Case("district-loose", "district", "loose", 0.5),
    Case("city-tight", "city", "tight", 0.1),
    Case("city-loose", "city", "loose", 0.1),
    Case("province-tight", "province", "tight", 0.05),
    Case("province-loose", "province", "loose", 0.05, extended=True),
    Case("capital-loose", "capital", "loose", 0.05),
    Case("district-tight-close", "district", "tight", 0.5, changes=_close_busiest),
    Case("district-loose-lose", "district", "loose", 0.5, changes=_lose_units, locked=2),
    Case("city-tight-lose", "city", "tight", 0.1, changes=_lose_units),
    Case("city-loose-close", "city", "loose", 0.1, changes=_close_busiest, locked=1),
)


def digest(result: Result) -> dict[str, object]:
    """The status, objective terms and a SHA-256 of the plan's sorted assignments."""
    assert result.plan is not None
    rows = sorted((a.unit, a.venue, a.ring, a.shift) for a in result.plan.assignments)
    plan = hashlib.sha256(json.dumps(rows).encode()).hexdigest()
    terms = {term.value: value for term, value in sorted(result.breakdown.items())}
    return {
        "status": result.status.value,
        "objective": result.objective,
        "terms": terms,
        "plan": plan,
    }


def _solve(instance: Instance, case: Case, baseline: Baseline | None = None) -> Result:
    result = solve(
        instance,
        time_limit=SAFETY_NET,
        workers=1,
        seed=SEED,
        preset=case.preset,
        deterministic_time=case.deterministic_time,
        baseline=baseline,
    )
    assert result.plan is not None, f"{case.name}: no plan ({result.status})"
    report = check_plan(instance, result.plan)
    assert report.ok, f"{case.name}: {report.violations[:3]}"
    return result


def run_case(case: Case) -> Result:
    """Solve the case (a what-if: solve, change, re-plan) and check every plan it returns."""
    instance = generate(case.scale, SEED, case.variant)
    result = _solve(instance, case)
    if case.changes is None:
        return result
    assert result.plan is not None
    changed = apply_changes(instance, case.changes(instance))  # type: ignore[arg-type]
    locked = tuple(s.id for s in instance.shifts[: case.locked])
    return _solve(changed, case, Baseline(plan=result.plan, locked_shifts=locked))


def stored() -> dict[str, dict[str, object]]:
    """The digests kept in :data:`DIGESTS`."""
    loaded: dict[str, dict[str, object]] = json.loads(DIGESTS.read_text())
    return loaded


def write(names: list[str]) -> None:
    """Solve the named cases (all without names) and store their digests."""
    digests = stored() if DIGESTS.exists() else {}
    for case in CASES:
        if names and case.name not in names:
            continue
        digests[case.name] = digest(run_case(case))
        print(case.name, digests[case.name], flush=True)
        DIGESTS.write_text(json.dumps(digests, indent=1, sort_keys=True) + "\n")


def check(names: list[str]) -> bool:
    """Solve the named cases (all, extended ones included, without names) and compare their
    digests with the stored ones; print each verdict."""
    digests, same = stored(), True
    for case in CASES:
        if names and case.name not in names:
            continue
        found = digest(run_case(case))
        verdict = "same" if found == digests[case.name] else f"DIFFERS: {found}"
        same = same and found == digests[case.name]
        print(case.name, verdict, flush=True)
    return same


if __name__ == "__main__":
    # python -m tests.golden_plans check|write [CASE ...]
    if sys.argv[1:2] == ["write"]:
        write(sys.argv[2:])
    else:
        sys.exit(0 if check(sys.argv[2:]) else 1)
