"""Malformed requests from Hypothesis through a real server process: every answer is OK or
INVALID_ARGUMENT with field paths, and the server is unchanged afterwards.

CI runs a bounded number of examples; ``RINGPLAN_FUZZ_EXAMPLES=5000`` runs more (and at random
rather than from a fixed seed). ``pytest -s`` prints the outcomes.
"""

from __future__ import annotations

import math
import os
import random
import subprocess
from collections import Counter
from collections.abc import Iterator

import grpc
import pytest
from hypothesis import HealthCheck, given, settings

from ringplan.v1 import instance_pb2 as pb
from ringplan.v1 import ringplan_service_pb2 as api
from ringplan.v1 import ringplan_service_pb2_grpc as api_grpc
from server.client import RingplanClient, error_from_rpc
from server.convert import instance_from_proto, plan_from_proto
from solver import check_plan
from solver.presets import PRESETS
from tests.factory import start_serve
from tests.malformed import base_instance, instances, options, whatif_requests

EXAMPLES = int(os.environ.get("RINGPLAN_FUZZ_EXAMPLES", "150"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize="RINGPLAN_FUZZ_EXAMPLES" not in os.environ,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
TIMEOUT = 30.0
PREFIXES = ("instance.", "instance[", "options.")
LISTED = 20
"""Field violations an error lists in full; a longer list is cut, its last entry counting the
rest."""


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """``ringplan serve`` in its own process; a valid solve gets at most 2 s.

    Its watchdog allows a solve 20 s past its limit before stopping it (INTERNAL): these tests
    are about bad input, and a loaded two-core machine has stretched a solve of 0.05 s past the
    5 s allowed before; the watchdog has tests of its own."""
    env = {**os.environ, "RINGPLAN_DRAIN": "0", "RINGPLAN_OVERRUN_GRACE": "20"}
    env["RINGPLAN_JOBS_DB"] = str(tmp_path_factory.mktemp("fuzz") / "jobs.sqlite3")
    process, target = start_serve(
        "--port", "0", "--max-concurrent-solves", "1", "--max-time-limit", "2", env=env
    )
    try:
        yield process, target
    finally:
        process.terminate()
        process.wait(timeout=20)


def _good_field(field: str) -> bool:
    return field == "instance" or field.startswith(PREFIXES)


def _options_ok(opts: api.SolveOptions) -> bool:
    """Whether the options other than the hint are good (0 means "the default")."""
    limit = opts.time_limit_seconds
    return (
        not math.isnan(limit)
        and limit >= 0
        and opts.workers >= 0
        and (opts.preset or "default") in PRESETS
    )


def _validate(stub: api_grpc.RingplanServiceStub, instance: pb.Instance) -> tuple[set[str], int]:
    """Fields Validate names and how many problems it lists; it always answers OK."""
    answer = stub.Validate(api.ValidateRequest(instance=instance), timeout=TIMEOUT)
    fields = {p.field for p in answer.problems}
    assert answer.valid == (not answer.problems)
    assert all(_good_field(f) for f in fields), fields
    assert all(p.description for p in answer.problems)
    return fields, len(answer.problems)


def _violations(rpc_error: grpc.RpcError) -> set[str]:
    """The fields of an INVALID_ARGUMENT answer; any other status fails."""
    error = error_from_rpc(rpc_error)
    assert error.code is grpc.StatusCode.INVALID_ARGUMENT, error
    assert error.violations, error
    fields = {v.field for v in error.violations}
    assert all(_good_field(f) for f in fields), fields
    assert all(v.description for v in error.violations)
    return fields


def _submit_refused(stub: api_grpc.RingplanServiceStub, request: api.SubmitJobRequest) -> set[str]:
    """The fields SubmitJob names when it refuses a job; accepting it fails."""
    try:
        stub.SubmitJob(request, timeout=TIMEOUT)
    except grpc.RpcError as rpc_error:
        return _violations(rpc_error)
    raise AssertionError("a malformed job was accepted")


def _solve(
    stub: api_grpc.RingplanServiceStub, instance: pb.Instance, opts: api.SolveOptions
) -> tuple[str, set[str]]:
    """Outcome of Solve and the fields it names; a plan must hold."""
    try:
        answer = stub.Solve(api.SolveRequest(instance=instance, options=opts), timeout=TIMEOUT)
    except grpc.RpcError as rpc_error:
        return "INVALID_ARGUMENT", _violations(rpc_error)
    plan = plan_from_proto(answer.result.plan)
    report = check_plan(instance_from_proto(instance), plan)
    assert report.ok, report.violations
    return "OK", set()


def test_malformed_requests_get_field_violations_and_the_server_is_unchanged(
    served: tuple[subprocess.Popen[str], str],
) -> None:
    process, target = served
    pid = process.pid
    outcomes: Counter[str] = Counter()

    with grpc.insecure_channel(target) as channel:
        stub = api_grpc.RingplanServiceStub(channel)

        @FUZZ
        @given(instance=instances(), opts=options())
        def run(instance: pb.Instance, opts: api.SolveOptions) -> None:
            problems, count = _validate(stub, instance)
            outcomes["validate " + ("invalid" if problems else "valid")] += 1
            outcome, fields = _solve(stub, instance, opts)
            outcomes["solve " + outcome] += 1
            # Solve refuses exactly what Validate reports (the first ones of a long list), and
            # whatever is wrong with the options (a hint may be good or bad).
            named = {f for f in fields if f.startswith("instance")}
            assert named == problems if count <= LISTED else named <= problems
            if not _options_ok(opts):
                assert any(f.startswith("options.") for f in fields), fields
            if problems:
                # A job of a malformed instance is refused the same way, before it is stored.
                submit = api.SubmitJobRequest(request_id="fuzz", instance=instance, options=opts)
                refused = _submit_refused(stub, submit)
                named = {f for f in refused if f.startswith("instance")}
                assert named == problems if count <= LISTED else named <= problems
                outcomes["submit INVALID_ARGUMENT"] += 1

        run()

    print(f"\nfuzz: {EXAMPLES} examples, outcomes {dict(sorted(outcomes.items()))}")
    assert sum(v for k, v in outcomes.items() if k.startswith("solve")) == EXAMPLES
    assert outcomes["solve INVALID_ARGUMENT"] > EXAMPLES // 2
    # The same process still serves, and a good solve still works.
    assert process.poll() is None and process.pid == pid
    instance = base_instance()
    with RingplanClient(target, timeout=TIMEOUT) as client:
        assert client.health() == "SERVING"
        assert client.info().active_solves == 0
        assert client.list_jobs()[0] == []  # no malformed job was stored
        result = client.solve(instance, time_limit=2)
    assert result.status == "optimal"
    assert check_plan(instance_from_proto(instance), result.plan).ok


def test_malformed_whatif_requests_get_field_violations_and_the_server_is_unchanged(
    served: tuple[subprocess.Popen[str], str],
) -> None:
    process, target = served
    pid = process.pid
    outcomes: Counter[str] = Counter()
    prefixes = ("instance", "plan", "changes", "now", "options")

    with grpc.insecure_channel(target) as channel:
        stub = api_grpc.RingplanServiceStub(channel)

        @settings(FUZZ, max_examples=max(20, EXAMPLES // 3))
        @given(request=whatif_requests())
        def run(request: api.WhatIfRequest) -> None:
            try:
                answer = stub.WhatIf(request, timeout=TIMEOUT)
            except grpc.RpcError as rpc_error:
                error = error_from_rpc(rpc_error)
                assert error.code is grpc.StatusCode.INVALID_ARGUMENT, error
                assert error.violations, error
                assert all(v.field.startswith(prefixes) for v in error.violations), error
                outcomes["INVALID_ARGUMENT"] += 1
                return
            assert not answer.answer.violations, answer.answer.violations
            outcomes["OK"] += 1

        run()

    print(f"\nwhat-if fuzz: outcomes {dict(sorted(outcomes.items()))}")
    assert outcomes["INVALID_ARGUMENT"] > 0
    assert process.poll() is None and process.pid == pid
    with RingplanClient(target, timeout=TIMEOUT) as client:
        assert client.health() == "SERVING"
        assert client.info().active_solves == 0


def _byte_mutants(seed: int, count: int) -> list[tuple[str, bytes]]:
    """``count`` requests whose bytes were damaged: each a method and the bytes sent to it."""
    rng = random.Random(seed)
    good = {
        "Validate": api.ValidateRequest(instance=base_instance()).SerializeToString(),
        "Solve": api.SolveRequest(
            instance=base_instance(), options=api.SolveOptions(time_limit_seconds=0.5)
        ).SerializeToString(),
        "ListJobs": api.ListJobsRequest(page_size=5, page_token="x" * 43).SerializeToString(),
        "GetJob": api.GetJobRequest(job_id="abc").SerializeToString(),
    }
    names = ["Validate"] * 5 + ["ListJobs"] * 2 + ["GetJob"] * 2 + ["Solve"]
    mutants = []
    for _ in range(count):
        name = rng.choice(names)
        data = bytearray(good[name])
        for _ in range(rng.randint(1, 4)):
            at = rng.randrange(len(data) + 1)
            action = rng.choice(["flip", "cut", "insert", "invalid-utf8", "nest"])
            if action == "flip" and data:
                data[min(at, len(data) - 1)] ^= 1 << rng.randrange(8)
            elif action == "cut":
                del data[at:]
            elif action == "insert":
                data[at:at] = rng.randbytes(rng.randint(1, 8))
            elif action == "invalid-utf8":
                data[at:at] = b"\x0a\x02\xff\xfe"  # a string field holding invalid UTF-8
            else:
                data[at:at] = b"\x7b" * rng.randint(50, 500)  # groups nested deeply
        mutants.append((name, bytes(data)))
    return mutants


def test_damaged_request_bytes_are_never_internal_and_the_server_keeps_serving(
    served: tuple[subprocess.Popen[str], str],
) -> None:
    process, target = served
    outcomes: Counter[str] = Counter()
    with grpc.insecure_channel(target) as channel:
        for name, data in _byte_mutants(seed=22, count=300):
            call = channel.unary_unary(f"/ringplan.v1.RingplanService/{name}")
            try:
                call(data, timeout=TIMEOUT)
                outcomes["OK"] += 1
                continue
            except grpc.RpcError as rpc_error:
                error = error_from_rpc(rpc_error)
            outcomes[error.code.name] += 1
            assert error.code in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND), (
                name,
                error,
            )
            if error.code is grpc.StatusCode.INVALID_ARGUMENT:
                # A field path, or the reference of bytes that are no message at all.
                assert error.violations or "reference" in error.message, error
    print(f"\ndamaged bytes: outcomes {dict(sorted(outcomes.items()))}")
    assert outcomes["INVALID_ARGUMENT"] > 100
    assert process.poll() is None
    with RingplanClient(target, timeout=TIMEOUT) as client:
        assert client.health() == "SERVING"
        assert client.info().active_solves == 0
