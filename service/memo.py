"""Values kept per object by identity, for long-lived objects that are costly to hash or not
hashable at all: parsed documents and their nodes (the parser cache hands out the same ones for
the same query), schema parts, result shapes."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

V = TypeVar("V")
MISSING: Any = object()


class ByIdentity(Generic[V]):
    """Each entry holds its object, so the object's id cannot pass to another one while the entry
    lives; everything is forgotten at once when `limit` entries are kept."""

    __slots__ = ("_entries", "_limit")

    def __init__(self, limit: int) -> None:
        self._entries: dict[int, tuple[Any, V]] = {}
        self._limit = limit

    def get(self, obj: Any, default: Any = MISSING) -> V | Any:
        hit = self._entries.get(id(obj))
        return hit[1] if hit is not None and hit[0] is obj else default

    def put(self, obj: Any, value: V) -> V:
        if len(self._entries) >= self._limit:
            self._entries.clear()
        self._entries[id(obj)] = (obj, value)
        return value

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
