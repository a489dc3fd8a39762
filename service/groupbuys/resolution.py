"""The end of a group's window, or of its batch: one set-based pass per tenant, exactly once.

Open groups that are due are locked (in id order) and resolved by a guarded UPDATE (status still
OPEN), so concurrent or repeated runs resolve each group once. A group short of its size FAILS,
unless its offer says SUCCEED_ANYWAY and someone paid (then it SUCCEEDS, succeeded_virtually). A
failed group's members' orders are all cancelled through `cancel_orders` (its state guard
cancels and refunds each order once: every member's own order, not the starter's); the unpaid
members of a group that succeeded anyway are cancelled too. Refunds are recorded here; the
REFUND_CREATED event tells the tenant's back end, which calls the payment provider outside this
transaction.

The close resolves every open group of its batch first (`batch_id`), in its own transaction under
the batch gate: a group still open at the cutoff ends by its offer's rule, and only orders of
groups that succeeded reach the purchase orders and pick lists.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from service.batches.locks import pass_gate
from service.batches.tenant_scan import tenants_having
from service.db import tenant_transaction
from service.groupbuys.events import GROUP_FAILED, GROUP_SUCCEEDED, emit_group_events, tenant_currency
from service.orders.release import cancel_orders

log = logging.getLogger(__name__)

FAILED_REASON = "The 拼团 group did not fill in time; the payment is refunded"
UNPAID_REASON = "The 拼团 group ended before this order was paid"

_DUE = "g.tenant_id = :t AND g.status = 'OPEN' AND (CASE WHEN CAST(:b AS uuid) IS NULL " \
       "THEN g.expires_at <= statement_timestamp() ELSE g.batch_id = CAST(:b AS uuid) END)"

_DUE_BATCHES = text(f"SELECT DISTINCT g.batch_id FROM group_buy g WHERE {_DUE} ORDER BY g.batch_id")

_RESOLVE = text(f"""
WITH due AS (
  SELECT g.id FROM group_buy g WHERE {_DUE} ORDER BY g.id FOR UPDATE
), counted AS (
  SELECT d.id, count(*) FILTER (WHERE m.paid_at IS NOT NULL AND o.status <> 'CANCELLED') AS paid
  FROM due d
  LEFT JOIN group_buy_member m ON m.tenant_id = :t AND m.group_buy_id = d.id
  LEFT JOIN customer_order o ON o.tenant_id = m.tenant_id AND o.id = m.order_id
  GROUP BY d.id
)
UPDATE group_buy g
SET status = CASE WHEN g.expiry = 'SUCCEED_ANYWAY' AND c.paid >= 1 THEN 'SUCCEEDED' ELSE 'FAILED' END,
    succeeded_virtually = (g.expiry = 'SUCCEED_ANYWAY' AND c.paid >= 1),
    resolved_at = statement_timestamp()
FROM counted c
WHERE g.tenant_id = :t AND g.id = c.id AND g.status = 'OPEN'
RETURNING g.id, g.status, g.opened_at IS NOT NULL AS opened
""")

# Orders to cancel: every member of a failed group; the unpaid members of one that succeeded anyway.
_TO_CANCEL = text("""
SELECT m.order_id, g.status FROM group_buy_member m
JOIN group_buy g ON g.tenant_id = m.tenant_id AND g.id = m.group_buy_id
WHERE m.tenant_id = :t AND m.group_buy_id = ANY(CAST(:ids AS uuid[]))
  AND (g.status = 'FAILED' OR m.paid_at IS NULL)
ORDER BY m.order_id
""")

_CLOSE_MEMBERS = text(
    "UPDATE group_buy_member SET open = false "
    "WHERE tenant_id = :t AND group_buy_id = ANY(CAST(:ids AS uuid[])) AND open"
)


_LOCK_OPEN = text("SELECT id FROM group_buy WHERE tenant_id = :t AND batch_id = :b AND status = 'OPEN' "
                  "ORDER BY id FOR UPDATE")


async def lock_open_groups(session: AsyncSession, *, tenant_id: UUID, batch_id: UUID) -> None:
    """A batch cancellation locks its open groups before it cancels their orders (the lock order of
    payments: group, then order), then fails them with resolve_groups."""
    await session.execute(_LOCK_OPEN, {"t": tenant_id, "b": batch_id})


@dataclass(frozen=True)
class Resolved:
    succeeded: int
    failed: int
    cancelled_orders: int


async def resolve_groups(
    session: AsyncSession, *, tenant_id: UUID, batch_id: UUID | None = None, gate: bool = True
) -> Resolved:
    """Resolves the tenant's due open groups (or, with `batch_id`, every open group of that batch),
    in the caller's transaction. `gate`: pass the batch gates first, as orders do (the close holds
    its batch's gate already)."""
    params = {"t": tenant_id, "b": batch_id}
    if gate:
        for row in (await session.execute(_DUE_BATCHES, params)).all():
            await pass_gate(session, row.batch_id)
    resolved = (await session.execute(_RESOLVE, params)).all()
    if not resolved:
        return Resolved(0, 0, 0)
    ids = [r.id for r in resolved]
    currency = await tenant_currency(session, tenant_id)
    # Groups that never opened (nobody paid) end without telling anyone.
    succeeded = [r.id for r in resolved if r.status == "SUCCEEDED"]
    failed = [r.id for r in resolved if r.status == "FAILED" and r.opened]
    await emit_group_events(session, tenant_id=tenant_id, currency=currency, event=GROUP_SUCCEEDED,
                            group_ids=succeeded)
    await emit_group_events(session, tenant_id=tenant_id, currency=currency, event=GROUP_FAILED, group_ids=failed)
    members = (await session.execute(_TO_CANCEL, {"t": tenant_id, "ids": ids})).all()
    cancelled = 0
    for status, reason in (("FAILED", FAILED_REASON), ("SUCCEEDED", UNPAID_REASON)):
        orders = [m.order_id for m in members if m.status == status]
        cancelled += len(await cancel_orders(session, tenant_id=tenant_id, order_ids=orders, reason=reason))
    await session.execute(_CLOSE_MEMBERS, {"t": tenant_id, "ids": ids})
    return Resolved(len(succeeded), len(resolved) - len(succeeded), cancelled)


async def expire_group_buys(tenant_id: UUID | None = None, *, engine: AsyncEngine | None = None) -> int:
    """The scheduler's job: every tenant with an open group past its window; returns how many
    groups it resolved."""
    tenants = await tenants_having(
        "SELECT EXISTS (SELECT 1 FROM group_buy WHERE tenant_id = :t AND status = 'OPEN' "
        "AND expires_at <= statement_timestamp())",
        {"only": str(tenant_id) if tenant_id else None},
        where_tenant="(CAST(:only AS uuid) IS NULL OR id = CAST(:only AS uuid))",
        engine=engine,
    )
    total = 0
    for t in tenants:
        async with tenant_transaction(t, engine=engine) as session:
            done = await resolve_groups(session, tenant_id=t)
        total += done.succeeded + done.failed
    if total:
        log.info("resolved %d 拼团 groups at the end of their window", total)
    return total
