"""Orders: types, role-scoped queries, placing, cancelling, payment and pickup."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from operator import itemgetter
from typing import Annotated, Any
from uuid import UUID

import strawberry
from strawberry.dataloader import DataLoader

from service import global_id
from service.accounts.models import Role
from service.errors import ErrorCode, FieldError, PermissionDenied, UserErrors
from service.groupbuys import placement as group_buy_placement
from service.growth import links
from service.i18n import msg
from service.observability.metrics import observe_order_place
from service.orders import cancellation, grouping, models, payment, pickup, placement, queries
from service.orders.queries import OrderScope
from service.procurement import queries as procurement_queries
from service.schema.access import (
    ADMINS,
    USERS,
    Caller,
    KeyedLoader,
    check_page,
    decode,
    existing,
    get_loader,
    is_admin,
    load_now,
    query_error,
    requires,
    roles_of,
    serial_session,
    then,
)
from service.schema.batches import Batch, BatchByIdLoader, Offer, OfferByIdLoader
from service.schema.common import Money, Node, UserError, describe_values, user_errors
from service.schema.context import ADMIN_ROLES, Context
from service.schema.coupons import Coupon, coupon_of_order
from service.schema.groupbuys import GroupBuy, group_of_order
from service.schema.inputs import built_once
from service.schema.leaders.dataloaders import PickupPointByIdLoader
from service.schema.leaders.types import PickupPoint
from service.schema.mutation import run_mutation
from service.schema.node import node_loader
from service.schema.pagination import ORDER_BY_DESCRIPTION, Connection, ListOrder, descending
from service.schema.refund_types import Refund, refunds_of_order

Info = strawberry.Info[Context, None]

OrderStatus = strawberry.enum(models.OrderStatus, name="OrderStatus",
                              description="Where an order is in its lifecycle.")
describe_values(OrderStatus, {
    "PENDING_PAYMENT": "A PREPAID tenant's order waiting for payment (orderMarkPaid).",
    "PAID": "Paid; the customer may still cancel before the cutoff.",
    "PLACED": "A PAY_AT_PICKUP tenant's order: paid at pickup.",
    "CONFIRMED": "Its batch closed and it goes ahead.",
    "READY_FOR_PICKUP": "The goods arrived at the pickup point.",
    "PICKED_UP": "The customer collected it.",
    "CANCELLED": "Cancelled; its stock was released and any payment refunded.",
})
OrderLineStatus = strawberry.enum(models.OrderLineStatus, name="OrderLineStatus",
                                  description="Whether a line still counts.")
describe_values(OrderLineStatus, {
    "ACTIVE": "The line counts in the order's total.",
    "CANCELLED": "Cancelled: refunded, or its offer fell below its minimum.",
})


async def order_scope(context: Context) -> OrderScope:
    return OrderScope(user_id=context.principal.user_id, is_admin=await is_admin(context))


class OrderByIdLoader(DataLoader[UUID, Any]):
    """Only orders the caller may see: the scope is part of the query."""

    def __init__(self, context: Context) -> None:
        super().__init__(load_fn=self._load)
        self.context = context

    async def _load(self, keys: Sequence[UUID]) -> list[Any]:
        scope = await order_scope(self.context)
        async with serial_session(self.context) as session:
            found = await queries.orders_by_ids(session, scope=scope, ids=list(keys))
        return [found.get(k) for k in keys]


class PickNumberLoader(KeyedLoader):
    fetch = staticmethod(procurement_queries.pick_numbers)


class BatchSequenceLoader(KeyedLoader):
    fetch = staticmethod(queries.batch_sequences)


class CustomerPhoneLoader(KeyedLoader):
    fetch = staticmethod(queries.customer_phones)


def may_see_pickup_code(context: Context, customer_id: UUID, code: str | None) -> Any:
    """`code` for the order's customer and for admins, else None (a value, or an awaitable when
    the caller's roles are not loaded yet). Leaders verify the code the customer shows them."""
    if code is None:
        return None
    principal = context.principal
    if principal.user_id is not None and principal.user_id == customer_id:
        return code
    if principal.roles is not None:
        return code if principal.roles.intersection(ADMIN_ROLES) else None
    return then(is_admin(context), lambda admin: code if admin else None)


