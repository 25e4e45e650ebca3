"""Requests whose bytes are not a message of their type are refused as bad input.

gRPC decodes a request before any handler runs; when the bytes do not parse (truncated,
invalid UTF-8 in a string, nesting beyond the parser's limit) it answers INTERNAL and logs a
stack trace per call. :class:`DecodeGuard` decodes instead, and answers INVALID_ARGUMENT with a
reference id that is in the server log, on one line and without a stack trace.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import grpc

from server.interceptors import UnaryRequestInterceptor, rewrapped

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Undecodable:
    """What the guarded decoder returns for bytes that are not a message of its type."""

    size: int
    problem: str


def guarded(decode: Callable[[bytes], Any] | None) -> Callable[[bytes], Any] | None:
    """``decode``, answering :class:`Undecodable` instead of raising."""
    if decode is None:
        return None

    def read(data: bytes) -> Any:
        try:
            return decode(data)
        except Exception as error:  # any parse failure is the request's fault
            return Undecodable(len(data), type(error).__name__)

    return read


def _refuse(method: str, request: Undecodable, context: grpc.ServicerContext) -> None:
    reference = uuid.uuid4().hex[:12]
    logger.warning(
        "%s: refused %d request bytes that do not decode (%s) (reference %s)",
        method,
        request.size,
        request.problem,
        reference,
    )
    context.abort(
        grpc.StatusCode.INVALID_ARGUMENT,
        f"the request bytes are not a valid message of this method (reference {reference})",
    )


def _unary(method: str, behaviour: Callable[..., Any]) -> Callable[..., Any]:
    def handle(request: Any, context: grpc.ServicerContext) -> Any:
        if isinstance(request, Undecodable):
            _refuse(method, request, context)
        return behaviour(request, context)

    return handle


def _streaming(method: str, behaviour: Callable[..., Any]) -> Callable[..., Any]:
    def handle(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
        if isinstance(request, Undecodable):
            _refuse(method, request, context)
        yield from behaviour(request, context)

    return handle


class DecodeGuard(UnaryRequestInterceptor):
    """Answers undecodable requests of unary-request methods with INVALID_ARGUMENT."""

    def wrap(self, method: str, handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
        return rewrapped(
            handler,
            lambda behaviour: _unary(method, behaviour),
            lambda behaviour: _streaming(method, behaviour),
            guarded(handler.request_deserializer),
        )
