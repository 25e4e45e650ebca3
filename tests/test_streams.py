"""Open streams never starve unary calls, and each tenant's streams are capped; against a real
server on a loopback port."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import grpc
import pytest

from ringplan.v1 import ringplan_service_pb2 as api
from ringplan.v1 import ringplan_service_pb2_grpc as api_grpc
from server.app import create_server
from server.client import RingplanClient, RingplanError, error_from_rpc
from server.config import ServerConfig
from solver import load_instance

CITY = "ringplan/examples/city.json"
CONFIG = ServerConfig(port=0, max_concurrent_solves=1, drain=0.0, grace=2.0)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Any]:
    config = replace(CONFIG, jobs_db=str(tmp_path / "jobs.sqlite3"), max_streams_per_tenant=40)
    with create_server(config) as running:
        yield running


@contextmanager
def watching(target: str, count: int) -> Iterator[tuple[str, grpc.Channel, list[Any]]]:
    """A running job on the city and ``count`` WatchJob streams on it, each past its first
    message (so holding its handler): the job id, the streams' channel and the streams."""
    with RingplanClient(target, timeout=30) as client, grpc.insecure_channel(target) as channel:
        job, _ = client.submit_job(load_instance(CITY), time_limit=60)
        stub = api_grpc.RingplanServiceStub(channel)
        calls = [
            stub.WatchJob(api.WatchJobRequest(job_id=job.id), timeout=120) for _ in range(count)
        ]
        try:
            for call in calls:
                next(call)
            yield job.id, channel, calls
        finally:
            client.cancel_job(job.id)
            for call in calls:
                call.cancel()


def test_health_and_info_answer_while_many_watch_streams_are_open(server: Any) -> None:
    with watching(server.target, 36):  # twice the threads kept for unary calls
        assert server.streams.open == 36
        with grpc.insecure_channel(server.target) as other:
            stub = api_grpc.RingplanServiceStub(other)
            for _ in range(5):  # each would wait for a free thread if the streams held them
                stub.GetInfo(api.GetInfoRequest(), timeout=5)
        with RingplanClient(server.target, timeout=5) as health:
            assert health.health() == "SERVING"


def test_a_tenant_past_its_stream_limit_is_refused_with_resource_exhausted(
    tmp_path: Path,
) -> None:
    config = replace(CONFIG, jobs_db=str(tmp_path / "jobs.sqlite3"), max_streams_per_tenant=3)
    with create_server(config) as server, watching(server.target, 3) as (job_id, channel, calls):
        stub = api_grpc.RingplanServiceStub(channel)
        with pytest.raises(grpc.RpcError) as caught:
            next(stub.WatchJob(api.WatchJobRequest(job_id=job_id), timeout=10))
        error = error_from_rpc(caught.value)
        assert error.code is grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "3 streams open, its limit" in error.message
        assert error.retry_after is not None
        # A closed stream makes room again.
        calls[0].cancel()
        waited = threading.Event()
        while server.streams.open > 2 and not waited.wait(0.01):
            pass
        again = stub.WatchJob(api.WatchJobRequest(job_id=job_id), timeout=10)
        assert next(again).job.id == job_id
        again.cancel()


def test_streamed_solves_count_against_the_stream_limit(tmp_path: Path) -> None:
    config = replace(CONFIG, jobs_db=str(tmp_path / "jobs.sqlite3"), max_streams_per_tenant=1)
    with (
        create_server(config) as server,
        watching(server.target, 1),
        RingplanClient(server.target, timeout=30) as client,
    ):
        with pytest.raises(RingplanError) as caught:
            client.solve_stream(load_instance(CITY), time_limit=1).result()
        assert caught.value.code is grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "streams open" in caught.value.message