class LinesByOrderLoader(KeyedLoader):
    fetch = staticmethod(queries.lines_by_orders)
    keyword = "order_ids"
    default = list


@strawberry.type(name="OrderLine", description="One offer in an order, with its quantity and price.")
class OrderLine(Node):
    id: strawberry.ID = strawberry.field(description="The line's ID (give it to orderRefund).")
    product_name: str = strawberry.field(description="Snapshot at order time.")
    quantity: int = strawberry.field(description="How many units.")
    status: OrderLineStatus = strawberry.field(description="ACTIVE, or CANCELLED (refunded, or its "  # type: ignore[valid-type]  # a strawberry.enum(...) value: a type to strawberry, not to mypy
                                                           "offer fell below its minimum).")
    row: strawberry.Private[models.OrderLine]
    currency: strawberry.Private[str]

    @classmethod
    def of(cls, row: models.OrderLine, currency: str) -> OrderLine:
        return cls(
            id=strawberry.ID(global_id.encode("OrderLine", row.id)),
            product_name=row.product_name,
            quantity=row.quantity,
            status=models.OrderLineStatus(row.status),
            row=row,
            currency=currency,
        )

    @strawberry.field(description="The offer's price when the order was placed.")
    def unit_price(self) -> Money:
        return Money.of(self.row.unit_price_minor, self.currency)

    @strawberry.field(description="unitPrice times quantity.")
    def total(self) -> Money:
        return Money.of(self.row.unit_price_minor * self.row.quantity, self.currency)

    @strawberry.field(description="This line's share of the order's coupon discount (shares sum to the order's).")
    def discount(self) -> Money:
        return Money.of(self.row.discount_minor, self.currency)

    @strawberry.field(description="The offer ordered.")
    async def offer(self, info: Info) -> Offer:
        return Offer.of(await get_loader(info.context, OfferByIdLoader).load(self.row.offer_id))

    @strawberry.field(description="Units never delivered (short shipment, missing or damaged at the point); "
                                  "refunded, and part of refundedQuantity.")
    def shorted_quantity(self) -> int:
        return self.row.shorted_quantity

    @strawberry.field(description="Units refunded so far, for any reason; never more than quantity.")
    def refunded_quantity(self) -> int:
        return self.row.refunded_quantity


_ORDER_VALUES = ("id", "number", "customer_name", "status", "pickup_code", "payment_reference", "created_at",
                 "paid_at", "cancelled_at", "picked_up_at")


