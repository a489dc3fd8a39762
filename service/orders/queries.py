"""Reading orders, scoped by who asks: a customer their own, a leader those at their points,
admins all."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from sqlalchemy import func, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, or_, select
from sqlmodel.sql.expression import SelectOfScalar

from service.accounts.models import User
from service.leaders.models import Leader, PickupPoint
from service.orders.models import Order, OrderLine, OrderStatus
from service.pagination import Page, fetch_page


@dataclass(frozen=True)
class OrderScope:
    """None user and not admin: sees nothing."""

    user_id: UUID | None
    is_admin: bool


def _scoped(stmt: SelectOfScalar[Order], scope: OrderScope) -> SelectOfScalar[Order]:
    if scope.is_admin:
        return stmt
    if scope.user_id is None:
        return stmt.where(col(Order.id).is_(None))
    own_points = (
        select(col(PickupPoint.id))
        .join(Leader, (col(Leader.tenant_id) == PickupPoint.tenant_id) & (col(Leader.id) == PickupPoint.leader_id))
        .where(Leader.user_id == scope.user_id, Leader.status == "APPROVED")
    )
    return stmt.where(or_(Order.customer_id == scope.user_id, col(Order.pickup_point_id).in_(own_points)))


async def list_orders(
    session: AsyncSession,
    *,
    scope: OrderScope,
    batch_id: UUID | None = None,
    pickup_point_id: UUID | None = None,
    statuses: Sequence[OrderStatus] | None = None,
    first: int,
    after: str | None,
    descending: bool = False,
    phone_tail: str | None = None,
    batch_sequence: int | None = None,
) -> Page[Order]:
    stmt = _scoped(select(Order).execution_options(populate_existing=True), scope)
    if phone_tail is not None:
        stmt = stmt.where(col(Order.customer_id).in_(customers_by_phone_tail(phone_tail)))
    if batch_sequence is not None and batch_id is not None:
        stmt = stmt.where(col(Order.id).in_(order_at_sequence(batch_id, batch_sequence)))
    if batch_id is not None:
        stmt = stmt.where(Order.batch_id == batch_id)
    if pickup_point_id is not None:
        stmt = stmt.where(Order.pickup_point_id == pickup_point_id)
    if statuses:
        stmt = stmt.where(Order.state.in_([s.value for s in statuses]))
    return await fetch_page(session, stmt, Order, first=first, after=after, descending=descending)


async def orders_by_ids(
    session: AsyncSession, *, scope: OrderScope, ids: Sequence[UUID]
) -> dict[UUID, Order]:
    rows = (
        await session.execute(
            _scoped(select(Order).where(col(Order.id).in_(list(ids))), scope).execution_options(
                populate_existing=True
            )
        )
    ).scalars()
    return {r.id: r for r in rows}


async def lines_by_orders(session: AsyncSession, *, order_ids: Sequence[UUID]) -> dict[UUID, list[OrderLine]]:
    rows = (
        await session.execute(
            select(OrderLine)
            .where(col(OrderLine.order_id).in_(list(order_ids)))
            .order_by(col(OrderLine.position))
            .execution_options(populate_existing=True)
        )
    ).scalars()
    found: dict[UUID, list[OrderLine]] = defaultdict(list)
    for r in rows:
        found[r.order_id].append(r)
    return found


# -- at the pickup counter: by the phone's last four digits, by the order's number in its batch ---


def customers_by_phone_tail(tail: str) -> Any:
    """Customers whose phone ends with these digits (app_user_phone_tail_idx, migration 0024)."""
    return select(col(User.id)).where(func.right(col(User.phone), 4) == tail)


# An order's 跟团号: its place among its batch's orders by (created_at, id), from 1. Orders are never
# deleted and none joins a batch after its close, so once the batch is closed (before any pickup)
# the numbers never change. No column: place_order() and its cost stay as they are.
_SEQUENCES = text("""
SELECT id, n FROM (
  SELECT o.id, row_number() OVER (PARTITION BY o.batch_id ORDER BY o.created_at, o.id) AS n
    FROM customer_order o
   WHERE o.batch_id IN (SELECT DISTINCT batch_id FROM customer_order WHERE id = ANY(:ids))
) s WHERE id = ANY(:ids)
""")


def order_at_sequence(batch_id: UUID, n: int) -> Any:
    ranked = (
        select(col(Order.id).label("id"),
               func.row_number().over(order_by=(col(Order.created_at), col(Order.id))).label("n"))
        .where(Order.batch_id == batch_id)
        .subquery()
    )
    return select(ranked.c.id).where(ranked.c.n == n)


async def batch_sequences(session: AsyncSession, *, ids: Sequence[UUID]) -> dict[UUID, int]:
    rows = await session.execute(_SEQUENCES, {"ids": list(ids)})
    return {r.id: int(r.n) for r in rows}


async def customer_phones(session: AsyncSession, *, ids: Sequence[UUID]) -> dict[UUID, str]:
    """Customers' phone numbers by order id (for the orders the caller may already see)."""
    rows = await session.execute(
        text("SELECT o.id, u.phone FROM customer_order o JOIN app_user u ON u.tenant_id = o.tenant_id "
             "AND u.id = o.customer_id WHERE o.id = ANY(:ids) AND u.phone IS NOT NULL"),
        {"ids": list(ids)},
    )
    return {r.id: r.phone for r in rows}
