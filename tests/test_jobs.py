"""Durable jobs: the SQLite store on its own, and the Jobs API against a real server."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from ringplan.v1 import ringplan_service_pb2 as api
from server.admission import Admission
from server.app import create_server
from server.client import JobView, RingplanClient, RingplanError
from server.config import ServerConfig
from server.convert import instance_to_proto
from server.jobs.manager import JobManager
from server.jobs.state import JobState
from server.jobs.store import SCHEMA, JobRecord, JobStore, Quota, QuotaExceeded
from server.workers import WorkerLimits, WorkerPool
from solver import Instance, check_plan, load_instance
from tests.factory import busy_instance, make, ring, shifts, start_serve, unit, venue, wait_until

CITY = "ringplan/examples/city.json"


def tiny() -> Instance:
    return make(
        [venue(rings=[ring(1, 3, 2), ring(2, 6, 3)], risk="high")],
        [unit(f"u{i}") for i in range(5)],
        shifts(2, hours=12),
    )


# -- the store -------------------------------------------------------------------------


def test_store_submit_is_idempotent_per_tenant_and_request_id(tmp_path: Path) -> None:
    store = JobStore(tmp_path / "jobs.sqlite3")
    first, created = store.submit("a", "req-1", b"x")
    again, created_again = store.submit("a", "req-1", b"y")
    other, created_other = store.submit("b", "req-1", b"z")
    assert created and not created_again and created_other
    assert again.id == first.id and again.request == b"x"
    assert other.id != first.id
    assert first.state is JobState.QUEUED


def test_store_keeps_jobs_across_reopening_and_requeues_interrupted_ones(tmp_path: Path) -> None:
    path = tmp_path / "jobs.sqlite3"
    store = JobStore(path)
    running, _ = store.submit("a", None, b"r")
    waiting, _ = store.submit("a", None, b"w")
    assert store.claim_next() == store.get(running.id)
    store.record_progress(running.id, progress=b"p", incumbent=b"plan")
    store.close()  # as if the server had died here

    reopened = JobStore(path)
    requeued = reopened.requeue_interrupted()
    assert [r.id for r in requeued] == [running.id]
    again = reopened.get(running.id)
    assert again is not None
    assert again.state is JobState.QUEUED and again.incumbent == b"plan"
    assert "interrupted" in again.reason
    assert reopened.claim_next() == reopened.get(running.id)  # first in, first out
    claimed = reopened.get(running.id)
    assert claimed is not None and claimed.attempts == 2
    assert reopened.get(waiting.id) is not None


def test_store_made_before_crashes_were_counted_opens_and_counts_them(tmp_path: Path) -> None:
    path = tmp_path / "jobs.sqlite3"
    old = sqlite3.connect(path)
    old.executescript(SCHEMA.replace("    crashes INTEGER NOT NULL DEFAULT 0,\n", ""))
    old.execute(
        "INSERT INTO jobs (id, tenant, state, created_at, updated_at, started_at, attempts, "
        "request) VALUES ('j', 'a', 'running', 0, 0, 0, 1, x'00')"
    )
    old.commit()
    old.close()
    store = JobStore(path)
    assert [r.id for r in store.requeue_interrupted(3)] == ["j"]
    again = store.get("j")
    assert again is not None and again.state is JobState.QUEUED and again.crashes == 1


def _consistent(record: JobRecord) -> list[str]:
    """What is wrong with a job's row, judged by the rules of its state."""
    wrong = []
    if record.state.final != (record.finished_at is not None):
        wrong.append("finished_at disagrees with the state")
    if record.state is JobState.SUCCEEDED and record.result is None:
        wrong.append("succeeded without a result")
    if record.state is JobState.RUNNING and (record.started_at is None or record.attempts < 1):
        wrong.append("running but never started")
    if record.state is JobState.QUEUED and record.result is not None:
        wrong.append("queued with a result")
    return wrong


class Fault(Exception):
    """A write that fails part-way."""


