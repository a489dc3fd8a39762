from __future__ import annotations

from datetime import datetime
from uuid import UUID, uuid4

from sqlalchemy import BigInteger, Column, ForeignKeyConstraint, Index
from sqlmodel import Field, SQLModel

from service.columns import created_at, tenant_key, timestamp


class Supplier(SQLModel, table=True):
    __tablename__ = "supplier"

    tenant_id: UUID = tenant_key()
    id: UUID = Field(default_factory=uuid4, primary_key=True)
    name: str = Field(max_length=200)
    contact_email: str | None = Field(default=None, max_length=254)
    created_at: datetime = created_at()
    # Archived: no new products or offers; everything that refers to it stays.
    archived_at: datetime | None = timestamp()


class Product(SQLModel, table=True):
    __tablename__ = "product"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "supplier_id"], ["supplier.tenant_id", "supplier.id"]),
        Index("product_supplier_idx", "tenant_id", "supplier_id", "created_at", "id"),
        Index("product_page_idx", "tenant_id", "created_at", "id"),
    )

    tenant_id: UUID = tenant_key()
    id: UUID = Field(default_factory=uuid4, primary_key=True)
    supplier_id: UUID
    name: str = Field(max_length=200)
    unit: str = Field(max_length=50)
    description: str | None = Field(default=None, max_length=2000)
    image_url: str | None = Field(default=None, max_length=1000)
    # What the tenant pays the supplier per unit, in minor units of the tenant's currency.
    cost_minor: int = Field(sa_column=Column(BigInteger, nullable=False))
    active: bool = True
    created_at: datetime = created_at()
    # Archived: never active again, out of the catalog's lists; offers and orders keep it.
    archived_at: datetime | None = timestamp()
