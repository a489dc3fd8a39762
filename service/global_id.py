"""Opaque global IDs (Relay): base64url of "Type:uuid"."""

from __future__ import annotations

import base64
import binascii
from functools import lru_cache
from uuid import UUID


def encode(type_name: str, id: UUID) -> str:
    return base64.urlsafe_b64encode(f"{type_name}:{id}".encode()).decode().rstrip("=")


@lru_cache(maxsize=16384)  # a tenant's batches, points and offers come back request after request
def decode(global_id: str) -> tuple[str, UUID] | None:
    """(type, uuid), or None for anything that is not one of our IDs."""
    try:
        raw = base64.urlsafe_b64decode(global_id + "=" * (-len(global_id) % 4)).decode()
        type_name, _, value = raw.partition(":")
        return type_name, UUID(value)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None


def decode_as(global_id: str, type_name: str) -> UUID | None:
    decoded = decode(global_id)
    if decoded is None or decoded[0] != type_name:
        return None
    return decoded[1]