def test_torn_writes_leave_every_job_in_exactly_one_valid_state(tmp_path: Path) -> None:
    rng = random.Random(7)
    path = tmp_path / "jobs.sqlite3"
    armed = {"p": 0.0}

    def fault(point: str) -> None:
        if rng.random() < armed["p"]:
            raise Fault(point)

    store = JobStore(path, fault=fault)
    faults = 0
    for step in range(600):
        armed["p"] = 0.3
        action = rng.choice(["submit", "claim", "progress", "finish", "cancel", "requeue"])
        ids = [r.id for r in store.page("t", None, 1000, None)]
        try:
            if action == "submit" or not ids:
                store.submit("t", f"r{rng.randrange(40)}", b"req")
            elif action == "claim":
                store.claim_next()
            elif action == "progress":
                store.record_progress(rng.choice(ids), progress=b"p", incumbent=b"i")
            elif action == "finish":
                state = rng.choice([JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED])
                result = b"res" if state is JobState.SUCCEEDED else None
                store.finish(rng.choice(ids), state, "done", result)
            elif action == "cancel":
                store.request_cancel(rng.choice(ids))
            else:
                store.requeue_interrupted()
        except Fault:
            faults += 1
        armed["p"] = 0.0
        if step % 100 == 99:
            store.close()
            store = JobStore(path, fault=fault)
    store.close()
    assert faults > 50

    reopened = JobStore(path)
    assert reopened.integrity() == "ok"
    records = reopened.page("t", None, 1000, None)
    assert records
    assert len({r.request_id for r in records}) == len(records)  # no duplicate submission
    for record in records:
        assert record.state in set(JobState)
        assert not _consistent(record), (record.id, _consistent(record))


