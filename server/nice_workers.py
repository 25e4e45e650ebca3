"""A Dask worker plugin that lowers the CPU priority of the service's cluster workers."""

from __future__ import annotations

import os

from distributed import Worker, WorkerPlugin


class NiceWorkers(WorkerPlugin):
    """Adds ``nice`` to each worker process's niceness when it starts (a worker restarted
    after a crash too), so that the server's calls beat the parts' solves, as they beat a
    solver process's."""

    def __init__(self, nice: int) -> None:
        self.nice = nice

    def setup(self, worker: Worker) -> None:
        """Lower the worker process's priority."""
        if self.nice:
            os.nice(self.nice)
