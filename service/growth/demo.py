"""Demo: the leader shares last week's batch; a customer came through it and was bound, the close
paid a level-1 distribution commission (and one earned at pickup); an offer with its own rate."""

from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.growth import distribution
from service.growth.links import ShareTarget, create_link

if TYPE_CHECKING:
    from service.demo import DemoLogins


async def seed_growth(session: AsyncSession, tenant_id: UUID, logins: DemoLogins) -> None:
    batch = (await session.execute(text(
        "SELECT id FROM batch WHERE status IN ('CLOSED', 'COMPLETED') ORDER BY created_at, id LIMIT 1"))).first()
    leader = (await session.execute(text(
        "SELECT user_id FROM leader WHERE status = 'APPROVED' ORDER BY created_at, id LIMIT 1"))).scalar()
    if batch is None or leader is None:
        return
    orders = (await session.execute(text(
        "SELECT id, customer_id, created_at FROM customer_order WHERE batch_id = :b AND customer_id <> :l "
        "ORDER BY created_at, id"), {"b": batch.id, "l": leader})).all()
    if not orders:
        return
    await session.execute(text(
        "UPDATE tenant SET distribution_enabled = true, distribution_level1_rate = 0.05, "
        "distribution_level2_rate = 0.02 WHERE id = :t"), {"t": tenant_id})
    share = await create_link(session, tenant_id=tenant_id, sharer_id=leader, target=ShareTarget.BATCH,
                              target_id=batch.id)
    first = orders[0]
    await session.execute(text(
        "INSERT INTO share_visit (tenant_id, id, share_link_id, visitor_id, visited_at) "
        "VALUES (:t, gen_random_uuid(), :l, :v, :at - interval '1 minute')"),
        {"t": tenant_id, "l": share.id, "v": first.customer_id, "at": first.created_at})
    # Bound before the order was placed, as if they had come through the link then.
    await session.execute(text(
        "INSERT INTO referral_binding (tenant_id, id, customer_id, referrer_id, share_link_id, bound_at) "
        "VALUES (:t, gen_random_uuid(), :c, :l, :s, :at - interval '1 minute')"),
        {"t": tenant_id, "c": first.customer_id, "l": leader, "s": share.id, "at": first.created_at})
    await session.execute(text(
        "INSERT INTO order_referral (tenant_id, order_id, level, referrer_id, customer_id, share_link_id) "
        "VALUES (:t, :o, 1, :l, :c, :s)"),
        {"t": tenant_id, "o": first.id, "l": leader, "c": first.customer_id, "s": share.id})
    offer = (await session.execute(text("SELECT id FROM offer WHERE batch_id = :b ORDER BY position LIMIT 1"),
                                   {"b": batch.id})).scalar()
    await session.execute(text(
        "INSERT INTO offer_distribution (tenant_id, offer_id, level1_rate) VALUES (:t, :o, 0.08)"),
        {"t": tenant_id, "o": offer})
    await distribution.write_pending(session, tenant_id=tenant_id, batch_id=batch.id)
    picked = (await session.execute(text(
        "SELECT id FROM customer_order WHERE batch_id = :b AND status = 'PICKED_UP'"), {"b": batch.id})).scalars()
    for order_id in picked:
        await distribution.earn(session, tenant_id=tenant_id, order_id=order_id)
