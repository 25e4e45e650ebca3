"""The load runner against a real server process: concurrent asyncio clients get only the
status codes they should, and every plan holds."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from benchmarks.load import EXPECTED, MIX, run_load, secured, spawned_server
from benchmarks.watch_load import run as run_watch_load


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


def test_load_over_tls_with_a_token_gets_only_expected_codes(tmp_path: Path) -> None:
    security = secured(str(tmp_path))
    with spawned_server(1, security.serve_flags) as (target, _):
        report = asyncio.run(
            run_load(
                target,
                clients=8,
                calls=4,
                root_certificates=security.root_certificates,
                token=security.token,
            )
        )
        # The same clients without the token: only health answers.
        anonymous = asyncio.run(
            run_load(target, clients=4, calls=4, root_certificates=security.root_certificates)
        )
    assert report.unexpected == {}
    assert report.plans_checked == report.methods["Solve"].codes.get("OK", 0)
    assert sum(len(s.latencies) for s in report.methods.values()) == 32
    for name, stats in anonymous.methods.items():
        if stats.codes:
            assert set(stats.codes) == ({"OK"} if name == "Health" else {"UNAUTHENTICATED"})
    assert anonymous.methods["Validate"].codes["UNAUTHENTICATED"] > 0


def test_watch_load_answers_health_and_info_with_watchers_and_excess_solves(
    target: str,
) -> None:
    phases = asyncio.run(run_watch_load(target, watchers=40, probes=1, seconds=1.0, slots=1))
    assert list(phases) == ["watchers", "watchers + C+10 solves"]
    for stats in phases.values():
        for name in ("Health", "GetInfo"):
            assert stats[name].codes.get("OK", 0) > 0
            assert set(stats[name].codes) == {"OK"}, (name, stats[name].codes)
    solves = phases["watchers + C+10 solves"]["Solve"].codes
    assert set(solves) <= {"OK", "RESOURCE_EXHAUSTED"} and solves.get("RESOURCE_EXHAUSTED")
