"""The gRPC service, against a real server on a loopback port."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import grpc
import pytest
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)

from ringplan.v1 import instance_pb2 as pb
from server.admission import Ticket
from server.app import create_server
from server.client import RingplanClient, RingplanError
from server.config import ServerConfig
from server.convert import (
    instance_from_proto,
    instance_to_proto,
    progress_from_proto,
    progress_to_proto,
    result_from_proto,
    result_to_proto,
)
from server.names import SERVICE_NAME
from server.workers import Job, WorkerLimits, WorkerPool
from solver import (
    Assignment,
    Instance,
    ObjectiveTerm,
    Plan,
    Progress,
    Result,
    check_plan,
    load_instance,
    solve,
)
from tests.factory import (
    alive,
    busy_instance,
    held,
    make,
    ring,
    shifts,
    start_serve,
    unit,
    venue,
    wait_until,
)

# A deadline margin of 3 s, not the default 1 s: on a loaded two-core machine explaining,
# converting and sending a plan has taken longer than a second, so a call whose solve ended on
# time still missed its deadline. The deadline tests assert the same cap with it.
CONFIG = ServerConfig(
    host="127.0.0.1", port=0, max_concurrent_solves=2, drain=0.2, grace=5.0, deadline_margin=3.0
)
STOPPED_WITHIN = 2.0
"""Seconds within which a cancelled or expired solve must have stopped (the server kills a solver
process that has not stopped 0.25 s after being asked): far under the 60 s those solves ask
for, so a cancel that does not reach the solve still fails, while a loaded machine's slow
thread wake-ups and calls do not."""


def tiny() -> Instance:
    """Two rings, five officers, two shifts: solved to optimality in well under a second."""
    return make(
        [venue(rings=[ring(1, 3, 2), ring(2, 6, 3)], risk="high")],
        [unit(f"u{i}") for i in range(5)] + [unit("tni-1", 4, force="tni", type="infantry")],
        shifts(2, hours=12),
    )


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    jobs_db = str(tmp_path_factory.mktemp("jobs") / "jobs.sqlite3")
    with create_server(replace(CONFIG, jobs_db=jobs_db)) as running:
        yield running


@pytest.fixture
def client(server: Any) -> Iterator[RingplanClient]:
    with RingplanClient(server.target) as c:
        yield c


def checked(instance: Instance, result: Result) -> Result:
    report = check_plan(instance, result.plan)
    assert report.ok, report.violations
    return result


def wait_idle(client: RingplanClient, timeout: float) -> float:
    """Seconds until the server runs no solve; fails after ``timeout``."""
    return wait_until(lambda: not client.info().active_solves, timeout, "solve still running")


def test_solve_round_trip_equals_the_in_process_plan(client: RingplanClient) -> None:
    instance = tiny()
    options: dict[str, Any] = {"time_limit": 20, "workers": 2, "preset": "reproducible", "seed": 3}
    local = checked(instance, solve(instance, **options))
    remote = checked(instance, client.solve(instance, **options))
    assert remote.status == local.status == "optimal"
    assert remote.objective == local.objective
    assert remote.plan == local.plan
    assert remote.coverage == local.coverage
    assert remote.breakdown == local.breakdown
    assert remote.activations == local.activations


def test_instance_survives_the_wire_unchanged() -> None:
    instance = load_instance("ringplan/examples/city.json")
    assert instance_from_proto(instance_to_proto(instance)) == instance
    first = instance.venues[0].model_copy(update={"guarded_shifts": (instance.shifts[1].id,)})
    partly = instance.model_copy(update={"venues": (first, *instance.venues[1:])})
    assert instance_from_proto(instance_to_proto(partly)) == partly


def test_term_bounds_and_bound_note_survive_the_wire() -> None:
    instance = load_instance("ringplan/examples/district.json")
    result = checked(instance, solve(instance, time_limit=20, preset="lp-bound"))
    assert result.term_bounds and result.bound_note
    assert result_from_proto(result_to_proto(result)) == result
    line = Progress(1200, 600, 0.5, 2.0, 0, term_bounds={ObjectiveTerm.SHORTFALL: 600})
    assert progress_from_proto(progress_to_proto(line)) == line


def test_stream_objective_never_worsens_and_ends_with_the_plan(client: RingplanClient) -> None:
    instance = load_instance("ringplan/examples/district.json")
    events = list(client.solve_stream(instance, time_limit=20))
    progress = [e for e in events if isinstance(e, Progress)]
    assert progress, "no progress message"
    objectives = [p.objective for p in progress]
    assert objectives == sorted(objectives, reverse=True)
    assert len(set(objectives)) == len(objectives)
    final = events[-1]
    assert isinstance(final, Result)
    assert all(isinstance(e, Progress) for e in events[:-1])
    checked(instance, final)
    assert final.objective == objectives[-1]


def test_client_cancel_stops_the_solve_at_once(client: RingplanClient) -> None:
    stream = client.solve_stream(busy_instance(), time_limit=60)
    iterator = iter(stream)
    assert isinstance(next(iterator), Progress)  # model built, search under way
    assert client.info().active_solves == 1
    stream.cancel()
    assert wait_idle(client, timeout=10) < STOPPED_WITHIN
    with pytest.raises(RingplanError) as caught:
        list(iterator)
    assert caught.value.code is grpc.StatusCode.CANCELLED


def test_a_call_after_a_failed_one_is_served_by_a_warm_solver_process(
    server: Any, client: RingplanClient
) -> None:
    # A failed call's process (killed here, as a crash or a cancel that does not stop in time
    # would have it) is replaced by a fresh one; while that one imports the solver (seconds on
    # a loaded machine), the next call takes a process that is ready.
    before = set(server.pool.idle_pids) | set(server.pool.busy_pids)
    with ThreadPoolExecutor(1) as pool:
        call = pool.submit(client.solve, busy_instance(), time_limit=30)
        wait_until(lambda: bool(server.pool.busy_pids), 30, "no solver process took the call")
        os.kill(server.pool.busy_pids[0], signal.SIGKILL)
        with pytest.raises(RingplanError):
            call.result(timeout=30)
    wait_until(lambda: len(server.pool.idle_pids) == 2, 30, "no process started in its place")
    assert len(set(server.pool.idle_pids) - before) == 1
    assert checked(tiny(), client.solve(tiny(), time_limit=5)).status == "optimal"
    served = server.pool.idle_pids[-1]  # the last process given back
    assert served in before


def test_deadline_caps_the_time_limit_and_a_plan_comes_back_in_time(
    client: RingplanClient,
) -> None:
    instance = load_instance("ringplan/examples/city.json")
    # A process that has imported the solver takes the call (a cold one has its own test).
    assert client.solve(tiny(), time_limit=5).status == "optimal"
    # 60 s asked, 8 s of deadline: the plan comes back in time (8 s leave a loaded two-core
    # machine room to start, plan and send the city; 4 s did not at load 7 and above).
    deadline = 8.0
    start = time.perf_counter()
    result = client.solve(instance, time_limit=60, timeout=deadline)
    assert time.perf_counter() - start < deadline
    assert result.wall_time < deadline - CONFIG.deadline_margin + 0.3
    checked(instance, result)
    assert wait_idle(client, timeout=10) < STOPPED_WITHIN


def test_deadline_holds_when_the_solver_process_must_start_first(tmp_path: Path) -> None:
    # The solver process takes 3 s to take the call's work, as a fresh one does while it
    # imports the solver (held here, so that the wait is known: a fresh process took 13 s and
    # 26 s niced at load 10, past any such deadline). That wait comes off the solve,
    # which asked for 60 s of a search that never ends early, so the plan still comes back by
    # the deadline.
    instance = busy_instance()
    # A margin of 5 s to reply, as for the what-if calls (tests/test_whatif_server.py).
    config = replace(
        CONFIG, max_concurrent_solves=1, deadline_margin=5.0, jobs_db=str(tmp_path / "jobs.sqlite3")
    )
    deadline = 12.0
    with create_server(config) as server, RingplanClient(server.target) as client:
        assert client.solve(tiny(), time_limit=5).status == "optimal"  # its process is ready
        (pid,) = server.pool.idle_pids
        with held(pid, 3.0):
            result = client.solve(instance, time_limit=60, workers=1, timeout=deadline)
    checked(instance, result)
    assert result.wall_time < deadline - config.deadline_margin


def test_expired_deadline_stops_the_solve_at_once() -> None:
    # With no margin the solve may run right up to the deadline; once the deadline has passed
    # the server must be idle again at once (within STOPPED_WITHIN of the 60 s asked for),
    # whichever way the call ended.
    config = ServerConfig(port=0, deadline_margin=0.0, drain=0.0)
    with create_server(config) as server, RingplanClient(server.target) as client:
        timeout = 2.5
        start = time.perf_counter()
        try:
            client.solve(busy_instance(), time_limit=60, timeout=timeout)
        except RingplanError as error:
            assert error.code is grpc.StatusCode.DEADLINE_EXCEEDED
        expired = start + timeout
        wait_idle(client, timeout=10)
        assert time.perf_counter() - expired < STOPPED_WITHIN


def test_deadline_shorter_than_the_margin_is_refused_at_once(client: RingplanClient) -> None:
    with pytest.raises(RingplanError) as caught:
        client.solve(tiny(), time_limit=10, timeout=CONFIG.deadline_margin / 2)
    assert caught.value.code is grpc.StatusCode.DEADLINE_EXCEEDED
    assert client.info().active_solves == 0


def test_excess_solves_are_rejected_at_once_while_health_stays_fast() -> None:
    config = ServerConfig(port=0, max_concurrent_solves=2, drain=0.0, retry_after=2.5)
    instance = busy_instance()
    extra = 5
    with create_server(config) as server, RingplanClient(server.target) as client:
        outcomes: list[tuple[str, float, RingplanError | None]] = []

        def call() -> None:
            start = time.perf_counter()
            try:
                client.solve(instance, time_limit=4, preset="fast")
                outcomes.append(("ok", time.perf_counter() - start, None))
            except RingplanError as error:
                outcomes.append((error.code.name, time.perf_counter() - start, error))

        with ThreadPoolExecutor(config.max_concurrent_solves + extra) as pool:
            first = [pool.submit(call) for _ in range(config.max_concurrent_solves)]
            slots = config.max_concurrent_solves
            wait_until(lambda: client.info().active_solves >= slots, 30, "the slots never filled")
            rest = [pool.submit(call) for _ in range(extra)]
            latencies = []
            while not all(f.done() for f in first):
                start = time.perf_counter()
                assert client.health() == "SERVING"
                latencies.append(time.perf_counter() - start)
                time.sleep(0.01)
            for f in [*first, *rest]:
                f.result()
    rejected = [o for o in outcomes if o[0] != "ok"]
    assert len(rejected) == extra
    assert {o[0] for o in rejected} == {"RESOURCE_EXHAUSTED"}
    assert all(o[2] is not None and o[2].retry_after == 2.5 for o in rejected)
    assert max(o[1] for o in rejected) < 1.0  # at once, not after a queue
    assert len(latencies) >= 20
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))]
    # Queued behind the solves, a health check would wait seconds (each solve takes 4 s); the
    # milliseconds it takes on a quiet machine are measured in RELIABILITY.md, not asserted here,
    # as a loaded two-core machine stretches them to around 0.1 s.
    assert p99 < 0.5, f"health p99 {p99 * 1000:.1f} ms"


def _bad(change: Any) -> pb.Instance:
    message = instance_to_proto(tiny())
    change(message)
    return message


def _set(path: str, value: Any) -> Any:
    def change(message: pb.Instance) -> None:
        *parents, last = path.split(".")
        target: Any = message
        for part in parents:
            name, _, index = part.partition("[")
            target = getattr(target, name)
            if index:
                target = target[int(index.rstrip("]"))]
        setattr(target, last, value)

    return change


def _duplicate_unit(message: pb.Instance) -> None:
    message.units[1].id = message.units[0].id


def _no_rings(message: pb.Instance) -> None:
    del message.venues[0].rings[:]


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        # a dangling reference: the unit's home region does not exist
        (_set("units[2].home.region", "ntt-x"), "instance.units[2].home.region", "unknown region"),
        # two units share one id
        (_duplicate_unit, "instance.units[1].id", "duplicate id"),
        # a shift that ends before it starts
        (_set("shifts[1].end", "2024-02-14T05:00:00+07:00"), "instance.shifts[1].end", "not after"),
        # a negative headcount
        (_set("units[0].headcount", -2), "instance.units[0].headcount", "greater than or equal"),
        # a risk level the API does not define
        (_set("venues[0].risk", 9), "instance.venues[0].risk", "unknown RiskLevel value 9"),
        # an enum left at its zero value
        (_set("units[3].force", 0), "instance.units[3].force", "other than UNSPECIFIED"),
        # a venue with no ring
        (_no_rings, "instance.venues[0].rings", "1 to 4 rings"),
        # a negative ring capacity
        (
            _set("venues[0].rings[0].capacity", -1),
            "instance.venues[0].rings[0].capacity",
            "greater than or equal",
        ),
        # a time without its UTC offset
        (_set("shifts[0].start", "2024-02-14T06:00:00"), "instance.shifts[0].start", "timezone"),
    ],
)
def test_bad_instance_gets_invalid_argument_naming_the_field(
    client: RingplanClient, change: Any, field: str, words: str
) -> None:
    message = _bad(change)
    with pytest.raises(RingplanError) as caught:
        client.solve(message, time_limit=5)
    error = caught.value
    assert error.code is grpc.StatusCode.INVALID_ARGUMENT
    matching = [v for v in error.violations if v.field == field]
    assert matching, error.violations
    assert words in matching[0].description
    # The same problems come back from Validate, as an answer.
    report = client.validate(message)
    assert not report.valid
    assert field in {p.field for p in report.problems}


def test_bad_options_are_reported_with_the_instance_problems(client: RingplanClient) -> None:
    message = _bad(_set("units[0].headcount", 0))
    bad_hint = Plan.model_construct(
        assignments=(Assignment.model_construct(unit="u0", venue="kpu", ring=7, shift="s0"),)
    )
    with pytest.raises(RingplanError) as caught:
        client.solve(message, time_limit=-1, preset="turbo", hint=bad_hint, seed=2**40)
    fields = {v.field for v in caught.value.violations}
    assert {
        "instance.units[0].headcount",
        "options.time_limit_seconds",
        "options.seed",
        "options.preset",
        "options.hint.assignments[0].ring",
    } == fields


def test_validate_reports_every_problem_at_once_and_warnings_when_valid(
    client: RingplanClient,
) -> None:
    message = _bad(_set("units[0].headcount", 0))
    message.units[1].home.region = "nowhere"
    message.venues[0].rings[1].number = 9
    report = client.validate(message)
    assert {p.field for p in report.problems} == {
        "instance.units[0].headcount",
        "instance.units[1].home.region",
        "instance.venues[0].rings[1].number",
    }
    short = make([venue(rings=[ring(1, 2, 5)])], [unit("u")])
    ok = client.validate(short)
    assert ok.valid and not ok.problems
    assert any("a shortfall is unavoidable" in w for w in ok.warnings)


def test_oversized_instances_are_refused_before_the_model_is_built() -> None:
    config = ServerConfig(port=0, max_units=3, max_candidates=10, drain=0.0)
    with create_server(config) as server, RingplanClient(server.target) as client:
        with pytest.raises(RingplanError) as caught:
            client.solve(tiny())
        assert caught.value.code is grpc.StatusCode.INVALID_ARGUMENT
        assert caught.value.violations[0].field == "instance.units"
        assert "limit of 3" in caught.value.violations[0].description
        small = make([venue(rings=[ring(1, 9, 3)])], [unit("a"), unit("b")], shifts(6))
        with pytest.raises(RingplanError) as caught:
            client.solve(small)
        assert caught.value.violations[0].field == "instance"
        assert "12 candidate assignments" in caught.value.violations[0].description


def test_under_resourced_instance_is_an_answer_not_an_error(client: RingplanClient) -> None:
    instance = make([venue(rings=[ring(1, 10, 6)], risk="very_high")], [unit("only")])
    result = checked(instance, client.solve(instance, time_limit=10))
    assert result.status == "optimal"
    assert result.total_shortfall == 11
    (row,) = result.coverage
    assert row.rule == "capacity" and "holds at most 10" in row.reason
    assert row.remedy.startswith("kpu ring 1 capacity 10 -> 12; or 9 more police or TNI people")
    assert result.figures is not None and result.figures.uncovered_people_shifts == 11


def test_info_reports_versions_limits_and_presets(client: RingplanClient) -> None:
    info = client.info()
    assert info.server_version == "0.1.0"
    assert info.solver_version.startswith("OR-Tools 9.15")
    assert info.limits.max_concurrent_solves == CONFIG.max_concurrent_solves
    assert info.limits.max_message_bytes == CONFIG.max_message_bytes
    assert "default" in info.presets


def test_reflection_lists_the_service(server: Any) -> None:
    with grpc.insecure_channel(server.target) as channel:
        services = ProtoReflectionDescriptorDatabase(channel).get_services()
    assert SERVICE_NAME in services
    assert "grpc.health.v1.Health" in services


def test_reflection_can_be_switched_off() -> None:
    config = ServerConfig(port=0, reflection=False, drain=0.0)
    with create_server(config) as server, grpc.insecure_channel(server.target) as channel:
        with pytest.raises(grpc.RpcError) as caught:
            ProtoReflectionDescriptorDatabase(channel).get_services()
        assert caught.value.code() is grpc.StatusCode.UNIMPLEMENTED


def test_a_second_server_cannot_share_the_port(server: Any) -> None:
    with pytest.raises(OSError, match="cannot listen"):
        create_server(ServerConfig(port=server.port))


def test_shutdown_flips_health_refuses_new_solves_and_lets_in_flight_finish() -> None:
    # Health must turn NOT_SERVING during the drain, while calls are still answered; a drain
    # of 3 s gives a loaded machine time to see it (the in-flight solve takes 4 s anyway).
    config = ServerConfig(port=0, drain=3.0, grace=6.0)
    instance = load_instance("ringplan/examples/city.json")
    server = create_server(config).start()
    with RingplanClient(server.target) as client:
        assert client.health() == "SERVING"
        # The in-flight solve runs in a process that has imported the solver: a fresh one
        # takes longer than the grace to do so on a loaded machine.
        assert client.solve(tiny(), time_limit=5).status == "optimal"
        with ThreadPoolExecutor(1) as pool:
            running = pool.submit(client.solve, instance, time_limit=4, preset="fast")
            wait_until(lambda: client.info().active_solves >= 1, 30, "the solve never started")
            stopper = threading.Thread(target=server.shutdown)
            stopper.start()
            deadline = time.perf_counter() + config.drain * 0.8
            status = "SERVING"
            while status == "SERVING" and time.perf_counter() < deadline:
                status = client.health()
            assert status == "NOT_SERVING"
            with pytest.raises(RingplanError) as caught:
                client.solve(tiny(), time_limit=1)
            assert caught.value.code is grpc.StatusCode.UNAVAILABLE
            result = running.result(timeout=30)
        stopper.join(timeout=30)
    assert not stopper.is_alive()
    checked(instance, result)
    assert result.status.has_plan


def test_serve_command_stops_cleanly_on_sigterm() -> None:
    env = {**os.environ, "RINGPLAN_PORT": "0", "RINGPLAN_DRAIN": "0.1"}
    process, target = start_serve(env=env)
    try:
        assert target.startswith("127.0.0.1:")
        assert process.stdout is not None
        with RingplanClient(target) as client:
            assert client.health() == "SERVING"
            assert checked(tiny(), client.solve(tiny(), time_limit=5)).status == "optimal"
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0
        assert "ringplan stopped" in process.stdout.read()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_a_crashed_solver_process_fails_its_call_and_the_server_keeps_serving() -> None:
    config = ServerConfig(port=0, max_concurrent_solves=1, drain=0.0)
    with create_server(config) as server, RingplanClient(server.target) as client:
        with ThreadPoolExecutor(1) as pool:
            call = pool.submit(client.solve, busy_instance(), time_limit=30)
            wait_until(lambda: bool(server.pool.busy_pids), 30, "no solver process took the call")
            time.sleep(0.3)
            os.kill(server.pool.busy_pids[0], signal.SIGKILL)
            with pytest.raises(RingplanError) as caught:
                call.result(timeout=10)
        assert caught.value.code is grpc.StatusCode.INTERNAL
        assert "killed by signal 9" in caught.value.message
        assert client.health() == "SERVING"
        assert client.info().active_solves == 0
        # The slot and a fresh worker are there for the next call.
        assert checked(tiny(), client.solve(tiny(), time_limit=10)).status == "optimal"


def test_closing_the_pool_kills_idle_workers_that_do_not_exit() -> None:
    pool = WorkerPool(2, WorkerLimits(), overrun_grace=5.0)
    pids = pool.idle_pids
    assert len(pids) == 2
    for pid in pids:  # a stopped process cannot take the request to exit
        os.kill(pid, signal.SIGSTOP)
    pool.close(timeout=0.5)
    for pid in pids:  # killed and reaped
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    assert pool.idle_pids == []


def test_a_solve_that_overruns_its_time_limit_is_stopped_by_the_watchdog() -> None:
    # No grace at all: building the busy model alone outlasts a 0.2 s limit.
    config = ServerConfig(port=0, max_concurrent_solves=1, overrun_grace=0.0, drain=0.0)
    with create_server(config) as server, RingplanClient(server.target) as client:
        with pytest.raises(RingplanError) as caught:
            client.solve(busy_instance(), time_limit=0.2)
        assert caught.value.code is grpc.StatusCode.INTERNAL
        assert "overran its time limit" in caught.value.message
        assert client.health() == "SERVING"
        assert checked(tiny(), client.solve(tiny(), time_limit=10)).status == "optimal"


def test_a_solver_process_slow_to_start_is_not_taken_for_an_overrun() -> None:
    # The watchdog counts a solve's time limit from when its process takes the task. A fresh
    # process held up before its first task (stopped here for 6 s, as a loaded machine holds
    # up its imports) still plans; it used to be killed as overrunning its 1 s + 3 s.
    pool = WorkerPool(1, WorkerLimits(), overrun_grace=3.0)
    try:
        (pid,) = pool.idle_pids
        os.kill(pid, signal.SIGSTOP)
        job = Job(instance=tiny(), time_limit=1.0, workers=1, preset="default", seed=0, hint=None)
        with ThreadPoolExecutor(1) as threads:
            running = threads.submit(pool.run, job, None, Ticket())
            time.sleep(6.0)  # held past the time limit and the grace together
            with contextlib.suppress(ProcessLookupError):  # killed as overrunning: the failure
                os.kill(pid, signal.SIGCONT)
            result = running.result(timeout=120)
    finally:
        pool.close()
    assert checked(tiny(), result).status == "optimal"


def test_a_solve_over_the_memory_cap_fails_with_the_reason_and_the_server_keeps_serving() -> None:
    config = ServerConfig(port=0, max_concurrent_solves=1, worker_memory_mb=300, drain=0.0)
    with create_server(config) as server, RingplanClient(server.target) as client:
        with pytest.raises(RingplanError) as caught:
            client.solve(busy_instance(), time_limit=10)
        assert caught.value.code is grpc.StatusCode.INTERNAL
        assert "memory" in caught.value.message
        assert client.health() == "SERVING"
        assert client.info().active_solves == 0


def test_a_second_server_on_the_same_job_store_is_refused(server: Any) -> None:
    with pytest.raises(OSError, match="in use by another server"):
        create_server(ServerConfig(port=0, jobs_db=server.config.jobs_db))


def test_sigterm_to_any_thread_of_the_server_stops_it_in_order() -> None:
    # The kernel may hand a process's SIGTERM to any of its threads; sent to one that is not
    # the main thread (as tgkill does here, every time), it must still stop the server.
    process, _ = start_serve("--port", "0")
    try:
        others = [int(t) for t in os.listdir(f"/proc/{process.pid}/task") if int(t) != process.pid]
        libc = ctypes.CDLL(None, use_errno=True)
        assert libc.tgkill(process.pid, others[0], signal.SIGTERM) == 0
        assert process.wait(timeout=30) == 0
        assert process.stdout is not None and "ringplan stopped" in process.stdout.read()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_solver_processes_die_with_a_killed_server() -> None:
    # Killed at once: the solver processes are still starting (importing the solver).
    process, _ = start_serve("--port", "0", "--max-concurrent-solves", "2")
    children = [
        int(pid)
        for pid in Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()
    ]
    assert len(children) >= 2
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    started = time.perf_counter()
    while any(alive(pid) for pid in children) and time.perf_counter() - started < 10:
        time.sleep(0.01)
    assert not any(alive(pid) for pid in children)
    assert time.perf_counter() - started < 2.0
