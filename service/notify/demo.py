"""Demo notifications: a welcome event relayed to every demo account, and a webhook subscription.

The event goes through the real outbox and relay (in the seed's transaction), so the demo shows
in-app notifications at once. The subscription points at a placeholder endpoint, so it is
switched off after the relay: its one delivery is then recorded FAILED by a worker ("the
subscription is inactive") and shows how failures look, and nothing is sent anywhere.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.notify.events import WebhookEvent
from service.notify.outbox import emit
from service.notify.relay import relay_in_session
from service.notify.webhooks import create_subscription

if TYPE_CHECKING:
    from service.demo import DemoLogins

DEMO_WEBHOOK_URL = "https://hooks.example.com/groupbuy-demo"


async def seed_notifications(session: AsyncSession, tenant_id: UUID, logins: DemoLogins) -> None:
    created = await create_subscription(
        session, tenant_id=tenant_id, url=DEMO_WEBHOOK_URL, events=[e.value for e in WebhookEvent],
        created_by=None,
    )
    users = [str(r.id) for r in await session.execute(
        text("SELECT id FROM app_user WHERE tenant_id = :t ORDER BY created_at"), {"t": tenant_id})]
    await emit(session, tenant_id=tenant_id, event=WebhookEvent.BATCH_OPENED.value, subject_type="tenant",
               subject_id=tenant_id, payload={"title": "演示团期 Demo batch", "userIds": users})
    await relay_in_session(session, tenant_id=tenant_id)
    created.subscription.active = False
    await session.flush()
