"""After the cutoff: batchClose, purchase orders (suppliers), pick lists and deliveries
(leaders), commissions, after-sales refunds."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any
from uuid import UUID, uuid5

import strawberry
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col
from strawberry.dataloader import DataLoader

from service import global_id
from service.accounts.models import Role
from service.aftersales.receiving import confirm_delivery
from service.aftersales.refunds import actor_of
from service.aftersales.reports import delivery_discrepancies
from service.aftersales.shortage import ship_purchase_order
from service.errors import ErrorCode, PermissionDenied, UserErrors, fail
from service.i18n import msg
from service.leaders.operations import approved_leader_of_user
from service.procurement import models, operations, queries
from service.procurement.close import close_batch
from service.procurement.exports import signed_path
from service.schema.access import (
    ADMINS,
    Caller,
    KeyedLoader,
    admins,
    check_page,
    decode,
    existing,
    get_loader,
    is_admin,
    query_error,
    requires,
    roles_of,
    serial_session,
    then,
    viewer_supplier_id,
)
from service.schema.batches import Batch, BatchByIdLoader, BatchPayload
from service.schema.catalog.dataloaders import ProductByIdLoader, SupplierByIdLoader
from service.schema.catalog.types import Product, Supplier
from service.schema.common import Money, Node, UserError, describe_values, rate_text
from service.schema.context import ADMIN_ROLES, Context
from service.schema.deliveries import DeliveryDiscrepancy
from service.schema.leaders.dataloaders import LeaderByIdLoader, PickupPointByIdLoader
from service.schema.leaders.types import Leader, PickupPoint
from service.schema.mutation import run_mutation
from service.schema.node import node_loader
from service.schema.orders import Order, OrderByIdLoader, OrderPayload
from service.schema.pagination import ORDER_BY_DESCRIPTION, Connection, ListOrder, descending

Info = strawberry.Info[Context, None]
PurchaseOrderStatus = strawberry.enum(models.PurchaseOrderStatus, name="PurchaseOrderStatus",
                                      description="Where a purchase order is.")
describe_values(PurchaseOrderStatus, {
    "SENT": "Made by the close and sent to the supplier.",
    "ACKNOWLEDGED": "The supplier acknowledged it.",
    "SHIPPED": "The supplier shipped it.",
})
CommissionStatus = strawberry.enum(models.CommissionStatus, name="CommissionStatus",
                                   description="Where a commission is.")
describe_values(CommissionStatus, {
    "PENDING": "The order is not picked up yet.",
    "EARNED": "The order was picked up: the leader is owed it.",
    "REVERSED": "Its lines were refunded: taken back.",
})


class PurchaseOrderByIdLoader(KeyedLoader):
    fetch = staticmethod(queries.purchase_orders_by_ids)


class LinesByPurchaseOrderLoader(KeyedLoader):
    fetch = staticmethod(queries.lines_by_purchase_orders)
    default = list


class DeliveriesByPurchaseOrderLoader(DataLoader[UUID, Any]):
    def __init__(self, context: Context) -> None:
        super().__init__(load_fn=self._load)
        self.context = context

    async def _load(self, keys: Sequence[UUID]) -> list[Any]:
        async with serial_session(self.context) as session:
            found = await queries.deliveries_by_purchase_orders(session, tenant_id=self.context.tenant.id,
                                                                ids=list(keys))
        return [{product: v for (po, product), v in found.items() if po == k} for k in keys]


# -- who may see what -----------------------------------------------------------------------
async def supplier_scope(context: Context) -> UUID | None:
    """None for admins (every purchase order); the supplier's id for its staff; else refused."""
    if await is_admin(context):
        return None
    supplier_id = await viewer_supplier_id(context)
    if supplier_id is None:
        raise PermissionDenied("Purchase orders are for admins and the supplier's own staff.")
    return supplier_id


