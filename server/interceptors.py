"""What the server's own interceptors share: wrapping a handler with a unary request."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc

Behaviour = Callable[[Any, grpc.ServicerContext], Any]


def rewrapped(
    handler: grpc.RpcMethodHandler,
    unary: Callable[[Behaviour], Behaviour],
    streaming: Callable[[Behaviour], Behaviour],
    decode: Callable[[bytes], Any] | None = None,
) -> grpc.RpcMethodHandler:
    """``handler`` (unary request) with its behaviour wrapped by ``unary`` or ``streaming``
    (by whether it answers with a stream) and, if given, its request decoded by ``decode``."""
    deserializer = decode if decode is not None else handler.request_deserializer
    if handler.response_streaming:
        return grpc.unary_stream_rpc_method_handler(
            streaming(handler.unary_stream),
            request_deserializer=deserializer,
            response_serializer=handler.response_serializer,
        )
    return grpc.unary_unary_rpc_method_handler(
        unary(handler.unary_unary),
        request_deserializer=deserializer,
        response_serializer=handler.response_serializer,
    )


class UnaryRequestInterceptor(grpc.ServerInterceptor):  # type: ignore[misc]
    """An interceptor of the methods with a unary request (all of ringplan's); others pass."""

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler | None],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler | None:
        handler = continuation(details)
        if handler is None or handler.request_streaming:
            return handler
        return self.wrap(details.method, handler)

    def wrap(self, method: str, handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
        """The handler of ``method`` to serve instead of ``handler``."""
        raise NotImplementedError