def test_kill_during_writes_leaves_a_clean_store(tmp_path: Path) -> None:
    path = tmp_path / "jobs.sqlite3"
    writer = textwrap.dedent(
        f"""
        from server.jobs.state import JobState
        from server.jobs.store import JobStore
        store = JobStore({str(path)!r})
        i = 0
        while True:
            job, _ = store.submit("t", f"r{{i}}", b"x" * 5000)
            store.claim_next()
            store.record_progress(job.id, progress=b"p" * 2000, incumbent=b"i" * 20000)
            store.finish(job.id, JobState.SUCCEEDED, result=b"r" * 20000)
            i += 1
            if i == 5:
                print("writing", flush=True)
        """
    )
    process = subprocess.Popen(
        [sys.executable, "-c", writer], stdout=subprocess.PIPE, text=True, cwd=os.getcwd()
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "writing"
    time.sleep(0.5)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    store = JobStore(path)
    assert store.integrity() == "ok"
    records = store.page("t", None, 100_000, None)
    assert len(records) > 5
    for record in records:
        assert not _consistent(record)


@pytest.fixture
def manager(tmp_path: Path) -> Iterator[JobManager]:
    """A job manager on a fresh store, not dispatching."""
    config = ServerConfig(jobs_db=str(tmp_path / "jobs.sqlite3"))
    store = JobStore(config.jobs_db)
    pool = WorkerPool(1, WorkerLimits(), 5.0)
    try:
        yield JobManager(store, pool, Admission(1), config)
    finally:
        pool.close()
        store.close()


def _request() -> api.SubmitJobRequest:
    return api.SubmitJobRequest(instance=instance_to_proto(tiny()))


def test_a_job_of_another_tenant_is_not_found(manager: JobManager) -> None:
    record, _ = manager.submit("alpha", _request())
    assert manager.get("alpha", record.id).id == record.id
    for call in (manager.get, manager.cancel):
        with pytest.raises(Exception) as caught:
            call("beta", record.id)
        assert getattr(caught.value, "code", None) is grpc.StatusCode.NOT_FOUND
    assert manager.page("beta", None, 10, "")[0] == []


# -- the Jobs API ----------------------------------------------------------------------


@pytest.fixture
def client(tmp_path: Path) -> Iterator[RingplanClient]:
    config = ServerConfig(
        port=0, max_concurrent_solves=1, drain=0.0, jobs_db=str(tmp_path / "jobs.sqlite3")
    )
    with create_server(config) as server, RingplanClient(server.target) as client:
        yield client


def _final(client: RingplanClient, job_id: str, timeout: float = 60) -> JobView:
    views = list(client.watch_job(job_id, timeout=timeout))
    assert views[-1].state.final
    return views[-1]


def test_submitted_job_runs_and_its_watch_ends_with_a_checked_result(
    client: RingplanClient,
) -> None:
    instance = tiny()
    job, created = client.submit_job(instance, request_id="plan-1", time_limit=10)
    assert created and job.state in (JobState.QUEUED, JobState.RUNNING)
    views = list(client.watch_job(job.id, timeout=60))
    states = [v.state for v in views]
    assert states[-1] is JobState.SUCCEEDED
    assert states == sorted(states, key=list(JobState).index)  # never goes back
    final = views[-1]
    assert final.result is not None and final.result.status == "optimal"
    assert check_plan(instance, final.result.plan).ok
    assert final.attempts == 1 and final.finished_at >= final.started_at >= final.created_at
    assert client.get_job(job.id).result == final.result


def test_submitting_the_same_request_id_again_returns_the_first_job(
    client: RingplanClient,
) -> None:
    first, created = client.submit_job(tiny(), request_id="once", time_limit=10)
    again, created_again = client.submit_job(tiny(), request_id="once", time_limit=10)
    assert created and not created_again
    assert again.id == first.id
    jobs, _ = client.list_jobs()
    assert [j.id for j in jobs] == [first.id]


def test_cancel_ends_queued_and_running_jobs(client: RingplanClient) -> None:
    city = load_instance(CITY)
    running, _ = client.submit_job(city, time_limit=60)
    queued, _ = client.submit_job(city, time_limit=60)
    wait_until(lambda: client.get_job(running.id).state is JobState.RUNNING, 60, "never ran")
    assert client.get_job(queued.id).state is JobState.QUEUED  # one slot only

    assert client.cancel_job(queued.id).state is JobState.CANCELLED
    client.cancel_job(running.id)
    start = time.perf_counter()
    final = _final(client, running.id)
    assert final.state is JobState.CANCELLED
    # At once: a quarter second on a quiet machine, far under the minute asked for; a loaded
    # machine's slow wake-ups have stretched it past a second.
    assert time.perf_counter() - start < 3.0
    assert client.info().active_solves == 0
    # A finished job is returned unchanged.
    assert client.cancel_job(queued.id).state is JobState.CANCELLED


def test_list_jobs_pages_newest_first_and_filters_by_state(
    client: RingplanClient,
) -> None:
    ids = [client.submit_job(tiny(), request_id=f"r{i}", time_limit=10)[0].id for i in range(5)]
    for job_id in ids:
        _final(client, job_id)
    page, token = client.list_jobs(page_size=2)
    assert [j.id for j in page] == ids[::-1][:2] and token
    rest, last = client.list_jobs(page_size=10, page_token=token)
    assert [j.id for j in rest] == ids[::-1][2:] and last == ""
    assert all(j.result is None for j in page)  # lists leave results out
    succeeded, _ = client.list_jobs(state=JobState.SUCCEEDED)
    assert len(succeeded) == 5
    assert client.list_jobs(state=JobState.FAILED)[0] == []


def test_job_calls_with_bad_input_name_the_field(client: RingplanClient) -> None:
    with pytest.raises(RingplanError) as caught:
        client.get_job("no-such-job")
    assert caught.value.code is grpc.StatusCode.NOT_FOUND
    with pytest.raises(RingplanError) as caught:
        client.list_jobs(page_token="zzz")
    assert caught.value.violations[0].field == "page_token"
    bad = tiny().model_copy(update={"units": ()})
    message = instance_to_proto(bad)
    message.units.add(id="x", headcount=0)
    with pytest.raises(RingplanError) as caught:
        client.submit_job(message, time_limit=5)
    assert caught.value.code is grpc.StatusCode.INVALID_ARGUMENT
    assert "instance.units[0].headcount" in {v.field for v in caught.value.violations}
    assert client.list_jobs()[0] == []  # nothing was stored


def _one_slot_env(tmp_path: Path, **settings: str) -> dict[str, str]:
    """Environment of a ``ringplan serve`` with one solve slot and its store in ``tmp_path``."""
    return {
        **os.environ,
        "RINGPLAN_PORT": "0",
        "RINGPLAN_JOBS_DB": str(tmp_path / "jobs.sqlite3"),
        "RINGPLAN_MAX_CONCURRENT_SOLVES": "1",
        "RINGPLAN_DRAIN": "0",
        **settings,
    }


def _has_incumbent(path: Path, job_id: str) -> bool:
    """Whether the store file holds an incumbent plan of the job (read beside its server)."""
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        row = db.execute("SELECT incumbent IS NOT NULL FROM jobs WHERE id = ?", (job_id,))
        return bool(row.fetchone()[0])


def test_kill_9_loses_no_job_and_the_interrupted_one_restarts_warm(tmp_path: Path) -> None:
    env = _one_slot_env(tmp_path)

    city = load_instance(CITY)
    process, target = start_serve(env=env)
    try:
        with RingplanClient(target) as client:
            # The first job asks for a minute, so it is surely still running when the server
            # is killed (a job of 4 s sometimes ended first on a loaded machine); the next
            # server grants every job at most 4 s.
            first, _ = client.submit_job(city, request_id="a", time_limit=60)
            queued = [client.submit_job(city, request_id=r, time_limit=4)[0] for r in "bc"]
            store = tmp_path / "jobs.sqlite3"
            wait_until(lambda: _has_incumbent(store, first.id), 60, "no incumbent plan kept")
            assert client.get_job(first.id).state is JobState.RUNNING
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)

        process, target = start_serve(env={**env, "RINGPLAN_MAX_TIME_LIMIT": "4"})
        with RingplanClient(target) as client:
            finals = {job.id: _final(client, job.id, 120) for job in [first, *queued]}
            jobs, _ = client.list_jobs()
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    assert sorted(j.id for j in jobs) == sorted(finals)  # nothing lost, nothing duplicated
    assert all(v.state is JobState.SUCCEEDED for v in finals.values())
    for view in finals.values():
        assert view.result is not None and check_plan(city, view.result.plan).ok
    restarted = finals[first.id]
    assert restarted.attempts == 2
    assert "warm-started from its last plan" in restarted.reason
    assert [finals[q.id].attempts for q in queued] == [1, 1]