async def viewer_leader_id(context: Context) -> UUID | None:
    user_id = context.principal.user_id
    if user_id is None or Role.LEADER not in await roles_of(context):
        return None
    async with serial_session(context) as session:
        leader = await approved_leader_of_user(session, tenant_id=context.tenant.id, user_id=user_id)
    return leader.id if leader else None


async def may_see_purchase_order(context: Context, row: models.PurchaseOrder) -> bool:
    if await is_admin(context):
        return True
    return (await viewer_supplier_id(context)) == row.supplier_id


# -- types ----------------------------------------------------------------------------------
@strawberry.type(name="PickupPointQuantity", description="How many units go to one pickup point.")
class PickupPointQuantity:
    quantity: int = strawberry.field(description="How many units.")
    pickup_point_id: strawberry.Private[UUID]

    @strawberry.field(description="The pickup point.")
    async def pickup_point(self, info: Info) -> PickupPoint:
        return PickupPoint.of(await get_loader(info.context, PickupPointByIdLoader).load(self.pickup_point_id))


@strawberry.type(name="PurchaseOrderLine", description="One product on a purchase order.")
class PurchaseOrderLine:
    quantity: int = strawberry.field(description="How many units in all.")
    row: strawberry.Private[models.PurchaseOrderLine]
    currency: strawberry.Private[str]

    @strawberry.field(description="The product.")
    async def product(self, info: Info) -> Product:
        return Product.of(await get_loader(info.context, ProductByIdLoader).load(self.row.product_id))

    @strawberry.field(description="Snapshot at the close.")
    def product_name(self) -> str:
        return self.row.product_name

    @strawberry.field(description="The unit.")
    def unit(self) -> str:
        return self.row.unit

    @strawberry.field(description="The supplier's cost per unit.")
    def unit_cost(self) -> Money:
        return Money.of(self.row.unit_cost_minor, self.currency)

    @strawberry.field(description="unitCost times quantity.")
    def total(self) -> Money:
        return Money.of(self.row.total_cost_minor, self.currency)

    @strawberry.field(description="Units the supplier shipped (purchaseOrderShip); null before it shipped.")
    def shipped(self) -> int | None:
        return self.row.shipped_quantity

    @strawberry.field(description="Units ordered but not shipped (0 before it shipped).")
    def shorted(self) -> int:
        return 0 if self.row.shipped_quantity is None else self.row.quantity - self.row.shipped_quantity

    @strawberry.field(description="How many of this product go to each pickup point.")
    async def deliveries(self, info: Info) -> list[PickupPointQuantity]:
        by_product = await get_loader(info.context, DeliveriesByPurchaseOrderLoader).load(self.row.purchase_order_id)
        return [PickupPointQuantity(quantity=q, pickup_point_id=p) for p, q in by_product.get(self.row.product_id, [])]


@strawberry.type(
    name="PurchaseOrder", description="What one supplier delivers for one batch (采购单), made by the close.")
