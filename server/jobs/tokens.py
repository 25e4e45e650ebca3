"""Opaque page tokens for ``ListJobs``: a position in the store, sealed for one tenant.

A token holds the store position (the row sequence number) at which the next page starts,
encrypted under a key of the store, so that it reveals nothing (not even how many jobs other
tenants have), and authenticated together with the tenant, so that a token altered, invented or
taken from another tenant is refused. The key is kept in the store, so tokens outlive a server
restart.

Layout (URL-safe base64, no padding): 8 random bytes, the position XOR a pad of 8 bytes, a tag
of 16 bytes; pad and tag are HMAC-SHA256 under the key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os

NONCE = 8
POSITION = 8
TAG = 16
LENGTH = 43
"""Characters of every token (32 bytes in URL-safe base64 without padding)."""


class PageTokens:
    """Seals and opens page tokens under one key."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def _mac(self, label: bytes, *parts: bytes) -> bytes:
        message = label + b"".join(len(p).to_bytes(4, "big") + p for p in parts)
        return hmac.new(self._key, message, hashlib.sha256).digest()

    def seal(self, tenant: str, position: int) -> str:
        """The token of ``position`` for ``tenant``."""
        nonce = os.urandom(NONCE)
        plain = position.to_bytes(POSITION, "big", signed=False)
        pad = self._mac(b"pad", tenant.encode(), nonce)[:POSITION]
        hidden = bytes(a ^ b for a, b in zip(plain, pad, strict=True))
        tag = self._mac(b"tag", tenant.encode(), nonce, hidden)[:TAG]
        return base64.urlsafe_b64encode(nonce + hidden + tag).decode().rstrip("=")

    def open(self, tenant: str, token: str) -> int | None:
        """The position a token of ``tenant`` holds; ``None`` for anything else."""
        if len(token) != LENGTH:
            return None
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        except (binascii.Error, ValueError):
            return None
        nonce, hidden, tag = raw[:NONCE], raw[NONCE : NONCE + POSITION], raw[NONCE + POSITION :]
        if len(tag) != TAG:
            return None
        expected = self._mac(b"tag", tenant.encode(), nonce, hidden)[:TAG]
        if not hmac.compare_digest(tag, expected):
            return None
        pad = self._mac(b"pad", tenant.encode(), nonce)[:POSITION]
        return int.from_bytes(bytes(a ^ b for a, b in zip(hidden, pad, strict=True)), "big")
