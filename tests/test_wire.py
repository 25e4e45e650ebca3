"""What crosses the wire means what it means locally: objectives of any size, the same plan."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import grpc
import pytest

from ringplan.v1 import ringplan_service_pb2 as api
from ringplan.v1 import ringplan_service_pb2_grpc as api_grpc
from server.app import create_server
from server.client import RingplanClient
from server.config import ServerConfig
from server.convert import instance_to_proto
from solver import Instance, check_plan, solve
from tests.factory import make, ring, shifts, unit, venue

CONFIG = ServerConfig(host="127.0.0.1", port=0, max_concurrent_solves=1, drain=0.0, grace=2.0)
INT64_MAX = 2**63 - 1
LEVELS = ("low", "medium", "high", "very_high")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    jobs_db = str(tmp_path_factory.mktemp("jobs") / "jobs.sqlite3")
    with create_server(replace(CONFIG, jobs_db=jobs_db)) as running:
        yield running


def huge() -> Instance:
    """Rings of 100,000 at very high risk with the largest weights: the weighted objective
    passes 2**63 (the in-range instance that crashed the service)."""
    rules = {
        "risk_weights": dict.fromkeys(LEVELS, 1000),
        "ring_weights": {str(number): 1000 for number in range(1, 5)},
        "risk_multipliers": dict.fromkeys(LEVELS, 10),
    }
    rings = [ring(1, 100_000, 100_000), ring(2, 100_000, 100_000)]
    units = [unit("u0", 100_000), unit("t", 5, force="tni", type="infantry")]
    return make([venue(rings=rings, risk="very_high")], units, shifts(2), rules=rules)


def test_an_objective_past_int64_crosses_the_wire_exactly(server: Any) -> None:
    instance = huge()
    local = solve(instance, time_limit=10, workers=1)
    assert local.objective is not None and local.objective > INT64_MAX
    with grpc.insecure_channel(server.target) as channel:
        stub = api_grpc.RingplanServiceStub(channel)
        answer = stub.Solve(
            api.SolveRequest(
                instance=instance_to_proto(instance), options=api.SolveOptions(workers=1)
            ),
            timeout=60,
        ).result
    assert answer.objective_clamped and answer.objective == INT64_MAX
    assert int(answer.objective_decimal) == local.objective
    assert {t.value_decimal for t in answer.breakdown} == {str(v) for v in local.breakdown.values()}
    with RingplanClient(server.target, timeout=60) as client:
        remote = client.solve(instance, workers=1)
        streamed = client.solve_stream(instance, workers=1)
        progress: list[int] = []
        last = streamed.result(on_progress=lambda p: progress.append(p.objective))
    assert remote.objective == local.objective == last.objective
    assert remote.breakdown == local.breakdown
    assert progress and progress[-1] >= last.objective > INT64_MAX
    assert check_plan(instance, remote.plan).ok and check_plan(instance, last.plan).ok


def test_a_job_with_an_objective_past_int64_succeeds(server: Any) -> None:
    instance = huge()
    with RingplanClient(server.target, timeout=60) as client:
        job, _ = client.submit_job(instance, time_limit=10, workers=1)
        final = list(client.watch_job(job.id, timeout=60))[-1]
    assert final.result is not None, final.reason
    assert final.result.objective is not None and final.result.objective > INT64_MAX
    assert check_plan(instance, final.result.plan).ok
