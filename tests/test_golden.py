"""The search returns the golden plans: the same plan and objective terms as recorded.

Each case (:data:`tests.golden_plans.CASES`: district, city, province tight, capital, and
what-if re-plans with and without locked shifts) solves with one worker, a fixed seed and
CP-SAT's deterministic time, so its plan repeats on every run. A change of the search that
keeps behaviour keeps these digests; one that changes plans must update them on purpose
(``python -m tests.golden_plans write [CASE ...]``) and say why;
``python -m tests.golden_plans check`` also compares the extended cases (province loose).
"""

from __future__ import annotations

import pytest

from tests.golden_plans import CASES, Case, digest, run_case, stored

SUITE = [case for case in CASES if not case.extended]


@pytest.mark.parametrize("case", SUITE, ids=[case.name for case in SUITE])
def test_golden_case_returns_the_recorded_plan_and_terms(case: Case) -> None:
    expected = stored()[case.name]
    assert digest(run_case(case)) == expected
