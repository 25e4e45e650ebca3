"""Bearer-token authentication: every call but health carries ``authorization: Bearer <token>``.

Tokens map to tenants. They are read from a file named by ``tokens_file``
(``RINGPLAN_TOKENS_FILE``), either a JSON object ``{"<token>": "<tenant>", ...}`` or lines
``<token> <tenant>`` (blank lines and lines starting with ``#`` are skipped). Only the SHA-256
digest of each token is kept in memory, and a presented token is compared with every known
digest in constant time.

:class:`AuthInterceptor` refuses a call with a missing, malformed or unknown token with
UNAUTHENTICATED and a plain message. Health checks stay open, so that load balancers and
orchestrators need no secret; they reveal nothing but the serving status.

Handlers learn who is calling with :func:`tenant_of`; it is ``"default"`` when authentication is
off, so that code scoping data by tenant works the same either way.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health

DEFAULT_TENANT = "default"
"""The tenant of every call when authentication is off."""

OPEN_PREFIXES = (f"/{health.SERVICE_NAME}/",)
"""Methods callable without a token: the standard health service."""

MIN_TOKEN_LENGTH = 16
"""Shortest token accepted in a tokens file, so that no guessable token is configured."""

_TOKEN = re.compile(r"[\x21-\x7e]+")  # visible ASCII, as allowed in an HTTP/2 header value
_TENANT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_BEARER = re.compile(r"Bearer ([\x21-\x7e]+)", re.IGNORECASE)


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


class TokenTable:
    """Known tokens, kept as digests, and their tenants."""

    def __init__(self, tokens: Mapping[str, str]) -> None:
        self._entries = [(_digest(token), tenant) for token, tenant in tokens.items()]

    def __len__(self) -> int:
        return len(self._entries)

    def tenant(self, token: str) -> str | None:
        """The tenant of ``token``, or ``None`` if it is not known.

        Every entry is compared, with :func:`hmac.compare_digest`, so the time taken does not
        depend on which entry (if any) matches or on how much of a token is right.
        """
        presented = _digest(token)
        found = None
        for digest, tenant in self._entries:
            if hmac.compare_digest(digest, presented):
                found = tenant
        return found

    @classmethod
    def load(cls, path: str) -> TokenTable:
        """Read a tokens file (JSON object or ``token tenant`` lines).

        Raises
        ------
        ValueError
            Naming the setting, the line and the problem (never a token).
        """
        where = f"tokens_file {path}"
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as error:
            raise ValueError(f"{where}: cannot read it ({error.strerror})") from None
        except UnicodeDecodeError:
            raise ValueError(f"{where}: not UTF-8 text") from None
        pairs = _json_pairs(text, where) if text.lstrip().startswith("{") else _line_pairs(text)
        tokens: dict[str, str] = {}
        for place, token, tenant in pairs:
            if not _TOKEN.fullmatch(token) or len(token) < MIN_TOKEN_LENGTH:
                raise ValueError(
                    f"{where}: {place}: a token must be at least {MIN_TOKEN_LENGTH} visible ASCII "
                    "characters without spaces"
                )
            if not _TENANT.fullmatch(tenant):
                raise ValueError(
                    f"{where}: {place}: tenant '{tenant[:64]}' must be 1 to 64 letters, digits, "
                    "'.', '_' or '-', starting with a letter or digit"
                )
            if token in tokens:
                raise ValueError(f"{where}: {place}: the token appears twice")
            tokens[token] = tenant
        if not tokens:
            raise ValueError(f"{where}: holds no token")
        return cls(tokens)


def _json_pairs(text: str, where: str) -> list[tuple[str, str, str]]:
    try:
        data: Any = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"{where}: not valid JSON (line {error.lineno})") from None
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise ValueError(f'{where}: expected an object {{"<token>": "<tenant>", ...}}')
    return [(f"entry {i + 1}", token, tenant) for i, (token, tenant) in enumerate(data.items())]


def _line_pairs(text: str) -> list[tuple[str, str, str]]:
    pairs = []
    for number, line in enumerate(text.splitlines(), start=1):
        words = line.split()
        if not words or words[0].startswith("#"):
            continue
        if len(words) != 2:
            raise ValueError(f"line {number}: expected '<token> <tenant>'")
        pairs.append((f"line {number}", words[0], words[1]))
    return pairs


class AuthenticatedContext:
    """A handler's call context with the caller's tenant; everything else is the call's own."""

    def __init__(self, context: grpc.ServicerContext, tenant: str) -> None:
        self._context = context
        self.tenant = tenant

    def __getattr__(self, name: str) -> Any:
        return getattr(self._context, name)


def tenant_of(context: Any) -> str:
    """The tenant of the caller of an RPC handler.

    Parameters
    ----------
    context
        The ``context`` argument the handler received.

    Returns
    -------
    str
        The tenant its bearer token maps to; :data:`DEFAULT_TENANT` when authentication is off.
        A handler only ever runs for an authenticated caller when authentication is on.
    """
    return context.tenant if isinstance(context, AuthenticatedContext) else DEFAULT_TENANT


@dataclass(frozen=True)
class Refusal:
    """Why a call is not authenticated, as told to the caller."""

    message: str


def authenticate(metadata: tuple[tuple[str, str | bytes], ...], table: TokenTable) -> str | Refusal:
    """The tenant of a call's metadata, or why it is refused."""
    values = [value for key, value in metadata if key == "authorization"]
    if not values:
        return Refusal("missing bearer token: send the header 'authorization: Bearer <token>'")
    if len(values) > 1 or not isinstance(values[0], str):
        return Refusal("malformed authorization header: expected one 'Bearer <token>'")
    match = _BEARER.fullmatch(values[0].strip())
    if match is None:
        return Refusal("malformed authorization header: expected 'Bearer <token>'")
    tenant = table.tenant(match.group(1))
    if tenant is None:
        return Refusal("unknown bearer token")
    return tenant


def _refuse(message: str) -> Callable[[Any, grpc.ServicerContext], Any]:
    def behaviour(request: Any, context: grpc.ServicerContext) -> Any:
        context.abort(grpc.StatusCode.UNAUTHENTICATED, message)

    return behaviour


def _with_tenant(behaviour: Callable[..., Any], tenant: str) -> Callable[..., Any]:
    def handle(request: Any, context: grpc.ServicerContext) -> Any:
        return behaviour(request, AuthenticatedContext(context, tenant))

    return handle


class AuthInterceptor(grpc.ServerInterceptor):  # type: ignore[misc]
    """Lets a call through only with a known bearer token (health checks always)."""

    def __init__(self, table: TokenTable) -> None:
        self._table = table

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler | None],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler | None:
        handler = continuation(details)
        if handler is None or details.method.startswith(OPEN_PREFIXES):
            return handler
        outcome = authenticate(tuple(details.invocation_metadata or ()), self._table)
        kinds = {
            (False, False): ("unary_unary", grpc.unary_unary_rpc_method_handler),
            (False, True): ("unary_stream", grpc.unary_stream_rpc_method_handler),
            (True, False): ("stream_unary", grpc.stream_unary_rpc_method_handler),
            (True, True): ("stream_stream", grpc.stream_stream_rpc_method_handler),
        }
        attribute, make = kinds[(handler.request_streaming, handler.response_streaming)]
        if isinstance(outcome, Refusal):
            # The request of a refused call is never parsed.
            return make(_refuse(outcome.message), response_serializer=handler.response_serializer)
        return make(
            _with_tenant(getattr(handler, attribute), outcome),
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )
