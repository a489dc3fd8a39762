"""A customer's cancellation of a 拼团 order: refused once the order's group has formed.

A group that SUCCEEDED stays succeeded: its orders are the ones the close puts into the purchase
orders and pick lists, and a member leaving would leave the group short after the fact. So a
paid member of a succeeded group cannot cancel (CONFLICT); what goes wrong later is after-sales
(orderRefund, refund requests, shortages), which refunds lines and leaves the group SUCCEEDED.
Unpaid members (a lapsed hold) and members of a group still OPEN may cancel: the place is free
again. The group's row is locked first (the lock order of joins, payments and the expiry job),
so a cancellation and the payment that would fill the group happen one after the other.
"""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.errors import ErrorCode, fail
from service.i18n import msg

_LOCK = text(
    "SELECT g.status, m.paid_at IS NOT NULL AS paid FROM group_buy_member m "
    "JOIN group_buy g ON g.tenant_id = m.tenant_id AND g.id = m.group_buy_id "
    "WHERE m.tenant_id = :t AND m.order_id = :o FOR UPDATE OF g"
)


async def check_cancel(session: AsyncSession, *, tenant_id: UUID, order_id: UUID) -> None:
    """Locks the order's group, if any; CONFLICT (on ["id"]) for a paid member of a succeeded group."""
    row = (await session.execute(_LOCK, {"t": tenant_id, "o": order_id})).first()
    if row is not None and row.status == "SUCCEEDED" and row.paid:
        raise fail(ErrorCode.CONFLICT, msg("groupbuys.cancel_succeeded"), ["id"])
