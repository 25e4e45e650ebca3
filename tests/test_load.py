"""The load runner against a real server process: concurrent asyncio clients get only the
status codes they should, and every plan holds."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from benchmarks.load import EXPECTED, MIX, run_load, spawned_server


@pytest.fixture(scope="module")
def target() -> Iterator[str]:
    with spawned_server(max_concurrent_solves=1) as (address, _):
        yield address


@pytest.mark.parametrize("clients", [8, 32])
def test_concurrent_clients_get_only_expected_codes_and_valid_plans(
    target: str, clients: int
) -> None:
    calls = 6
    report = asyncio.run(run_load(target, clients=clients, calls=calls, budget=60))
    assert report.unexpected == {}
    assert report.bad_plans == []
    assert set(report.methods) == set(MIX)
    assert sum(len(s.latencies) for s in report.methods.values()) == clients * calls
    for name, stats in report.methods.items():
        assert set(stats.codes) <= EXPECTED[name], (name, stats.codes)
        assert stats.codes.get("OK", 0) > 0, (name, stats.codes)
    solves = report.methods["Solve"].codes
    assert report.plans_checked == solves["OK"]
    rows = {row["method"]: row for row in report.rows()}
    assert rows["all"]["calls"] == clients * calls
    assert 0 < report.methods["Health"].percentile(0.5) <= report.methods["Health"].percentile(0.99)
