"""Catalog mutations, all for admins: suppliers, their staff logins, products."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from service.catalog import operations
from service.schema.access import admins, decode
from service.schema.catalog.types import Product, Supplier
from service.schema.common import UserError
from service.schema.context import Context
from service.schema.mutation import run_mutation

Info = strawberry.Info[Context, None]


@strawberry.input(description="A new supplier.")
class SupplierInput:
    name: str = strawberry.field(description="The supplier's name.")
    contact_email: str | None = strawberry.field(default=None, description="Where purchase orders are e-mailed.")


@strawberry.type(description="The result of a supplier mutation.")
class SupplierPayload:
    errors: list[UserError] = strawberry.field(description="Why the mutation was refused, each with a code and the "
                                                           "input field it is about; empty on success. When it is "
                                                           "not empty, nothing was changed.")
    supplier: Supplier | None = strawberry.field(default=None, description="The supplier; null when refused.")


@strawberry.input(description="A login for a supplier's staff.")
class SupplierAccountInput:
    supplier_id: strawberry.ID = strawberry.field(description="The supplier's global ID.")
    email: str = strawberry.field(description="The login e-mail.")
    password: str = strawberry.field(description="At least 8 characters.")


@strawberry.input(description="A product's values (productUpdate replaces them all).")
class ProductInput:
    supplier_id: strawberry.ID = strawberry.field(description="The supplier's global ID.")
    name: str = strawberry.field(description="The product's name.")
    unit: str = strawberry.field(description="The unit it is sold in.")
    cost: Decimal = strawberry.field(description="What the supplier is paid per unit, a decimal string.")
    description: str | None = strawberry.field(default=None, description="A longer description.")
    image_url: str | None = strawberry.field(default=None, description="An https URL of an image.")
    active: bool | None = strawberry.field(default=True, description="Whether it can be offered in new batches.")


@strawberry.type(description="The result of a product mutation.")
class ProductPayload:
    errors: list[UserError] = strawberry.field(description="Why the mutation was refused, each with a code and the "
                                                           "input field it is about; empty on success. When it is "
                                                           "not empty, nothing was changed.")
    product: Product | None = strawberry.field(default=None, description="The product as it is now; null when refused.")


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
    async def supplier_create(
        self,
        info: Info,
        input: Annotated[SupplierInput, strawberry.argument(description="The supplier.")],
    ) -> SupplierPayload:
        context = info.context

        async def action(session: AsyncSession) -> dict:
            row = await operations.create_supplier(
                session, tenant_id=context.tenant.id, name=input.name, contact_email=input.contact_email
            )
            return {"supplier": Supplier.of(row)}

        return await run_mutation(context, SupplierPayload, action)

    @strawberry.mutation(description="Admins: a login for the supplier's staff.")
    @admins
    async def supplier_account_create(
        self,
        info: Info,
        input: Annotated[SupplierAccountInput, strawberry.argument(description="The login.")],
    ) -> SupplierPayload:
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
    async def product_create(
        self,
        info: Info,
        input: Annotated[ProductInput, strawberry.argument(description="The product.")],
    ) -> ProductPayload:
        context = info.context

        async def action(session: AsyncSession) -> dict:
            row = await operations.create_product(session, **_product_fields(context, input))
            return {"product": Product.of(row)}

        return await run_mutation(context, ProductPayload, action)

    @strawberry.mutation(description="Admins: replaces every field of the product.")
    @admins
    async def product_update(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The product's global ID.")],
        input: Annotated[ProductInput, strawberry.argument(description="Every value of the product.")],
    ) -> ProductPayload:
        context = info.context

        async def action(session: AsyncSession) -> dict:
            row = await operations.update_product(
                session, product_id=decode(id, "Product"), **_product_fields(context, input)
            )
            return {"product": Product.of(row)}

        return await run_mutation(context, ProductPayload, action)

    @strawberry.mutation(description="Admins: replaces the supplier's name and contact e-mail.")
    @admins
    async def supplier_update(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The supplier's global ID.")],
        input: Annotated[SupplierInput, strawberry.argument(description="The new name and contact e-mail.")],
    ) -> SupplierPayload:
        context = info.context

        async def action(session: AsyncSession) -> dict:
            row = await operations.update_supplier(
                session, tenant_id=context.tenant.id, supplier_id=decode(id, "Supplier"), name=input.name,
                contact_email=input.contact_email,
            )
            return {"supplier": Supplier.of(row)}

        return await run_mutation(context, SupplierPayload, action)

    @strawberry.mutation(description="Admins: no new products or offers of this supplier; what exists stays.")
    @admins
    async def supplier_archive(
        self, info: Info, id: Annotated[strawberry.ID, strawberry.argument(description="The supplier's global ID.")]
    ) -> SupplierPayload:
        context = info.context

        async def action(session: AsyncSession) -> dict:
            row = await operations.archive_supplier(
                session, tenant_id=context.tenant.id, supplier_id=decode(id, "Supplier")
            )
            return {"supplier": Supplier.of(row)}

        return await run_mutation(context, SupplierPayload, action)

    @strawberry.mutation(description="Admins: offered no more and out of the catalog's lists; orders keep it.")
    @admins
    async def product_archive(
        self, info: Info, id: Annotated[strawberry.ID, strawberry.argument(description="The product's global ID.")]
    ) -> ProductPayload:
        context = info.context

        async def action(session: AsyncSession) -> dict:
            row = await operations.archive_product(
                session, tenant_id=context.tenant.id, product_id=decode(id, "Product")
            )
            return {"product": Product.of(row)}

        return await run_mutation(context, ProductPayload, action)