def test_watchers_that_leave_free_their_threads_while_the_job_waits(tmp_path: Path) -> None:
    # One slot, held by a long job; a second job waits. Watchers of the waiting job give up
    # after 0.3 s: the server must not keep a thread for each of them.
    config = ServerConfig(
        port=0, max_concurrent_solves=1, drain=0.0, jobs_db=str(tmp_path / "jobs.sqlite3")
    )
    with create_server(config) as server, RingplanClient(server.target) as client:
        city = load_instance(CITY)
        running, _ = client.submit_job(city, time_limit=20)
        waiting, _ = client.submit_job(city, time_limit=20)
        wait_until(lambda: client.get_job(running.id).state is JobState.RUNNING, 60, "never ran")
        for _ in range(25):  # more than the server's spare handler threads
            with pytest.raises(RingplanError) as caught:
                list(client.watch_job(waiting.id, timeout=0.3))
            assert caught.value.code is grpc.StatusCode.DEADLINE_EXCEEDED
        time.sleep(0.2)
        start = time.perf_counter()
        assert client.info().active_solves == 1
        assert client.health() == "SERVING"
        assert time.perf_counter() - start < 2.0
        client.cancel_job(running.id)
        client.cancel_job(waiting.id)


def test_a_second_server_cannot_open_a_store_in_use(tmp_path: Path) -> None:
    path = tmp_path / "jobs.sqlite3"
    first = JobStore(path)
    with pytest.raises(OSError, match="in use by another server"):
        JobStore(path)
    first.close()
    JobStore(path).close()  # free again once the first has closed it


# -- page tokens and request ids --------------------------------------------------------


