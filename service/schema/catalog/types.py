"""Supplier and Product as GraphQL types; private fields resolve to null for other callers."""

from __future__ import annotations

from uuid import UUID

import strawberry

from service import global_id
from service.accounts.models import Role
from service.catalog import models, queries
from service.pagination import Page
from service.schema.access import (
    check_page,
    get_loader,
    is_admin,
    load_now,
    roles_of,
    serial_session,
    then,
    viewer_supplier_id,
)
from service.schema.catalog.dataloaders import ProductByIdLoader, ProductsBySupplierLoader, SupplierByIdLoader
from service.schema.common import Money, Node
from service.schema.context import Context
from service.schema.execution import preset
from service.schema.node import node_loader
from service.schema.pagination import Connection

Info = strawberry.Info[Context, None]


async def sees_supplier_private(context: Context, supplier_id: UUID) -> bool:
    """Costs, contact details and the full product list: admins and that supplier's staff."""
    return await is_admin(context) or await viewer_supplier_id(context) == supplier_id


async def may_see_supplier(context: Context, supplier_id: UUID) -> bool:
    """A supplier's staff see nothing of other suppliers; everyone else sees suppliers' names."""
    if Role.SUPPLIER in await roles_of(context) and not await is_admin(context):
        return await viewer_supplier_id(context) == supplier_id
    return True


@strawberry.type(name="Supplier")
class Supplier(Node):
    id: strawberry.ID
    name: str
    row: strawberry.Private[models.Supplier]

    @classmethod
    def of(cls, row: models.Supplier) -> Supplier:
        return cls(id=strawberry.ID(global_id.encode("Supplier", row.id)), name=row.name, row=row)

    @strawberry.field(description="Admins and the supplier's own staff only.")
    async def contact_email(self, info: Info) -> str | None:
        return self.row.contact_email if await sees_supplier_private(info.context, self.row.id) else None

    @strawberry.field(description="Admins and the supplier's own staff; empty for anyone else.")
    async def products(
        self, info: Info, first: int | None = 20, after: str | None = None
    ) -> Connection[Product]:
        first = check_page(first, after)
        if not await sees_supplier_private(info.context, self.row.id):
            return Connection.of(Page(items=[], cursors=[], has_next=False), Product.of)
        page = await get_loader(info.context, ProductsBySupplierLoader).load((self.row.id, first, after))
        return Connection.of(page, Product.of)


def _supplier_of(row: models.Supplier | None) -> Supplier:
    assert row is not None  # the foreign key guarantees it
    return Supplier.of(row)


@strawberry.type(name="Product")
class Product(Node):
    id: strawberry.ID
    name: str
    unit: str
    description: str | None
    image_url: str | None
    active: bool
    row: strawberry.Private[models.Product]
    # The supplier when the product was built with it (the storefront's cached objects).
    preset_supplier: strawberry.Private[Supplier | None] = None

    @classmethod
    def of(cls, row: models.Product, *, supplier: Supplier | None = None) -> Product:
        return cls(
            id=strawberry.ID(global_id.encode("Product", row.id)),
            name=row.name,
            unit=row.unit,
            description=row.description,
            image_url=row.image_url,
            active=row.active,
            row=row,
            preset_supplier=supplier,
        )

    @strawberry.field
    @preset("preset_supplier")
    def supplier(self, info: Info) -> Supplier:
        if self.preset_supplier is not None:
            return self.preset_supplier
        loader = get_loader(info.context, SupplierByIdLoader)
        return then(load_now(loader, self.row.supplier_id), _supplier_of)

    @strawberry.field(description="What the tenant pays the supplier: admins and that supplier only.")
    async def cost(self, info: Info) -> Money | None:
        if not await sees_supplier_private(info.context, self.row.supplier_id):
            return None
        return Money.of(self.row.cost_minor, info.context.tenant.currency)


@node_loader("Supplier")
async def load_supplier_node(context: Context, id: UUID) -> Supplier | None:
    row = await get_loader(context, SupplierByIdLoader).load(id)
    return Supplier.of(row) if row is not None and await may_see_supplier(context, row.id) else None


@node_loader("Product")
async def load_product_node(context: Context, id: UUID) -> Product | None:
    row = await get_loader(context, ProductByIdLoader).load(id)
    return Product.of(row) if row is not None and await may_see_supplier(context, row.supplier_id) else None


async def viewer_supplier(context: Context, user_id: str | None) -> Supplier | None:
    """`me.supplier`: the supplier a staff account works for."""
    uid = global_id.decode_as(user_id, "User") if user_id else None
    if uid is None:
        return None
    async with serial_session(context) as session:
        supplier_id = await queries.supplier_id_of_user(session, tenant_id=context.tenant.id, user_id=uid)
    if supplier_id is None:
        return None
    row = await get_loader(context, SupplierByIdLoader).load(supplier_id)
    return Supplier.of(row) if row is not None else None