class PurchaseOrder(Node):
    id: strawberry.ID = strawberry.field(description="The purchase order's global ID.")
    number: str = strawberry.field(description="Its number.")
    status: PurchaseOrderStatus = strawberry.field(description="Where it is: sent, acknowledged, "  # type: ignore[valid-type]  # a strawberry.enum(...) value: a type to strawberry, not to mypy
                                                               "shipped.")
    created_at: datetime = strawberry.field(description="When the close made it.")
    acknowledged_at: datetime | None = strawberry.field(description="When the supplier acknowledged it; null before.")
    shipped_at: datetime | None = strawberry.field(description="When the supplier shipped it; null before.")
    row: strawberry.Private[models.PurchaseOrder]

    @classmethod
    def of(cls, row: models.PurchaseOrder) -> PurchaseOrder:
        return cls(id=strawberry.ID(global_id.encode("PurchaseOrder", row.id)), number=row.number,
                   status=models.PurchaseOrderStatus(row.status), created_at=row.created_at,
                   acknowledged_at=row.acknowledged_at, shipped_at=row.shipped_at, row=row)

    @strawberry.field(description="The batch.")
    async def batch(self, info: Info) -> Batch:
        return Batch.of(await get_loader(info.context, BatchByIdLoader).load(self.row.batch_id))

    @strawberry.field(description="The supplier.")
    async def supplier(self, info: Info) -> Supplier:
        return Supplier.of(await get_loader(info.context, SupplierByIdLoader).load(self.row.supplier_id))

    @strawberry.field(description="One line per product.")
    async def lines(self, info: Info) -> list[PurchaseOrderLine]:
        rows = await get_loader(info.context, LinesByPurchaseOrderLoader).load(self.row.id)
        return [PurchaseOrderLine(quantity=r.quantity, row=r, currency=self.row.currency) for r in rows]

    @strawberry.field(description="Its discrepancy report: per product and pickup point, what was shipped short, "
                                  "arrived short or arrived damaged.")
    async def discrepancies(self, info: Info) -> list[DeliveryDiscrepancy]:
        async with serial_session(info.context) as session:
            rows = await delivery_discrepancies(session, purchase_order_id=self.row.id)
        return [DeliveryDiscrepancy.of(r) for r in rows]

    @strawberry.field(description="The sum of its lines' costs.")
    def total_cost(self) -> Money:
        return Money.of(self.row.total_cost_minor, self.row.currency)

    @strawberry.field(description="Authenticated download of the same content as CSV (a signed link, "
                                  "valid for 7 days; a bearer token works as well).")
    def csv_url(self, info: Info) -> str:
        base = str(info.context.request.base_url).rstrip("/")
        return base + signed_path(self.row.tenant_id, self.row.id, str(self.id))


@node_loader("PurchaseOrder")
async def _load_purchase_order(context: Context, id: UUID) -> PurchaseOrder | None:
    row = await get_loader(context, PurchaseOrderByIdLoader).load(id)
    return PurchaseOrder.of(row) if row is not None and await may_see_purchase_order(context, row) else None


@strawberry.type(name="PickListLine", description="A product and quantity in a pick list's order.")
class PickListLine:
    product_name: str = strawberry.field(description="The product's name at order time.")
    unit: str = strawberry.field(description="The unit it is sold in.")
    quantity: int = strawberry.field(description="How many units.")
    shorted: int = strawberry.field(default=0, description="Of those, units not coming (short shipment, missing or "
                                                           "damaged) and refunded.")
    shipped: int | None = strawberry.field(default=None, description="Totals: units the supplier shipped to this "
                                                                     "point; null before it shipped (and on orders).")
    product_uuid: strawberry.Private[UUID | None] = None

    @strawberry.field(description="The product's global ID (deliveryConfirm takes it).")
    def product_id(self) -> strawberry.ID | None:
        return strawberry.ID(global_id.encode("Product", self.product_uuid)) if self.product_uuid else None


@strawberry.type(name="PickListOrder", description="An order on a pick list.")
class PickListOrder:
    customer_name: str = strawberry.field(description="The customer's display name.")
    pick_number: int | None = strawberry.field(
        description="The order's short number on this pick list (\"#12\" on its bag), set when the batch "
                    "closes; null in the preview before. Not a secret: the leader finds the bag by it.")
    lines: list[PickListLine] = strawberry.field(description="What goes in the order's bag.")
    row: strawberry.Private[Any]

    @strawberry.field(description="The order.")
    def order(self) -> Order:
        return Order.of(self.row)

    @strawberry.field(description="The customer's secret: null for leaders (who verify the code the customer "
                                  "shows), set for admins.")
    def pickup_code(self, info: Info) -> str | None:
        roles = info.context.principal.roles  # loaded by the pick list's access check
        if roles is not None:
            return self.row.pickup_code if roles.intersection(ADMIN_ROLES) else None
        return then(is_admin(info.context), lambda admin: self.row.pickup_code if admin else None)


