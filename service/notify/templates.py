"""The parameters of each event's notification template, read once when the event is relayed: the
batch's title and the pickup point's name by their ids, the order's number. Stored with the
notification, so it is rendered in the reader's language when read (service.i18n)."""

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


def both_languages(event: str, params: dict[str, Any]) -> tuple[str, str] | None:
    """The stored title and body, for readers that cannot render (Chinese, then English)."""
    zh, en = rendered(event, params, "zh-CN"), rendered(event, params, "en")
    if zh is None or en is None:
        return None
    return f"{zh[0]} / {en[0]}"[:200], f"{zh[1]}\n{en[1]}"[:2000]
