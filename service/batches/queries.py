"""Reading batches and offers; non-admins see only SCHEDULED, OPEN and CLOSED batches."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from service.batches.models import PUBLIC_BATCH_STATUSES, Batch, BatchStatus, Offer
from service.catalog.models import Product, Supplier
from service.pagination import Page, fetch_page


def visible_statuses(is_admin: bool, asked: Sequence[BatchStatus] | None) -> list[BatchStatus]:
    allowed = list(BatchStatus) if is_admin else list(PUBLIC_BATCH_STATUSES)
    return [s for s in allowed if not asked or s in asked]


async def list_batches(
    session: AsyncSession,
    *,
    is_admin: bool,
    statuses: Sequence[BatchStatus] | None,
    first: int,
    after: str | None,
) -> Page[Batch]:
    shown = visible_statuses(is_admin, statuses)
    stmt = (
        select(Batch)
        .where(Batch.status.in_([s.value for s in shown]))
        .execution_options(populate_existing=True)
    )
    return await fetch_page(session, stmt, Batch, first=first, after=after)


async def batches_by_ids(session: AsyncSession, *, ids: Sequence[UUID]) -> dict[UUID, Batch]:
    rows = (
        await session.execute(
            select(Batch).where(Batch.id.in_(list(ids))).execution_options(populate_existing=True)
        )
    ).scalars()
    return {r.id: r for r in rows}


async def offers_by_batches(session: AsyncSession, *, batch_ids: Sequence[UUID]) -> dict[UUID, list[Offer]]:
    rows = (
        await session.execute(
            select(Offer)
            .where(Offer.batch_id.in_(list(batch_ids)))
            .order_by(Offer.position, Offer.created_at)
            .execution_options(populate_existing=True)
        )
    ).scalars()
    found: dict[UUID, list[Offer]] = defaultdict(list)
    for r in rows:
        found[r.batch_id].append(r)
    return found


async def offers_with_products_by_batches(
    session: AsyncSession, *, batch_ids: Sequence[UUID]
) -> dict[UUID, list[tuple[Offer, Product, Supplier]]]:
    """Each batch's offers with their product and its supplier, in one statement (the catalog
    page: offers, products and supplier names)."""
    rows = await session.execute(
        select(Offer, Product, Supplier)
        .join(Product, (Product.tenant_id == Offer.tenant_id) & (Product.id == Offer.product_id))
        .join(Supplier, (Supplier.tenant_id == Product.tenant_id) & (Supplier.id == Product.supplier_id))
        .where(Offer.batch_id.in_(list(batch_ids)))
        .order_by(Offer.position, Offer.created_at)
        .execution_options(populate_existing=True)
    )
    found: dict[UUID, list[tuple[Offer, Product, Supplier]]] = defaultdict(list)
    for offer, product, supplier in rows:
        found[offer.batch_id].append((offer, product, supplier))
    return found


# What the storefront shows of an offer, its product and the product's supplier, as plain columns.
STOREFRONT_COLUMNS = (
    Offer.batch_id, Offer.id, Offer.product_id, Offer.position, Offer.price_minor, Offer.stock_limit,
    Offer.per_customer_limit, Offer.min_group_quantity, Offer.sold, Offer.status,
    Product.supplier_id, Product.name, Product.unit, Product.description, Product.image_url, Product.cost_minor,
    Product.active, Supplier.name, Supplier.contact_email,
)


async def storefront_offers(session: AsyncSession, *, batch_ids: Sequence[UUID]) -> dict[UUID, list[Any]]:
    """Each batch's offers with their product and supplier in one statement, as plain rows in
    STOREFRONT_COLUMNS order: no ORM objects, whose construction cost more than the query."""
    # On the connection: a Core statement, without the ORM's per-statement set-up.
    connection = await session.connection()
    rows = await connection.execute(
        select(*STOREFRONT_COLUMNS)
        .join(Product, (Product.tenant_id == Offer.tenant_id) & (Product.id == Offer.product_id))
        .join(Supplier, (Supplier.tenant_id == Product.tenant_id) & (Supplier.id == Product.supplier_id))
        .where(Offer.batch_id.in_(list(batch_ids)))
        .order_by(Offer.position, Offer.created_at)
    )
    found: dict[UUID, list[Any]] = defaultdict(list)
    for row in rows:
        found[row[0]].append(row)
    return found


async def offers_by_ids(session: AsyncSession, *, ids: Sequence[UUID]) -> dict[UUID, Offer]:
    rows = (
        await session.execute(
            select(Offer).where(Offer.id.in_(list(ids))).execution_options(populate_existing=True)
        )
    ).scalars()
    return {r.id: r for r in rows}
