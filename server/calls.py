"""One structured log line per call, and the call counted in the metrics.

:class:`CallLog` wraps every handler. When the call ends it writes one line to the logger
``server.calls`` (INFO; health checks at DEBUG, so that probes do not flood the log): a JSON
object with the call's ``id`` (the caller's ``x-request-id`` header when it sends one, else one
made up), ``tenant``, ``method``, status ``code`` and ``ms`` taken.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import grpc
from grpc_health.v1 import health

from server.auth import tenant_of
from server.errors import cut
from server.interceptors import UnaryRequestInterceptor, rewrapped
from server.metrics import Metrics

logger = logging.getLogger(__name__)

REQUEST_ID_HEADER = "x-request-id"
"""Metadata a caller may send to name its call in the server's log."""


def _call_id(context: grpc.ServicerContext) -> str:
    for key, value in context.invocation_metadata() or ():
        if key == REQUEST_ID_HEADER and isinstance(value, str) and value:
            return cut(value, 64)
    return uuid.uuid4().hex[:12]


class _Call:
    """What is known of one call while it runs."""

    def __init__(self, method: str, context: grpc.ServicerContext, metrics: Metrics) -> None:
        self.method = method
        self.context = context
        self.metrics = metrics
        self.started = time.perf_counter()

    def end(self, failed: bool) -> None:
        code = self.context.code()
        if code is None:
            code = grpc.StatusCode.UNKNOWN if failed else grpc.StatusCode.OK
        name = self.method.rsplit("/", 1)[-1]
        self.metrics.call(name, code)
        line = {
            "id": _call_id(self.context),
            "tenant": tenant_of(self.context),
            "method": self.method,
            "code": code.name,
            "ms": round(1000 * (time.perf_counter() - self.started), 1),
        }
        level = (
            logging.DEBUG if self.method.startswith(f"/{health.SERVICE_NAME}/") else logging.INFO
        )
        logger.log(level, "%s", json.dumps(line))


def _unary(method: str, behaviour: Callable[..., Any], metrics: Metrics) -> Callable[..., Any]:
    def handle(request: Any, context: grpc.ServicerContext) -> Any:
        call = _Call(method, context, metrics)
        failed = True
        try:
            answer = behaviour(request, context)
            failed = False
            return answer
        finally:
            call.end(failed)

    return handle


def _streaming(method: str, behaviour: Callable[..., Any], metrics: Metrics) -> Callable[..., Any]:
    def handle(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
        call = _Call(method, context, metrics)
        failed = True
        try:
            yield from behaviour(request, context)
            failed = False
        finally:
            call.end(failed)

    return handle


class CallLog(UnaryRequestInterceptor):
    """Logs and counts every call with a unary request (all of ringplan's)."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    def wrap(self, method: str, handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
        return rewrapped(
            handler,
            lambda behaviour: _unary(method, behaviour, self._metrics),
            lambda behaviour: _streaming(method, behaviour, self._metrics),
        )
