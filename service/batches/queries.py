"""Reading batches and offers; non-admins see only SCHEDULED, OPEN and CLOSED batches."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from sqlalchemy import bindparam, func, literal_column
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from service.batches.models import PUBLIC_BATCH_STATUSES, Batch, BatchStatus, Offer
from service.catalog.models import Product, Supplier
from service.columns import in_scope
from service.db import scope_of
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
    descending: bool = False,
) -> Page[Batch]:
    shown = visible_statuses(is_admin, statuses)
    stmt = (
        select(Batch)
        .where(col(Batch.status).in_([s.value for s in shown]))
        .execution_options(populate_existing=True)
    )
    return await fetch_page(session, stmt, Batch, first=first, after=after, descending=descending)


async def batches_by_ids(session: AsyncSession, *, ids: Sequence[UUID]) -> dict[UUID, Batch]:
    rows = (
        await session.execute(
            select(Batch).where(col(Batch.id).in_(list(ids))).execution_options(populate_existing=True)
        )
    ).scalars()
    return {r.id: r for r in rows}


async def offers_by_batches(session: AsyncSession, *, batch_ids: Sequence[UUID]) -> dict[UUID, list[Offer]]:
    rows = (
        await session.execute(
            select(Offer)
            .where(col(Offer.batch_id).in_(list(batch_ids)))
            .order_by(col(Offer.position), col(Offer.created_at))
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
        .join(Product, (col(Product.tenant_id) == Offer.tenant_id) & (col(Product.id) == Offer.product_id))
        .join(Supplier, (col(Supplier.tenant_id) == Product.tenant_id) & (col(Supplier.id) == Product.supplier_id))
        .where(col(Offer.batch_id).in_(list(batch_ids)))
        .order_by(col(Offer.position), col(Offer.created_at))
        .execution_options(populate_existing=True)
    )
    found: dict[UUID, list[tuple[Offer, Product, Supplier]]] = defaultdict(list)
    for offer, product, supplier in rows:
        found[offer.batch_id].append((offer, product, supplier))
    return found


# What the storefront shows of an offer, its product and the product's supplier, in this order.
STOREFRONT_COLUMNS = (
    Offer.id, Offer.product_id, Offer.position, Offer.price_minor, Offer.stock_limit, Offer.per_customer_limit,
    Offer.min_group_quantity, Offer.sold, Offer.status,
    Product.supplier_id, Product.name, Product.unit, Product.description, Product.image_url, Product.cost_minor,
    Product.active, Supplier.name, Supplier.contact_email,
    Offer.group_size, Offer.group_window_minutes, Offer.group_expiry,  # 拼团, last: read by position
)


def _storefront_json() -> Any:
    """A batch's offers as one JSON array of STOREFRONT_COLUMNS arrays, built by PostgreSQL:
    correlated to the batch of the enclosing statement, so a batch and its offers are one read."""
    return (
        select(func.coalesce(
            func.json_agg(aggregate_order_by(func.json_build_array(*STOREFRONT_COLUMNS), col(Offer.position),
                                             col(Offer.created_at))),
            literal_column("'[]'::json"),
        ))
        .select_from(Offer)
        .join(Product, (col(Product.tenant_id) == Offer.tenant_id) & (col(Product.id) == Offer.product_id))
        .join(Supplier, (col(Supplier.tenant_id) == Product.tenant_id) & (col(Supplier.id) == Product.supplier_id))
        .where(Offer.tenant_id == Batch.tenant_id, Offer.batch_id == Batch.id,
               in_scope(col(Offer.tenant_id)), in_scope(col(Product.tenant_id)), in_scope(col(Supplier.tenant_id)))
        .correlate(Batch)
        .scalar_subquery()
    )


# Built once: composing them cost more CPU than running them.
_STOREFRONT_OFFERS = select(col(Batch.id), _storefront_json()).where(
    col(Batch.id).in_(bindparam("ids", expanding=True)), in_scope(col(Batch.tenant_id))
)
_BATCH_WITH_STOREFRONT = (
    select(Batch, _storefront_json())
    .where(Batch.id == bindparam("id"))
    .execution_options(populate_existing=True)
)


async def storefront_offers(session: AsyncSession, *, batch_ids: Sequence[UUID]) -> dict[UUID, list[list[Any]]]:
    """Each batch's offers with their product and supplier in one statement, as plain values in
    STOREFRONT_COLUMNS order (ids as text): no ORM objects, whose construction cost more than the query."""
    # On the connection: a Core statement, without the ORM's per-statement set-up.
    connection = await session.connection()
    rows = await connection.execute(_STOREFRONT_OFFERS, {"ids": list(batch_ids), **scope_of(session)})
    return {batch_id: offers for batch_id, offers in rows}


async def batch_with_storefront(session: AsyncSession, *, batch_id: UUID) -> tuple[Batch, list[list[Any]]] | None:
    """A batch and its storefront offers (as `storefront_offers`) in one statement."""
    found = (await session.execute(_BATCH_WITH_STOREFRONT, {"id": batch_id})).first()
    return (found[0], found[1]) if found is not None else None


async def offers_by_ids(session: AsyncSession, *, ids: Sequence[UUID]) -> dict[UUID, Offer]:
    rows = (
        await session.execute(
            select(Offer).where(col(Offer.id).in_(list(ids))).execution_options(populate_existing=True)
        )
    ).scalars()
    return {r.id: r for r in rows}
