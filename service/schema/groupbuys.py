"""拼团: the GroupBuy type, groupBuy(id), groupBuyByShareCode, groupBuyJoin and the per-offer report."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import strawberry

from service import global_id
from service.csv_cells import csv_document
from service.errors import ErrorCode, fail
from service.groupbuys import models, queries
from service.groupbuys.queries import GroupView
from service.schema.access import (
    ADMINS,
    Caller,
    KeyedLoader,
    decode,
    existing,
    get_loader,
    public,
    requires,
    serial_session,
)
from service.schema.batches import BatchByIdLoader, Offer, OfferByIdLoader, visible_batch
from service.schema.common import Node, UserError, describe_values
from service.schema.context import Context
from service.schema.mutation import run_mutation
from service.schema.node import node_loader

Info = strawberry.Info[Context, None]

GroupBuyStatus = strawberry.enum(models.GroupBuyStatus, name="GroupBuyStatus",
                                 description="Where a 拼团 group is.")
describe_values(GroupBuyStatus, {
    "OPEN": "Taking members until it has `size` paid members or its window ends.",
    "SUCCEEDED": "It reached its size (or its window ended and the offer says SUCCEED_ANYWAY): its orders go ahead.",
    "FAILED": "Its window ended short of its size: every member's order was cancelled and refunded.",
})


class GroupBuyByIdLoader(KeyedLoader):
    fetch = staticmethod(queries.groups_by_ids)
    pass_tenant = True


class GroupBuyByOrderLoader(KeyedLoader):
    fetch = staticmethod(queries.groups_by_orders)
    keyword = "order_ids"
    pass_tenant = True


@strawberry.type(name="GroupBuy", description="A 拼团 group: orders of one offer that go ahead together once "
                                              "`size` of them are paid.")
class GroupBuy(Node):
    id: strawberry.ID = strawberry.field(description="The group's global ID (give it to orderPlace as groupBuyId).")
    status: GroupBuyStatus = strawberry.field(description="OPEN, SUCCEEDED or FAILED.")  # type: ignore[valid-type]  # a strawberry.enum(...) value: a type to strawberry, not to mypy
    size: int = strawberry.field(description="How many paid members it needs.")
    paid_members: int = strawberry.field(description="Members whose orders are paid (never more than size); "
                                                     "of a group that ended, those it ended with (later refunds "
                                                     "do not change it).")
    opened_at: datetime | None = strawberry.field(description="When its first order was paid; null before (a "
                                                              "group is joinable only once open).")
    expires_at: datetime = strawberry.field(description="When its window ends (never after the batch's cutoff).")
    share_code: str = strawberry.field(description="The group's invitation code (122 random bits): "
                                                   "groupBuyByShareCode finds the group by it.")
    succeeded_virtually: bool = strawberry.field(description="It succeeded short of its size at the end of its "
                                                             "window (SUCCEED_ANYWAY, 虚拟成团).")
    view: strawberry.Private[GroupView]

    @classmethod
    def of(cls, view: GroupView) -> GroupBuy:
        return cls(
            id=strawberry.ID(global_id.encode("GroupBuy", view.id)),
            status=models.GroupBuyStatus(view.status),
            size=view.size,
            paid_members=view.paid_members,
            opened_at=view.opened_at,
            expires_at=view.expires_at,
            share_code=view.share_code,
            succeeded_virtually=view.succeeded_virtually,
            view=view,
        )

    @strawberry.field(description="The 拼团 offer.")
    async def offer(self, info: Info) -> Offer:
        return Offer.of(await get_loader(info.context, OfferByIdLoader).load(self.view.offer_id))


async def _visible_group(context: Context, group_id: UUID | None) -> GroupView | None:
    """A group of this tenant whose batch the caller may see."""
    if group_id is None:
        return None
    view = await get_loader(context, GroupBuyByIdLoader).load(group_id)
    if view is None or await visible_batch(context, view.batch_id) is None:
        return None
    return view


@node_loader("GroupBuy")
async def _load_group_node(context: Context, id: UUID) -> GroupBuy | None:
    view = await _visible_group(context, id)
    return GroupBuy.of(view) if view else None


async def group_of_order(context: Context, order_id: UUID) -> GroupBuy | None:
    """Order.groupBuy: the group the order is in, if any."""
    group_id = await get_loader(context, GroupBuyByOrderLoader).load(order_id)
    if group_id is None:
        return None
    view = await get_loader(context, GroupBuyByIdLoader).load(group_id)
    return GroupBuy.of(view) if view else None


@strawberry.type(description="The result of groupBuyJoin.")
class GroupBuyPayload:
    errors: list[UserError] = strawberry.field(description="Why the group cannot be joined, each with a code "
                                                           "(GROUP_FULL: start a new group); empty when it can.")
    group_buy: GroupBuy | None = strawberry.field(default=None, description="The group as it is now; null when "
                                                                            "refused.")


@strawberry.type(description="One 拼团 offer's groups.")
class GroupBuyReportRow:
    offer: Offer = strawberry.field(description="The offer.")
    product_name: str = strawberry.field(description="Its product's name.")
    group_size: int = strawberry.field(description="Its group size.")
    opened: int = strawberry.field(description="Groups opened (their first order paid).")
    open: int = strawberry.field(description="Opened groups still open.")
    succeeded: int = strawberry.field(description="Groups that succeeded, virtually or not.")
    succeeded_virtually: int = strawberry.field(description="Of those, how many succeeded short of their size "
                                                            "(SUCCEED_ANYWAY).")
    failed: int = strawberry.field(description="Opened groups that failed (their orders refunded).")
    paid_orders: int = strawberry.field(description="Paid orders in groups that succeeded.")
    conversion: float = strawberry.field(description="succeeded / (succeeded + failed), 0 to 1; 0 when none ended.")


@strawberry.type(description="groupBuyReport: per 拼团 offer, its groups opened, succeeded and failed.")
class GroupBuyReport:
    rows: list[GroupBuyReportRow] = strawberry.field(description="One row per 拼团 offer, oldest first (at "
                                                                 "most 1000).")
    csv: str = strawberry.field(description="The same rows as CSV (UTF-8 with a byte-order mark; text cells "
                                            "that a spreadsheet would run as formulas are quoted).")


REPORT_HEADER = ("offer_id", "product", "group_size", "opened", "open", "succeeded", "succeeded_virtually",
                 "failed", "paid_orders", "conversion")


@strawberry.type
class GroupBuysQuery:
    @strawberry.field(description="One 拼团 group by its ID (anyone in the tenant: a shared group's page); null "
                                  "when there is none the caller may see.")
    @public
    async def group_buy(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The group's global ID.")],
    ) -> GroupBuy | None:
        info.context.tenant  # noqa: B018 - refuses a request that names no tenant
        view = await _visible_group(info.context, decode(id, "GroupBuy"))
        return GroupBuy.of(view) if view else None

    @strawberry.field(description="The 拼团 group a share code invites to (anyone in the tenant); null when the "
                                  "code is unknown here.")
    @public
    async def group_buy_by_share_code(
        self,
        info: Info,
        code: Annotated[str, strawberry.argument(description="The group's shareCode.")],
    ) -> GroupBuy | None:
        context = info.context
        context.tenant  # noqa: B018 - refuses a request that names no tenant
        if not code or len(code) > 32:
            return None
        async with serial_session(context) as session:
            found = await queries.group_by_share_code(session, tenant_id=context.tenant.id, code=code)
        if found is None or await visible_batch(context, found.batch_id) is None:
            return None
        return GroupBuy.of(found)

    @strawberry.field(description="Admins: per 拼团 offer (of one batch, or all), groups opened, succeeded "
                                  "(virtually or not) and failed, and the conversion; with the CSV.")
    @requires(ADMINS)
    async def group_buy_report(
        self,
        info: Info,
        batch_id: Annotated[strawberry.ID | None, strawberry.argument(
            description="Only this batch's offers.")] = None,
    ) -> GroupBuyReport:
        context = info.context
        batch = await existing(context, BatchByIdLoader, batch_id, "Batch", "batchId")
        async with serial_session(context) as session:
            found = await queries.offer_report(session, tenant_id=info.context.tenant.id, batch_id=batch and batch.id)
        offers = {r.offer_id: await get_loader(context, OfferByIdLoader).load(r.offer_id) for r in found}
        rows = [GroupBuyReportRow(
            offer=Offer.of(offers[r.offer_id]), product_name=r.product_name, group_size=r.group_size,
            opened=r.opened, open=r.open, succeeded=r.succeeded, succeeded_virtually=r.succeeded_virtually,
            failed=r.failed, paid_orders=r.paid_orders, conversion=r.conversion) for r in found]
        body = csv_document(REPORT_HEADER, [
            (global_id.encode("Offer", r.offer_id), r.product_name, r.group_size, r.opened, r.open, r.succeeded,
             r.succeeded_virtually, r.failed, r.paid_orders, str(r.conversion)) for r in found])
        return GroupBuyReport(rows=rows, csv=body.decode("utf-8"))


@strawberry.type
class GroupBuysMutation:
    @strawberry.mutation(description="A customer, before ordering: checks that the group can be joined (open, "
                                     "not full, not already in an open group of this offer). The place is taken "
                                     "by orderPlace with groupBuyId, and held until the payment window ends.")
    @requires(Caller.CUSTOMER)
    async def group_buy_join(
        self,
        info: Info,
        group_buy_id: Annotated[strawberry.ID, strawberry.argument(description="The group's global ID.")],
    ) -> GroupBuyPayload:
        context = info.context

        async def action(session: Any) -> dict:
            customer_id = await context.require_user()
            view = await _visible_group(context, decode(group_buy_id, "GroupBuy"))
            if view is None:
                raise fail(ErrorCode.NOT_FOUND, "No such group.", ["groupBuyId"])
            await _check_joinable(session, context.tenant.id, view, customer_id)
            return {"group_buy": GroupBuy.of(view)}

        return await run_mutation(context, GroupBuyPayload, action)


async def _check_joinable(session: Any, tenant_id: UUID, view: GroupView, customer_id: UUID) -> None:
    from_db = await queries.join_check(session, tenant_id=tenant_id, group_id=view.id, customer_id=customer_id)
    if from_db.in_other_group:
        raise fail(ErrorCode.CONFLICT, "You are already in an open group for this offer.", ["groupBuyId"])
    if view.status != models.GroupBuyStatus.OPEN or view.opened_at is None or not from_db.before_expiry:
        raise fail(ErrorCode.INVALID, "This group is not open for joining: start a new one.", ["groupBuyId"])
    if from_db.taken >= view.size:
        raise fail(ErrorCode.GROUP_FULL, "This group is full: start a new one.", ["groupBuyId"])
