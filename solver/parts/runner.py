"""Where parts run: one by one in this process, or on a Dask cluster.

The same :class:`~solver.parts.task.PartTask` runs in both. :class:`InProcessRunner` solves
them in order. :class:`DaskRunner` submits every part at once (largest first, ``pure=False``)
to a cluster, either one it starts itself (:func:`open_cluster`: a
``distributed.LocalCluster`` with one single-threaded worker process per core) or one that
was started apart with ``dask scheduler`` and ``dask worker`` (an address such as
``tcp://10.0.0.5:8786``), and merges the outcomes as they finish (``as_completed``).

Promises of the Dask runner:

* **Deadlines reach the workers.** Each task carries its absolute deadline; at the round's
  deadline the runner sets a named ``distributed.Event`` that every running part watches, so
  each returns its best plan within a fraction of a second (the quick plans' greedy and repair
  too, with the plan so far); parts still waiting after :data:`STOP_GRACE` are cancelled. A
  stop asked for ends the round the same way, from the moment it was asked; a stop asked for
  before a round sends none of its parts. Each worker process waits on the event once per
  round, without polling (:mod:`solver.parts.round_stop`).
* **No part is lost.** A worker that dies mid-solve (killed, out of memory) has its part
  rescheduled by Dask on another worker; a part whose task fails all the same is submitted
  again, up to :data:`ATTEMPTS` times, with the time left; only then is it reported without a
  plan, with the reason.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import replace
from typing import TYPE_CHECKING, Protocol

from solver.parts.task import PartOutcome, PartTask, solve_part

if TYPE_CHECKING:
    from distributed import Client, Event

logger = logging.getLogger(__name__)

ATTEMPTS = 3
"""Submissions of one part before it is reported without a plan."""

STOP_GRACE = 3.0
"""Seconds past a round's deadline that parts are given to return their best plan."""

DEFAULT_MEMORY_LIMIT = "2GiB"
"""Memory of each embedded worker; a worker that exceeds it is restarted by Dask and its part
retried. A national part of 2,289 units (uncut) peaked at 1.5 GB."""

QUIET_CLUSTER = {
    "distributed.admin.tick.interval": "200ms",
    "distributed.admin.system-monitor.interval": "2s",
    "distributed.worker.memory.monitor-interval": "500ms",
    "distributed.worker.profile.enabled": False,
}
"""Dask settings of the clusters ringplan starts (:func:`open_cluster`, the service's
:mod:`server.parts_cluster`). Their scheduler and nannies live in the starting process, and
their periodic checks (every 20 ms, 500 ms and 100 ms by default) took 4.5 % of a core there
with two idle workers, 1.5 % with these; each worker's statistical profiler (a sample of its
task's stack every 10 ms, for the dashboard) took 3 % of a core more in each worker. The
memory limit is still checked twice a second. Read by the scheduler and each nanny as they
start (:func:`quiet_cluster`)."""

OnDone = Callable[[PartOutcome], None]
Failure = tuple[int, str]
"""(part index, why it has no plan)."""


class PartRunner(Protocol):
    """Runs a round of part tasks and reports each outcome as it comes."""

    @property
    def workers(self) -> int:
        """Parts that run at the same time."""
        ...

    def run(self, tasks: Sequence[PartTask], on_done: OnDone, deadline: float) -> list[Failure]:
        """Run ``tasks``; call ``on_done`` with each outcome; return the parts left with no
        outcome. ``deadline`` is wall-clock (``time.time()``)."""
        ...


class InProcessRunner:
    """Parts one after another in this process (small instances: no cluster to start)."""

    workers = 1

    def __init__(self, stop: threading.Event | None = None) -> None:
        self._stop = stop

    def run(self, tasks: Sequence[PartTask], on_done: OnDone, deadline: float) -> list[Failure]:
        failed: list[Failure] = []
        for task in tasks:
            if self._stop is not None and self._stop.is_set():
                failed.append((task.index, "stopped before it ran"))
                continue
            try:
                on_done(solve_part(task, self._stop))
            except MemoryError:
                failed.append((task.index, "out of memory"))
        return failed