@pytest.mark.parametrize(
    "token",
    [
        "9" * 40,  # a number past SQLite's integers
        " 5 ",  # what int() would take
        "1_0",  # what int() would take
        "A" * 43,  # the right length, a made-up tag
        "x" * 10_000,  # far too long
    ],
)
def test_list_jobs_refuses_a_page_token_it_did_not_give(client: RingplanClient, token: str) -> None:
    client.submit_job(tiny(), request_id="one", time_limit=5)
    with pytest.raises(RingplanError) as caught:
        client.list_jobs(page_token=token)
    assert caught.value.code is grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in caught.value.violations] == ["page_token"]


def test_page_tokens_reveal_no_position_and_serve_only_their_tenant(manager: JobManager) -> None:
    for _ in range(3):
        manager.submit("alpha", _request())
        manager.submit("beta", _request())
    _, token = manager.page("alpha", None, 1, "")
    _, again = manager.page("alpha", None, 1, "")
    assert token and again and token != again  # the same position, sealed twice
    assert len(token) == len(again) and not token.isdigit()
    assert [r.tenant for r in manager.page("alpha", None, 10, token)[0]] == ["alpha"] * 2
    with pytest.raises(Exception) as caught:
        manager.page("beta", None, 10, token)
    assert getattr(caught.value, "code", None) is grpc.StatusCode.INVALID_ARGUMENT


def test_page_tokens_outlive_a_server_restart(tmp_path: Path) -> None:
    config = ServerConfig(
        port=0, max_concurrent_solves=1, drain=0.0, jobs_db=str(tmp_path / "jobs.sqlite3")
    )
    with create_server(config) as server, RingplanClient(server.target) as client:
        ids = [client.submit_job(tiny(), time_limit=5)[0].id for _ in range(3)]
        _, token = client.list_jobs(page_size=1)
    with create_server(config) as server, RingplanClient(server.target) as client:
        rest, last = client.list_jobs(page_token=token)
    assert [j.id for j in rest] == ids[::-1][1:] and last == ""


def test_a_request_id_reused_for_another_request_is_already_exists(
    client: RingplanClient,
) -> None:
    first, _ = client.submit_job(tiny(), request_id="plan-7", time_limit=5)
    again, created = client.submit_job(tiny(), request_id="plan-7", time_limit=5)
    assert again.id == first.id and not created  # the same request: the same job
    other = tiny().model_copy(update={"name": "another"})
    with pytest.raises(RingplanError) as caught:
        client.submit_job(other, request_id="plan-7", time_limit=5)
    assert caught.value.code is grpc.StatusCode.ALREADY_EXISTS
    assert first.id in caught.value.message and "instance" in caught.value.message
    with pytest.raises(RingplanError) as caught:
        client.submit_job(tiny(), request_id="plan-7", time_limit=6)
    assert caught.value.code is grpc.StatusCode.ALREADY_EXISTS
    assert "options" in caught.value.message
    assert [j.id for j in client.list_jobs()[0]] == [first.id]


# -- retention, quota and crash loops ---------------------------------------------------


def _described(size: int) -> Instance:
    return tiny().model_copy(update={"description": "x" * size})


def test_finished_jobs_expire_and_answer_not_found_saying_so(tmp_path: Path) -> None:
    config = ServerConfig(
        port=0,
        max_concurrent_solves=1,
        drain=0.0,
        jobs_db=str(tmp_path / "jobs.sqlite3"),
        job_retention=1.0,
        job_cleanup_interval=0.1,
    )
    with create_server(config) as server, RingplanClient(server.target) as client:
        job, _ = client.submit_job(tiny(), time_limit=5)
        assert _final(client, job.id).state is JobState.SUCCEEDED
        deadline = time.monotonic() + 30
        while client.list_jobs()[0]:
            assert time.monotonic() < deadline, "the finished job was never removed"
            time.sleep(0.1)
        with pytest.raises(RingplanError) as caught:
            client.get_job(job.id)
        assert caught.value.code is grpc.StatusCode.NOT_FOUND
        assert "has expired" in caught.value.message and "kept 1 s" in (caught.value.message)
        with pytest.raises(RingplanError) as caught:
            list(client.watch_job(job.id, timeout=10))
        assert "has expired" in caught.value.message
        assert server.store.free_pages() == 0


