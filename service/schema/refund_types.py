"""The Refund node type, apart from its loader (service/schema/event_nodes.py) so that Order can
list its refunds without an import cycle: what it names (order, line, who refunded) it loads
through `node()`'s loaders, which apply the caller's scope."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated
from uuid import UUID

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from service import global_id
from service.aftersales.models import RefundReason as RefundReasonValue
from service.orders.models import Refund as RefundRow
from service.schema.access import KeyedLoader, get_loader, is_admin
from service.schema.common import Money, Node
from service.schema.context import Context
from service.schema.node import load_node

if TYPE_CHECKING:
    from service.schema.aftersales import RefundReason
    from service.schema.event_nodes import User
    from service.schema.orders import Order, OrderLine

Info = strawberry.Info[Context, None]


@strawberry.enum(name="RefundActorKind", description="What refunded: a person, an integration or the platform.")
class RefundActorKind(Enum):
    USER = strawberry.enum_value("USER", description="A signed-in account: an admin, a leader or supplier staff.")
    API_KEY = strawberry.enum_value("API_KEY", description="An API key of the tenant's back end.")
    SYSTEM = strawberry.enum_value("SYSTEM", description="The platform's own jobs.")


@strawberry.type(name="Refund", description="Money owed back to a customer for what they paid; the tenant's "
                                            "back end executes it (webhook REFUND_CREATED).")
class Refund(Node):
    id: strawberry.ID = strawberry.field(description="The refund's global ID.")
    amount: Money = strawberry.field(description="How much is owed back.")
    reason: str = strawberry.field(description="Why, as recorded.")
    created_at: datetime = strawberry.field(description="When it was recorded.")
    quantity: int | None = strawberry.field(default=None, description="Units of its line refunded; null for a "
                                                                      "refund of a whole order's payment.")
    order_id: strawberry.Private[UUID]
    row: strawberry.Private[RefundRow | None] = None

    @classmethod
    def of(cls, row: RefundRow) -> Refund:
        return cls(id=strawberry.ID(global_id.encode("Refund", row.id)),
                   amount=Money.of(row.amount_minor, row.currency), reason=row.reason,
                   created_at=row.created_at, quantity=row.quantity, order_id=row.order_id, row=row)

    @strawberry.field(description="The order it refunds.")
    async def order(self, info: Info) -> Annotated[Order, strawberry.lazy("service.schema.orders")]:
        return await load_node(info.context, global_id.encode("Order", self.order_id))

    @strawberry.field(description="Why, as a code (refunds recorded before codes were kept: OTHER).")
    def reason_code(self) -> Annotated[RefundReason, strawberry.lazy("service.schema.aftersales")]:  # type: ignore[valid-type]  # a strawberry.enum(...) value: a type to strawberry, not to mypy
        code = self.row.reason_code if self.row is not None else RefundReasonValue.OTHER.value
        return RefundReasonValue(code)

    @strawberry.field(description="The order line it refunds; null for a refund of a whole order's payment.")
    async def line(self, info: Info) -> Annotated[OrderLine, strawberry.lazy("service.schema.orders")] | None:
        if self.row is None or self.row.order_line_id is None:
            return None
        return await load_node(info.context, global_id.encode("OrderLine", self.row.order_line_id))

    @strawberry.field(description="What refunded it; null for refunds recorded before this was kept.")
    def refunded_by_kind(self) -> RefundActorKind | None:
        kind = self.row.actor_kind if self.row is not None else None
        if kind is None:
            return None
        return {"user": RefundActorKind.USER, "api_key": RefundActorKind.API_KEY}.get(kind, RefundActorKind.SYSTEM)

    @strawberry.field(description="Admins: the account that refunded it; null for others, and when no person did.")
    async def refunded_by(self, info: Info) -> Annotated[User, strawberry.lazy("service.schema.event_nodes")] | None:
        if self.row is None or self.row.actor_kind != "user" or self.row.actor_id is None:
            return None
        if not await is_admin(info.context):
            return None
        return await load_node(info.context, global_id.encode("User", self.row.actor_id))


async def _refunds_by_orders(session: AsyncSession, *, order_ids: Sequence[UUID]) -> dict[UUID, list[RefundRow]]:
    rows = (await session.execute(select(RefundRow).where(col(RefundRow.order_id).in_(list(order_ids)))
                                  .order_by(col(RefundRow.created_at), col(RefundRow.id)))).scalars()
    found: dict[UUID, list[RefundRow]] = defaultdict(list)
    for r in rows:
        found[r.order_id].append(r)
    return found


class RefundsByOrderLoader(KeyedLoader):
    fetch = staticmethod(_refunds_by_orders)
    keyword = "order_ids"
    default = list


async def refunds_of_order(context: Context, order_id: UUID) -> list[Refund]:
    """Order.refunds: the order is already visible to the caller."""
    return [Refund.of(r) for r in await get_loader(context, RefundsByOrderLoader).load(order_id)]
