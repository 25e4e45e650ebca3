"""Admission of solves: at most C at once, the rest refused at once rather than queued.

gRPC's own ``maximum_concurrent_rpcs`` counts health checks too, and a limit above the thread
pool queues calls instead of rejecting them, so solves are admitted here, by the service.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field


class Overloaded(Exception):
    """Every solve slot is taken."""


class ShuttingDown(Exception):
    """The server no longer takes solves."""


@dataclass(eq=False)
class Ticket:
    """One admitted solve and the two ways it can be ended early."""

    stop: threading.Event = field(default_factory=threading.Event)
    """Stop searching and return the best plan so far (shutdown)."""
    cancel: threading.Event = field(default_factory=threading.Event)
    """The caller is gone (cancel, deadline): stop at once, no result is needed."""


class Admission:
    """Slots for running solves, each with the stop event of its solve."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._lock = threading.Lock()
        self._running: set[Ticket] = set()
        self._closed = False
        self._idle = threading.Condition(self._lock)

    @property
    def active(self) -> int:
        """Solves running now."""
        with self._lock:
            return len(self._running)

    def enter(self) -> Ticket:
        """Take a slot for a solve.

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
            ticket = Ticket()
            self._running.add(ticket)
            return ticket

    def leave(self, ticket: Ticket) -> None:
        """Give a slot back (idempotent)."""
        with self._lock:
            self._running.discard(ticket)
            if not self._running:
                self._idle.notify_all()

    def close(self) -> None:
        """Take no more solves."""
        with self._lock:
            self._closed = True

    def stop_all(self) -> None:
        """Ask every running solve to stop and return its best plan."""
        with self._lock:
            for ticket in self._running:
                ticket.stop.set()

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no solve runs; ``False`` on timeout."""
        with self._lock:
            return self._idle.wait_for(lambda: not self._running, timeout)
