from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import Enum
from uuid import UUID, uuid4

from sqlalchemy import Column, ForeignKeyConstraint, Index, Numeric, String, func, text
from sqlmodel import Field, SQLModel

from service.columns import created_at, tenant_key, timestamp


class PaymentMode(str, Enum):
    PREPAID = "PREPAID"
    PAY_AT_PICKUP = "PAY_AT_PICKUP"


class Role(str, Enum):
    PLATFORM_ADMIN = "PLATFORM_ADMIN"
    TENANT_ADMIN = "TENANT_ADMIN"
    LEADER = "LEADER"
    SUPPLIER = "SUPPLIER"
    CUSTOMER = "CUSTOMER"


class AccountKind(str, Enum):
    """What an account was created as; LEADER is earned on top of CUSTOMER by approval."""

    ADMIN = "ADMIN"
    CUSTOMER = "CUSTOMER"
    SUPPLIER = "SUPPLIER"


class Tenant(SQLModel, table=True):
    """A brand. Platform-level: the root every tenant-owned row points to."""

    __tablename__ = "tenant"

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    slug: str = Field(sa_column=Column(String(40), unique=True, nullable=False))
    name: str = Field(max_length=200)
    timezone: str = Field(max_length=64)
    currency: str = Field(max_length=3)
    payment_mode: PaymentMode = Field(sa_column=Column(String(20), nullable=False))
    default_commission_rate: Decimal = Field(
        default=Decimal("0.10"),
        sa_column=Column(Numeric(5, 4), nullable=False, server_default=text("0.10")),
    )
    payment_window_minutes: int = Field(default=15)
    # Where a phone number given without a country code is read (ISO 3166 alpha-2).
    phone_region: str = Field(
        default="CN", sa_column=Column(String(2), nullable=False, server_default=text("'CN'"))
    )
    created_at: datetime = created_at()


class User(SQLModel, table=True):
    __tablename__ = "app_user"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "supplier_id"], ["supplier.tenant_id", "supplier.id"],
                             use_alter=True, name="app_user_supplier_fk"),
        Index("app_user_email_key", "tenant_id", func.lower(text("email")), unique=True),
        Index("app_user_phone_key", "tenant_id", "phone", unique=True),
    )

    tenant_id: UUID = tenant_key()
    id: UUID = Field(default_factory=uuid4, primary_key=True)
    kind: AccountKind = Field(sa_column=Column(String(20), nullable=False))
    display_name: str = Field(max_length=100)
    email: str | None = Field(default=None, max_length=254)
    phone: str | None = Field(default=None, max_length=20)
    password_hash: str
    # Set for a supplier's staff account: what it may see of the catalog and purchase orders.
    supplier_id: UUID | None = None
    disabled_at: datetime | None = timestamp()
    created_at: datetime = created_at()


class ApiKey(SQLModel, table=True):
    __tablename__ = "api_key"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "created_by"], ["app_user.tenant_id", "app_user.id"]),
    )

    tenant_id: UUID = tenant_key()
    id: UUID = Field(default_factory=uuid4, primary_key=True)
    name: str = Field(max_length=100)
    secret_hash: str = Field(max_length=64)
    created_by: UUID | None = None
    created_at: datetime = created_at()
    revoked_at: datetime | None = timestamp()
    last_used_at: datetime | None = timestamp()
