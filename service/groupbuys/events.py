"""GROUP_OPENED, GROUP_SUCCEEDED and GROUP_FAILED: one outbox event per group, in one statement.

The payload names the group's offer and batch, its counts, the unit price as Money
({"amount": "12.30", "currency": "CNY"}), the members (`customerIds`) and their pickup points'
leaders (`leaderIds`); `userIds` routes the in-app notification to both (service/notify/outbox.py).
The relay sends every id as a global ID.
"""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.money import exponent

GROUP_OPENED = "GROUP_OPENED"
GROUP_SUCCEEDED = "GROUP_SUCCEEDED"
GROUP_FAILED = "GROUP_FAILED"

# Members told: the paid ones, and every member of a failed group (all of them are cancelled).
_EMIT = text("""
INSERT INTO outbox_event (tenant_id, id, event, subject_type, subject_id, payload)
SELECT g.tenant_id, gen_random_uuid(), CAST(:event AS text), 'group_buy', g.id,
       jsonb_build_object(
         'groupBuyId', g.id, 'offerId', g.offer_id, 'batchId', g.batch_id, 'status', g.status,
         'size', g.size, 'paidMembers', coalesce(m.paid, 0), 'succeededVirtually', g.succeeded_virtually,
         'expiresAt', g.expires_at, 'shareCode', g.share_code,
         'price', jsonb_build_object('amount', round(f.price_minor::numeric / (10::numeric ^ :exp), :exp)::text,
                                     'currency', CAST(:currency AS text)),
         'customerIds', coalesce(m.customers, '[]'::jsonb), 'leaderIds', coalesce(m.leaders, '[]'::jsonb),
         'userIds', coalesce(m.customers, '[]'::jsonb) || coalesce(m.leader_users, '[]'::jsonb))
FROM group_buy g
JOIN offer f ON f.tenant_id = g.tenant_id AND f.id = g.offer_id
LEFT JOIN LATERAL (
  SELECT count(*) FILTER (WHERE gm.paid_at IS NOT NULL AND o.status <> 'CANCELLED') AS paid,
         jsonb_agg(DISTINCT gm.customer_id) AS customers, jsonb_agg(DISTINCT l.id) AS leaders,
         jsonb_agg(DISTINCT l.user_id) AS leader_users
  FROM group_buy_member gm
  JOIN customer_order o ON o.tenant_id = gm.tenant_id AND o.id = gm.order_id
  JOIN leader l ON l.tenant_id = o.tenant_id AND l.id = o.leader_id
  WHERE gm.tenant_id = g.tenant_id AND gm.group_buy_id = g.id
    AND (gm.paid_at IS NOT NULL OR CAST(:event AS text) = 'GROUP_FAILED')
) m ON true
WHERE g.tenant_id = :t AND g.id = ANY(CAST(:ids AS uuid[]))
""")


async def emit_group_events(
    session: AsyncSession, *, tenant_id: UUID, currency: str, event: str, group_ids: Sequence[UUID]
) -> None:
    if group_ids:
        await session.execute(_EMIT, {"t": tenant_id, "event": event, "ids": list(group_ids),
                                      "exp": exponent(currency), "currency": currency})


async def tenant_currency(session: AsyncSession, tenant_id: UUID) -> str:
    return str((await session.execute(text("SELECT currency FROM tenant WHERE id = :t"), {"t": tenant_id}))
               .scalar_one())
