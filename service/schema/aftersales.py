"""Shortages and after-sales: refunds by quantity, short shipments, receipt differences,
customers' after-sales requests (售后) and the shortage report."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import strawberry
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from service import global_id
from service.aftersales import compensation as compensation_domain
from service.aftersales import models, refunds, reports, requests, shortage
from service.aftersales.receiving import ReceivedLine, confirm_delivery
from service.aftersales.refunds import actor_of
from service.errors import ErrorCode, PermissionDenied, UserErrors, fail
from service.orders.models import OrderLine as OrderLineRow
from service.pagination import count_of, fetch_page
from service.schema.access import (
    ADMINS,
    Caller,
    admins,
    check_page,
    decode,
    existing,
    get_loader,
    is_admin,
    query_error,
    requires,
    serial_session,
)
from service.schema.batches import Batch, BatchByIdLoader
from service.schema.catalog.dataloaders import ProductByIdLoader, SupplierByIdLoader
from service.schema.catalog.types import Product, Supplier
from service.schema.common import Money, Node, UserError, describe_values
from service.schema.compensation import CompensationMode, CouponCompensation, compensations_of_request
from service.schema.context import Context
from service.schema.leaders.dataloaders import PickupPointByIdLoader
from service.schema.leaders.types import PickupPoint
from service.schema.mutation import run_mutation
from service.schema.node import node_loader
from service.schema.orders import Order, OrderByIdLoader, OrderLine, OrderPayload
from service.schema.pagination import PageInfo
from service.schema.procurement import (
    PickList,
    PurchaseOrder,
    PurchaseOrderPayload,
    build_pick_list,
    supplier_scope,
    viewer_leader_id,
)

Info = strawberry.Info[Context, None]

RefundReason = strawberry.enum(models.RefundReason, name="RefundReason", description="Why units were refunded.")
describe_values(RefundReason, {
    "SHORTAGE": "The goods were not delivered: shipped short or missing at the point.",
    "DAMAGED": "The goods arrived damaged.",
    "QUALITY": "The customer found a quality problem.",
    "CUSTOMER_REQUEST": "The customer asked for it.",
    "OTHER": "Any other reason (say which in the note).",
})


@strawberry.input(description="Units of one order line to refund.")
class RefundLineInput:
    line_id: strawberry.ID = strawberry.field(description="The line (OrderLine.id).")
    quantity: int = strawberry.field(description="How many units, at least 1 and at most what is left unrefunded.")


@strawberry.input(description="What the supplier shipped of one product, in all or to one pickup point.")
class ShippedLineInput:
    product_id: strawberry.ID = strawberry.field(description="The product (a line of the purchase order).")
    quantity: int = strawberry.field(description="Units shipped: 0 up to the units ordered.")
    pickup_point_id: strawberry.ID | None = strawberry.field(
        default=None, description="Only the units for this pickup point (PER_POINT); left out, the product in all.")


@strawberry.input(description="What arrived of one product at the pickup point.")
class ReceivedLineInput:
    product_id: strawberry.ID = strawberry.field(description="The product.")
    received: int = strawberry.field(description="Units that arrived (damaged ones included): 0 up to those shipped.")
    damaged: int | None = strawberry.field(default=0, description="Of those, units damaged: 0 up to received.")
    note: str | None = strawberry.field(default=None, description="What happened, for the supplier (500 characters).")
    photo_urls: list[str] | None = strawberry.field(default=None, description="Photos: https links, at most 10.")


@strawberry.type(description="The result of deliveryConfirm.")
class DeliveryConfirmPayload:
    errors: list[UserError] = strawberry.field(description="Why the mutation was refused, each with a code and the "
                                                           "input field it is about; empty on success. When it is "
                                                           "not empty, nothing was changed.")
    pick_list: PickList | None = strawberry.field(default=None, description="The point's pick list as it is now; "
                                                                            "null when refused.")


@strawberry.type
class AftersalesMutation:
    @strawberry.mutation(description="Admins: refunds quantities of an order's lines (all or none), never more than "
                                     "was paid, with a reason; the leader's commission on them is reversed.")
    @admins
    async def order_lines_refund(
        self,
        info: Info,
        order_id: Annotated[strawberry.ID, strawberry.argument(description="The order's global ID.")],
        lines: Annotated[list[RefundLineInput], strawberry.argument(description="The lines and units to refund.")],
        reason: Annotated[RefundReason, strawberry.argument(description="Why.")],  # type: ignore[valid-type]  # a strawberry.enum(...) value: a type to strawberry, not to mypy
        note: Annotated[str | None, strawberry.argument(description="A note for the customer.")] = None,
    ) -> OrderPayload:
        context = info.context

        async def action(session: AsyncSession) -> dict[str, Any]:
            oid = await refunds.refund_order_lines(
                session, tenant=context.tenant, order_id=decode(order_id, "Order"),
                lines=[(decode(ln.line_id, "OrderLine"), ln.quantity) for ln in lines],
                reason=models.RefundReason(reason), note=note, actor=actor_of(context.principal))
            context.loaders.clear()
            return {"order": Order.of(await get_loader(context, OrderByIdLoader).load(oid))}

        return await run_mutation(context, OrderPayload, action)

    @strawberry.mutation(description="The supplier (or an admin): -> SHIPPED with the units actually shipped; lines "
                                     "left out shipped as ordered. A shortfall is allocated to customers' lines by "
                                     "the tenant's shortagePolicy and refunded, once: a repeat changes nothing.")
    @requires(ADMINS, Caller.SUPPLIER)
    async def purchase_order_ship(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The purchase order's global ID.")],
        lines: Annotated[list[ShippedLineInput] | None, strawberry.argument(
            description="What was shipped; left out: everything as ordered.")] = None,
    ) -> PurchaseOrderPayload:
        return await ship(info.context, id, lines)

    @strawberry.mutation(description="That point's leader (or an admin): what arrived, per product; products left "
                                     "out (or no lines) arrived as shipped. Missing and damaged units are allocated "
                                     "among the point's orders by the tenant's shortagePolicy and refunded, and the "
                                     "supplier is told (DELIVERY_DISCREPANCY). Its orders become READY_FOR_PICKUP. "
                                     "Once: a repeat changes nothing, other quantities are a CONFLICT.")
    @requires(ADMINS, Caller.LEADER)
    async def delivery_confirm(
        self,
        info: Info,
        batch_id: Annotated[strawberry.ID, strawberry.argument(description="The batch's global ID.")],
        pickup_point_id: Annotated[strawberry.ID, strawberry.argument(description="The pickup point's global ID.")],
        lines: Annotated[list[ReceivedLineInput] | None, strawberry.argument(
            description="What arrived; left out: everything as shipped.")] = None,
    ) -> DeliveryConfirmPayload:
        context = info.context

        async def action(session: AsyncSession) -> dict[str, Any]:
            bid, point = decode(batch_id, "Batch"), decode(pickup_point_id, "PickupPoint")
            batch = await get_loader(context, BatchByIdLoader).load(bid) if bid else None
            if batch is None or bid is None:
                raise fail(ErrorCode.NOT_FOUND, "No such batch.", ["batchId"])
            row = await get_loader(context, PickupPointByIdLoader).load(point) if point else None
            if row is None:
                raise fail(ErrorCode.NOT_FOUND, "No such pickup point.", ["pickupPointId"])
            if not await is_admin(context) and await viewer_leader_id(context) != row.leader_id:
                raise PermissionDenied("Only this pickup point's leader and admins confirm its deliveries.")
            await confirm_delivery(session, tenant=context.tenant, batch_id=bid, pickup_point_id=row.id, lines=None
                                   if lines is None else [
                ReceivedLine(decode(ln.product_id, "Product"), ln.received, ln.damaged or 0, ln.note,
                             tuple(ln.photo_urls or ())) for ln in lines], actor=actor_of(context.principal))
            context.loaders.clear()
            return {"pick_list": await build_pick_list(context, bid, row.id)}

        return await run_mutation(context, DeliveryConfirmPayload, action)


async def ship(context: Context, id: str, lines: list[ShippedLineInput] | None) -> PurchaseOrderPayload:
    async def action(session: AsyncSession) -> dict[str, Any]:
        supplier_id = await supplier_scope(context)
        row = await shortage.ship_purchase_order(
            session, tenant=context.tenant, purchase_order_id=decode(id, "PurchaseOrder"), supplier_id=supplier_id,
            lines=None if lines is None else [
                shortage.ShippedLine(decode(ln.product_id, "Product"), ln.quantity,
                                     decode(ln.pickup_point_id, "PickupPoint") if ln.pickup_point_id else None,
                                     point_given=ln.pickup_point_id is not None)
                for ln in lines],
            actor=actor_of(context.principal))
        context.loaders.clear()
        return {"purchase_order": PurchaseOrder.of(row)}

    return await run_mutation(context, PurchaseOrderPayload, action)


@strawberry.type(name="ShortageReportRow", description="One product of one supplier in a batch: what was ordered, "
                                                       "shipped, received and damaged, shorted and refunded.")
class ShortageReportRow:
    ordered: int = strawberry.field(description="Units on the purchase order (at the close).")
    shipped: int = strawberry.field(description="Units the supplier shipped (0 before it shipped).")
    received: int = strawberry.field(description="Units the pickup points confirmed as arrived.")
    damaged: int = strawberry.field(description="Of those, units that arrived damaged.")
    shorted: int = strawberry.field(description="Units customers did not get (short, missing or damaged).")
    row: strawberry.Private[Any]
    currency: strawberry.Private[str]

    @strawberry.field(description="Everything refunded on this product's lines in this batch, for any reason.")
    def refunded(self) -> Money:
        return Money.of(self.row.refunded_minor, self.currency)

    @strawberry.field(description="The supplier.")
    async def supplier(self, info: Info) -> Supplier:
        return Supplier.of(await get_loader(info.context, SupplierByIdLoader).load(self.row.supplier_id))

    @strawberry.field(description="The product.")
    async def product(self, info: Info) -> Product:
        return Product.of(await get_loader(info.context, ProductByIdLoader).load(self.row.product_id))


@strawberry.type
class AftersalesQuery:
    @strawberry.field(description="Admins: every supplier of the batch; a supplier's staff: their own products.")
    @requires(ADMINS, Caller.SUPPLIER)
    async def shortage_report(
        self,
        info: Info,
        batch_id: Annotated[strawberry.ID, strawberry.argument(description="The batch's global ID.")],
    ) -> list[ShortageReportRow]:
        supplier_id = await supplier_scope(info.context)
        batch = await existing(info.context, BatchByIdLoader, batch_id, "Batch", "batchId")
        async with serial_session(info.context) as session:
            rows = await reports.shortage_rows(session, batch_id=batch.id, supplier_id=supplier_id)
        return [ShortageReportRow(ordered=r.ordered, shipped=r.shipped, received=r.received, damaged=r.damaged,
                                  shorted=r.shorted, row=r, currency=r.currency) for r in rows]


@strawberry.type(name="SupplierShortageRow", description="One supplier's goods in one closed batch: what was ordered, "
                                                         "shipped, received and damaged, shorted, refunded, and the "
                                                         "paid value kept against compensation coupons.")
class SupplierShortageRow:
    ordered: int = strawberry.field(description="Units on the supplier's purchase orders of the batch.")
    shipped: int = strawberry.field(description="Units shipped.")
    received: int = strawberry.field(description="Units the pickup points confirmed as arrived.")
    damaged: int = strawberry.field(description="Of those, units that arrived damaged.")
    shorted: int = strawberry.field(description="Units customers did not get (short, missing or damaged).")
    closed_at: datetime = strawberry.field(description="When the batch closed.")
    row: strawberry.Private[Any]

    @strawberry.field(description="Everything refunded on the supplier's products in the batch, for any reason.")
    def refunded(self) -> Money:
        return Money.of(self.row.refunded_minor, self.row.currency)

    @strawberry.field(description="What customers paid for units compensated by a coupon instead of a refund "
                                  "(compensationMode COUPON_INSTEAD_OF_REFUND).")
    def kept_for_coupons(self) -> Money:
        return Money.of(self.row.kept_minor, self.row.currency)

    @strawberry.field(description="The supplier.")
    async def supplier(self, info: Info) -> Supplier:
        return Supplier.of(await get_loader(info.context, SupplierByIdLoader).load(self.row.supplier_id))

    @strawberry.field(description="The batch.")
    async def batch(self, info: Info) -> Annotated[Batch, strawberry.lazy("service.schema.batches")]:
        return Batch.of(await get_loader(info.context, BatchByIdLoader).load(self.row.batch_id))


@strawberry.type
class SupplierShortageQuery:
    @strawberry.field(description="Per supplier and batch (batches closed from `since` until `until`, at most 366 "
                                  "days; by default the last 31): ordered, shipped, received, damaged, shorted, "
                                  "refunded. Admins: every supplier, or one (supplierId); a supplier's staff: their "
                                  "own. As CSV: GET /exports/supplier-shortage-report.csv.")
    @requires(ADMINS, Caller.SUPPLIER)
    async def supplier_shortage_report(
        self, info: Info,
        supplier_id: Annotated[strawberry.ID | None, strawberry.argument(
            description="Admins: only this supplier.")] = None,
        since: Annotated[datetime | None, strawberry.argument(
            description="Batches closed at or after this; by default 31 days before `until`.")] = None,
        until: Annotated[datetime | None, strawberry.argument(
            description="Batches closed before this; by default now.")] = None,
    ) -> list[SupplierShortageRow]:
        scope = await supplier_scope(info.context)
        named = await existing(info.context, SupplierByIdLoader, supplier_id, "Supplier", "supplierId")
        try:
            begin, end = reports.report_window(since, until)
        except UserErrors as e:
            raise query_error(e) from None
        async with serial_session(info.context) as session:
            rows = await reports.supplier_rows(session, supplier_id=scope or (named.id if named else None),
                                               since=begin, until=end)
        return [SupplierShortageRow(ordered=r.ordered, shipped=r.shipped, received=r.received, damaged=r.damaged,
                                    shorted=r.shorted, closed_at=r.closed_at, row=r) for r in rows]


AfterSalesStatus = strawberry.enum(models.AfterSalesStatus, name="AfterSalesStatus",
                                   description="Where an after-sales request is.")
describe_values(AfterSalesStatus, {
    "REQUESTED": "Asked for; waiting for the point's leader or an admin.",
    "APPROVED": "Approved (all or part) and refunded.",
    "REJECTED": "Rejected, with a reason.",
    "CANCELLED": "Cancelled by the customer.",
})


@strawberry.type(name="AfterSalesRequest", description="A customer's request for a refund of units of a picked-up "
                                                       "order line (售后).")
class AfterSalesRequest(Node):
    id: strawberry.ID = strawberry.field(description="The request's global ID.")
    quantity: int = strawberry.field(description="Units asked for.")
    approved_quantity: int | None = strawberry.field(description="Units approved and refunded; null unless APPROVED.")
    reason: RefundReason = strawberry.field(description="Why.")  # type: ignore[valid-type]  # a strawberry.enum(...) value: a type to strawberry, not to mypy
    note: str | None = strawberry.field(description="The customer's note.")
    photo_urls: list[str] = strawberry.field(description="The customer's photos (https links).")
    status: AfterSalesStatus = strawberry.field(description="Where it is.")  # type: ignore[valid-type]  # a strawberry.enum(...) value: a type to strawberry, not to mypy
    requested_at: datetime = strawberry.field(description="When it was asked for.")
    decided_at: datetime | None = strawberry.field(description="When it was approved, rejected or cancelled.")
    decision_reason: str | None = strawberry.field(description="Why it was rejected.")
    row: strawberry.Private[models.AfterSalesRequest]

    @classmethod
    def of(cls, row: models.AfterSalesRequest) -> AfterSalesRequest:
        return cls(id=strawberry.ID(global_id.encode("AfterSalesRequest", row.id)), quantity=row.quantity,
                   approved_quantity=row.approved_quantity, reason=models.RefundReason(row.reason), note=row.note,
                   photo_urls=list(row.photo_urls), status=models.AfterSalesStatus(row.status),
                   requested_at=row.created_at, decided_at=row.decided_at, decision_reason=row.decision_reason,
                   row=row)

    @strawberry.field(description="The order.")
    async def order(self, info: Info) -> Order:
        return Order.of(await get_loader(info.context, OrderByIdLoader).load(self.row.order_id))

    @strawberry.field(description="The order line.")
    async def line(self, info: Info) -> OrderLine:
        order = await get_loader(info.context, OrderByIdLoader).load(self.row.order_id)
        async with serial_session(info.context) as session:
            line = await session.get(OrderLineRow, (self.row.tenant_id, self.row.order_line_id))
        assert line is not None  # a foreign key
        return OrderLine.of(line, order.currency)

    @strawberry.field(description="The pickup point.")
    async def pickup_point(self, info: Info) -> PickupPoint:
        return PickupPoint.of(await get_loader(info.context, PickupPointByIdLoader).load(self.row.pickup_point_id))

    @strawberry.field(description="Its compensation by coupon, if any: granted, or why not.")
    async def compensations(self, info: Info) -> list[CouponCompensation]:
        async with serial_session(info.context) as session:
            return await compensations_of_request(session, self.row.id)


async def _may_see(context: Context, row: models.AfterSalesRequest) -> bool:
    if await is_admin(context):
        return True
    if context.principal.user_id == row.customer_id:
        return True
    point = await get_loader(context, PickupPointByIdLoader).load(row.pickup_point_id)
    return point is not None and await viewer_leader_id(context) == point.leader_id


@node_loader("AfterSalesRequest")
async def _load_request(context: Context, id: UUID) -> AfterSalesRequest | None:
    async with serial_session(context) as session:
        row = await session.get(models.AfterSalesRequest, (context.tenant.id, id))
    return AfterSalesRequest.of(row) if row is not None and await _may_see(context, row) else None


@strawberry.type(name="AfterSalesEdge", description="One after-sales request in a list.")
class AfterSalesEdge:
    node: AfterSalesRequest = strawberry.field(description="The request.")
    cursor: str = strawberry.field(description="Give it as `after` to get what follows.")


@strawberry.type(name="AfterSalesConnection", description="A page of after-sales requests, oldest first.")
class AfterSalesConnection:
    edges: list[AfterSalesEdge] = strawberry.field(description="The requests of this page.")
    page_info: PageInfo = strawberry.field(description="Where this page is in the list.")
    listed: strawberry.Private[Any] = None  # the whole list's statement, counted when asked

    @strawberry.field(description="How many requests the whole list has (every page, with the same filters). "
                                  "Counted when asked.")
    async def total_count(self, info: Info) -> int:
        if self.listed is None:
            return len(self.edges)
        async with serial_session(info.context) as session:
            return int((await session.execute(count_of(self.listed))).scalar_one())


@strawberry.input(description="A customer's after-sales request.")
class AfterSalesRequestInput:
    line_id: strawberry.ID = strawberry.field(description="The picked-up order line (OrderLine.id).")
    quantity: int = strawberry.field(description="Units asked for: 1 up to those not refunded yet.")
    reason: RefundReason = strawberry.field(description="Why.")  # type: ignore[valid-type]  # a strawberry.enum(...) value: a type to strawberry, not to mypy
    note: str | None = strawberry.field(default=None, description="What is wrong (500 characters).")
    photo_urls: list[str] | None = strawberry.field(default=None, description="Photos: https links, at most 10.")


@strawberry.type(description="The result of an after-sales mutation.")
class AfterSalesPayload:
    errors: list[UserError] = strawberry.field(description="Why the mutation was refused, each with a code and the "
                                                           "input field it is about; empty on success. When it is "
                                                           "not empty, nothing was changed.")
    request: AfterSalesRequest | None = strawberry.field(default=None, description="The request as it is now; null "
                                                                                  "when refused.")
    compensation: CouponCompensation | None = strawberry.field(
        default=None, description="afterSalesApprove: the coupon granted, or why none could be (the refund still "
                                  "happened when the coupon came on top of it); null when not compensated by coupon.")


async def _decider(context: Context, session: AsyncSession, id: str) -> models.AfterSalesRequest:
    """The request, locked, when the caller is its point's leader or an admin."""
    row = await requests.locked(session, context.tenant.id, decode(id, "AfterSalesRequest"))
    if not await is_admin(context):
        point = await get_loader(context, PickupPointByIdLoader).load(row.pickup_point_id)
        if await viewer_leader_id(context) != point.leader_id:
            if context.principal.user_id == row.customer_id:
                raise PermissionDenied("Only the pickup point's leader and admins decide after-sales requests.")
            raise fail(ErrorCode.NOT_FOUND, "No such after-sales request.", ["id"])
    return row


