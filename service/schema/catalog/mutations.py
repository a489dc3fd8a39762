"""Catalog mutations, all for admins: suppliers, their staff logins, products."""

from __future__ import annotations

from decimal import Decimal

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from service.catalog import operations
from service.schema.access import admins, decode
from service.schema.catalog.types import Product, Supplier
from service.schema.common import UserError
from service.schema.context import Context
from service.schema.mutation import run_mutation

Info = strawberry.Info[Context, None]


@strawberry.input
class SupplierInput:
    name: str
    contact_email: str | None = None


@strawberry.type
class SupplierPayload:
    errors: list[UserError]
    supplier: Supplier | None = None


@strawberry.input
class SupplierAccountInput:
    supplier_id: strawberry.ID
    email: str
    password: str


@strawberry.input
class ProductInput:
    supplier_id: strawberry.ID
    name: str
    unit: str
    cost: Decimal
    description: str | None = None
    image_url: str | None = None
    active: bool | None = True


@strawberry.type
class ProductPayload:
    errors: list[UserError]
    product: Product | None = None


def _product_fields(context: Context, input: ProductInput) -> dict:
    return {
        "tenant_id": context.tenant.id,
        "currency": context.tenant.currency,
        "supplier_id": decode(input.supplier_id, "Supplier"),
        "name": input.name,
        "unit": input.unit,
        "cost": input.cost,
        "description": input.description,
        "image_url": input.image_url,
        "active": input.active is not False,
    }


@strawberry.type
class CatalogMutation:
    @strawberry.mutation(description="Admins.")
    @admins
    async def supplier_create(self, info: Info, input: SupplierInput) -> SupplierPayload:
        context = info.context

        async def action(session: AsyncSession) -> dict:
            row = await operations.create_supplier(
                session, tenant_id=context.tenant.id, name=input.name, contact_email=input.contact_email
            )
            return {"supplier": Supplier.of(row)}

        return await run_mutation(context, SupplierPayload, action)

    @strawberry.mutation(description="Admins: a login for the supplier's staff.")
    @admins
    async def supplier_account_create(self, info: Info, input: SupplierAccountInput) -> SupplierPayload:
        context = info.context

        async def action(session: AsyncSession) -> dict:
            supplier, _ = await operations.create_supplier_account(
                session,
                tenant_id=context.tenant.id,
                supplier_id=decode(input.supplier_id, "Supplier"),
                email=input.email,
                password=input.password,
            )
            return {"supplier": Supplier.of(supplier)}

        return await run_mutation(context, SupplierPayload, action)

    @strawberry.mutation(description="Admins.")
    @admins
    async def product_create(self, info: Info, input: ProductInput) -> ProductPayload:
        context = info.context

        async def action(session: AsyncSession) -> dict:
            row = await operations.create_product(session, **_product_fields(context, input))
            return {"product": Product.of(row)}

        return await run_mutation(context, ProductPayload, action)

    @strawberry.mutation(description="Admins: replaces every field of the product.")
    @admins
    async def product_update(self, info: Info, id: strawberry.ID, input: ProductInput) -> ProductPayload:
        context = info.context

        async def action(session: AsyncSession) -> dict:
            row = await operations.update_product(
                session, product_id=decode(id, "Product"), **_product_fields(context, input)
            )
            return {"product": Product.of(row)}

        return await run_mutation(context, ProductPayload, action)
