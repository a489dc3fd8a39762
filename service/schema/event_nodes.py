"""Node types for the objects webhook payloads name that had no `node()` answer: a refund and a
user account (the pick list's node is in service/schema/procurement.py). Each answers only a
caller allowed to see it, like every other node."""

from __future__ import annotations

from uuid import UUID

import strawberry
from sqlalchemy import select
from sqlmodel import col

from service import global_id
from service.accounts.models import User as UserRow
from service.orders.models import OrderLine as OrderLineRow
from service.orders.models import Refund as RefundRow
from service.schema.access import get_loader, is_admin, serial_session
from service.schema.common import Node
from service.schema.context import Context
from service.schema.node import node_loader, register_node_type
from service.schema.orders import OrderByIdLoader, OrderLine
from service.schema.refund_types import Refund

Info = strawberry.Info[Context, None]


@strawberry.type(name="User", description="An account of the tenant (customer, leader, supplier staff or "
                                          "administrator), as webhook payloads name it.")
class User(Node):
    id: strawberry.ID = strawberry.field(description="The account's global ID (the same as `me.userId`).")
    display_name: str = strawberry.field(description="The account's display name.")


@node_loader("Refund")
async def _load_refund(context: Context, id: UUID) -> Refund | None:
    """Admins, and the customer whose order it refunds (the order loader applies that scope)."""
    async with serial_session(context) as session:
        row = (await session.execute(select(RefundRow).where(col(RefundRow.id) == id))).scalar_one_or_none()
    if row is None or await get_loader(context, OrderByIdLoader).load(row.order_id) is None:
        return None
    return Refund.of(row)


@node_loader("User")
async def _load_user(context: Context, id: UUID) -> User | None:
    """Admins, and the account itself."""
    if context.principal.user_id != id and not await is_admin(context):
        return None
    async with serial_session(context) as session:
        row = (await session.execute(select(UserRow).where(col(UserRow.id) == id))).scalar_one_or_none()
    if row is None:
        return None
    return User(id=strawberry.ID(global_id.encode("User", row.id)), display_name=row.display_name)


@node_loader("OrderLine")
async def _load_order_line(context: Context, id: UUID) -> OrderLine | None:
    """Whoever may see its order (the order loader applies that scope)."""
    async with serial_session(context) as session:
        row = (await session.execute(select(OrderLineRow).where(col(OrderLineRow.id) == id))).scalar_one_or_none()
    order = None if row is None else await get_loader(context, OrderByIdLoader).load(row.order_id)
    if row is None or order is None:
        return None
    return OrderLine.of(row, order.currency)


register_node_type(Refund, User, OrderLine)