def test_expiry_gives_the_space_back(tmp_path: Path) -> None:
    path = tmp_path / "jobs.sqlite3"
    now = [1000.0]
    store = JobStore(path, clock=lambda: now[0])
    for _ in range(5):
        record, _ = store.submit("t", None, b"x" * 2_000_000)
        store.finish(record.id, JobState.FAILED, "done")
    store.close()
    full = path.stat().st_size
    assert full > 10_000_000
    store = JobStore(path, clock=lambda: now[0])
    now[0] += 10
    assert len(store.expire(finished_before=now[0], forget_before=0)) == 5
    assert store.free_pages() == 0 and store.usage("t") == (0, 0)
    store.close()  # the last connection checkpoints the log into the file
    assert path.stat().st_size < full / 10
    assert JobStore(path).expired(record.id) is not None


def test_a_store_made_without_auto_vacuum_is_converted_when_opened(tmp_path: Path) -> None:
    path = tmp_path / "jobs.sqlite3"
    sqlite3.connect(path).executescript("CREATE TABLE old (x); INSERT INTO old VALUES (1);")
    store = JobStore(path)
    assert store.free_pages() == 0
    store.close()
    assert sqlite3.connect(path).execute("PRAGMA auto_vacuum").fetchone()[0] == 2


def test_job_quota_per_tenant_refuses_with_resource_exhausted(tmp_path: Path) -> None:
    config = ServerConfig(
        port=0,
        max_concurrent_solves=1,
        drain=0.0,
        jobs_db=str(tmp_path / "jobs.sqlite3"),
        max_jobs_per_tenant=4,
        max_job_bytes_per_tenant=1_000_000,
    )
    with create_server(config) as server, RingplanClient(server.target) as client:
        # Bytes: three jobs of 300 kB fit, a fourth would pass 1 MB.
        for index in range(3):
            client.submit_job(_described(300_000), request_id=f"big-{index}", time_limit=5)
        with pytest.raises(RingplanError) as caught:
            client.submit_job(_described(300_000), request_id="big-3", time_limit=5)
        assert caught.value.code is grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "quota" in caught.value.message and "1,000,000" in caught.value.message
        # The same request again still returns its job.
        assert not client.submit_job(_described(300_000), request_id="big-0", time_limit=5)[1]
        # Jobs: a small fourth fits, a fifth does not.
        client.submit_job(tiny(), time_limit=5)
        with pytest.raises(RingplanError) as caught:
            client.submit_job(tiny(), time_limit=5)
        assert "4 jobs are stored for this caller, its quota of 4" in caught.value.message
        assert server.store.usage("default")[0] == 4


def test_store_quota_is_per_tenant(tmp_path: Path) -> None:
    store = JobStore(tmp_path / "jobs.sqlite3")
    quota = Quota(jobs=1, bytes=100)
    store.submit("a", None, b"r", quota)
    with pytest.raises(QuotaExceeded):
        store.submit("a", None, b"r", quota)
    store.submit("b", None, b"r", quota)
    with pytest.raises(QuotaExceeded):
        store.submit("c", None, b"r" * 101, quota)


def test_a_job_interrupted_max_attempts_times_fails_with_the_reason(tmp_path: Path) -> None:
    path = tmp_path / "jobs.sqlite3"
    store = JobStore(path)
    record, _ = store.submit("default", None, _request().SerializeToString())
    for _ in range(3):  # started, and each time the server died under it
        store.requeue_interrupted(3)
        assert store.claim_next() is not None
        store.close()
        store = JobStore(path)
    store.close()
    config = ServerConfig(port=0, max_concurrent_solves=1, drain=0.0, jobs_db=str(path))
    with create_server(config) as server, RingplanClient(server.target) as client:
        final = client.get_job(record.id)
    assert final.state is JobState.FAILED and final.attempts == 3
    assert final.reason.startswith("interrupted 3 times")


