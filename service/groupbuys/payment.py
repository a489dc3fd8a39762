"""A 拼团 order's payment: counted under its group's row lock, so the last place goes to one payment.

orderMarkPaid calls `lock_group` before it updates the order (the lock order of joins, payments,
the expiry job and the close: group, then orders, then stock), and `after_paid` after. A payment
that finds its group full (its unpaid hold had lapsed and the place went to another) or ended is
not counted: the order is cancelled and refunded in the same transaction (REFUND_CREATED tells
the tenant's back end, which executes the refund), so a group never has more paid members than
its size. A payment after the group's window (the expiry job may not have run yet) is not counted
either (ENDED): the window is the deadline, whenever the job runs.
"""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.groupbuys.events import GROUP_OPENED, GROUP_SUCCEEDED, emit_group_events, tenant_currency
from service.orders.models import OrderStatus
from service.orders.release import cancel_orders

LOST_RACE_REASON = "The 拼团 group filled before this payment arrived; the payment is refunded"
ENDED_REASON = "The 拼团 group's window ended before this payment arrived; the payment is refunded"

_LOCK = text(
    "SELECT g.id FROM group_buy_member m "
    "JOIN group_buy g ON g.tenant_id = m.tenant_id AND g.id = m.group_buy_id "
    "WHERE m.tenant_id = :t AND m.order_id = :o FOR UPDATE OF g"
)
_PAID = text("SELECT group_buy_id, outcome FROM group_buy_paid(:t, :o)")


async def lock_group(session: AsyncSession, *, tenant_id: UUID, order_id: UUID) -> bool:
    """Locks the order's group; False when the order is in none (one index lookup)."""
    return (await session.execute(_LOCK, {"t": tenant_id, "o": order_id})).first() is not None


async def after_paid(session: AsyncSession, *, tenant_id: UUID, order_id: UUID) -> str | None:
    """Counts the paid order in its group; returns the outcome (None: not a 拼团 order)."""
    row = (await session.execute(_PAID, {"t": tenant_id, "o": order_id})).first()
    if row is None:
        return None
    outcome = str(row.outcome)
    if outcome in ("FULL", "ENDED"):
        await cancel_orders(session, tenant_id=tenant_id, order_ids=[order_id],
                            reason=LOST_RACE_REASON if outcome == "FULL" else ENDED_REASON,
                            from_statuses=[OrderStatus.PAID, OrderStatus.PLACED])
    elif outcome in ("OPENED", "SUCCEEDED"):
        event = GROUP_OPENED if outcome == "OPENED" else GROUP_SUCCEEDED
        await emit_group_events(session, tenant_id=tenant_id, currency=await tenant_currency(session, tenant_id),
                                event=event, group_ids=[row.group_buy_id])
    return outcome
