"""Opaque global IDs (Relay): base64url of "Type:uuid"."""

from __future__ import annotations

import base64
import binascii
from uuid import UUID


def encode(type_name: str, id: UUID) -> str:
    return base64.urlsafe_b64encode(f"{type_name}:{id}".encode()).decode().rstrip("=")


# IDs decoded lately: a tenant's batches, points and offers come back in request after request.
_decoded: dict[str, tuple[str, UUID] | None] = {}
_DECODED_MAX = 16384


def decode(global_id: str) -> tuple[str, UUID] | None:
    """(type, uuid), or None for anything that is not one of our IDs."""
    found = _decoded.get(global_id, False)
    if found is not False:
        return found  # type: ignore[return-value]
    try:
        raw = base64.urlsafe_b64decode(global_id + "=" * (-len(global_id) % 4)).decode()
        type_name, _, value = raw.partition(":")
        found = type_name, UUID(value)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        found = None
    if len(_decoded) >= _DECODED_MAX:
        _decoded.clear()
    _decoded[global_id] = found
    return found


def decode_as(global_id: str, type_name: str) -> UUID | None:
    decoded = decode(global_id)
    if decoded is None or decoded[0] != type_name:
        return None
    return decoded[1]
