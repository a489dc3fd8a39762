"""Suppliers, their staff accounts and their products: the operations behind the mutations.

Referenced IDs arrive already decoded; `None` means the caller sent something that is not one
of our IDs of the right type, which is reported exactly like an ID that does not exist here.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select

from service.accounts.models import AccountKind, User
from service.accounts.operations import create_user
from service.catalog.models import Product, Supplier
from service.columns import now_utc
from service.errors import Collector, ErrorCode, fail
from service.validation import email_value, money_value, text_value


async def create_supplier(
    session: AsyncSession, *, tenant_id: UUID, name: str, contact_email: str | None
) -> Supplier:
    errors = Collector()
    clean_name = text_value(errors, name, ["name"], max_length=200)
    clean_email = email_value(errors, contact_email, ["contactEmail"])
    errors.raise_if_any()
    supplier = Supplier(tenant_id=tenant_id, name=clean_name or "", contact_email=clean_email)
    session.add(supplier)
    await session.flush()
    return supplier


async def create_supplier_account(
    session: AsyncSession, *, tenant_id: UUID, supplier_id: UUID | None, email: str, password: str
) -> tuple[Supplier, User]:
    """A login for a supplier's staff: it sees that supplier's products and purchase orders only."""
    supplier = await session.get(Supplier, (tenant_id, supplier_id)) if supplier_id else None
    if supplier is None:
        raise fail(ErrorCode.NOT_FOUND, "No such supplier.", ["supplierId"])
    if email is None or not email.strip():
        raise fail(ErrorCode.INVALID, "An e-mail address is required.", ["email"])
    user = await create_user(
        session,
        tenant_id=tenant_id,
        kind=AccountKind.SUPPLIER,
        display_name=supplier.name[:100],
        password=password,
        email=email,
    )
    user.supplier_id = supplier.id
    await session.flush()
    return supplier, user


async def _clean_product(
    session: AsyncSession,
    errors: Collector,
    *,
    tenant_id: UUID,
    currency: str,
    supplier_id: UUID | None,
    name: str,
    unit: str,
    description: str | None,
    image_url: str | None,
    cost: Decimal,
    product: Product | None = None,
) -> dict[str, Any]:
    supplier = await session.get(Supplier, (tenant_id, supplier_id)) if supplier_id is not None else None
    if supplier is None:
        errors.add(ErrorCode.NOT_FOUND, "No such supplier.", ["supplierId"])
    elif supplier.archived_at is not None and (product is None or product.supplier_id != supplier.id):
        errors.add(ErrorCode.INVALID, "This supplier is archived.", ["supplierId"])
    clean: dict[str, Any] = {
        "supplier_id": supplier_id,
        "name": text_value(errors, name, ["name"], max_length=200),
        "unit": text_value(errors, unit, ["unit"], max_length=50),
        "description": text_value(errors, description, ["description"], max_length=2000, required=False),
        "image_url": text_value(errors, image_url, ["imageUrl"], max_length=1000, required=False),
    }
    if clean["image_url"] and not clean["image_url"].startswith(("https://", "http://")):
        errors.add(ErrorCode.INVALID, "An image URL starts with https:// or http://.", ["imageUrl"])
    cost_minor = money_value(errors, cost, ["cost"], currency=currency)
    if cost is None:
        errors.add(ErrorCode.INVALID, "This field is required.", ["cost"])
    errors.raise_if_any()
    clean["cost_minor"] = cost_minor
    return clean


async def create_product(
    session: AsyncSession,
    *,
    tenant_id: UUID,
    currency: str,
    supplier_id: UUID | None,
    name: str,
    unit: str,
    cost: Decimal,
    description: str | None = None,
    image_url: str | None = None,
    active: bool = True,
) -> Product:
    clean = await _clean_product(
        session,
        Collector(),
        tenant_id=tenant_id,
        currency=currency,
        supplier_id=supplier_id,
        name=name,
        unit=unit,
        description=description,
        image_url=image_url,
        cost=cost,
    )
    product = Product(tenant_id=tenant_id, active=active, **clean)
    session.add(product)
    await session.flush()
    return product


async def update_product(
    session: AsyncSession,
    *,
    tenant_id: UUID,
    currency: str,
    product_id: UUID | None,
    supplier_id: UUID | None,
    name: str,
    unit: str,
    cost: Decimal,
    description: str | None = None,
    image_url: str | None = None,
    active: bool = True,
) -> Product:
    """Replaces every field of the product (the input is the whole product, as on create)."""
    product = (
        (
            await session.execute(
                select(Product)
                .where(Product.tenant_id == tenant_id, Product.id == product_id)
                .with_for_update()
            )
        ).scalar_one_or_none()
        if product_id
        else None
    )
    if product is None:
        raise fail(ErrorCode.NOT_FOUND, "No such product.", ["id"])
    clean = await _clean_product(
        session,
        Collector(),
        tenant_id=tenant_id,
        currency=currency,
        supplier_id=supplier_id,
        name=name,
        unit=unit,
        description=description,
        image_url=image_url,
        cost=cost,
        product=product,
    )
    for key, value in clean.items():
        setattr(product, key, value)
    product.active = active and product.archived_at is None  # archiving is for good
    await session.flush()
    return product


async def _supplier_for_update(session: AsyncSession, tenant_id: UUID, supplier_id: UUID | None) -> Supplier:
    supplier = (
        (
            await session.execute(
                select(Supplier).where(Supplier.tenant_id == tenant_id, Supplier.id == supplier_id).with_for_update()
            )
        ).scalar_one_or_none()
        if supplier_id
        else None
    )
    if supplier is None:
        raise fail(ErrorCode.NOT_FOUND, "No such supplier.", ["id"])
    return supplier


async def update_supplier(
    session: AsyncSession, *, tenant_id: UUID, supplier_id: UUID | None, name: str, contact_email: str | None
) -> Supplier:
    """Replaces the supplier's name and contact (the input is the whole supplier, as on create)."""
    errors = Collector()
    clean_name = text_value(errors, name, ["name"], max_length=200)
    clean_email = email_value(errors, contact_email, ["contactEmail"])
    supplier = await _supplier_for_update(session, tenant_id, supplier_id)
    errors.raise_if_any()
    supplier.name = clean_name or supplier.name
    supplier.contact_email = clean_email
    await session.flush()
    return supplier


async def archive_supplier(session: AsyncSession, *, tenant_id: UUID, supplier_id: UUID | None) -> Supplier:
    """The supplier gets no new products or offers; its products, offers, orders and purchase
    orders stay as they are. Archiving again is not an error (it keeps the first time)."""
    supplier = await _supplier_for_update(session, tenant_id, supplier_id)
    if supplier.archived_at is None:
        supplier.archived_at = now_utc()
        await session.flush()
    return supplier


async def archive_product(session: AsyncSession, *, tenant_id: UUID, product_id: UUID | None) -> Product:
    """The product is offered no more (not active) and leaves the catalog's lists; offers and
    orders that have it keep it."""
    product = (
        (
            await session.execute(
                select(Product).where(Product.tenant_id == tenant_id, Product.id == product_id).with_for_update()
            )
        ).scalar_one_or_none()
        if product_id
        else None
    )
    if product is None:
        raise fail(ErrorCode.NOT_FOUND, "No such product.", ["id"])
    if product.archived_at is None:
        product.archived_at = now_utc()
    product.active = False
    await session.flush()
    return product
