"""Values of webhook payloads, one format for every event (docs/guide/webhooks.html):

- money: `{"amount": "59.70", "currency": "CNY"}`, a decimal string like the API's `Money`;
- ids: global IDs of types `node()` resolves (for a caller allowed to see the object).

A domain writing an event may put `money(minor, currency)` in its payload; an integer
`<name>Minor` beside a `currency` is sent as `<name>` in the same format as well.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from service import global_id
from service.money import from_minor


def money(minor: int, currency: str) -> dict[str, str]:
    """The webhook (and JSON) form of an amount held in minor units."""
    return {"amount": str(from_minor(int(minor), currency)), "currency": currency}


def node_id(type_name: str, id: UUID | str) -> str:
    """The global ID `node()` answers for, as the API's `id` fields give it."""
    return global_id.encode(type_name, UUID(str(id)))


def is_money(value: Any) -> bool:
    return (isinstance(value, dict) and set(value) == {"amount", "currency"}
            and isinstance(value["amount"], str) and isinstance(value["currency"], str))


def add_money(data: dict[str, Any]) -> dict[str, Any]:
    """Each integer `<name>Minor` with the payload's `currency`, also as `<name>` in the money
    format (the integer stays: receivers built on it keep working)."""
    currency = data.get("currency")
    if not isinstance(currency, str):
        return data
    for key, value in list(data.items()):
        if key.endswith("Minor") and len(key) > 5 and isinstance(value, int) and not isinstance(value, bool):
            data.setdefault(key[:-5], money(value, currency))
    return data
