"""TLS, mutual TLS and bearer tokens: the server's credentials and interceptors, the client's
channel.

The server speaks TLS when ``tls_cert`` and ``tls_key`` are set, and mutual TLS when
``tls_client_ca`` is set too: then every client must present a certificate signed by that CA.
Authentication by bearer token (``tokens_file``, see :mod:`server.auth`) is independent of TLS,
but a token sent in plaintext can be read on the way, so outside loopback use it with TLS.
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc

from server.auth import AuthInterceptor, TokenTable
from server.config import ServerConfig


def _read(setting: str, path: str) -> bytes:
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise ValueError(f"{setting} {path}: cannot read it ({error.strerror})") from None
    if b"-----BEGIN " not in data:
        raise ValueError(f"{setting} {path}: not a PEM file")
    return data


@dataclass(frozen=True)
class ServerSecurity:
    """What a server needs to listen securely and check its callers."""

    credentials: grpc.ServerCredentials | None
    """TLS credentials, or ``None`` for plaintext."""
    tokens: TokenTable | None
    """Known bearer tokens, or ``None`` when authentication is off."""

    @property
    def interceptors(self) -> list[grpc.ServerInterceptor]:
        """Interceptors to install on the server."""
        return [] if self.tokens is None else [AuthInterceptor(self.tokens)]

    def add_port(self, server: grpc.Server, address: str) -> int:
        """Listen on ``address``, with TLS if configured; the port bound (0 if none)."""
        if self.credentials is None:
            return int(server.add_insecure_port(address))
        return int(server.add_secure_port(address, self.credentials))

    @property
    def auth(self) -> bool:
        """Whether callers must present a bearer token."""
        return self.tokens is not None


def server_security(config: ServerConfig) -> ServerSecurity:
    """Read the certificates and the tokens file named by ``config``.

    Raises
    ------
    ValueError
        Naming the setting and the file that cannot be used.
    """
    credentials = None
    if config.tls_cert:
        client_ca = _read("tls_client_ca", config.tls_client_ca) if config.tls_client_ca else None
        credentials = grpc.ssl_server_credentials(
            [(_read("tls_key", config.tls_key), _read("tls_cert", config.tls_cert))],
            root_certificates=client_ca,
            require_client_auth=client_ca is not None,
        )
    tokens = TokenTable.load(config.tokens_file) if config.tokens_file else None
    return ServerSecurity(credentials, tokens)


class _CallDetails(
    collections.namedtuple(
        "_CallDetails",
        ("method", "timeout", "metadata", "credentials", "wait_for_ready", "compression"),
    ),
    grpc.ClientCallDetails,  # type: ignore[misc]
):
    pass


class BearerToken(
    grpc.UnaryUnaryClientInterceptor,  # type: ignore[misc]
    grpc.UnaryStreamClientInterceptor,  # type: ignore[misc]
    grpc.StreamUnaryClientInterceptor,  # type: ignore[misc]
    grpc.StreamStreamClientInterceptor,  # type: ignore[misc]
):
    """Adds ``authorization: Bearer <token>`` to every call of a channel."""

    def __init__(self, token: str) -> None:
        self._header = ("authorization", f"Bearer {token}")

    def _details(self, details: Any) -> _CallDetails:
        metadata = [*(details.metadata or ()), self._header]
        return _CallDetails(
            details.method,
            details.timeout,
            metadata,
            details.credentials,
            details.wait_for_ready,
            details.compression,
        )

    def _call(self, continuation: Callable[..., Any], details: Any, request: Any) -> Any:
        return continuation(self._details(details), request)

    intercept_unary_unary = _call
    intercept_unary_stream = _call
    intercept_stream_unary = _call
    intercept_stream_stream = _call


def client_channel(
    target: str,
    options: Sequence[tuple[str, Any]],
    *,
    tls: bool = False,
    root_certificates: bytes | None = None,
    client_cert: bytes | None = None,
    client_key: bytes | None = None,
    token: str | None = None,
) -> grpc.Channel:
    """A channel to ``target``: TLS when ``tls`` or any certificate is given (the system's
    roots unless ``root_certificates``), with a client certificate for mutual TLS, and the
    bearer ``token`` on every call."""
    if (client_cert is None) != (client_key is None):
        raise ValueError("client_cert and client_key go together")
    if tls or root_certificates is not None or client_cert is not None:
        credentials = grpc.ssl_channel_credentials(
            root_certificates=root_certificates,
            private_key=client_key,
            certificate_chain=client_cert,
        )
        channel = grpc.secure_channel(target, credentials, options=list(options))
    else:
        channel = grpc.insecure_channel(target, options=list(options))
    if token is not None:
        channel = grpc.intercept_channel(channel, BearerToken(token))
    return channel
