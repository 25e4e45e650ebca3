"""Prometheus metrics and the call log of a real server, read the way an operator reads them."""

from __future__ import annotations

import json
import logging
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from prometheus_client.parser import text_string_to_metric_families

from ringplan.v1 import ringplan_service_pb2 as api
from ringplan.v1 import ringplan_service_pb2_grpc as api_grpc
from server.app import create_server
from server.client import RingplanClient, RingplanError
from server.config import ServerConfig
from server.convert import instance_to_proto
from solver import Instance, check_plan
from tests.factory import busy_instance, make, ring, shifts, unit, venue


def tiny() -> Instance:
    return make(
        [venue(rings=[ring(1, 3, 2), ring(2, 6, 3)], risk="high")],
        [unit(f"u{i}") for i in range(5)],
        shifts(2, hours=12),
    )


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Any]:
    config = ServerConfig(
        port=0,
        max_concurrent_solves=1,
        drain=0.0,
        jobs_db=str(tmp_path / "jobs.sqlite3"),
        metrics=True,
        metrics_port=0,
    )
    with create_server(config) as running:
        yield running


def scrape(server: Any) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    """Every sample of ``/metrics``, parsed by prometheus_client's own text parser: by sample
    name, then by its labels."""
    with urllib.request.urlopen(f"http://127.0.0.1:{server.metrics_port}/metrics") as answer:
        text = answer.read().decode()
    samples: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return samples


def test_metrics_count_calls_rejections_solves_jobs_and_streams(server: Any) -> None:
    instance = tiny()
    with RingplanClient(server.target, timeout=60) as client:
        assert check_plan(instance, client.solve(instance, time_limit=5).plan).ok
        with pytest.raises(RingplanError):
            client.solve(instance, time_limit=-1)
        job, _ = client.submit_job(instance, time_limit=5)
        final = list(client.watch_job(job.id, timeout=60))[-1]
        assert final.result is not None
        with grpc.insecure_channel(server.target) as channel:
            stub = api_grpc.RingplanServiceStub(channel)
            # A search that never ends early: the job is still queued or running when scraped.
            long_job = stub.SubmitJob(
                api.SubmitJobRequest(
                    instance=instance_to_proto(busy_instance()),
                    options=api.SolveOptions(time_limit_seconds=30),
                    request_id="queued-behind",
                ),
                timeout=30,
            )
            assert long_job.job.id
            watched = stub.WatchJob(api.WatchJobRequest(job_id=long_job.job.id), timeout=30)
            assert next(watched).job.id == long_job.job.id  # open, and past its first message
            samples = scrape(server)
            watched.cancel()

    calls = samples["ringplan_calls_total"]
    assert calls[(("code", "OK"), ("method", "Solve"))] == 1
    assert calls[(("code", "INVALID_ARGUMENT"), ("method", "Solve"))] == 1
    assert (
        samples["ringplan_rejections_total"][(("code", "INVALID_ARGUMENT"), ("method", "Solve"))]
        == 1
    )
    assert samples["ringplan_solve_seconds_count"][(("outcome", "ok"),)] >= 2  # call and job
    assert samples["ringplan_solve_seconds_sum"][(("outcome", "ok"),)] > 0
    jobs = samples["ringplan_jobs"]
    assert jobs[(("state", "succeeded"),)] == 1
    assert jobs.get((("state", "queued"),), 0) + jobs.get((("state", "running"),), 0) == 1
    assert samples["ringplan_job_queue_depth"][()] == jobs.get((("state", "queued"),), 0)
    assert samples["ringplan_streams_open"][()] == 1
    assert samples["ringplan_solve_slots"][()] == 1
    assert samples["ringplan_solves_running"][()] in (0, 1)


def test_every_call_writes_one_structured_log_line(
    server: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="server.calls")
    with RingplanClient(server.target, timeout=30) as client:
        client.info()
        with pytest.raises(RingplanError):
            client.get_job("no-such-job")
        with grpc.insecure_channel(server.target) as channel:
            stub = api_grpc.RingplanServiceStub(channel)
            stub.GetInfo(api.GetInfoRequest(), metadata=[("x-request-id", "op-42")], timeout=30)
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "server.calls"]
    assert [(line["method"].rsplit("/", 1)[1], line["code"]) for line in lines] == [
        ("GetInfo", "OK"),
        ("GetJob", "NOT_FOUND"),
        ("GetInfo", "OK"),
    ]
    assert all(line["tenant"] == "default" and line["ms"] >= 0 for line in lines)
    assert lines[2]["id"] == "op-42" and len({line["id"] for line in lines}) == 3


def test_metrics_are_off_unless_asked_for(tmp_path: Path) -> None:
    config = ServerConfig(port=0, drain=0.0, jobs_db=str(tmp_path / "jobs.sqlite3"))
    with create_server(config) as running:
        assert running.metrics_port is None