@strawberry.type(name="PickList", description="What one pickup point receives for one batch, per order (拣货单).")
class PickList(Node):
    id: strawberry.ID = strawberry.field(description="The pick list's global ID (the one PICK_LIST_READY sends; "
                                                     "`node()` answers it once the batch has closed). A preview's "
                                                     "ID is stable but names nothing yet.")
    totals: list[PickListLine] = strawberry.field(description="What the leader receives, summed per product.")
    orders: list[PickListOrder] = strawberry.field(description="The point's orders, by pick number.")
    final: bool = strawberry.field(description="False before the batch closes: a live preview of the orders so far.")
    received_at: datetime | None = strawberry.field(description="When the leader received the delivery; null before.")
    batch_id: strawberry.Private[UUID]
    pickup_point_id: strawberry.Private[UUID]

    @strawberry.field(description="The batch.")
    async def batch(self, info: Info) -> Batch:
        return Batch.of(await get_loader(info.context, BatchByIdLoader).load(self.batch_id))

    @strawberry.field(description="The pickup point.")
    async def pickup_point(self, info: Info) -> PickupPoint:
        return PickupPoint.of(await get_loader(info.context, PickupPointByIdLoader).load(self.pickup_point_id))


async def build_pick_list(context: Context, batch_id: UUID, pickup_point_id: UUID) -> PickList:
    async with serial_session(context) as session:
        content = await queries.pick_list_content(session, tenant_id=context.tenant.id, batch_id=batch_id,
                                                  pickup_point_id=pickup_point_id)
    rows = await get_loader(context, OrderByIdLoader).load_many(content.order_ids)
    orders = [
        PickListOrder(customer_name=r.customer_name, pick_number=content.pick_numbers.get(r.id), row=r,
                      lines=[PickListLine(product_name=ln.product_name, unit=ln.unit, quantity=ln.quantity,
                                          shorted=ln.shorted, product_uuid=ln.product_id)
                             for ln in content.lines[r.id]])
        for r in rows if r is not None
    ]
    final = content.pick_list.id if content.pick_list else uuid5(batch_id, str(pickup_point_id))
    return PickList(
        id=strawberry.ID(global_id.encode("PickList", final)),
        totals=[PickListLine(product_name=t.product_name, unit=t.unit, quantity=t.quantity, shipped=t.shipped,
                             shorted=t.shorted, product_uuid=t.product_id) for t in content.totals],
        orders=orders, final=content.pick_list is not None,
        received_at=content.pick_list.received_at if content.pick_list else None,
        batch_id=batch_id, pickup_point_id=pickup_point_id,
    )


@node_loader("PickList")
async def _load_pick_list(context: Context, id: UUID) -> PickList | None:
    """A closed batch's pick list: that point's leader and admins."""
    async with serial_session(context) as session:
        row = (await session.execute(select(models.PickList).where(col(models.PickList.id) == id))).scalar_one_or_none()
    if row is None or not (await is_admin(context) or await viewer_leader_id(context) == row.leader_id):
        return None
    return await build_pick_list(context, row.batch_id, row.pickup_point_id)


async def _point_for_leader_or_admin(context: Context, batch_id: str, pickup_point_id: str) -> tuple[UUID, UUID]:
    """The batch and point, when the caller is that point's leader or an admin (GraphQL errors otherwise)."""
    batch = await existing(context, BatchByIdLoader, batch_id, "Batch", "batchId")
    point = await existing(context, PickupPointByIdLoader, pickup_point_id, "PickupPoint", "pickupPointId")
    if not await is_admin(context) and await viewer_leader_id(context) != point.leader_id:
        raise PermissionDenied("Only this pickup point's leader and admins see its pick list.")
    return batch.id, point.id


@strawberry.type(name="Commission", description="A leader's commission on one order: the leader's rate (snapshot at "
                                                "order time) times the goods value, rounded half-up per line.")