@strawberry.type(name="Order", description="A customer's order in one batch, for pickup at one point.")
class Order(Node):
    id: strawberry.ID = strawberry.field(description="The order's global ID.")
    number: str = strawberry.field(description="Short human number, unique in the tenant.")
    customer_name: str = strawberry.field(description="The customer's display name.")
    status: OrderStatus = strawberry.field(description="Where the order is in its lifecycle.")  # type: ignore[valid-type]  # a strawberry.enum(...) value: a type to strawberry, not to mypy
    payment_reference: str | None = strawberry.field(description="The payment provider's reference given to "
                                                                 "orderMarkPaid; null until paid.")
    placed_at: datetime = strawberry.field(description="When it was placed.")
    paid_at: datetime | None = strawberry.field(description="When it was marked paid; null otherwise.")
    cancelled_at: datetime | None = strawberry.field(description="When it was cancelled; null otherwise.")
    picked_up_at: datetime | None = strawberry.field(description="When it was picked up; null otherwise.")
    row: strawberry.Private[models.Order]

    @classmethod
    def of(cls, row: models.Order) -> Order:
        loaded = row.__dict__
        try:  # the loaded values as they are, without the ORM's descriptor per attribute
            values = itemgetter(*_ORDER_VALUES)(loaded)
        except KeyError:  # something not loaded (expired, deferred): the ORM loads it
            values = tuple(getattr(row, name) for name in _ORDER_VALUES)
        id_, number, customer_name, status, _, payment_reference, created_at, paid_at, cancelled_at, \
            picked_up_at = values
        return cls(
            id=strawberry.ID(global_id.encode("Order", id_)),
            number=number,
            customer_name=customer_name,
            status=models.OrderStatus(loaded.get("state") or status),  # as read: see Order.state
            payment_reference=payment_reference,
            placed_at=created_at,
            paid_at=paid_at,
            cancelled_at=cancelled_at,
            picked_up_at=picked_up_at,
            row=row,
        )

    @strawberry.field(description="The batch it was placed in.")
    async def batch(self, info: Info) -> Batch:
        return Batch.of(await get_loader(info.context, BatchByIdLoader).load(self.row.batch_id))

    @strawberry.field(description="Where it is collected.")
    async def pickup_point(self, info: Info) -> PickupPoint:
        return PickupPoint.of(
            await get_loader(info.context, PickupPointByIdLoader).load(self.row.pickup_point_id)
        )

    @strawberry.field(description="The customer's secret, shown at pickup: only that customer and admins see "
                                  "it; null for anyone else (the pickup point's leader included).")
    def pickup_code(self, info: Info) -> str | None:
        return may_see_pickup_code(info.context, self.row.customer_id, self.row.pickup_code)

    @strawberry.field(description="The order's short number on its pick list (\"#12\" on its bag), set when "
                                  "the batch closes; null before, and for orders the close cancelled.")
    def pick_number(self, info: Info) -> int | None:
        return load_now(get_loader(info.context, PickNumberLoader), self.row.id)

    @strawberry.field(description="跟团号: the order's number in its batch, 1, 2, 3... by when it was placed "
                                  "(short, read aloud at the counter); fixed from the batch's close on.")
    def batch_sequence(self, info: Info) -> int:
        return load_now(get_loader(info.context, BatchSequenceLoader), self.row.id)

    @strawberry.field(description="The customer's phone number (E.164), for whoever may see the order (its "
                                  "customer, the pickup point's leader, admins); null when none is on file.")
    def customer_phone(self, info: Info) -> str | None:
        return load_now(get_loader(info.context, CustomerPhoneLoader), self.row.id)

    @strawberry.field(description="Its lines, cancelled ones included.")
    async def lines(self, info: Info) -> list[OrderLine]:
        rows = await get_loader(info.context, LinesByOrderLoader).load(self.row.id)
        return [OrderLine.of(r, self.row.currency) for r in rows]

    @strawberry.field(description="Of ACTIVE lines.")
    async def total(self, info: Info) -> Money:
        rows = await get_loader(info.context, LinesByOrderLoader).load(self.row.id)
        active = sum(
            r.unit_price_minor * r.quantity for r in rows if r.status == models.OrderLineStatus.ACTIVE
        )
        return Money.of(active, self.row.currency)

    @strawberry.field(description="What was refunded on it.")
    def refunded(self) -> Money:
        return Money.of(self.row.refunded_minor, self.row.currency)

    @strawberry.field(description="Its refunds, oldest first: each with its amount, reason code, units and who "
                                  "refunded.")
    async def refunds(self, info: Info) -> list[Refund]:
        return await refunds_of_order(info.context, self.row.id)

    @strawberry.field(description="拼团: the group this order is in; null for other orders.")
    async def group_buy(self, info: Info) -> GroupBuy | None:
        return await group_of_order(info.context, self.row.id)
    @strawberry.field(description="What its coupon took off; zero without one. The customer pays total less this.")
    def discount(self) -> Money:
        return Money.of(self.row.discount_minor, self.row.currency)

    @strawberry.field(description="The coupon it took; null without one (or when the caller may not see it).")
    async def coupon(self, info: Info) -> Coupon | None:
        return await coupon_of_order(info.context, self.row.coupon_id)


@node_loader("Order")
async def _load_order_node(context: Context, id: UUID) -> Order | None:
    row = await get_loader(context, OrderByIdLoader).load(id)
    return Order.of(row) if row else None