def _running(client: RingplanClient, job_id: str, attempt: int, timeout: float = 60) -> None:
    """Wait until the job runs its ``attempt``-th attempt."""
    end = time.monotonic() + timeout
    while True:
        view = client.get_job(job_id)
        if view.state is JobState.RUNNING and view.attempts == attempt:
            return
        assert not view.state.final, f"job ended {view.state.name}: {view.reason}"
        assert time.monotonic() < end, f"attempt {attempt} did not start"
        time.sleep(0.05)


def test_graceful_restarts_do_not_count_against_the_crash_cap(tmp_path: Path) -> None:
    # Three orderly stops, each with the job running (a city solve of 3 s never ends early);
    # the cap of 3 is for crashes, so the fourth server finishes the job.
    config = ServerConfig(
        port=0, max_concurrent_solves=1, drain=0.0, jobs_db=str(tmp_path / "jobs.sqlite3")
    )
    city = load_instance(CITY)
    with create_server(config) as server, RingplanClient(server.target) as client:
        job, _ = client.submit_job(city, time_limit=3)
        _running(client, job.id, 1)
    for attempt in (2, 3):
        with create_server(config) as server, RingplanClient(server.target) as client:
            _running(client, job.id, attempt)
    with create_server(config) as server, RingplanClient(server.target) as client:
        final = _final(client, job.id, 120)
    assert final.state is JobState.SUCCEEDED, final.reason
    assert final.attempts == 4
    assert final.result is not None and check_plan(city, final.result.plan).ok


def test_crashes_are_capped_while_a_graceful_stop_is_not_counted(tmp_path: Path) -> None:
    # With a cap of 2 crashes: an orderly stop (SIGTERM), then two kill -9s under the running
    # job (its solver process dies with the server). The stop is not counted, so the job runs
    # a third time; the second crash ends it. Each attempt's job shows the crashes so far.
    env = _one_slot_env(tmp_path, RINGPLAN_MAX_JOB_ATTEMPTS="2", RINGPLAN_GRACE="1")
    city = load_instance(CITY)
    process, target = start_serve(env=env)
    try:
        with RingplanClient(target) as client:
            job, _ = client.submit_job(city, time_limit=60)
            _running(client, job.id, 1)
            assert client.get_job(job.id).crashes == 0
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
        for attempt, crashes in ((2, 0), (3, 1)):
            process, target = start_serve(env=env)
            with RingplanClient(target) as client:
                _running(client, job.id, attempt)
                assert client.get_job(job.id).crashes == crashes
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=10)
        process, target = start_serve(env=env)
        with RingplanClient(target) as client:
            final = client.get_job(job.id)
            listed, _ = client.list_jobs()
        shown = subprocess.run(
            [sys.executable, "-m", "ringplan", "job", job.id, "--server", target],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    assert final.state is JobState.FAILED
    assert final.attempts == 3
    assert final.crashes == 2
    assert [j.crashes for j in listed] == [2]
    assert final.reason.startswith("interrupted 2 times by a crash")
    assert shown.returncode == 0, shown.stderr
    assert f"job {job.id}: failed" in shown.stdout
    assert "attempts: 3 (2 crashes of the server under it)" in shown.stdout


def test_a_job_whose_solver_process_is_killed_fails_and_counts_no_crash(tmp_path: Path) -> None:
    # The server lives on: the job fails at once with the reason, and its crash count (of the
    # server dying under it) stays 0, so nothing counts against the attempt cap.
    config = ServerConfig(
        port=0, max_concurrent_solves=1, drain=0.0, jobs_db=str(tmp_path / "jobs.sqlite3")
    )
    with create_server(config) as server, RingplanClient(server.target) as client:
        job, _ = client.submit_job(busy_instance(), time_limit=60, workers=1)
        wait_until(lambda: bool(server.pool.busy_pids), 60, "no solver process took the job")
        os.kill(server.pool.busy_pids[0], signal.SIGKILL)
        final = _final(client, job.id)
    assert final.state is JobState.FAILED
    assert "killed by signal 9" in final.reason
    assert (final.attempts, final.crashes) == (1, 0)