class Commission(Node):
    id: strawberry.ID = strawberry.field(description="The commission's global ID.")
    status: CommissionStatus = strawberry.field(description="Pending until the order is picked up, "  # type: ignore[valid-type]  # a strawberry.enum(...) value: a type to strawberry, not to mypy
                                                            "then earned; reversed for refunded "
                                                            "lines.")
    rate: Decimal = strawberry.field(description="The leader's commission rate when the order was placed, a fraction "
                                                 "(0.1 is 10 %).")
    created_at: datetime = strawberry.field(description="When the commission was recorded.")
    earned_at: datetime | None = strawberry.field(description="When the order was picked up; null before.")
    reversed_at: datetime | None = strawberry.field(description="When a refund reversed it; null otherwise.")
    row: strawberry.Private[models.Commission]

    @classmethod
    def of(cls, row: models.Commission) -> Commission:
        return cls(id=strawberry.ID(global_id.encode("Commission", row.id)),
                   status=models.CommissionStatus(row.status), rate=rate_text(row.rate), created_at=row.created_at,
                   earned_at=row.earned_at, reversed_at=row.reversed_at, row=row)

    @strawberry.field(description="What the leader gets for this order now (after any reversal).")
    def amount(self) -> Money:
        return Money.of(self.row.amount_minor, self.row.currency)

    @strawberry.field(description="What refunds took back from it.")
    def reversed_amount(self) -> Money:
        return Money.of(self.row.reversed_minor, self.row.currency)

    @strawberry.field(description="0: the point's leader's commission (distributors' are level 1 and 2, see "
                                  "myDistributionCommissions).")
    def level(self) -> int:
        return 0

    @strawberry.field(description="Who earns it: the leader's display name.")
    async def beneficiary_name(self, info: Info) -> str:
        return (await get_loader(info.context, LeaderByIdLoader).load(self.row.leader_id)).display_name

    @strawberry.field(description="The leader who earns it.")
    async def leader(self, info: Info) -> Leader:
        return Leader.of(await get_loader(info.context, LeaderByIdLoader).load(self.row.leader_id))

    @strawberry.field(description="The order it is paid on.")
    async def order(self, info: Info) -> Order:
        return Order.of(await get_loader(info.context, OrderByIdLoader).load(self.row.order_id))

    @strawberry.field(description="The order's batch.")
    async def batch(self, info: Info) -> Batch:
        return Batch.of(await get_loader(info.context, BatchByIdLoader).load(self.row.batch_id))


class CommissionByIdLoader(KeyedLoader):
    @staticmethod
    async def fetch(session: AsyncSession, ids: list[UUID]) -> dict[UUID, models.Commission]:
        rows = (await session.execute(select(models.Commission).where(col(models.Commission.id).in_(ids)))).scalars()
        return {r.id: r for r in rows}


@node_loader("Commission")
async def _load_commission(context: Context, id: UUID) -> Commission | None:
    row = await get_loader(context, CommissionByIdLoader).load(id)
    if row is None:
        return None
    if await is_admin(context) or await viewer_leader_id(context) == row.leader_id:
        return Commission.of(row)
    return None


