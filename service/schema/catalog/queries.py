"""Catalog lists: `suppliers` (admins) and `products` (admins; a supplier's staff see their own)."""

from __future__ import annotations

import strawberry

from service.catalog import queries
from service.errors import PermissionDenied
from service.schema.access import (
    ADMINS,
    Caller,
    admins,
    check_page,
    is_admin,
    requires,
    serial_session,
    viewer_supplier_id,
)
from service.schema.catalog.types import Product, Supplier
from service.schema.context import Context
from service.schema.pagination import Connection

Info = strawberry.Info[Context, None]


@strawberry.type
class CatalogQuery:
    @strawberry.field(description="Admins.")
    @admins
    async def suppliers(
        self, info: Info, first: int | None = 20, after: str | None = None
    ) -> Connection[Supplier]:
        context = info.context
        first = check_page(first, after)
        async with serial_session(context) as session:
            page = await queries.supplier_page(session, tenant_id=context.tenant.id, first=first, after=after)
        return Connection.of(page, Supplier.of)

    @strawberry.field(description="Admins see every product; a supplier's staff see their supplier's only.")
    @requires(ADMINS, Caller.SUPPLIER)
    async def products(
        self, info: Info, search: str | None = None, first: int | None = 20, after: str | None = None
    ) -> Connection[Product]:
        context = info.context
        first = check_page(first, after)
        supplier_id = None
        if not await is_admin(context):
            supplier_id = await viewer_supplier_id(context)
            if supplier_id is None:  # a supplier role without its supplier: sees nothing
                raise PermissionDenied("This account belongs to no supplier.")
        async with serial_session(context) as session:
            page = await queries.product_page(
                session,
                tenant_id=context.tenant.id,
                first=first,
                after=after,
                search=search,
                supplier_id=supplier_id,
            )
        return Connection.of(page, Product.of)
