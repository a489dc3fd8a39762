"""Demo: last week's purchase order shipped, one of its units short at the point, and a
customer's open after-sales request on the order already picked up."""

from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.aftersales import requests
from service.aftersales.models import RefundReason
from service.aftersales.refunds import Actor
from service.aftersales.shortage import ship_purchase_order
from service.batches.demo import _tenant

if TYPE_CHECKING:
    from service.demo import DemoLogins


async def seed_shortages(session: AsyncSession, tenant_id: UUID, logins: DemoLogins) -> None:
    tenant = await _tenant(session, tenant_id)
    for po_id in (await session.execute(text(
            "SELECT po.id FROM purchase_order po WHERE NOT EXISTS (SELECT 1 FROM delivery_line d "
            "WHERE d.tenant_id = po.tenant_id AND d.purchase_order_id = po.id) ORDER BY po.created_at, po.id"))
            ).scalars().all():
        await ship_purchase_order(session, tenant=tenant, purchase_order_id=po_id, supplier_id=None, lines=None,
                                  actor=Actor("platform"))
    picked = (await session.execute(text(
        "SELECT o.customer_id, l.id FROM customer_order o JOIN order_line l ON l.tenant_id = o.tenant_id "
        "AND l.order_id = o.id WHERE o.status = 'PICKED_UP' AND l.status = 'ACTIVE' "
        "AND NOT EXISTS (SELECT 1 FROM after_sales_request r WHERE r.tenant_id = l.tenant_id "
        "AND r.order_line_id = l.id) ORDER BY o.picked_up_at, l.position LIMIT 1"))).first()
    if picked is not None:
        await requests.request(session, tenant=tenant, customer_id=picked.customer_id, line_id=picked.id,
                               quantity=1, reason=RefundReason.QUALITY, note="一个鸡蛋是坏的 One egg was bad",
                               urls=["https://img.example.com/aftersales/egg.jpg"])