def counter_filters(phone_tail: str | None, batch_sequence: int | None, batch_id: strawberry.ID | None) -> None:
    if phone_tail is not None and not (len(phone_tail) == 4 and phone_tail.isascii() and phone_tail.isdigit()):
        raise query_error(UserErrors([FieldError(ErrorCode.INVALID, msg("orders.phone_tail"), ["phoneTail"])]))
    if batch_sequence is not None and (batch_sequence < 1 or batch_id is None):
        raise query_error(UserErrors([FieldError(ErrorCode.INVALID, msg("orders.sequence"), ["batchSequence"])]))


# -- queries --------------------------------------------------------------------------------
@strawberry.type
class OrdersQuery:
    @strawberry.field(
        description="A customer sees their own orders, a leader those at their pickup points, admins all."
    )
    @requires(USERS, ADMINS)
    async def orders(
        self,
        info: Info,
        batch_id: Annotated[strawberry.ID | None, strawberry.argument(description="Only orders of this batch.")] = None,
        pickup_point_id: Annotated[strawberry.ID | None, strawberry.argument(
            description="Only orders for this pickup point.",
        )] = None,
        status: Annotated[list[OrderStatus] | None, strawberry.argument(  # type: ignore[valid-type]  # a strawberry.enum(...) value: a type to strawberry, not to mypy
            description="Only orders in these statuses.")] = None,
        first: Annotated[int | None, strawberry.argument(
            description="How many items to return: 1 to 100 (GROUPBUY_MAX_PAGE_SIZE).",
        )] = 20,
        after: Annotated[str | None, strawberry.argument(
            description="The endCursor of the previous page; leave it out for the first page.",
        )] = None,
        order_by: Annotated[ListOrder | None, strawberry.argument(description=ORDER_BY_DESCRIPTION)] = None,
        phone_tail: Annotated[str | None, strawberry.argument(
            description="Only orders of customers whose phone number ends with these 4 digits.")] = None,
        batch_sequence: Annotated[int | None, strawberry.argument(
            description="Only the order with this 跟团号 (batchSequence) in the batch given by batchId.")] = None,
    ) -> Connection[Order]:
        context = info.context
        size = check_page(first, after)
        counter_filters(phone_tail, batch_sequence, batch_id)
        scope = await order_scope(context)
        batch = await existing(context, BatchByIdLoader, batch_id, "Batch", "batchId")
        point = await existing(context, PickupPointByIdLoader, pickup_point_id, "PickupPoint", "pickupPointId")
        async with serial_session(context) as session:
            page = await queries.list_orders(
                session,
                scope=scope,
                batch_id=batch and batch.id,
                pickup_point_id=point and point.id,
                statuses=status,
                first=size,
                after=after, descending=descending(order_by),
                phone_tail=phone_tail,
                batch_sequence=batch_sequence,
            )
        return Connection.of(page, Order.of)

    @strawberry.field(description="One order by its ID; null when the caller may not see it.")
    @requires(USERS, ADMINS)
    async def order(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The order's global ID.")],
    ) -> Order | None:
        order_id = decode(id, "Order")
        if order_id is None:
            return None
        return await _load_order_node(info.context, order_id)


# -- mutations ------------------------------------------------------------------------------
@built_once
@strawberry.input(description="One line of a new order.")
class OrderLineInput:
    offer_id: strawberry.ID = strawberry.field(description="The offer's global ID, in the order's batch.")
    quantity: int = strawberry.field(description="How many units, at least 1.")


@built_once
@strawberry.input(description="A new order.")
class OrderPlaceInput:
    batch_id: strawberry.ID = strawberry.field(description="The OPEN batch's global ID.")
    pickup_point_id: strawberry.ID = strawberry.field(description="Where the customer collects it: a point that "
                                                                  "takes orders.")
    lines: list[OrderLineInput] = strawberry.field(description="At least one line; all are reserved or none.")
    idempotency_key: str = strawberry.field(
        description="The same key from the same customer returns the same order, never a second one."
    )
    share_code: str | None = strawberry.field(
        default=None, description="The share code the customer came with (shareCode): the order takes its "
        "referrer chain then. Unknown codes are refused with NOT_FOUND.")
    # -- 拼团 (service/groupbuys) --
    group_buy_id: strawberry.ID | None = strawberry.field(default=None, description="拼团: join this group (its "
                                                          "offer's only line); GROUP_FULL when it has no place.")
    start_group_buy: bool | None = strawberry.field(default=None, description="拼团: start a new group with this "
                                                    "order (it opens when the order is paid).")
    coupon_id: strawberry.ID | None = strawberry.field(default=None, description="One of the customer's coupons "
                                                       "(myCoupons) to take off this order. It combines with "
                                                       "shareCode, and with 拼团 only where its template "
                                                       "stacksWithGroupPrice (else COUPON_NOT_APPLICABLE).")


