"""Reading orders, scoped by who asks: a customer their own, a leader those at their points,
admins all."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, or_, select
from sqlmodel.sql.expression import SelectOfScalar

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
) -> Page[Order]:
    stmt = _scoped(select(Order).execution_options(populate_existing=True), scope)
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
