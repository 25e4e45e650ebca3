"""Admission of solves: at most C at once, the rest refused at once rather than queued.

gRPC's own ``maximum_concurrent_rpcs`` counts health checks too, and a limit above the thread
pool queues calls instead of rejecting them, so solves are admitted here, by the service.
"""

from __future__ import annotations

import threading


class Overloaded(Exception):
    """Every solve slot is taken."""


class ShuttingDown(Exception):
    """The server no longer takes solves."""


class Admission:
    """Slots for running solves, each with the stop event of its solve."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._lock = threading.Lock()
        self._running: set[threading.Event] = set()
        self._closed = False
        self._idle = threading.Condition(self._lock)

    @property
    def active(self) -> int:
        """Solves running now."""
        with self._lock:
            return len(self._running)

    def enter(self) -> threading.Event:
        """Take a slot; returns the solve's stop event.

        Raises
        ------
        Overloaded
            When ``limit`` solves are running.
        ShuttingDown
            After :meth:`close`.
        """
        with self._lock:
            if self._closed:
                raise ShuttingDown
            if len(self._running) >= self._limit:
                raise Overloaded
            stop = threading.Event()
            self._running.add(stop)
            return stop

    def leave(self, stop: threading.Event) -> None:
        """Give a slot back (idempotent)."""
        with self._lock:
            self._running.discard(stop)
            if not self._running:
                self._idle.notify_all()

    def close(self) -> None:
        """Take no more solves."""
        with self._lock:
            self._closed = True

    def stop_all(self) -> None:
        """Ask every running solve to stop and return its best plan."""
        with self._lock:
            for stop in self._running:
                stop.set()

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no solve runs; ``False`` on timeout."""
        with self._lock:
            return self._idle.wait_for(lambda: not self._running, timeout)
