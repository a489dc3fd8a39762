"""At the pickup counter: a customer's ready orders handed over in one step, and 催取货 (the list
of customers whose orders wait, and one reminder to all of them, at most once per interval)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.config import get_settings
from service.errors import ErrorCode, fail
from service.i18n import msg
from service.notify.outbox import emit
from service.orders.models import ORDERS_WITH_BATCH, order_state_sql
from service.procurement.commissions import earn_commission

MAX_ORDERS = 20


async def own_point(session: AsyncSession, *, tenant_id: UUID, user_id: UUID, pickup_point_id: UUID | None) -> UUID:
    """The pickup point, if the caller is its approved leader."""
    point = None
    if pickup_point_id is not None:
        point = (await session.execute(
            text("SELECT p.id, l.user_id, l.status FROM pickup_point p "
                 "JOIN leader l ON l.tenant_id = p.tenant_id AND l.id = p.leader_id "
                 "WHERE p.tenant_id = :t AND p.id = :p"),
            {"t": tenant_id, "p": pickup_point_id},
        )).first()
    if point is None:
        raise fail(ErrorCode.NOT_FOUND, "No such pickup point.", ["pickupPointId"])
    if point.user_id != user_id or point.status != "APPROVED":
        raise fail(ErrorCode.FORBIDDEN, "Only this pickup point's leader confirms pickups here.", ["pickupPointId"])
    return point.id


async def confirm_many(
    session: AsyncSession, *, tenant_id: UUID, user_id: UUID, pickup_point_id: UUID | None,
    order_ids: Sequence[UUID | None],
) -> tuple[list[UUID], list[UUID]]:
    """Every order named is handed over, or none (an error rolls the caller's transaction back):
    (orders picked up now, orders that had been picked up before)."""
    point = await own_point(session, tenant_id=tenant_id, user_id=user_id, pickup_point_id=pickup_point_id)
    if not order_ids:
        raise fail(ErrorCode.INVALID, msg("pickup.orders_required"), ["orderIds"])
    if len(order_ids) > MAX_ORDERS:
        raise fail(ErrorCode.INVALID, msg("pickup.too_many_orders", max=MAX_ORDERS), ["orderIds"])
    wanted = [i for i in order_ids if i is not None]
    # Locked in id order: two handovers naming the same orders cannot deadlock.
    rows = {r.id: r for r in (await session.execute(
        text(f"SELECT o.id, o.number, o.customer_id, o.leader_id, {order_state_sql()} AS state "
             f"FROM {ORDERS_WITH_BATCH} WHERE o.tenant_id = :t AND o.id = ANY(:ids) AND o.pickup_point_id = :p "
             "ORDER BY o.id FOR UPDATE OF o"),
        {"t": tenant_id, "ids": wanted, "p": point},
    )).all()}
    done, before = [], []
    for n, order_id in enumerate(order_ids):
        row = rows.get(order_id) if order_id is not None else None
        if row is None:
            raise fail(ErrorCode.NOT_FOUND, "No such order.", ["orderIds", str(n)])
        if row.state == "PICKED_UP":
            before.append(row.id)
            continue
        if row.state == "CONFIRMED":
            raise fail(ErrorCode.NOT_ARRIVED, msg("pickup.order_not_ready", number=row.number), ["orderIds", str(n)])
        if row.state != "READY_FOR_PICKUP":
            raise fail(ErrorCode.CONFLICT, msg("pickup.order_not_ready", number=row.number), ["orderIds", str(n)])
        if row.id in done:
            continue
        await session.execute(
            text("UPDATE customer_order SET status = 'PICKED_UP', picked_up_at = statement_timestamp() "
                 "WHERE tenant_id = :t AND id = :id"),
            {"t": tenant_id, "id": row.id},
        )
        await earn_commission(session, tenant_id=tenant_id, order_id=row.id)
        await emit(session, tenant_id=tenant_id, event="ORDER_PICKED_UP", subject_type="order", subject_id=row.id,
                   payload={"orderId": str(row.id), "number": row.number, "customerId": str(row.customer_id),
                            "leaderId": str(row.leader_id)})
        done.append(row.id)
    return done, before


@dataclass(frozen=True)
class Waiting:
    customer_id: UUID
    customer_name: str
    phone: str | None
    order_ids: list[UUID]
    oldest_ready_at: datetime


_WAITING = text(f"""
SELECT o.customer_id, max(o.customer_name) AS customer_name, max(u.phone) AS phone,
       array_agg(o.id ORDER BY o.created_at, o.id) AS order_ids, min(o.created_at) AS oldest
  FROM {ORDERS_WITH_BATCH}
  JOIN app_user u ON u.tenant_id = o.tenant_id AND u.id = o.customer_id
 WHERE o.tenant_id = :t AND o.pickup_point_id = :p AND o.status = 'READY_FOR_PICKUP'
 GROUP BY o.customer_id
 ORDER BY min(o.created_at), o.customer_id
""")


async def waiting(session: AsyncSession, *, tenant_id: UUID, pickup_point_id: UUID) -> list[Waiting]:
    rows = (await session.execute(_WAITING, {"t": tenant_id, "p": pickup_point_id})).all()
    return [Waiting(r.customer_id, r.customer_name, r.phone, list(r.order_ids), r.oldest) for r in rows]


_CLAIM = text("""
UPDATE pickup_point SET reminded_at = statement_timestamp()
 WHERE tenant_id = :t AND id = :p
   AND (reminded_at IS NULL OR reminded_at <= statement_timestamp() - make_interval(mins => :minutes))
RETURNING id
""")
_NEXT = text("SELECT ceil(extract(epoch FROM reminded_at + make_interval(mins => :minutes) - clock_timestamp()) / 60) "
             "FROM pickup_point WHERE tenant_id = :t AND id = :p")


async def remind(session: AsyncSession, *, tenant_id: UUID, user_id: UUID, pickup_point_id: UUID | None) -> int:
    """One PICKUP_REMINDER per waiting customer; refused (RATE_LIMITED) within the interval of the
    last reminder. The claim is one conditional UPDATE: concurrent taps send once."""
    point = await own_point(session, tenant_id=tenant_id, user_id=user_id, pickup_point_id=pickup_point_id)
    minutes = get_settings().pickup_reminder_interval_minutes
    if (await session.execute(_CLAIM, {"t": tenant_id, "p": point, "minutes": minutes})).first() is None:
        left = (await session.execute(_NEXT, {"t": tenant_id, "p": point, "minutes": minutes})).scalar()
        raise fail(ErrorCode.RATE_LIMITED, msg("pickup.reminded_recently", minutes=max(1, int(left or 1))),
                   ["pickupPointId"])
    customers = await waiting(session, tenant_id=tenant_id, pickup_point_id=point)
    for c in customers:
        await emit(session, tenant_id=tenant_id, event="PICKUP_REMINDER", subject_type="order",
                   subject_id=c.order_ids[0],
                   payload={"orderId": str(c.order_ids[0]), "customerId": str(c.customer_id),
                            "pickupPointId": str(point), "count": len(c.order_ids)})
    return len(customers)
