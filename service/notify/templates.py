"""The parameters of each event's notification template, read once when the event is relayed: the
batch's title and the pickup point's name by their ids, the order's number. Stored with the
notification, so it is rendered in the reader's language when read (service.i18n); what goes out
(e-mail) is rendered once, in its recipient's language."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.i18n import notification
from service.money import from_minor
from service.notify.recipients import ORDER_OF_EVENT, event_uuid

_PARAMS = text(f"""
SELECT e.id, jsonb_strip_nulls(jsonb_build_object(
         'number', COALESCE(e.payload->>'number', e.payload->>'orderNumber', o.number),
         'batch', COALESCE(b.title, e.payload->>'title', e.payload->>'batchTitle'),
         'point', pp.name,
         'amount', CASE WHEN jsonb_typeof(e.payload->'amount') = 'object'
                        THEN (e.payload->'amount'->>'amount') || ' ' || (e.payload->'amount'->>'currency')
                        ELSE e.payload->>'amount' END,
         'amountMinor', e.payload->'amountMinor',
         'currency', e.payload->>'currency',
         'reason', e.payload->>'reason',
         'count', e.payload->'count')) AS params
  FROM outbox_event e
  LEFT JOIN customer_order o ON o.tenant_id = e.tenant_id AND o.id = {ORDER_OF_EVENT}
  LEFT JOIN batch b ON b.tenant_id = e.tenant_id
        AND b.id = COALESCE(CASE WHEN e.subject_type = 'batch' THEN e.subject_id END,
                            {event_uuid("batchId")}, o.batch_id)
  LEFT JOIN pickup_point pp ON pp.tenant_id = e.tenant_id
        AND pp.id = COALESCE(CASE WHEN e.subject_type = 'pickup_point' THEN e.subject_id END,
                             {event_uuid("pickupPointId")}, o.pickup_point_id)
 WHERE e.tenant_id = :tenant_id AND e.id = ANY(CAST(:ids AS uuid[]))
""")


async def template_params(session: AsyncSession, tenant_id: UUID, ids: list[str]) -> dict[str, dict[str, Any]]:
    rows = (await session.execute(_PARAMS, {"tenant_id": tenant_id, "ids": ids})).all()
    return {str(r.id): (r.params if isinstance(r.params, dict) else json.loads(r.params)) for r in rows}


def values(params: dict[str, Any]) -> dict[str, Any]:
    """What the templates fill in: the amount as a decimal with its currency."""
    out = {k: str(v)[:200] for k, v in params.items() if k not in ("amountMinor", "currency")}
    minor, currency = params.get("amountMinor"), params.get("currency")
    if "amount" not in out and isinstance(minor, int) and isinstance(currency, str):
        out["amount"] = f"{from_minor(minor, currency)} {currency}"
    return out


def rendered(event: str, params: dict[str, Any], lang: str | None = None) -> tuple[str, str] | None:
    return notification(event, values(params), lang)


def in_language(event: str, params: dict[str, Any], lang: str) -> tuple[str, str]:
    """The title and body in `lang` alone, cut to the columns' sizes (an unknown event: its name)."""
    found = rendered(event, params, lang)
    title, body = found if found is not None else (event, event)
    return title[:200], body[:2000]


def payload_params(payload: dict[str, Any]) -> dict[str, Any]:
    """The template's parameters from the payload alone (what `_PARAMS` reads first), for an e-mail
    queued before its text was rendered at the relay."""
    def first(*keys: str) -> Any:
        return next((payload[k] for k in keys if payload.get(k) not in (None, "")), None)

    amount = payload.get("amount")
    params = {
        "number": first("number", "orderNumber"),
        "batch": first("title", "batchTitle"),
        "point": first("pointName", "pickupPointName"),
        "amount": (f"{amount.get('amount')} {amount.get('currency')}" if isinstance(amount, dict) else amount),
        "amountMinor": payload.get("amountMinor"),
        "currency": payload.get("currency"),
        "reason": payload.get("reason"),
        "count": payload.get("count"),
    }
    return {k: v for k, v in params.items() if v is not None}
