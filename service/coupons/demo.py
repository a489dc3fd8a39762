"""Demo coupons: a 满30减5 template, one coupon claimed by a member of the demo group, and a coupon
pack (券包) giving a friend and the sharer one coupon each."""

from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import UUID, uuid4

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.coupons.claims import claim
from service.growth.links import new_code

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
    await session.execute(
        text("INSERT INTO coupon_pack (tenant_id, id, name, friend_template_ids, sharer_template_ids) "
             "VALUES (:t, :id, '邀请有礼', ARRAY[CAST(:tpl AS uuid)], ARRAY[CAST(:tpl AS uuid)])"),
        {"t": tenant_id, "id": uuid4(), "tpl": template})
    if member is not None:  # the demo leader shared the pack; the member's order came through it
        await session.execute(text("""
WITH link AS (
  INSERT INTO share_link (tenant_id, id, code, sharer_id, target, target_id)
  SELECT :t, gen_random_uuid(), :code, l.user_id, 'COUPON_PACK', p.id
  FROM coupon_pack p, (SELECT user_id FROM leader WHERE user_id <> :m ORDER BY created_at LIMIT 1) l
  WHERE p.tenant_id = :t
  RETURNING id, target_id, sharer_id
)
INSERT INTO coupon_pack_referral (tenant_id, id, pack_id, share_link_id, sharer_id, friend_id, order_id, status,
                                  settled_at)
SELECT :t, gen_random_uuid(), link.target_id, link.id, link.sharer_id, o.customer_id, o.id,
       CASE o.status WHEN 'CANCELLED' THEN 'CANCELLED' WHEN 'PENDING_PAYMENT' THEN 'PENDING'
                     WHEN 'PLACED' THEN 'PENDING' ELSE 'GRANTED' END,
       CASE WHEN o.status NOT IN ('PENDING_PAYMENT', 'PLACED') THEN clock_timestamp() END
FROM link, (SELECT id, customer_id, status FROM customer_order WHERE customer_id = :m
            ORDER BY status IN ('PENDING_PAYMENT', 'PLACED') DESC, created_at LIMIT 1) o
"""), {"t": tenant_id, "m": member, "code": new_code()})
