"""What crosses the wire means what it means locally: objectives of any size, the same plan."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import grpc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ringplan.v1 import ringplan_service_pb2 as api
from ringplan.v1 import ringplan_service_pb2_grpc as api_grpc
from server.app import create_server
from server.client import RingplanClient
from server.config import ServerConfig
from server.convert import instance_from_proto, instance_to_proto
from solver import Instance, InstanceError, check_plan, parse_instance, solve
from tests.factory import instance_data, make, ring, shifts, unit, venue

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


# -- one meaning per instance ----------------------------------------------------------

TYPES = ("samapta", "brimob", "infantry")
SHIFT_IDS = ("s0", "s1", "s2")


@st.composite
def small_instances(draw: st.DrawFn) -> dict[str, Any]:
    """Valid instance data whose optional lists are left out or hold one or more entries."""
    count = draw(st.integers(1, 3))
    shift_list = shifts(count, hours=8)
    ids = SHIFT_IDS[:count]

    def some(values: tuple[str, ...]) -> list[str] | None:
        chosen = draw(st.none() | st.lists(st.sampled_from(values), min_size=1, unique=True))
        return None if chosen is None else sorted(chosen)

    rings = []
    for number in range(1, draw(st.integers(1, 2)) + 1):
        extra: dict[str, Any] = {}
        forces = some(("polri", "tni"))
        if forces is not None:
            extra["allowed_forces"] = forces
        types = some(TYPES)
        if types is not None:
            extra["allowed_types"] = types
        rings.append(ring(number, draw(st.integers(0, 6)), draw(st.integers(0, 4)), **extra))
    units = []
    for index in range(draw(st.integers(1, 5))):
        extra = {}
        available = some(ids)
        if available is not None:
            extra["available_shifts"] = available
        if draw(st.booleans()):
            first = shift_list[draw(st.integers(0, count - 1))]
            extra["available_windows"] = [{"start": first["start"], "end": first["end"]}]
        kind = draw(st.sampled_from(TYPES))
        force = "tni" if kind == "infantry" else "polri"
        units.append(unit(f"u{index}", draw(st.integers(1, 3)), force=force, type=kind, **extra))
    risk = draw(st.sampled_from(LEVELS))
    return instance_data([venue(rings=rings, risk=risk)], units, shift_list)


@pytest.mark.parametrize(
    ("where", "field"),
    [
        ("unit", "available_shifts"),
        ("unit", "available_windows"),
        ("ring", "allowed_types"),
        ("ring", "allowed_forces"),
    ],
)
def test_an_empty_list_is_an_error_in_json_and_python(where: str, field: str) -> None:
    data = instance_data([venue()], [unit("u")], shifts(1))
    target = data["units"][0] if where == "unit" else data["venues"][0]["rings"][0]
    target[field] = []
    with pytest.raises(InstanceError) as caught:
        parse_instance(json.loads(json.dumps(data)))
    assert field in str(caught.value) and "leave the field out" in str(caught.value)


def test_generated_instances_mean_the_same_in_json_python_and_on_the_wire(server: Any) -> None:
    with RingplanClient(server.target, timeout=60) as client:

        @settings(max_examples=25, deadline=None, derandomize=True, database=None)
        @given(data=small_instances())
        def run(data: dict[str, Any]) -> None:
            instance = parse_instance(data)
            assert parse_instance(json.loads(instance.model_dump_json())) == instance
            assert instance_from_proto(instance_to_proto(instance)) == instance
            local = solve(instance, time_limit=10, workers=1, seed=1)
            remote = client.solve(instance, time_limit=10, workers=1, seed=1)
            assert local.status == remote.status == "optimal"
            assert check_plan(instance, remote.plan).ok
            assert remote.objective == local.objective
            assert remote.breakdown == local.breakdown

        run()