@strawberry.type
class AfterSalesRequestMutation:
    @strawberry.mutation(description="The order's customer: asks for a refund of units of a picked-up line, within "
                                     "the tenant's afterSalesWindowHours after pickup; one open request per line.")
    @requires(Caller.CUSTOMER)
    async def after_sales_request(
        self, info: Info,
        input: Annotated[AfterSalesRequestInput, strawberry.argument(description="What is asked for.")],
    ) -> AfterSalesPayload:
        context = info.context

        async def action(session: AsyncSession) -> dict[str, Any]:
            row = await requests.request(
                session, tenant=context.tenant, customer_id=context.principal.user_id,  # type: ignore[arg-type]  # a customer is a user
                line_id=decode(input.line_id, "OrderLine"), quantity=input.quantity,
                reason=models.RefundReason(input.reason), note=input.note, urls=input.photo_urls)
            return {"request": AfterSalesRequest.of(row)}

        return await run_mutation(context, AfterSalesPayload, action)

    @strawberry.mutation(description="That point's leader or admins: approves a REQUESTED request, in full or for "
                                     "fewer units, and refunds them (reversing the commission).")
    @requires(ADMINS, Caller.LEADER)
    async def after_sales_approve(
        self, info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The request's global ID.")],
        quantity: Annotated[int | None, strawberry.argument(
            description="Units to approve: 1 up to those asked for; left out, all of them.")] = None,
        compensation: Annotated[CompensationMode | None, strawberry.argument(  # type: ignore[valid-type]  # a strawberry.enum(...) value: a type to strawberry, not to mypy
            description="Admins: compensate by coupon this way; left out, as the tenant's compensationMode "
                        "says.")] = None,
        coupon_template_id: Annotated[strawberry.ID | None, strawberry.argument(
            description="Admins: the coupon template to compensate from; left out, the tenant's "
                        "compensationCouponTemplateId.")] = None,
    ) -> AfterSalesPayload:
        context = info.context

        async def action(session: AsyncSession) -> dict[str, Any]:
            row = await _decider(context, session, id)
            if (compensation is not None or coupon_template_id is not None) and not await is_admin(context):
                raise PermissionDenied("Only admins choose how an after-sales request is compensated.")
            row, outcome = await requests.approve(
                session, tenant=context.tenant, row=row, quantity=quantity, actor=actor_of(context.principal),
                mode=None if compensation is None else compensation_domain.CompensationMode(compensation),
                template_id=decode(coupon_template_id, "CouponTemplate") if coupon_template_id else None,
                template_given=coupon_template_id is not None)
            compensations = await compensations_of_request(session, row.id, "couponTemplateId")
            return {"request": AfterSalesRequest.of(row),
                    "compensation": compensations[-1] if compensations and outcome.mode is not
                    compensation_domain.CompensationMode.NONE else None}

        return await run_mutation(context, AfterSalesPayload, action)

    @strawberry.mutation(description="That point's leader or admins: rejects a REQUESTED request, with a reason.")
    @requires(ADMINS, Caller.LEADER)
    async def after_sales_reject(
        self, info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The request's global ID.")],
        reason: Annotated[str, strawberry.argument(description="Why, for the customer (500 characters).")],
    ) -> AfterSalesPayload:
        context = info.context

        async def action(session: AsyncSession) -> dict[str, Any]:
            row = await _decider(context, session, id)
            row = await requests.reject(session, tenant=context.tenant, row=row, reason=reason,
                                        actor=actor_of(context.principal))
            return {"request": AfterSalesRequest.of(row)}

        return await run_mutation(context, AfterSalesPayload, action)

    @strawberry.mutation(description="The customer: cancels their own request while it is REQUESTED.")
    @requires(Caller.CUSTOMER)
    async def after_sales_cancel(
        self, info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The request's global ID.")],
    ) -> AfterSalesPayload:
        context = info.context

        async def action(session: AsyncSession) -> dict[str, Any]:
            row = await requests.locked(session, context.tenant.id, decode(id, "AfterSalesRequest"))
            if row.customer_id != context.principal.user_id:
                raise fail(ErrorCode.NOT_FOUND, "No such after-sales request.", ["id"])
            row = await requests.cancel(session, tenant=context.tenant, row=row, actor=actor_of(context.principal))
            return {"request": AfterSalesRequest.of(row)}

        return await run_mutation(context, AfterSalesPayload, action)


