"""Catalog lists: `suppliers` (admins) and `products` (admins; a supplier's staff see their own)."""

from __future__ import annotations

from typing import Annotated

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
from service.schema.pagination import ORDER_BY_DESCRIPTION, Connection, ListOrder, descending

Info = strawberry.Info[Context, None]


@strawberry.type
class CatalogQuery:
    @strawberry.field(description="Admins; archived suppliers only with includeArchived.")
    @admins
    async def suppliers(
        self,
        info: Info,
        first: Annotated[int | None, strawberry.argument(description="How many items to return: 1 to 100 "
                                                                     "(GROUPBUY_MAX_PAGE_SIZE).")] = 20,
        after: Annotated[str | None, strawberry.argument(description="The endCursor of the previous page; "
                                                                     "leave it out for the first page.")] = None,
        order_by: Annotated[ListOrder | None, strawberry.argument(description=ORDER_BY_DESCRIPTION)] = None,
        include_archived: Annotated[bool | None, strawberry.argument(description="Also the archived ones.")] = False,
    ) -> Connection[Supplier]:
        context = info.context
        first = check_page(first, after)
        async with serial_session(context) as session:
            page = await queries.supplier_page(
                session, tenant_id=context.tenant.id, first=first, after=after, descending=descending(order_by),
                include_archived=bool(include_archived),
            )
        return Connection.of(page, Supplier.of)

    @strawberry.field(description="Admins see every product; a supplier's staff see their supplier's only. "
                      "Archived products only with includeArchived.")
    @requires(ADMINS, Caller.SUPPLIER)
    async def products(
        self,
        info: Info,
        search: Annotated[str | None, strawberry.argument(description="Only products whose name contains this "
                                                                      "text.")] = None,
        first: Annotated[int | None, strawberry.argument(description="How many items to return: 1 to 100 "
                                                                     "(GROUPBUY_MAX_PAGE_SIZE).")] = 20,
        after: Annotated[str | None, strawberry.argument(description="The endCursor of the previous page; "
                                                                     "leave it out for the first page.")] = None,
        order_by: Annotated[ListOrder | None, strawberry.argument(description=ORDER_BY_DESCRIPTION)] = None,
        include_archived: Annotated[bool | None, strawberry.argument(description="Also the archived ones.")] = False,
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
                after=after, descending=descending(order_by),
                search=search,
                supplier_id=supplier_id,
                include_archived=bool(include_archived),
            )
        return Connection.of(page, Product.of)