# -- queries --------------------------------------------------------------------------------
@strawberry.type
class ProcurementQuery:
    @strawberry.field(description="Admins see every purchase order; a supplier's staff their own.")
    @requires(ADMINS, Caller.SUPPLIER)
    async def purchase_orders(
        self,
        info: Info,
        batch_id: Annotated[strawberry.ID | None, strawberry.argument(
            description="Only purchase orders of this batch.")] = None,
        first: Annotated[int | None, strawberry.argument(description="How many items to return: 1 to 100 "
                                                                     "(GROUPBUY_MAX_PAGE_SIZE).")] = 20,
        after: Annotated[str | None, strawberry.argument(description="The endCursor of the previous page; "
                                                                     "leave it out for the first page.")] = None,
        order_by: Annotated[ListOrder | None, strawberry.argument(description=ORDER_BY_DESCRIPTION)] = None,
    ) -> Connection[PurchaseOrder]:
        size = check_page(first, after)
        supplier_id = await supplier_scope(info.context)
        batch = await existing(info.context, BatchByIdLoader, batch_id, "Batch", "batchId")
        async with serial_session(info.context) as session:
            page = await queries.purchase_order_page(session, supplier_id=supplier_id, batch_id=batch and batch.id,
                                                     first=size, after=after, descending=descending(order_by))
        return Connection.of(page, PurchaseOrder.of)

    @strawberry.field(description="That point's leader and admins. Before the close: a live preview.")
    @requires(ADMINS, Caller.LEADER)
    async def pick_list(
        self,
        info: Info,
        batch_id: Annotated[strawberry.ID, strawberry.argument(description="The batch's global ID.")],
        pickup_point_id: Annotated[strawberry.ID, strawberry.argument(description="The pickup point's global ID.")],
    ) -> PickList:
        bid, pid = await _point_for_leader_or_admin(info.context, batch_id, pickup_point_id)
        return await build_pick_list(info.context, bid, pid)

    @strawberry.field(description="A leader sees their own commissions; admins all (filter by leaderId).")
    @requires(ADMINS, Caller.LEADER)
    async def commissions(
        self,
        info: Info,
        leader_id: Annotated[strawberry.ID | None, strawberry.argument(
            description="Admins: only this leader's commissions.")] = None,
        batch_id: Annotated[strawberry.ID | None, strawberry.argument(description="Only commissions on orders of this "
                                                                                  "batch.")] = None,
        first: Annotated[int | None, strawberry.argument(description="How many items to return: 1 to 100 "
                                                                     "(GROUPBUY_MAX_PAGE_SIZE).")] = 20,
        after: Annotated[str | None, strawberry.argument(description="The endCursor of the previous page; "
                                                                     "leave it out for the first page.")] = None,
    ) -> Connection[Commission]:
        size = check_page(first, after)
        context = info.context
        leader = await existing(context, LeaderByIdLoader, leader_id, "Leader", "leaderId")
        batch = await existing(context, BatchByIdLoader, batch_id, "Batch", "batchId")
        lid = leader and leader.id
        if not await is_admin(context):
            lid = await viewer_leader_id(context)
            if lid is None:
                raise PermissionDenied("Commissions are for leaders (their own) and admins.")
            if leader is not None and leader.id != lid:
                raise PermissionDenied("A leader sees only their own commissions.")
        bid = batch and batch.id
        async with serial_session(context) as session:
            page = await queries.commission_page(session, leader_id=lid, batch_id=bid, first=size, after=after)
        return Connection.of(page, Commission.of)


@strawberry.type(description="The result of a purchase order mutation.")
class PurchaseOrderPayload:
    errors: list[UserError] = strawberry.field(description="Why the mutation was refused, each with a code and the "
                                                           "input field it is about; empty on success. When it is "
                                                           "not empty, nothing was changed.")
    purchase_order: PurchaseOrder | None = strawberry.field(
        default=None, description="The purchase order as it is now; null when refused.")