@strawberry.type(description="The result of an order mutation.")
class OrderPayload:
    errors: list[UserError] = strawberry.field(description="Why the mutation was refused, each with a code and the "
                                                           "input field it is about; empty on success. When it is "
                                                           "not empty, nothing was changed.")
    order: Order | None = strawberry.field(default=None, description="The order as it is now; null when refused.")
    already_picked_up: bool = strawberry.field(
        default=False,
        description="pickupConfirm: the order had been picked up before this call, so nothing is to "
        "be handed over again. False for every other mutation.",
    )


async def _order_payload(context: Context, order_id: UUID) -> dict:
    async with serial_session(context) as session:
        found = await queries.orders_by_ids(
            session, scope=OrderScope(user_id=None, is_admin=True), ids=[order_id]
        )
    return {"order": Order.of(found[order_id])}


async def _customer(context: Context) -> None:
    """Who may order is answered before what is wrong with the order: roles the token did not
    carry, loaded only when the order is refused anyway."""
    if Role.CUSTOMER not in await roles_of(context):
        raise PermissionDenied(placement.NOT_A_CUSTOMER)


async def _place(context: Context, input: OrderPlaceInput) -> placement.Placed:
    """Placed and committed on a connection of its own, alone or with the orders that meet it in
    this worker: the cutoff is checked with the database clock after the last lock wait, and a
    refusal becomes this payload's error. The payload is the row written, not a second read."""
    customer_id = context.principal.user_id
    if customer_id is None:  # the declaration admits users only
        raise PermissionDenied("Sign in as a customer first.")
    batch_id = decode(input.batch_id, "Batch")
    pickup_point_id = decode(input.pickup_point_id, "PickupPoint")
    lines = [placement.LineSpec(decode(line.offer_id, "Offer"), line.quantity) for line in input.lines]
    try:
        placement.clean(batch_id, pickup_point_id, lines, input.idempotency_key)
    except UserErrors:
        await _customer(context)  # who may order is answered before what is wrong with the order
        raise
    tenant = context.tenant
    # -- extras (coupon, share code, 拼团), any combination: one statement (service/groupbuys/placement.py) --
    if input.share_code is not None or input.coupon_id is not None or input.group_buy_id is not None \
            or input.start_group_buy:
        extras = _extras(context, input)
        if context.in_transaction:
            await context.commit_first()
        return await group_buy_placement.place_with_extras(tenant, batch_id, placement.OrderRequest(
            customer_id, pickup_point_id, lines, input.idempotency_key, context.principal.token_version), extras)
    if context.in_transaction:
        await context.commit_first()
    # place_order() checks that the account exists, is enabled and is a customer's. Placed with
    # the orders that meet it in this worker (service/orders/grouping.py).
    return await grouping.place(tenant, batch_id, placement.OrderRequest(  # type: ignore[arg-type]  # @requires(CUSTOMER): customer_id is set
        customer_id, pickup_point_id, lines, input.idempotency_key, context.principal.token_version))


# What an ID of another type, or a malformed share code, names: nothing, found missing by the
# order's statement like any other missing row, so NOT_FOUND reads the same and comes in its turn.
_NOTHING = UUID(int=0)


def _extras(context: Context, input: OrderPlaceInput) -> placement.Extras:
    coupon_id = (decode(input.coupon_id, "Coupon") or _NOTHING) if input.coupon_id is not None else None
    group_id = (decode(input.group_buy_id, "GroupBuy") or _NOTHING) if input.group_buy_id is not None else None
    code = input.share_code
    return placement.Extras(coupon_id=coupon_id, share_code=code if code is None or links.CODE_RE.match(code) else "",
                            group_buy_id=group_id, start_group=group_id is None and bool(input.start_group_buy),
                            hold_minutes=context.tenant.payment_window_minutes)


