"""Parts on a real Dask cluster: embedded, started apart, and with a worker killed mid-solve."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from distributed import Client

from solver import solve
from solver.parts import national
from solver.parts.runner import ClusterStart
from tests.provinces import assert_checked, provinces

BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(*args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [str(BIN / "dask"), *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


@pytest.fixture
def cluster() -> Iterator[tuple[str, list[subprocess.Popen[bytes]]]]:
    """``dask scheduler`` and two ``dask worker`` processes on loopback."""
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    scheduler = _start(
        "scheduler",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--dashboard-address",
        ":0",
        "--no-show",
    )
    workers = [
        _start(
            "worker",
            address,
            "--nworkers",
            "1",
            "--nthreads",
            "1",
            "--no-dashboard",
            "--memory-limit",
            "1GiB",
        )
        for _ in range(2)
    ]
    try:
        with Client(address, timeout=30) as client:
            client.wait_for_workers(2, timeout=60)
        yield address, workers
    finally:
        for process in [*workers, scheduler]:
            process.terminate()
        for process in [*workers, scheduler]:
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def test_parts_on_an_embedded_local_cluster_give_a_checked_plan() -> None:
    instance = provinces(count=3, short=(1,))
    result = solve(instance, time_limit=40, split="local")
    assert_checked(instance, result)
    assert len(result.parts) == 3 and all(p.status.has_plan for p in result.parts)
    # The same plan quality as in this process: each part is solved to optimality.
    alone = solve(instance, time_limit=20, split="in-process")
    assert result.breakdown == alone.breakdown


def test_parts_on_a_scheduler_started_apart_give_a_checked_plan(
    cluster: tuple[str, list[subprocess.Popen[bytes]]],
) -> None:
    address, _workers = cluster
    instance = provinces(count=4, short=(2,))
    result = solve(instance, time_limit=40, scheduler=address)
    assert_checked(instance, result)
    assert len(result.parts) == 4 and all(p.status.has_plan for p in result.parts)
    alone = solve(instance, time_limit=20, split="in-process")
    assert result.breakdown == alone.breakdown


def test_parts_survive_a_worker_killed_mid_solve(
    cluster: tuple[str, list[subprocess.Popen[bytes]]],
) -> None:
    address, _workers = cluster
    instance = provinces(count=4, short=(0,))
    killed: list[str] = []

    def kill_when_busy() -> None:
        # Kill the worker process (not its nanny) of the first worker running a part.
        with Client(address, timeout=30) as client:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and not killed:
                busy = [w for w, keys in client.processing().items() if keys]
                if busy:
                    pids = client.run(os.getpid, workers=[busy[0]])
                    os.kill(pids[busy[0]], signal.SIGKILL)
                    killed.append(busy[0])
                    return
                time.sleep(0.02)

    killer = threading.Thread(target=kill_when_busy)
    killer.start()
    result = solve(instance, time_limit=60, scheduler=address)
    killer.join()
    assert killed, "no worker was running a part"
    assert_checked(instance, result)
    assert len(result.parts) == 4 and all(p.status.has_plan for p in result.parts)


def test_parts_late_in_the_first_plans_keep_their_slice_of_the_first_plan(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A round of first plans with no time at all: every part is late, none is lost.
    monkeypatch.setattr(national, "QUICK_ROUND_SHARE", 0.0)
    instance = provinces(count=3, units_each=4)
    result = solve(instance, time_limit=30, split="local")
    assert_checked(instance, result)
    assert len(result.parts) == 3 and all(p.status.has_plan for p in result.parts)
    assert result.plan.assignments  # the first whole plan's slices, at least


def test_cluster_start_runs_tasks_and_closes_in_the_background() -> None:
    started = ClusterStart(n_workers=1, memory_limit="1GiB")
    client = started.client()
    assert client.submit(sum, [1, 2, 3], pure=False).result(timeout=30) == 6
    assert len(client.scheduler_info()["workers"]) == 1
    started.close()  # returns at once; join waits for the close
    started.join()
    assert client.status == "closed"


def test_cluster_start_hands_its_error_to_the_caller() -> None:
    # A memory limit that is no size: the start fails in its thread, and client() says why.
    started = ClusterStart(n_workers=1, memory_limit="lots")
    with pytest.raises(ValueError, match="lots"):
        started.client()
    started.join()