class DaskRunner:
    """Parts on a Dask cluster, all submitted at once, merged as they finish."""

    def __init__(self, client: Client | ClusterStart, stop: threading.Event | None = None) -> None:
        self._cluster = client
        self._stop = stop
        self._stopped_at: float | None = None
        self._workers: int | None = None

    @property
    def _client(self) -> Client:
        """The cluster's client (a :class:`ClusterStart` is waited for only now, so that the
        tasks are built while it starts)."""
        if isinstance(self._cluster, ClusterStart):
            return self._cluster.client()
        return self._cluster

    @property
    def workers(self) -> int:
        """The cluster's workers (asked once)."""
        if self._workers is None:
            self._workers = max(1, len(self._client.scheduler_info(n_workers=-1)["workers"]))
        return self._workers

    def _asked(self) -> bool:
        """Whether a stop was asked for."""
        return self._stop is not None and self._stop.is_set()

    def _end(self, deadline: float) -> float:
        """When the round ends: its deadline, or the moment a stop was asked for (parts not
        yet started then are not started)."""
        if self._asked():
            self._stopped_at = min(self._stopped_at or deadline, time.time())
        return min(deadline, self._stopped_at or deadline)

    def run(self, tasks: Sequence[PartTask], on_done: OnDone, deadline: float) -> list[Failure]:
        if self._asked() or time.time() >= deadline:
            # A stop (or the deadline) came first: no part is sent, nor the cluster waited for.
            why = "stopped before it ran" if self._asked() else "out of time"
            return [(task.index, why) for task in tasks]
        from distributed import Event, as_completed

        name = f"ringplan-stop-{uuid.uuid4().hex}"
        event = Event(name, client=self._client)
        tasks = [replace(task, stop_event=name) for task in tasks]
        by_key = {}
        attempts: dict[int, int] = {}
        pending = as_completed()
        for rank, task in enumerate(tasks):
            future = self._client.submit(solve_part, task, pure=False, priority=-rank)
            by_key[future.key] = task
            attempts[task.index] = 1
            pending.add(future)
        failed: list[Failure] = []
        stopping = threading.Event()

        def watch() -> None:
            # At the deadline (or on a stop request) every running part is asked to return.
            while not stopping.wait(0.1):
                if self._asked() or time.time() >= deadline:
                    event.set()
                    return

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        try:
            while not pending.is_empty() and time.time() <= self._end(deadline) + STOP_GRACE:
                if not pending.has_ready():
                    time.sleep(0.05)
                    continue
                batch = pending.next_batch(block=False)
                # One request for the outcomes of all finished parts, not one each.
                finished = [future for future in batch if future.status == "finished"]
                for outcome in self._client.gather(finished):
                    on_done(outcome)
                gathered = {future.key for future in finished}
                for future in batch:
                    if future.key in gathered:
                        continue
                    task = by_key[future.key]
                    reason = _reason(future)
                    if attempts[task.index] < ATTEMPTS and not event.is_set():
                        attempts[task.index] += 1
                        logger.warning("part %d: %s; submitted again", task.index, reason)
                        retry = self._client.submit(solve_part, task, pure=False)
                        by_key[retry.key] = task
                        pending.add(retry)
                    else:
                        failed.append((task.index, reason))
        finally:
            stopping.set()
            watcher.join()
            _release(event)
        left = list(pending.futures)
        failed += [(by_key[future.key].index, "out of time") for future in left]
        if left:  # one request for all: one each takes seconds for hundreds of parts
            self._client.cancel(left)
        return failed


def _release(event: Event) -> None:
    """Set the round's event once the round is over, so that the parts still running stop
    and every worker's wait on it returns (:mod:`solver.parts.round_stop`)."""
    try:
        event.set()
    except Exception as error:  # the cluster is gone, and nobody waits on it
        logger.warning("the round's stop could not be sent: %s", error)


def _reason(future: object) -> str:
    try:
        error = future.exception(timeout=1)  # type: ignore[attr-defined]
    except Exception as exc:
        error = exc
    if error is None:
        return "cancelled"
    text = type(error).__name__
    if text == "KilledWorker":
        return "its workers died (out of memory or killed) on every attempt"
    if isinstance(error, MemoryError):
        return "out of memory"
    return f"{text}: {error}"


def cores() -> int:
    """Cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


@contextmanager
def open_cluster(
    scheduler: str | None = None,
    *,
    n_workers: int | None = None,
    memory_limit: str = DEFAULT_MEMORY_LIMIT,
) -> Iterator[Client]:
    """A client of the cluster at ``scheduler``, or of a ``LocalCluster`` started here with
    ``n_workers`` single-threaded worker processes (one per core by default) and stopped on
    exit."""
    from distributed import Client, LocalCluster

    if scheduler is not None:
        client = Client(scheduler, timeout=10)
        try:
            yield client
        finally:
            client.close()
        return
    with quiet_cluster():
        cluster = LocalCluster(
            n_workers=n_workers or cores(),
            threads_per_worker=1,
            processes=True,
            memory_limit=memory_limit,
            dashboard_address=":0",
            scheduler_port=0,
            silence_logs=logging.ERROR,
        )
    try:
        with Client(cluster) as client:
            yield client
    finally:
        cluster.close()


def quiet_cluster() -> AbstractContextManager[object]:
    """Within it, a cluster starts with the settings of :data:`QUIET_CLUSTER`."""
    import dask

    return dask.config.set(QUIET_CLUSTER)


class ClusterStart:
    """A cluster of :func:`open_cluster` kept open by a thread of its own, so that the start of
    its workers (new processes importing the solver) overlaps the caller's own work, and so
    does closing it (the merge of the plans).

    :meth:`client` waits for the cluster; :meth:`close` asks the thread to close it and
    :meth:`join` waits until it is closed (both at most once, whatever the order). The
    client is opened and closed in the same thread, as a ``distributed.Client`` requires.
    """

    def __init__(
        self,
        scheduler: str | None = None,
        *,
        n_workers: int | None = None,
        memory_limit: str = DEFAULT_MEMORY_LIMIT,
    ) -> None:
        self._client: Client | None = None
        self._error: BaseException | None = None
        self._ready = threading.Event()
        self._closing = threading.Event()
        self._thread = threading.Thread(
            target=self._keep_open, args=(scheduler, n_workers, memory_limit), daemon=True
        )
        self._thread.start()

    def _keep_open(self, scheduler: str | None, n_workers: int | None, memory_limit: str) -> None:
        try:
            with open_cluster(scheduler, n_workers=n_workers, memory_limit=memory_limit) as client:
                self._client = client
                self._ready.set()
                self._closing.wait()
        except BaseException as error:
            if self._ready.is_set():  # the plans are made: a bad close is only logged
                logger.warning("the cluster did not close cleanly", exc_info=True)
            else:  # handed to the caller by client()
                self._error = error
        finally:
            self._ready.set()

    def client(self) -> Client:
        """The cluster's client, once it is up (the error of its start, if it failed)."""
        self._ready.wait()
        if self._error is not None:
            raise self._error
        assert self._client is not None
        return self._client

    def close(self) -> None:
        """Ask for the cluster to be closed (once it is up); returns at once."""
        self._closing.set()

    def join(self) -> None:
        """Close the cluster, if not yet asked, and wait until it is closed."""
        self.close()
        self._thread.join()