@strawberry.type
class OrdersMutation:
    @strawberry.mutation(description="A signed-in customer orders from an OPEN batch for pickup at a point.")
    @requires(Caller.CUSTOMER, roles_in_sql=True)
    async def order_place(
        self,
        info: Info,
        input: Annotated[OrderPlaceInput, strawberry.argument(description="The order, with its idempotency key.")],
    ) -> OrderPayload:
        context = info.context
        try:
            placed = await _place(context, input)
        except UserErrors as e:
            payload = OrderPayload(errors=user_errors(e))
        except PermissionDenied as e:
            payload = OrderPayload(errors=[UserError.of(FieldError(ErrorCode.FORBIDDEN, e.message))])
        else:
            order = placed.order
            if placed.replayed and order.status in models.CONFIRMED_BY_BATCH:
                # A replay may come after the close: the first order reads as it does elsewhere.
                batch = await get_loader(context, BatchByIdLoader).load(order.batch_id)
                if batch is not None:
                    order.__dict__["state"] = models.order_state(order.status, batch.status)
            payload = OrderPayload(errors=[], order=Order.of(order))
        tenant = context.principal.tenant
        return observe_order_place(tenant.slug if tenant else None, payload)

    @strawberry.mutation(description="Its customer, before the cutoff: the stock is released at once.")
    @requires(Caller.CUSTOMER)
    async def order_cancel(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The order's global ID.")],
    ) -> OrderPayload:
        context = info.context
        holder: dict[str, UUID] = {}

        async def action(session: Any) -> dict:
            customer_id = await context.require_user()
            holder["id"] = await cancellation.cancel_own_order(
                session, tenant_id=context.tenant.id, customer_id=customer_id, order_id=decode(id, "Order")
            )
            return {}

        return await _with_order(context, action, holder)

    @strawberry.mutation(
        description="The tenant's back end (API key): the order was paid. Idempotent on the "
        "payment reference."
    )
    @requires(Caller.API_KEY, Caller.PLATFORM)
    async def order_mark_paid(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The order's global ID.")],
        payment_reference: Annotated[str, strawberry.argument(description="The payment provider's reference of the "
                                                                          "payment; the same reference again "
                                                                          "changes nothing.")],
    ) -> OrderPayload:
        context = info.context
        holder: dict[str, UUID] = {}

        async def action(session: Any) -> dict:
            holder["id"] = await payment.mark_paid(
                session,
                tenant_id=context.tenant.id,
                order_id=decode(id, "Order"),
                payment_reference=payment_reference,
            )
            return {}

        return await _with_order(context, action, holder)

    @strawberry.mutation(description="That pickup point's leader: the customer collected the order.")
    @requires(Caller.LEADER)
    async def pickup_confirm(
        self,
        info: Info,
        pickup_point_id: Annotated[strawberry.ID, strawberry.argument(description="The leader's pickup point.")],
        pickup_code: Annotated[str, strawberry.argument(description="The code the customer shows.")],
    ) -> OrderPayload:
        context = info.context
        holder: dict[str, UUID] = {}
        already: dict[str, bool] = {}

        async def action(session: Any) -> dict:
            user_id = await context.require_user()
            holder["id"], already["picked_up"] = await pickup.confirm_pickup(
                session,
                tenant_id=context.tenant.id,
                user_id=user_id,
                pickup_point_id=decode(pickup_point_id, "PickupPoint"),
                pickup_code=pickup_code,
            )
            return {}

        payload = await _with_order(context, action, holder)
        if payload.order is not None:
            payload.already_picked_up = already.get("picked_up", False)
        return payload


async def _with_order(context: Context, action: Any, holder: dict[str, UUID]) -> OrderPayload:
    payload = await run_mutation(context, OrderPayload, action)
    if payload.errors or "id" not in holder:
        return payload
    return OrderPayload(errors=[], **await _order_payload(context, holder["id"]))