# -- mutations ------------------------------------------------------------------------------
@strawberry.type
class ProcurementMutation:
    @strawberry.mutation(description="Admins: close now, the same pipeline as the cutoff. Closing a batch "
                                     "that is already closed returns it unchanged.")
    @admins
    async def batch_close(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The batch's global ID.")],
    ) -> BatchPayload:
        context = info.context

        async def action(session: AsyncSession) -> dict[str, Any]:
            bid = decode(id, "Batch")
            status = (await session.execute(text("SELECT status FROM batch WHERE tenant_id = :t AND id = :id"),
                                            {"t": context.tenant.id, "id": bid})).scalar_one_or_none() if bid else None
            if bid is None or status is None:
                raise fail(ErrorCode.NOT_FOUND, "No such batch.", ["id"])
            await close_batch(session, tenant_id=context.tenant.id, batch_id=bid)
            context.loaders.pop(BatchByIdLoader.__name__, None)
            row = await get_loader(context, BatchByIdLoader).load(bid)
            if row.status not in ("CLOSED", "COMPLETED"):
                raise fail(ErrorCode.CONFLICT, msg("batches.cannot_close", status=f"{row.status}"), ["id"])
            return {"batch": Batch.of(row)}

        return await run_mutation(context, BatchPayload, action)

    @strawberry.mutation(description="The supplier (or an admin): SENT -> ACKNOWLEDGED.")
    @requires(ADMINS, Caller.SUPPLIER)
    async def purchase_order_acknowledge(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The purchase order's global ID.")],
    ) -> PurchaseOrderPayload:
        return await _advance(info.context, id, models.PurchaseOrderStatus.ACKNOWLEDGED)

    @strawberry.mutation(description="The supplier (or an admin): -> SHIPPED.")
    @requires(ADMINS, Caller.SUPPLIER)
    async def purchase_order_mark_shipped(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The purchase order's global ID.")],
    ) -> PurchaseOrderPayload:
        context = info.context

        async def action(session: AsyncSession) -> dict[str, Any]:  # everything shipped as ordered
            row = await ship_purchase_order(
                session, tenant=context.tenant, purchase_order_id=decode(id, "PurchaseOrder"),
                supplier_id=await supplier_scope(context), lines=None, actor=actor_of(context.principal))
            return {"purchase_order": PurchaseOrder.of(row)}

        return await run_mutation(context, PurchaseOrderPayload, action)

    @strawberry.mutation(description="That point's leader: the goods arrived; its CONFIRMED orders become "
                                     "READY_FOR_PICKUP and their customers are notified.")
    @requires(ADMINS, Caller.LEADER)
    async def delivery_receive(
        self,
        info: Info,
        batch_id: Annotated[strawberry.ID, strawberry.argument(description="The batch's global ID.")],
        pickup_point_id: Annotated[strawberry.ID, strawberry.argument(description="The leader's pickup point.")],
    ) -> PickList:
        context = info.context
        bid, pid = await _point_for_leader_or_admin(context, batch_id, pickup_point_id)
        session = await context.session()
        try:
            async with session.begin_nested():
                await confirm_delivery(session, tenant=context.tenant, batch_id=bid, pickup_point_id=pid, lines=None,
                                       actor=actor_of(context.principal))  # all arrived as shipped
        except UserErrors as e:
            raise query_error(e) from None
        context.loaders.pop(OrderByIdLoader.__name__, None)
        return await build_pick_list(context, bid, pid)

    @strawberry.mutation(description="Admins: after-sales refund of lines, reversing the leader's commission "
                                     "on them.")
    @admins
    async def order_refund(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The order's global ID.")],
        line_ids: Annotated[list[strawberry.ID], strawberry.argument(description="The lines to refund (OrderLine.id).",
    )],
                           reason: Annotated[str, strawberry.argument(
                               description="Why, for the customer.")],
                           ) -> OrderPayload:
        context = info.context

        async def action(session: AsyncSession) -> dict[str, Any]:
            oid = await operations.refund_lines(
                session, tenant=context.tenant, order_id=decode(id, "Order"),
                line_ids=[decode(i, "OrderLine") for i in line_ids], reason=reason,
                actor=actor_of(context.principal))
            context.loaders.clear()
            return {"order": Order.of(await get_loader(context, OrderByIdLoader).load(oid))}

        return await run_mutation(context, OrderPayload, action)


async def _advance(context: Context, id: str, to: models.PurchaseOrderStatus) -> PurchaseOrderPayload:
    async def action(session: AsyncSession) -> dict[str, Any]:
        supplier_id = await supplier_scope(context)
        row = await operations.advance_purchase_order(session, tenant_id=context.tenant.id,
                                                      purchase_order_id=decode(id, "PurchaseOrder"),
                                                      supplier_id=supplier_id, to=to)
        return {"purchase_order": PurchaseOrder.of(row)}

    return await run_mutation(context, PurchaseOrderPayload, action)