@strawberry.type
class AfterSalesRequestQuery:
    @strawberry.field(description="Admins: every request; a leader: those at their pickup points; a customer: "
                                  "their own. Oldest first.")
    @requires(ADMINS, Caller.LEADER, Caller.CUSTOMER)
    async def after_sales_requests(
        self, info: Info,
        status: Annotated[AfterSalesStatus | None, strawberry.argument(description="Only these.")] = None,  # type: ignore[valid-type]  # a strawberry.enum(...) value: a type to strawberry, not to mypy
        pickup_point_id: Annotated[strawberry.ID | None, strawberry.argument(
            description="Only those at this pickup point.")] = None,
        first: Annotated[int | None, strawberry.argument(description="How many items to return: 1 to 100 "
                                                                     "(GROUPBUY_MAX_PAGE_SIZE).")] = 20,
        after: Annotated[str | None, strawberry.argument(description="The endCursor of the previous page; "
                                                                     "leave it out for the first page.")] = None,
    ) -> AfterSalesConnection:
        size = check_page(first, after)
        context = info.context
        point = await existing(context, PickupPointByIdLoader, pickup_point_id, "PickupPoint", "pickupPointId")
        stmt = select(models.AfterSalesRequest)
        if not await is_admin(context):
            leader_id = await viewer_leader_id(context)
            if leader_id is not None:
                async with serial_session(context) as session:
                    points = (await session.execute(text("SELECT id FROM pickup_point WHERE leader_id = :l"),
                                                    {"l": leader_id})).scalars().all()
                stmt = stmt.where(col(models.AfterSalesRequest.pickup_point_id).in_(points))
            else:
                stmt = stmt.where(models.AfterSalesRequest.customer_id == context.principal.user_id)
        if point is not None:
            stmt = stmt.where(models.AfterSalesRequest.pickup_point_id == point.id)
        if status is not None:
            stmt = stmt.where(models.AfterSalesRequest.status == models.AfterSalesStatus(status).value)
        async with serial_session(context) as session:
            page = await fetch_page(session, stmt, models.AfterSalesRequest, first=size, after=after)
        return AfterSalesConnection(
            edges=[AfterSalesEdge(node=AfterSalesRequest.of(r), cursor=c) for r, c in zip(page.items, page.cursors,
                                                                                          strict=True)],
            page_info=PageInfo(has_next_page=page.has_next, end_cursor=page.cursors[-1] if page.cursors else None,
                               start_cursor=page.cursors[0] if page.cursors else None),
            listed=stmt)
