"""Demo coupons: a 满30减5 template, one coupon claimed by a member of the demo group, and a coupon
pack (券包) giving a friend and the sharer one coupon each."""

from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import UUID, uuid4

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.coupons.claims import claim
from service.db import insert_select
from service.growth.links import new_code

if TYPE_CHECKING:
    from service.demo import DemoLogins


async def seed_coupons(session: AsyncSession, tenant_id: UUID, logins: DemoLogins) -> None:
    template = uuid4()
    await insert_select(
        session,
        "INSERT INTO coupon_template (tenant_id, id, name, kind, currency, amount_off_minor, threshold_minor, "
        "per_customer_limit, total_quantity, budget_minor, audience)",
        "SELECT CAST(:t AS uuid), CAST(:id AS uuid), '满30减5', 'AMOUNT_OFF', currency, 500, 3000, 1, 100, 20000, "
        "'ANYONE' FROM tenant WHERE id = :t",
        {"t": tenant_id, "id": template})
    member = (await session.execute(
        text("SELECT user_id FROM group_member ORDER BY joined_at LIMIT 1"))).scalar_one_or_none()
    if member is not None:
        await claim(session, tenant_id=tenant_id, customer_id=member, template_id=template, idempotency_key="demo")
    await session.execute(
        text("INSERT INTO coupon_pack (tenant_id, id, name, friend_template_ids, sharer_template_ids) "
             "VALUES (:t, :id, '邀请有礼', ARRAY[CAST(:tpl AS uuid)], ARRAY[CAST(:tpl AS uuid)])"),
        {"t": tenant_id, "id": uuid4(), "tpl": template})
    if member is not None:  # the demo leader shared the pack; the member's order came through it
        # Step by step, each row of one tenant: Citus would copy an INSERT ... SELECT calling
        # gen_random_uuid() or clock_timestamp() into the shards, which row-level security refuses.
        pack = (await session.execute(text("SELECT id FROM coupon_pack WHERE tenant_id = :t LIMIT 1"),
                                      {"t": tenant_id})).scalar_one()
        sharer = (await session.execute(text(
            "SELECT user_id FROM leader WHERE tenant_id = :t AND user_id <> :m ORDER BY created_at LIMIT 1"),
            {"t": tenant_id, "m": member})).scalar_one_or_none()
        order = (await session.execute(text(
            "SELECT id, customer_id, status FROM customer_order WHERE tenant_id = :t AND customer_id = :m "
            "ORDER BY status IN ('PENDING_PAYMENT', 'PLACED') DESC, created_at LIMIT 1"),
            {"t": tenant_id, "m": member})).first()
        if sharer is None or order is None:
            return
        link = uuid4()
        await session.execute(text(
            "INSERT INTO share_link (tenant_id, id, code, sharer_id, target, target_id) "
            "VALUES (:t, :id, :code, :s, 'COUPON_PACK', :p)"),
            {"t": tenant_id, "id": link, "code": new_code(), "s": sharer, "p": pack})
        status = {"CANCELLED": "CANCELLED", "PENDING_PAYMENT": "PENDING", "PLACED": "PENDING"}.get(
            order.status, "GRANTED")
        await session.execute(text(
            "INSERT INTO coupon_pack_referral (tenant_id, id, pack_id, share_link_id, sharer_id, friend_id, "
            "order_id, status, settled_at) VALUES (:t, :id, :p, :l, :s, :f, :o, :st, "
            "CASE WHEN :pending THEN NULL ELSE clock_timestamp() END)"),
            {"t": tenant_id, "id": uuid4(), "p": pack, "l": link, "s": sharer, "f": order.customer_id,
             "o": order.id, "st": status, "pending": order.status in ("PENDING_PAYMENT", "PLACED")})
