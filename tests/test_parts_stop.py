"""Stops reaching parts on a Dask cluster: a round's stop ends the searches running on the
workers, and a stop that comes before a round sends no part at all."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from distributed import Client, Event, LocalCluster

from solver import Assignment, Plan, check_plan, solve
from solver.parts.task import PartTask, solve_part
from tests.factory import busy_instance, wait_until
from tests.provinces import assert_checked, provinces


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    """One single-threaded worker process, as the embedded cluster's."""
    with (
        LocalCluster(
            n_workers=1,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
            scheduler_port=0,
            silence_logs=logging.ERROR,
        ) as cluster,
        Client(cluster) as dask,
    ):
        yield dask


def _task_prefixes(dask_scheduler: Any) -> list[str]:
    """Names of the kinds of task the scheduler has been given (on the scheduler)."""
    return list(dask_scheduler.task_prefixes)


def test_round_stop_ends_a_search_running_on_a_worker_with_its_plan(client: Client) -> None:
    # A search asked for 120 s that never ends early by itself: only its round's stop can end
    # it (set here as the runner sets it, once the part has started). What comes before the
    # search (the model's build, presolve) does not hear it: at load 13 the part took 36 s.
    instance = busy_instance()
    name = f"round-{uuid.uuid4().hex}"
    task = PartTask(
        index=0,
        instance=instance.model_dump(mode="json"),
        budget=120,
        deadline=time.time() + 180,
        seed=0,
        solver=solve,
        stop_event=name,
    )
    future = client.submit(solve_part, task, pure=False)
    wait_until(lambda: any(client.processing().values()), 60, "the part never started")
    Event(name, client=client).set()
    outcome = future.result(timeout=180)
    assert outcome.wall_time < 60  # of the 120 s asked for
    assert outcome.status == "feasible" and outcome.assignments
    plan = Plan(
        assignments=tuple(
            Assignment(unit=u, venue=v, ring=r, shift=s) for u, v, r, s in outcome.assignments
        )
    )
    report = check_plan(instance, plan)
    assert report.ok, report.violations


def test_a_stop_before_the_parts_round_sends_no_part_and_returns_the_first_plan() -> None:
    # A scheduler without workers: a part sent to it would never run, and the round would
    # wait for it until its deadline.
    instance = provinces(count=3, short=(1,))
    stop = threading.Event()
    stop.set()
    with (
        LocalCluster(
            n_workers=0, processes=False, dashboard_address=":0", silence_logs=logging.ERROR
        ) as cluster,
        Client(cluster) as dask,
    ):
        start = time.perf_counter()
        result = solve(instance, time_limit=60, scheduler=cluster.scheduler_address, stop=stop)
        elapsed = time.perf_counter() - start
        prefixes = dask.run_on_scheduler(_task_prefixes)
    assert "solve_part" not in prefixes
    assert elapsed < 20  # of the 60 s asked for; the first whole plan is all that is made
    assert_checked(instance, result)
    assert len(result.parts) == 3 and all(p.status.has_plan for p in result.parts)
