"""The pickup counter: the customers whose orders wait at a point (催取货, with their phone numbers
for the leader to call), one reminder to all of them, and a customer's orders handed over at once."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import strawberry

from service import global_id
from service.errors import ErrorCode, UserErrors
from service.orders import counter
from service.schema.access import Caller, argument_error, decode, query_error, requires, serial_session
from service.schema.common import UserError
from service.schema.context import Context
from service.schema.mutation import run_mutation
from service.schema.orders import Order, _order_payload

Info = strawberry.Info[Context, None]


@strawberry.type(name="PickupWaitingCustomer",
                 description="A customer with orders ready at the pickup point and not picked up yet.")
class PickupWaitingCustomer:
    customer_name: str = strawberry.field(description="The customer's display name.")
    phone: str | None = strawberry.field(description="The customer's phone (E.164), for the leader to call; null "
                                                     "when none is on file. Show it masked.")
    order_count: int = strawberry.field(description="How many of their orders wait there.")
    order_ids: list[strawberry.ID] = strawberry.field(description="Those orders' global IDs (oldest first): give "
                                                                  "them to pickupConfirmOrders.")
    since: datetime = strawberry.field(description="When the oldest of them was placed.")


@strawberry.type(description="The result of pickupConfirmOrders.")
class PickupConfirmOrdersPayload:
    errors: list[UserError] = strawberry.field(description="Why nothing was handed over; empty on success. When it "
                                                           "is not empty, no order changed.")
    orders: list[Order] = strawberry.field(default_factory=list, description="The orders named, as they are now.")
    already_picked_up: list[strawberry.ID] = strawberry.field(
        default_factory=list, description="Those that had been picked up before this call: not to hand over again.")


@strawberry.type(description="The result of pickupRemind.")
class PickupRemindPayload:
    errors: list[UserError] = strawberry.field(description="Why no reminder was sent (RATE_LIMITED within the "
                                                           "interval of the last one); empty on success.")
    reminded: int = strawberry.field(default=0, description="How many customers were reminded.")


@strawberry.type
class CounterQuery:
    @strawberry.field(description="催取货: customers with orders ready at this pickup point and not picked up, "
                                  "longest waiting first. The point's leader only.")
    @requires(Caller.LEADER)
    async def pickup_waiting(
        self, info: Info,
        pickup_point_id: Annotated[strawberry.ID, strawberry.argument(description="The leader's pickup point.")],
    ) -> list[PickupWaitingCustomer]:
        context = info.context
        user_id = await context.require_user()
        try:
            async with serial_session(context) as session:
                point = await counter.own_point(session, tenant_id=context.tenant.id, user_id=user_id,
                                                pickup_point_id=decode(pickup_point_id, "PickupPoint"))
                rows = await counter.waiting(session, tenant_id=context.tenant.id, pickup_point_id=point)
        except UserErrors as e:
            if e.errors[0].code == ErrorCode.NOT_FOUND:  # a list's argument naming nothing: INVALID
                raise argument_error("pickupPointId", e.errors[0].message) from None
            raise query_error(e) from None
        return [PickupWaitingCustomer(customer_name=r.customer_name, phone=r.phone, order_count=len(r.order_ids),
                                      order_ids=[strawberry.ID(global_id.encode("Order", i)) for i in r.order_ids],
                                      since=r.oldest_ready_at)
                for r in rows]


@strawberry.type
class CounterMutation:
    @strawberry.mutation(description="That pickup point's leader hands over several orders at once (a customer's "
                                     "ready orders): all are picked up, or none.")
    @requires(Caller.LEADER)
    async def pickup_confirm_orders(
        self, info: Info,
        pickup_point_id: Annotated[strawberry.ID, strawberry.argument(description="The leader's pickup point.")],
        order_ids: Annotated[list[strawberry.ID], strawberry.argument(
            description="The orders handed over (1 to 20), all at this point and ready for pickup.")],
    ) -> PickupConfirmOrdersPayload:
        context = info.context
        result: dict[str, Any] = {}

        async def action(session: Any) -> dict:
            user_id = await context.require_user()
            ids: list[UUID | None] = [decode(i, "Order") for i in order_ids]
            result["done"], result["before"] = await counter.confirm_many(
                session, tenant_id=context.tenant.id, user_id=user_id,
                pickup_point_id=decode(pickup_point_id, "PickupPoint"), order_ids=ids)
            result["ids"] = [i for i in ids if i is not None]
            return {}

        payload = await run_mutation(context, PickupConfirmOrdersPayload, action)
        if payload.errors:
            return payload
        orders = []
        for order_id in dict.fromkeys(result["ids"]):
            orders.append((await _order_payload(context, order_id))["order"])
        return PickupConfirmOrdersPayload(
            errors=[], orders=orders,
            already_picked_up=[strawberry.ID(global_id.encode("Order", i)) for i in result["before"]])

    @strawberry.mutation(description="催取货: that pickup point's leader sends every customer with orders waiting "
                                     "there a reminder (PICKUP_REMINDER), at most once per "
                                     "GROUPBUY_PICKUP_REMINDER_INTERVAL_MINUTES.")
    @requires(Caller.LEADER)
    async def pickup_remind(
        self, info: Info,
        pickup_point_id: Annotated[strawberry.ID, strawberry.argument(description="The leader's pickup point.")],
    ) -> PickupRemindPayload:
        context = info.context

        async def action(session: Any) -> dict:
            user_id = await context.require_user()
            return {"reminded": await counter.remind(session, tenant_id=context.tenant.id, user_id=user_id,
                                                     pickup_point_id=decode(pickup_point_id, "PickupPoint"))}

        return await run_mutation(context, PickupRemindPayload, action)
