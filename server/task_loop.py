"""The loop a solver process runs: take tasks from the server's pipe and answer each.

Imported by :func:`server.solver_process.solver_main` once the process watches its server;
it knows tasks only by what they offer (``run(progress, incumbent, stop)``), so it imports
nothing of the server's pool.
"""

from __future__ import annotations

import threading
import traceback
from multiprocessing.connection import Connection
from multiprocessing.synchronize import Event as ProcessEvent
from typing import Any, cast

THREADS_REFUSED = "Resource temporarily unavailable"
"""What CP-SAT raises when its search threads cannot start: under the worker's address-space
cap, that is memory running out (the threads' stacks do not fit)."""


def serve_tasks(conn: Connection, stop: ProcessEvent) -> None:
    """In a solver process (see :mod:`server.solver_process`): take tasks and answer each
    with progress, then a result."""
    sending = threading.Lock()  # progress comes from solver threads

    def send(message: tuple[str, object]) -> None:
        with sending:
            conn.send(message)

    while True:
        try:
            task: Any = conn.recv()  # a task of server.workers, or None
        except EOFError:
            return
        if task is None:
            return
        send(("started", None))  # the server's watchdog counts the time limit from here
        try:
            result = task.run(
                lambda p: send(("progress", p)),
                lambda plan: send(("incumbent", plan)),
                cast(threading.Event, stop),
            )
            send(("result", result))
        except MemoryError:
            send(("error", "the solve ran out of memory"))
        except RuntimeError as error:
            if str(error) != THREADS_REFUSED:
                send(("crash", traceback.format_exc()))
            else:
                send(("error", "the solve ran out of memory (no room for CP-SAT's threads)"))
        except Exception:  # the server logs it and fails the job with a reference
            send(("crash", traceback.format_exc()))
