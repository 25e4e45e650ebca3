"""Where a solver process starts: it watches its server before it imports anything heavy.

A solver process is started with ``spawn``; the first thing it does is watch the pipe its
server holds open for it (``multiprocessing.parent_process().sentinel``): when the server dies,
by ``kill -9`` too, the pipe closes and the process exits at once, whatever it is doing (CP-SAT
releases the interpreter lock while it searches). Only then does it import the solver, which
takes seconds on a loaded machine; before, a server killed in those seconds left its solver
processes behind until they had finished importing. Nothing here imports the solver at module
level, and the process is handed plain values only, so that unpickling its arguments does not
either.
"""

from __future__ import annotations

import multiprocessing
import os
import resource
import threading
from multiprocessing.connection import Connection, wait
from multiprocessing.synchronize import Event as ProcessEvent


def watch_parent() -> None:
    """Exit this process as soon as the process that started it has gone."""
    parent = multiprocessing.parent_process()
    if parent is None or parent.sentinel is None:
        return

    def watch(sentinel: int) -> None:
        wait([sentinel])
        os._exit(0)  # no clean-up: the server that wanted the answer is gone

    threading.Thread(
        target=watch, args=(parent.sentinel,), name="server-watch", daemon=True
    ).start()


def solver_main(conn: Connection, stop: ProcessEvent, memory_mb: int | None, nice: int) -> None:
    """Body of a solver process: watch the server, apply the limits, then take tasks."""
    watch_parent()
    if nice:
        os.nice(nice)
    if memory_mb is not None:
        cap = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    # The solver's imports, once the watch is on and before the first task arrives (a task
    # unpickles into server.workers, which imports the solver).
    import solver  # noqa: F401
    from server.task_loop import serve_tasks

    serve_tasks(conn, stop)
