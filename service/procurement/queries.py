"""Reads for purchase orders, pick lists and commissions (batched for the DataLoaders)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from sqlalchemy import text, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from service.pagination import Page, check_first, decode_cursor, encode_cursor, fetch_page
from service.procurement.models import Commission, PickList, PurchaseOrder, PurchaseOrderLine


async def purchase_order_page(
    session: AsyncSession, *, supplier_id: UUID | None, batch_id: UUID | None, first: int, after: str | None,
    descending: bool = False,
) -> Page[PurchaseOrder]:
    stmt = select(PurchaseOrder)
    if supplier_id is not None:
        stmt = stmt.where(PurchaseOrder.supplier_id == supplier_id)
    if batch_id is not None:
        stmt = stmt.where(PurchaseOrder.batch_id == batch_id)
    return await fetch_page(session, stmt, PurchaseOrder, first=first, after=after, descending=descending)


async def purchase_orders_by_ids(session: AsyncSession, *, ids: Sequence[UUID]) -> dict[UUID, PurchaseOrder]:
    rows = (await session.execute(select(PurchaseOrder).where(col(PurchaseOrder.id).in_(list(ids))))).scalars()
    return {r.id: r for r in rows}


async def lines_by_purchase_orders(
    session: AsyncSession, *, ids: Sequence[UUID]
) -> dict[UUID, list[PurchaseOrderLine]]:
    rows = (
        await session.execute(
            select(PurchaseOrderLine).where(col(PurchaseOrderLine.purchase_order_id).in_(list(ids)))
            .order_by(col(PurchaseOrderLine.product_name))
        )
    ).scalars()
    out: dict[UUID, list[PurchaseOrderLine]] = defaultdict(list)
    for r in rows:
        out[r.purchase_order_id].append(r)
    return out


async def deliveries_by_purchase_orders(
    session: AsyncSession, *, tenant_id: UUID, ids: Sequence[UUID]
) -> dict[tuple[UUID, UUID], list[tuple[UUID, int]]]:
    """(purchase order, product) -> [(pickup point, quantity)]."""
    rows = await session.execute(
        text("SELECT purchase_order_id, product_id, pickup_point_id, quantity FROM purchase_order_delivery "
             "WHERE tenant_id = :t AND purchase_order_id = ANY(:ids) ORDER BY pickup_point_id"),
        {"t": tenant_id, "ids": list(ids)},
    )
    out: dict[tuple[UUID, UUID], list[tuple[UUID, int]]] = defaultdict(list)
    for r in rows:
        out[(r.purchase_order_id, r.product_id)].append((r.pickup_point_id, r.quantity))
    return out


@dataclass
class PickListTotal:
    product_id: UUID
    product_name: str
    unit: str
    quantity: int
    shipped: int | None = None  # null until the purchase order shipped
    shorted: int = 0


@dataclass
class PickListOrderLine:
    order_id: UUID
    product_name: str
    unit: str
    quantity: int
    shorted: int = 0
    product_id: UUID | None = None


@dataclass
class PickListContent:
    pick_list: PickList | None  # None before the close: a live preview from the orders so far
    totals: list[PickListTotal]
    order_ids: list[UUID]
    lines: dict[UUID, list[PickListOrderLine]]
    # After the close: each order's pick number ("#12" on its bag), its place in pick_list.order_ids.
    pick_numbers: dict[UUID, int]


async def pick_list_content(session: AsyncSession, *, tenant_id: UUID, batch_id: UUID,
                            pickup_point_id: UUID) -> PickListContent:
    # Every table, the subqueries' too, is given the tenant (:t): Citus then reads one shard.
    pick_list = (
        await session.execute(
            select(PickList).where(PickList.tenant_id == tenant_id, PickList.batch_id == batch_id,
                                   PickList.pickup_point_id == pickup_point_id)
        )
    ).scalar_one_or_none()
    # After the close the orders that count are the confirmed ones (and what became of them);
    # before, the preview shows what is placed so far.
    # (PAID and PLACED orders of a closed batch are its confirmed ones: migration 0010.)
    statuses = ("PAID", "PLACED", "CONFIRMED", "READY_FOR_PICKUP", "PICKED_UP") if pick_list else ("PAID", "PLACED")
    rows = (
        await session.execute(
            text("SELECT o.id AS order_id, l.product_id, l.product_name, p.unit, l.quantity, l.shorted_quantity "
                 "FROM customer_order o JOIN order_line l ON l.tenant_id = o.tenant_id AND l.order_id = o.id "
                 "JOIN product p ON p.tenant_id = l.tenant_id AND p.id = l.product_id "
                 "WHERE o.tenant_id = :t AND o.batch_id = :b AND o.pickup_point_id = :p AND o.status = ANY(:s) "
                 "AND l.status = 'ACTIVE' ORDER BY o.number, l.position"),
            {"t": tenant_id, "b": batch_id, "p": pickup_point_id, "s": list(statuses)},
        )
    ).all()
    lines: dict[UUID, list[PickListOrderLine]] = defaultdict(list)
    for r in rows:
        lines[r.order_id].append(PickListOrderLine(r.order_id, r.product_name, r.unit, r.quantity, r.shorted_quantity,
                                                     r.product_id))
    if pick_list is not None:
        totals = [
            PickListTotal(r.product_id, r.product_name, r.unit, r.quantity, r.shipped, r.shorted)
            for r in (
                await session.execute(
                    text("SELECT pl.product_id, pl.product_name, pl.unit, pl.quantity, "
                         "(SELECT sum(d.shipped)::int FROM delivery_line d "
                         "WHERE d.tenant_id = :t AND d.batch_id = :b "
                         "AND d.pickup_point_id = :p AND d.product_id = pl.product_id) AS shipped, "
                         "(SELECT coalesce(sum(l.shorted_quantity), 0)::int FROM customer_order o JOIN order_line l "
                         "ON l.tenant_id = o.tenant_id AND l.order_id = o.id "
                         "WHERE o.tenant_id = :t AND l.tenant_id = :t AND o.batch_id = :b "
                         "AND o.pickup_point_id = :p AND l.product_id = pl.product_id) AS shorted "
                         "FROM pick_list_line pl WHERE pl.tenant_id = :t AND pl.pick_list_id = :id "
                         "ORDER BY pl.product_name"),
                    {"t": tenant_id, "id": pick_list.id, "b": batch_id, "p": pickup_point_id})
            ).all()
        ]
    else:
        summed: dict[UUID, PickListTotal] = {}
        for r in rows:
            t = summed.setdefault(r.product_id, PickListTotal(r.product_id, r.product_name, r.unit, 0))
            t.quantity += r.quantity
        totals = sorted(summed.values(), key=lambda t: t.product_name)
    pick_numbers = {order_id: n for n, order_id in enumerate(pick_list.order_ids, 1)} if pick_list else {}
    order_ids = sorted(lines, key=lambda i: pick_numbers.get(i, 0)) if pick_numbers else list(lines)
    return PickListContent(pick_list=pick_list, totals=totals, order_ids=order_ids, lines=dict(lines),
                           pick_numbers=pick_numbers)


async def pick_numbers(session: AsyncSession, *, ids: Sequence[UUID]) -> dict[UUID, int]:
    """Each order's pick number: its place on its pick list (only orders of a closed batch that
    the close confirmed have one)."""
    rows = await session.execute(
        text("SELECT o.id, array_position(pl.order_ids, o.id) AS n FROM customer_order o "
             "JOIN pick_list pl ON pl.tenant_id = o.tenant_id AND pl.batch_id = o.batch_id "
             "AND pl.pickup_point_id = o.pickup_point_id WHERE o.id = ANY(:ids)"),
        {"ids": list(ids)},
    )
    return {r.id: r.n for r in rows if r.n is not None}


async def commission_page(
    session: AsyncSession, *, leader_id: UUID | None, batch_id: UUID | None, first: int, after: str | None
) -> Page[Commission]:
    """Keys first, then the page's rows: a derived commission's amount is summed from its order's
    lines, which only the page's rows need (sorting a batch's worth of them cost seconds)."""
    check_first(first)
    keys = select(col(Commission.id), col(Commission.created_at))
    if leader_id is not None:
        keys = keys.where(Commission.leader_id == leader_id)
    if batch_id is not None:
        keys = keys.where(Commission.batch_id == batch_id)
    listed = keys
    if after:
        created, id = decode_cursor(after)
        keys = keys.where(tuple_(col(Commission.created_at), col(Commission.id)) > tuple_(created, id))
    keys = keys.order_by(col(Commission.created_at), col(Commission.id)).limit(first + 1)
    found = (await session.execute(keys)).all()
    has_next = len(found) > first
    found = found[:first]
    rows = {r.id: r for r in (await session.execute(
        select(Commission).where(col(Commission.id).in_([k.id for k in found]))
        .execution_options(populate_existing=True))).scalars()}
    items = [rows[k.id] for k in found if k.id in rows]
    return Page(items=items, cursors=[encode_cursor(r.created_at, r.id) for r in items], has_next=has_next,
                listed=listed, has_previous=bool(after))
