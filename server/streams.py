"""A budget for long-lived streams, so that they never take the threads unary calls need.

Each open server stream (``WatchJob``, ``SolveStream``, ``WhatIfStream``) holds a handler
thread for as long as it is open. The server sizes its thread pool for the unary calls and
solves it serves plus :attr:`ServerConfig.max_streams`, and every stream enters this budget
first: beyond the server's or the tenant's share it is refused at once with RESOURCE_EXHAUSTED
and a message saying which limit it met, so health, info and validation always find a thread.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

import grpc

from server.errors import ServiceError


class StreamBudget:
    """Open streams, in all and per tenant, each under its limit."""

    def __init__(self, limit: int, per_tenant: int, retry_after: float) -> None:
        self._limit = limit
        self._per_tenant = per_tenant
        self._retry_after = retry_after
        self._lock = threading.Lock()
        self._open: Counter[str] = Counter()

    @property
    def open(self) -> int:
        """Streams open now."""
        with self._lock:
            return sum(self._open.values())

    def _enter(self, tenant: str) -> None:
        with self._lock:
            if self._open[tenant] >= self._per_tenant:
                message = (
                    f"this caller has {self._open[tenant]} streams open, its limit; close one "
                    "(or watch fewer jobs at once) and retry"
                )
            elif sum(self._open.values()) >= self._limit:
                message = f"the server has {self._limit} streams open, its limit; retry later"
            else:
                self._open[tenant] += 1
                return
        raise ServiceError(
            grpc.StatusCode.RESOURCE_EXHAUSTED, message, retry_after=self._retry_after
        )

    def _leave(self, tenant: str) -> None:
        with self._lock:
            self._open[tenant] -= 1
            if self._open[tenant] <= 0:
                del self._open[tenant]

    @contextmanager
    def held(self, tenant: str) -> Iterator[None]:
        """One stream of ``tenant`` open for the block.

        Raises
        ------
        ServiceError
            RESOURCE_EXHAUSTED when the tenant or the server is at its limit.
        """
        self._enter(tenant)
        try:
            yield
        finally:
            self._leave(tenant)
