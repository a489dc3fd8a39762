"""Reading groups: by id, by share code, by order; and the per-offer report."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


@dataclass(frozen=True)
class GroupView:
    id: UUID
    offer_id: UUID
    batch_id: UUID
    starter_id: UUID
    status: str
    size: int
    paid_members: int
    opened_at: datetime | None
    expires_at: datetime
    share_code: str
    succeeded_virtually: bool


# Paid members: of a group that ended, those it ended with (what refunds did afterwards, to a
# failed group's members or as after-sales to a succeeded one's, does not change the group).
# Every table is given the tenant (:t), the correlated count too: Citus routes a query to one
# shard only when each distributed table in it is filtered to the tenant.
_GROUPS = """
SELECT g.id, g.offer_id, g.batch_id, g.starter_id, g.status, g.size, g.opened_at, g.expires_at, g.share_code,
       g.succeeded_virtually,
       (SELECT count(*) FROM group_buy_member m
          JOIN customer_order o ON o.tenant_id = m.tenant_id AND o.id = m.order_id
         WHERE m.tenant_id = :t AND o.tenant_id = :t AND m.group_buy_id = g.id AND m.paid_at IS NOT NULL
           AND (o.status <> 'CANCELLED' OR o.cancelled_at >= g.resolved_at)) AS paid_members
FROM group_buy g
"""


def _view(row: object) -> GroupView:
    return GroupView(**{k: getattr(row, k) for k in GroupView.__dataclass_fields__})


async def groups_by_ids(session: AsyncSession, *, tenant_id: UUID, ids: Sequence[UUID]) -> dict[UUID, GroupView]:
    rows = (await session.execute(text(_GROUPS + "WHERE g.tenant_id = :t AND g.id = ANY(CAST(:ids AS uuid[]))"),
                                  {"t": tenant_id, "ids": list(ids)})).all()
    return {r.id: _view(r) for r in rows}


async def group_by_share_code(session: AsyncSession, *, tenant_id: UUID, code: str) -> GroupView | None:
    row = (await session.execute(text(_GROUPS + "WHERE g.tenant_id = :t AND g.share_code = :c"),
                                 {"t": tenant_id, "c": code})).first()
    return _view(row) if row else None


async def groups_by_orders(session: AsyncSession, *, tenant_id: UUID, order_ids: Sequence[UUID]) -> dict[UUID, UUID]:
    """order id -> its group's id."""
    rows = (await session.execute(
        text("SELECT order_id, group_buy_id FROM group_buy_member "
             "WHERE tenant_id = :t AND order_id = ANY(CAST(:ids AS uuid[]))"),
        {"t": tenant_id, "ids": list(order_ids)})).all()
    return {r.order_id: r.group_buy_id for r in rows}


@dataclass(frozen=True)
class OfferReportRow:
    offer_id: UUID
    batch_id: UUID
    product_name: str
    group_size: int
    opened: int
    open: int
    succeeded: int
    succeeded_virtually: int
    failed: int
    paid_orders: int

    @property
    def conversion(self) -> float:
        """Of the groups opened (someone paid) and ended, the share that succeeded."""
        ended = self.succeeded + self.failed
        return round(self.succeeded / ended, 4) if ended else 0.0


# Groups that never opened (nobody paid) are not counted as opened or failed. Every table names the
# tenant (:t), the outer-joined ones in their join: Citus then runs it on the tenant's worker.
_REPORT = text("""
SELECT f.id AS offer_id, f.batch_id, p.name AS product_name, f.group_size,
       count(g.id) FILTER (WHERE g.opened_at IS NOT NULL) AS opened,
       count(g.id) FILTER (WHERE g.opened_at IS NOT NULL AND g.status = 'OPEN') AS open,
       count(g.id) FILTER (WHERE g.status = 'SUCCEEDED') AS succeeded,
       count(g.id) FILTER (WHERE g.status = 'SUCCEEDED' AND g.succeeded_virtually) AS succeeded_virtually,
       count(g.id) FILTER (WHERE g.opened_at IS NOT NULL AND g.status = 'FAILED') AS failed,
       coalesce(sum(pm.paid) FILTER (WHERE g.status = 'SUCCEEDED'), 0) AS paid_orders
FROM offer f
JOIN product p ON p.tenant_id = f.tenant_id AND p.id = f.product_id
LEFT JOIN group_buy g ON g.tenant_id = :t AND g.offer_id = f.id
LEFT JOIN LATERAL (
  SELECT count(*) AS paid FROM group_buy_member m
  JOIN customer_order o ON o.tenant_id = m.tenant_id AND o.id = m.order_id
  WHERE m.tenant_id = :t AND o.tenant_id = :t AND m.group_buy_id = g.id AND m.paid_at IS NOT NULL
    AND (o.status <> 'CANCELLED' OR o.cancelled_at >= g.resolved_at)
) pm ON true
WHERE f.tenant_id = :t AND p.tenant_id = :t AND f.group_size IS NOT NULL
  AND (CAST(:b AS uuid) IS NULL OR f.batch_id = CAST(:b AS uuid))
GROUP BY f.id, f.batch_id, p.name, f.group_size, f.created_at
ORDER BY f.created_at, f.id
LIMIT 1000
""")


async def offer_report(session: AsyncSession, *, tenant_id: UUID, batch_id: UUID | None) -> list[OfferReportRow]:
    rows = (await session.execute(_REPORT, {"t": tenant_id, "b": batch_id})).all()
    return [OfferReportRow(**{k: getattr(r, k) for k in OfferReportRow.__dataclass_fields__}) for r in rows]


@dataclass(frozen=True)
class JoinCheck:
    taken: int  # places paid for or held
    before_expiry: bool
    in_other_group: bool


# The rule of group_buy_join(), read without locking: groupBuyJoin only prepares.
_JOIN_CHECK = text("""
SELECT
  (SELECT count(*) FROM group_buy_member m JOIN customer_order o ON o.tenant_id = m.tenant_id AND o.id = m.order_id
    WHERE m.tenant_id = g.tenant_id AND m.group_buy_id = g.id
      AND ((m.paid_at IS NOT NULL AND o.status <> 'CANCELLED')
           OR (m.paid_at IS NULL AND o.status = 'PENDING_PAYMENT' AND m.hold_until > clock_timestamp()))) AS taken,
  g.expires_at > clock_timestamp() AS before_expiry,
  EXISTS (SELECT 1 FROM group_buy_member m
            JOIN customer_order o ON o.tenant_id = m.tenant_id AND o.id = m.order_id
            JOIN group_buy mg ON mg.tenant_id = m.tenant_id AND mg.id = m.group_buy_id
           WHERE m.tenant_id = g.tenant_id AND m.offer_id = g.offer_id AND m.customer_id = :c AND m.open
             AND mg.status = 'OPEN' AND o.status <> 'CANCELLED') AS in_other_group
FROM group_buy g WHERE g.tenant_id = :t AND g.id = :g
""")


async def join_check(session: AsyncSession, *, tenant_id: UUID, group_id: UUID, customer_id: UUID) -> JoinCheck:
    row = (await session.execute(_JOIN_CHECK, {"t": tenant_id, "g": group_id, "c": customer_id})).one()
    return JoinCheck(taken=int(row.taken), before_expiry=bool(row.before_expiry),
                     in_other_group=bool(row.in_other_group))
