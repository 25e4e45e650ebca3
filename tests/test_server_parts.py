"""National jobs through the service: parts on the Dask cluster the server holds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from distributed import Client

from server.app import create_server
from server.client import RingplanClient
from server.config import ServerConfig
from server.jobs.state import JobState
from server.parts_cluster import PartsCluster
from server.workers import Job
from solver import Instance
from tests.factory import make, ring, shifts, unit, venue
from tests.provinces import assert_checked, provinces
from tests.test_parts_reserve import brimob


def _job(instance: Instance) -> Job:
    return Job(instance=instance, time_limit=5, workers=1, preset="default", seed=0, hint=None)


def _task_prefixes(dask_scheduler: Any) -> list[str]:
    """Names of the kinds of task the scheduler has run (on the scheduler)."""
    return list(dask_scheduler.task_prefixes)


def test_parts_cluster_sends_only_jobs_planned_in_parts_to_the_scheduler() -> None:
    cluster = PartsCluster("tcp://127.0.0.1:8786", local=True, workers=2, nice=0)
    national = _job(provinces(count=2, reserve=[brimob("brimob-1")]))
    small = _job(make([venue(rings=[ring(1, 3, 2)])], [unit("u0")], shifts(1)))
    assert cluster.prepare(national).scheduler == "tcp://127.0.0.1:8786"
    assert cluster.prepare(small).scheduler is None
    # Without a scheduler and with the embedded cluster off, parts stay in the solver process.
    off = PartsCluster("", local=False, workers=2, nice=0)
    assert off.prepare(national).scheduler is None


def test_national_job_plans_its_parts_on_the_servers_cluster_and_reports_them(
    tmp_path: Path,
) -> None:
    # Three provinces, the middle one short of people, and one reserve platoon.
    instance = provinces(count=3, units_each=8, short=(1,), reserve=[brimob("brimob-1")])
    config = ServerConfig(
        port=0,
        max_concurrent_solves=1,
        drain=0.0,
        jobs_db=str(tmp_path / "jobs.sqlite3"),
        dask_workers=2,
    )
    with create_server(config) as server, RingplanClient(server.target) as client:
        # A job cancelled as soon as it is taken (its parts not sent, or stopped) ends
        # cancelled, and the server and its cluster go on planning the next one.
        first, _ = client.submit_job(instance, time_limit=60, seed=0)
        client.cancel_job(first.id)
        assert list(client.watch_job(first.id, timeout=60))[-1].state is JobState.CANCELLED
        # 60 s, though the parts are planned to optimality in a few: a loaded machine has
        # taken the 15 s of a shorter limit to start the workers' first parts (each imports
        # the solver), leaving no time for the reserve's round.
        job, _ = client.submit_job(instance, time_limit=60, seed=0)
        views = list(client.watch_job(job.id, timeout=120))
        final = views[-1]
        assert final.state is JobState.SUCCEEDED, final.reason
        result = final.result
        assert result is not None
        assert_checked(instance, result)
        assert len(result.parts) == 3 and all(p.status.has_plan for p in result.parts)
        assert [(d.unit, d.venue) for d in result.dispatches] == [("brimob-1", "kpu-1")]
        # The last progress is the search round's: every part done, and the shortfall so far
        # is the plan's.
        progress = final.progress
        assert progress is not None
        assert (progress.parts_done, progress.parts_total) == (3, 3)
        assert progress.shortfall == sum(row.shortfall for row in result.coverage) > 0
        # The parts ran on the cluster the server started.
        address = server.parts_cluster.address()
        assert address is not None
        with Client(address, timeout=30) as dask:
            prefixes = dask.run_on_scheduler(_task_prefixes)
        assert "solve_part" in prefixes
