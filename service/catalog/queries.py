"""Reading the catalog: pages for the lists and batched look-ups for the DataLoaders.

Every function filters by tenant explicitly; row-level security enforces the same underneath.
"""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from sqlalchemy import func, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from service.accounts.models import User
from service.catalog.models import Product, Supplier
from service.pagination import Page, check_first, decode_cursor, encode_cursor, fetch_page


def _like_pattern(search: str) -> str:
    escaped = search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def supplier_page(
    session: AsyncSession, *, tenant_id: UUID, first: int, after: str | None, include_archived: bool = False,
    descending: bool = False,
) -> Page[Supplier]:
    stmt = select(Supplier).where(Supplier.tenant_id == tenant_id)
    if not include_archived:
        stmt = stmt.where(col(Supplier.archived_at).is_(None))
    return await fetch_page(session, stmt, Supplier, first=first, after=after, descending=descending)


async def product_page(
    session: AsyncSession,
    *,
    tenant_id: UUID,
    first: int,
    after: str | None,
    search: str | None = None,
    supplier_id: UUID | None = None,
    include_archived: bool = False,
    descending: bool = False,
) -> Page[Product]:
    """Products by creation; `supplier_id` narrows to one supplier (a supplier's own view).
    Archived products are left out unless asked for."""
    stmt = select(Product).where(Product.tenant_id == tenant_id)
    if not include_archived:
        stmt = stmt.where(col(Product.archived_at).is_(None))
    if supplier_id is not None:
        stmt = stmt.where(Product.supplier_id == supplier_id)
    if search and search.strip():
        pattern = _like_pattern(search.strip())
        stmt = stmt.where(col(Product.name).ilike(pattern, escape="\\") | col(Product.unit).ilike(pattern, escape="\\"))
    return await fetch_page(session, stmt, Product, first=first, after=after, descending=descending)


async def suppliers_by_ids(
    session: AsyncSession, *, tenant_id: UUID, ids: Sequence[UUID]
) -> dict[UUID, Supplier]:
    rows = await session.execute(
        select(Supplier).where(Supplier.tenant_id == tenant_id, col(Supplier.id).in_(ids))
    )
    return {s.id: s for s in rows.scalars()}


async def products_by_ids(
    session: AsyncSession, *, tenant_id: UUID, ids: Sequence[UUID]
) -> dict[UUID, Product]:
    rows = await session.execute(select(Product).where(Product.tenant_id == tenant_id, col(Product.id).in_(ids)))
    return {p.id: p for p in rows.scalars()}


async def product_pages_by_supplier(
    session: AsyncSession, *, tenant_id: UUID, supplier_ids: Sequence[UUID], first: int, after: str | None
) -> dict[UUID, Page[Product]]:
    """The same page of products for many suppliers in one statement (Supplier.products in a list)."""
    check_first(first)
    ranked = select(
        Product,
        func.row_number()
        .over(partition_by=col(Product.supplier_id), order_by=(col(Product.created_at), col(Product.id)))
        .label("rank"),
    ).where(Product.tenant_id == tenant_id, col(Product.supplier_id).in_(supplier_ids))
    if after:
        created, id = decode_cursor(after)
        ranked = ranked.where(tuple_(col(Product.created_at), col(Product.id)) > tuple_(created, id))
    sub = ranked.subquery()
    product = select(Product).from_statement(
        sub.select().where(sub.c.rank <= first + 1).order_by(sub.c.supplier_id, sub.c.created_at, sub.c.id)
    )
    grouped: dict[UUID, list[Product]] = {sid: [] for sid in supplier_ids}
    for p in (await session.execute(product)).scalars():
        grouped[p.supplier_id].append(p)
    pages: dict[UUID, Page[Product]] = {}
    for sid, rows in grouped.items():
        items = rows[:first]
        pages[sid] = Page(
            items=items,
            cursors=[encode_cursor(p.created_at, p.id) for p in items],
            has_next=len(rows) > first,
            listed=select(Product).where(Product.tenant_id == tenant_id, Product.supplier_id == sid),
            has_previous=bool(after),
        )
    return pages


async def supplier_id_of_user(session: AsyncSession, *, tenant_id: UUID, user_id: UUID) -> UUID | None:
    """The supplier a staff account works for, if any: what that account may see of the catalog."""
    return (
        await session.execute(select(col(User.supplier_id)).where(User.tenant_id == tenant_id, User.id == user_id))
    ).scalar_one_or_none()
