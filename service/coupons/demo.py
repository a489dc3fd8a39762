"""Demo coupons: a 满30减5 template, and one coupon claimed by a member of the demo group."""

from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import UUID, uuid4

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.coupons.claims import claim

if TYPE_CHECKING:
    from service.demo import DemoLogins


async def seed_coupons(session: AsyncSession, tenant_id: UUID, logins: DemoLogins) -> None:
    template = uuid4()
    await session.execute(
        text("INSERT INTO coupon_template (tenant_id, id, name, kind, currency, amount_off_minor, threshold_minor, "
             "per_customer_limit, total_quantity, budget_minor, audience) "
             "SELECT :t, :id, '满30减5', 'AMOUNT_OFF', currency, 500, 3000, 1, 100, 20000, 'ANYONE' "
             "FROM tenant WHERE id = :t"),
        {"t": tenant_id, "id": template})
    member = (await session.execute(
        text("SELECT user_id FROM group_member ORDER BY joined_at LIMIT 1"))).scalar_one_or_none()
    if member is not None:
        await claim(session, customer_id=member, template_id=template, idempotency_key="demo")
