"""Errors of the service and their one mapping to gRPC statuses with rich details.

Servicer code raises :class:`ServiceError`; :func:`edge` wraps every RPC method and turns it
into a ``google.rpc.Status`` (BadRequest field violations, RetryInfo). Anything else that
escapes is logged with its traceback and answered INTERNAL with a reference, so no call ends in
UNKNOWN and no stack trace or path reaches a client.
"""

from __future__ import annotations

import functools
import inspect
import logging
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, NoReturn, TypeVar

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

from solver import Problem

logger = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class FieldViolation:
    """One bad field of a request, by its proto field path."""

    field: str
    description: str


@dataclass
class ServiceError(Exception):
    """A call that cannot be served, with what the client needs to act on it."""

    code: grpc.StatusCode
    message: str
    violations: Sequence[FieldViolation] = ()
    retry_after: float | None = None
    extra: list[Any] = field(default_factory=list)

    def __str__(self) -> str:
        return self.message


def violations_from(problems: Iterable[Problem], prefix: str) -> list[FieldViolation]:
    """Field violations for domain problems, their paths put under ``prefix``."""
    result = []
    for problem in problems:
        path = problem.location
        if not prefix or not path:
            full = prefix or path
        elif path.startswith("["):
            full = f"{prefix}{path}"
        else:
            full = f"{prefix}.{path}"
        result.append(FieldViolation(full, problem.message))
    return result


MAX_VIOLATIONS = 20
"""Most field violations an error carries; the rest are counted in a last one."""

MAX_TEXT = 200
"""Longest field path or description in an error, in characters; longer ones are cut."""

MAX_MESSAGE = 200
"""Longest status message, in characters (gRPC percent-encodes it: at most 2,400 bytes)."""

MAX_STATUS_BYTES = 4096
"""Most bytes of the packed ``google.rpc.Status``. gRPC sends it base64-encoded in the
``grpc-status-details-bin`` trailer (4/3 of its size) next to the message, so every error stays
under 8 KiB of metadata, half the 16 KiB a client accepts by default."""


def cut(text: str, limit: int = MAX_TEXT) -> str:
    """``text`` itself, or its start and how much was cut when it is longer than ``limit``."""
    if len(text) <= limit:
        return text
    rest = f"... ({len(text) - limit} more characters)"
    return text[: max(0, limit - len(rest))] + rest


def invalid_argument(violations: Sequence[FieldViolation]) -> ServiceError:
    """INVALID_ARGUMENT naming every bad field."""
    head = "; ".join(f"{cut(v.field)}: {cut(v.description)}" for v in violations[:3])
    more = f" (and {len(violations) - 3} more)" if len(violations) > 3 else ""
    return ServiceError(
        grpc.StatusCode.INVALID_ARGUMENT,
        f"{len(violations)} problem(s) in the request: {head}{more}",
        violations,
    )


def to_status(error: ServiceError) -> status_pb2.Status:
    """The ``google.rpc.Status`` for an error, with its details packed.

    At most :data:`MAX_VIOLATIONS` field violations are listed, each cut to :data:`MAX_TEXT`
    characters, and fewer when the whole would pass :data:`MAX_STATUS_BYTES`; a last one says
    how many more there are.
    """
    keep = min(len(error.violations), MAX_VIOLATIONS)
    while True:
        status = _status(error, keep)
        if status.ByteSize() <= MAX_STATUS_BYTES or keep == 0:
            return status
        keep //= 2


def _listed(
    violations: Sequence[FieldViolation], keep: int
) -> list[error_details_pb2.BadRequest.FieldViolation]:
    """The first ``keep`` violations, cut, and one that counts the others."""
    shown = [
        error_details_pb2.BadRequest.FieldViolation(
            field=cut(v.field), description=cut(v.description)
        )
        for v in violations[:keep]
    ]
    rest = violations[keep:]
    if rest:
        shown.append(
            error_details_pb2.BadRequest.FieldViolation(
                field=cut(rest[0].field),
                description=f"and {len(rest)} more problem(s) not listed here "
                "(Validate reports every one)",
            )
        )
    return shown


def _status(error: ServiceError, keep: int) -> status_pb2.Status:
    details: list[Any] = []
    if error.violations:
        details.append(
            error_details_pb2.BadRequest(field_violations=_listed(error.violations, keep))
        )
    if error.retry_after is not None:
        delay = duration_pb2.Duration()
        delay.FromNanoseconds(int(error.retry_after * 1e9))
        details.append(error_details_pb2.RetryInfo(retry_delay=delay))
    packed = []
    for detail in [*details, *error.extra]:
        box = any_pb2.Any()
        box.Pack(detail)
        packed.append(box)
    return status_pb2.Status(
        code=error.code.value[0], message=cut(error.message, MAX_MESSAGE), details=packed
    )


def _abort(context: grpc.ServicerContext, error: ServiceError) -> NoReturn:
    context.abort_with_status(rpc_status.to_status(to_status(error)))
    raise AssertionError("abort_with_status returned")  # pragma: no cover


def _internal(context: grpc.ServicerContext, method: str) -> NoReturn:
    reference = uuid.uuid4().hex[:12]
    logger.exception("%s failed (reference %s)", method, reference)
    _abort(
        context,
        ServiceError(grpc.StatusCode.INTERNAL, f"internal error (reference {reference})"),
    )


def edge(method: F) -> F:
    """Map errors of an RPC method (unary or server-streaming) to statuses, once."""
    name = method.__name__
    if inspect.isgeneratorfunction(method):

        @functools.wraps(method)
        def stream(self: Any, request: Any, context: grpc.ServicerContext) -> Any:
            try:
                yield from method(self, request, context)
            except ServiceError as error:
                _abort(context, error)
            except Exception:
                if context.code() is not None:  # already aborted or cancelled
                    raise
                _internal(context, name)

        return stream  # type: ignore[return-value]

    @functools.wraps(method)
    def unary(self: Any, request: Any, context: grpc.ServicerContext) -> Any:
        try:
            return method(self, request, context)
        except ServiceError as error:
            _abort(context, error)
        except Exception:
            if context.code() is not None:
                raise
            _internal(context, name)

    return unary  # type: ignore[return-value]
