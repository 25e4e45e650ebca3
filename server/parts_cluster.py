"""The Dask cluster the service plans national jobs on.

An instance planned in parts (national size, or with a national reserve:
:func:`solver.parts.national.uses_parts`) sends its parts to a Dask cluster, as the command
line does. A solver process is daemonic (the server must be able to stop it at any time) and
a daemonic process may not start worker processes, so the server holds the cluster:

* ``dask_scheduler`` set: the cluster started apart at that address;
* otherwise, with ``dask_local`` (the default), a ``distributed.LocalCluster`` the server
  starts itself at the first job planned in parts (``dask_workers`` single-threaded worker
  processes, one per core by default, niced like solver processes) and stops at shutdown;
* otherwise parts run one by one in the solver process.

The job's solver process reaches the cluster as a client of its scheduler's address, so both
clusters are used by the same code. Other jobs are not sent to any cluster.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import replace
from typing import TYPE_CHECKING, TypeVar, cast

from server.workers import Job
from solver.parts.national import Mode, uses_parts
from solver.parts.runner import DEFAULT_MEMORY_LIMIT, cores, quiet_cluster

if TYPE_CHECKING:
    from distributed import LocalCluster

logger = logging.getLogger(__name__)

T = TypeVar("T")


class PartsCluster:
    """Where the service's jobs planned in parts go (see the module).

    Parameters
    ----------
    scheduler
        Address of a cluster started apart (``tcp://host:8786``), or ``""``.
    local
        Start a ``LocalCluster`` when no ``scheduler`` is given.
    workers
        Its worker processes; 0: one per core.
    nice
        CPU niceness added to its workers.
    """

    def __init__(self, scheduler: str, local: bool, workers: int, nice: int) -> None:
        self._scheduler = scheduler
        self._local = local
        self._workers = workers or cores()
        self._nice = nice
        self._lock = threading.Lock()
        self._cluster: LocalCluster | None = None
        self._closed = False

    def address(self) -> str | None:
        """The scheduler's address, starting the embedded cluster on first use; ``None``
        when parts run in the solver process."""
        if self._scheduler:
            return self._scheduler
        if not self._local:
            return None
        with self._lock:
            if self._closed:
                return None
            if self._cluster is None:
                self._cluster = self._start()
            return str(self._cluster.scheduler_address)

    def _start(self) -> LocalCluster:
        from distributed import Client, LocalCluster

        from server.nice_workers import NiceWorkers

        logger.info("starting a Dask cluster of %d workers for national jobs", self._workers)
        with quiet_cluster():  # its scheduler and nannies live in the server's process
            cluster = LocalCluster(
                n_workers=self._workers,
                threads_per_worker=1,
                processes=True,
                memory_limit=DEFAULT_MEMORY_LIMIT,
                host="127.0.0.1",
                scheduler_port=0,
                dashboard_address=None,
                silence_logs=logging.ERROR,
            )
        with Client(cluster) as client:
            client.register_plugin(NiceWorkers(self._nice), name="ringplan-nice")
        return cluster

    def prepare(self, task: T) -> T:
        """``task`` with the scheduler its parts go to, if it is a job planned in parts."""
        if not isinstance(task, Job) or task.scheduler is not None:
            return task
        if task.hint is not None or not uses_parts(task.instance, Mode.AUTO, None):
            return task
        return cast(T, replace(task, scheduler=self.address()))

    def close(self) -> None:
        """Stop the embedded cluster, if it was started."""
        with self._lock:
            self._closed = True
            cluster, self._cluster = self._cluster, None
        if cluster is not None:
            cluster.close()
