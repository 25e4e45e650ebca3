"""Errors under hostile input, against a real server on a loopback port: small details, bad
bytes refused as bad input, one log line each."""

from __future__ import annotations

import base64
import logging
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import grpc
import pytest

from ringplan.v1 import ringplan_service_pb2 as api
from server.app import create_server
from server.client import RingplanClient, RingplanError, error_from_rpc
from server.config import ServerConfig
from server.convert import instance_to_proto
from server.names import SERVICE_NAME
from tests.factory import make, ring, shifts, unit, venue

CONFIG = ServerConfig(host="127.0.0.1", port=0, max_concurrent_solves=1, drain=0.0, grace=2.0)
METADATA_LIMIT = 8 * 1024
MAX_VIOLATIONS = 20  # the server lists at most this many, and one that counts the rest


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    jobs_db = str(tmp_path_factory.mktemp("jobs") / "jobs.sqlite3")
    with create_server(replace(CONFIG, jobs_db=jobs_db)) as running:
        yield running


def _metadata_bytes(error: grpc.RpcError) -> int:
    """Bytes of the status trailers as sent: binary values in base64, the message
    percent-encoded."""
    size = len(urllib.parse.quote((error.details() or "").encode(), safe=" "))
    for key, value in error.trailing_metadata() or ():
        raw = base64.b64encode(value) if key.endswith("-bin") else str(value).encode()
        size += len(key) + len(raw)
    return size


def _many_units() -> Any:
    """600 units without people: one problem each."""
    instance = make([venue(rings=[ring(1, 3, 2)])], [unit("u")], shifts(1))
    message = instance_to_proto(instance)
    template = message.units.pop()
    for index in range(600):
        added = message.units.add()
        added.CopyFrom(template)
        added.id, added.headcount = f"u{index}", 0
    return message


def _long_value() -> api.SolveRequest:
    """An unknown preset of 50,000 non-ASCII characters (each percent-encoded as 6 bytes)."""
    instance = make([venue(rings=[ring(1, 3, 2)])], [unit("u")], shifts(1))
    return api.SolveRequest(
        instance=instance_to_proto(instance), options=api.SolveOptions(preset="\u00e9" * 50_000)
    )


def _many_problems() -> api.SolveRequest:
    return api.SolveRequest(instance=_many_units())


@pytest.mark.parametrize("make_bad", [_many_problems, _long_value], ids=["many", "long"])
def test_bad_request_errors_stay_small_and_say_invalid_argument(server: Any, make_bad: Any) -> None:
    request = make_bad()
    with grpc.insecure_channel(server.target) as channel:
        call = channel.unary_unary(
            f"/{SERVICE_NAME}/Solve",
            request_serializer=api.SolveRequest.SerializeToString,
            response_deserializer=api.SolveResponse.FromString,
        )
        with pytest.raises(grpc.RpcError) as caught:
            call(request, timeout=30)
    assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert _metadata_bytes(caught.value) <= METADATA_LIMIT
    error = error_from_rpc(caught.value)
    assert 1 <= len(error.violations) <= MAX_VIOLATIONS + 1
    assert all(v.field.startswith(("instance.units", "options.")) for v in error.violations)
    assert all(len(v.field) <= 200 and len(v.description) <= 200 for v in error.violations)
    if make_bad is _many_problems:
        assert error.violations[-1].description.startswith("and 580 more problem(s)")


def test_validate_still_lists_every_problem(server: Any) -> None:
    with RingplanClient(server.target, timeout=30) as client:
        answer = client.validate(_many_units())
    assert not answer.valid and len(answer.problems) == 600


# Bytes that do not decode as the request message, each with why.
UNDECODABLE = [
    pytest.param(b"\x0a\x05abc", id="truncated"),  # a 5-byte string with 3 bytes
    pytest.param(b"\x0a\x02\xff\xfe", id="invalid-utf8"),  # job_id is a string
    pytest.param(b"\x7b" * 2000, id="deep-nesting"),  # 2,000 nested groups of field 15
]


@pytest.mark.parametrize("payload", UNDECODABLE)
@pytest.mark.parametrize("method", ["GetJob", "WatchJob"])
def test_undecodable_bytes_are_invalid_argument_with_one_log_line(
    server: Any, payload: bytes, method: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    with grpc.insecure_channel(server.target) as channel:
        make_call = channel.unary_stream if method == "WatchJob" else channel.unary_unary
        call = make_call(f"/{SERVICE_NAME}/{method}")  # raw bytes out, raw bytes in
        with pytest.raises(grpc.RpcError) as caught:
            answer = call(payload, timeout=10)
            list(answer) if method == "WatchJob" else answer
    assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert "reference" in (caught.value.details() or "")
    reference = (caught.value.details() or "").rsplit("reference ", 1)[1].rstrip(")")
    lines = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(lines) == 1, [r.getMessage() for r in lines]
    assert reference in lines[0].getMessage() and lines[0].exc_info is None
    with RingplanClient(server.target, timeout=10) as client:
        assert client.health() == "SERVING"


def test_a_good_request_after_bad_bytes_is_answered(server: Any) -> None:
    with grpc.insecure_channel(server.target) as channel:
        call = channel.unary_unary(f"/{SERVICE_NAME}/GetJob")
        with pytest.raises(grpc.RpcError):
            call(b"\x0a\x05abc", timeout=10)
    with (
        RingplanClient(server.target, timeout=10) as client,
        pytest.raises(RingplanError) as caught,
    ):
        client.get_job("no-such-job")
    assert caught.value.code is grpc.StatusCode.NOT_FOUND


def _shifted(change: dict[str, str], index: int = 0) -> Any:
    message = instance_to_proto(make([venue(rings=[ring(1, 3, 2)])], [unit("u")], shifts(2)))
    for name, value in change.items():
        setattr(message.shifts[index], name, value)
    return message


# Shifts that would make a valid-looking instance run away, each with the field named.
RUNAWAY = [
    # the year 1 (the horizon then spans two thousand years)
    pytest.param(
        _shifted({"start": "0001-01-01T00:00:00Z"}), "instance.shifts[0].start", id="year-1"
    ),
    # the year 9999
    pytest.param(
        _shifted({"end": "9999-12-31T00:00:00Z"}, 1), "instance.shifts[1].end", id="year-9999"
    ),
    # a shift of a month
    pytest.param(
        _shifted({"end": "2024-03-14T06:00:00+07:00"}, 1), "instance.shifts[1].end", id="month-long"
    ),
    # two shifts of a day, two years apart
    pytest.param(
        _shifted({"start": "2026-02-14T06:00:00+07:00", "end": "2026-02-14T14:00:00+07:00"}, 1),
        "instance.shifts[1].end",
        id="two-years",
    ),
]


@pytest.mark.parametrize(("message", "field"), RUNAWAY)
def test_a_runaway_horizon_is_invalid_argument_at_once(
    server: Any, message: Any, field: str
) -> None:
    with RingplanClient(server.target, timeout=30) as client:
        assert field in {p.field for p in client.validate(message).problems}
        started = time.perf_counter()
        with pytest.raises(RingplanError) as caught:
            client.solve(message, time_limit=30)
        assert time.perf_counter() - started < 5
        assert caught.value.code is grpc.StatusCode.INVALID_ARGUMENT
        assert field in {v.field for v in caught.value.violations}
