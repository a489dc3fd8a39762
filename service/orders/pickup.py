"""pickupConfirm: the pickup point's leader hands the goods over against the customer's code.

Only orders whose goods have arrived (READY_FOR_PICKUP: deliveryReceive) can be picked up: a
leader cannot turn a confirmed order into a pickup, and its commission into an earned one, before
the goods are there.

Codes tried are counted per leader and pickup point in Redis (fixed window, service/accounts/
rate_limits.py), and right ones given back: a leader's account cannot be used to walk through
the 10^6 possible codes, not even with concurrent requests or while Redis is down.
"""

from __future__ import annotations

import logging
import re
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.accounts import rate_limits
from service.accounts.rate_limits import Counter, Hit
from service.coupons.redemption import consume_for_order
from service.errors import ErrorCode, fail
from service.growth import distribution
from service.notify.outbox import emit
from service.orders.models import ORDERS_WITH_BATCH, order_state_sql
from service.procurement.commissions import earn_commission

log = logging.getLogger(__name__)

WRONG_CODES_ALLOWED = 10
WINDOW_SECONDS = 15 * 60
CODE_RE = re.compile(r"^[0-9]{6,12}$")


def _counter(tenant_id: UUID, user_id: UUID, pickup_point_id: UUID) -> Counter:
    return Counter(f"rl:pickup:{tenant_id}:{user_id}:{pickup_point_id}", WRONG_CODES_ALLOWED)


async def _take_guess(tenant_id: UUID, counter: Counter) -> Hit:
    """Every code tried takes a hit first (atomically with the check, so concurrent guesses
    cannot pass the limit); a code that matched gives it back. Never without Redis: an outage
    must not open the 10^6 codes to walking."""
    try:
        return await rate_limits.take(tenant_id, [counter], WINDOW_SECONDS, fallback=False)
    except rate_limits.Limited:
        raise fail(ErrorCode.RATE_LIMITED, "Too many wrong pickup codes; wait a few minutes.", ["pickupCode"]) from None
    except rate_limits.Unavailable:
        raise fail(
            ErrorCode.RATE_LIMITED, "Pickup codes cannot be checked right now; try again in a minute.", ["pickupCode"]
        ) from None


async def confirm_pickup(
    session: AsyncSession, *, tenant_id: UUID, user_id: UUID, pickup_point_id: UUID | None, pickup_code: str
) -> tuple[UUID, bool]:
    """The order collected with this code, and whether it had been collected before this call
    (confirming twice is harmless for the books; the leader must not hand it over again)."""
    point = None
    if pickup_point_id is not None:
        point = (
            await session.execute(
                text(
                    "SELECT p.id, l.user_id, l.status FROM pickup_point p "
                    "JOIN leader l ON l.tenant_id = p.tenant_id AND l.id = p.leader_id "
                    "WHERE p.tenant_id = :t AND p.id = :p"
                ),
                {"t": tenant_id, "p": pickup_point_id},
            )
        ).first()
    if point is None:
        raise fail(ErrorCode.NOT_FOUND, "No such pickup point.", ["pickupPointId"])
    if point.user_id != user_id or point.status != "APPROVED":
        raise fail(
            ErrorCode.FORBIDDEN, "Only this pickup point's leader confirms pickups here.", ["pickupPointId"]
        )
    guess = await _take_guess(tenant_id, _counter(tenant_id, user_id, point.id))
    code = pickup_code.strip()
    # Among this point's orders with that code (codes are unique per batch and point), the one
    # waiting to be picked up first, else one already picked up (confirming twice is harmless).
    order = None
    if CODE_RE.match(code):
        order = (
            await session.execute(
                text(
                    "SELECT id, status FROM (SELECT o.id, o.created_at, "
                    f"{order_state_sql()} AS status FROM {ORDERS_WITH_BATCH} "
                    "WHERE o.tenant_id = :t AND o.pickup_point_id = :p AND o.pickup_code = :c "
                    "AND o.status <> 'CANCELLED') o "
                    "ORDER BY (status = 'READY_FOR_PICKUP') DESC, (status = 'PICKED_UP') DESC, "
                    "         (status = 'CONFIRMED') DESC, created_at LIMIT 1"
                ),
                {"t": tenant_id, "p": point.id, "c": code},
            )
        ).first()
    if order is None:
        raise fail(
            ErrorCode.NOT_FOUND, "No order with this pickup code at this pickup point.", ["pickupCode"]
        )
    await rate_limits.give_back(guess)
    if order.status == "PICKED_UP":
        return order.id, True
    if order.status == "CONFIRMED":
        raise fail(
            ErrorCode.NOT_ARRIVED,
            "The goods of this order have not arrived yet: confirm their delivery on the pick list first.",
            ["pickupCode"],
        )
    if order.status != "READY_FOR_PICKUP":
        raise fail(
            ErrorCode.CONFLICT,
            "This order is not ready for pickup yet (its batch has not closed).",
            ["pickupCode"],
        )
    done = (
        await session.execute(
            text(
                "UPDATE customer_order SET status = 'PICKED_UP', picked_up_at = statement_timestamp() "
                "WHERE tenant_id = :t AND id = :id AND status = 'READY_FOR_PICKUP' "
                "RETURNING id, number, customer_id, leader_id"
            ),
            {"t": tenant_id, "id": order.id},
        )
    ).first()
    if done is not None:
        await earn_commission(session, tenant_id=tenant_id, order_id=done.id)
        await distribution.earn(session, tenant_id=tenant_id, order_id=done.id)
        await consume_for_order(session, tenant_id=tenant_id, order_id=done.id)  # paid at pickup
        await emit(
            session,
            tenant_id=tenant_id,
            event="ORDER_PICKED_UP",
            subject_type="order",
            subject_id=done.id,
            payload={
                "orderId": str(done.id),
                "number": done.number,
                "customerId": str(done.customer_id),
                "leaderId": str(done.leader_id),
            },
        )
    if done is None:  # the row changed while this call waited for it
        status = text("SELECT status FROM customer_order WHERE tenant_id = :t AND id = :id")
        now = (await session.execute(status, {"t": tenant_id, "id": order.id})).scalar()
        if now != "PICKED_UP":
            raise fail(ErrorCode.CONFLICT, "This order was cancelled while being confirmed.", ["pickupCode"])
        return order.id, True  # a concurrent confirmation committed first
    return order.id, False
