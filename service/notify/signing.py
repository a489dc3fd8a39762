"""Webhook secrets and Standard Webhooks signatures.

A subscription's secret is never stored: it is HMAC-SHA256(server webhook key, "<id>:<version>"),
so the server can always sign, a database dump reveals no secret, and rotating means bumping the
version. Only its SHA-256 fingerprint is stored, to notice a changed server key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from uuid import UUID

from service.config import get_settings

SECRET_PREFIX = "whsec_"


def subscription_secret(subscription_id: UUID, version: int, *, key: str | None = None) -> bytes:
    key = key if key is not None else get_settings().webhook_key_value
    return hmac.new(key.encode(), f"{subscription_id}:{version}".encode(), hashlib.sha256).digest()


def shown_secret(secret: bytes) -> str:
    """What the subscriber is given once: `whsec_` + base64 of the secret's bytes."""
    return SECRET_PREFIX + base64.b64encode(secret).decode()


def fingerprint(secret: bytes) -> str:
    return hashlib.sha256(secret).hexdigest()


def sign(secret: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` header value: `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(secret, signed, hashlib.sha256).digest()).decode()


def verify(shown: str, msg_id: str, timestamp: str, body: bytes, header: str) -> bool:
    """What a receiver does (used by the tests' sink): any `v1,` signature in the header matches."""
    secret = base64.b64decode(shown.removeprefix(SECRET_PREFIX))
    expected = sign(secret, msg_id, int(timestamp), body)
    return any(hmac.compare_digest(expected, candidate) for candidate in header.split())
