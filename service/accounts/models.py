from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import Enum
from uuid import UUID, uuid4

from sqlalchemy import BigInteger, Column, ForeignKeyConstraint, Index, Integer, Numeric, String, func, text
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


class ShortagePolicy(str, Enum):
    """Who goes without when a supplier delivers less than was ordered."""

    LAST_ORDERED_FIRST = "LAST_ORDERED_FIRST"
    PRO_RATA = "PRO_RATA"
    # The supplier's per-point quantities decide; a product shipped short without them: LAST_ORDERED_FIRST.
    PER_POINT = "PER_POINT"


class ReferralBinding(str, Enum):
    """Which referrer a customer's orders are attributed to: the first one, or the latest."""

    FIRST = "FIRST"
    LATEST = "LATEST"


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
    # The settings of other features, tuned in the console (tenantUpdate; migration 0016).
    pickup_window_days: int = Field(default=3)
    commission_freeze_days: int = Field(default=7)
    after_sales_window_hours: int = Field(default=48)
    shortage_policy: ShortagePolicy = Field(
        default=None, sa_column=Column(String(30), nullable=False, server_default=text("'LAST_ORDERED_FIRST'"))
    )
    withdrawal_minimum_minor: int = Field(
        default=0, sa_column=Column(BigInteger, nullable=False, server_default=text("0"))
    )
    withdrawal_fee_rate: Decimal = Field(
        default=Decimal(0), sa_column=Column(Numeric(5, 4), nullable=False, server_default=text("0"))
    )
    front_end_url_template: str | None = Field(default=None, max_length=500)
    distribution_enabled: bool = Field(default=False)
    distribution_level1_rate: Decimal = Field(
        default=Decimal(0), sa_column=Column(Numeric(5, 4), nullable=False, server_default=text("0"))
    )
    distribution_level2_rate: Decimal = Field(
        default=Decimal(0), sa_column=Column(Numeric(5, 4), nullable=False, server_default=text("0"))
    )
    referral_binding: ReferralBinding = Field(
        default=None, sa_column=Column(String(20), nullable=False, server_default=text("'FIRST'"))
    )
    attribution_window_days: int = Field(default=30)
    created_at: datetime = created_at()
    # Withdrawals (migration 0019): a fixed fee on top of the rate, and requests per local day.
    withdrawal_fee_fixed_minor: int = Field(
        default=0, sa_column=Column(BigInteger, nullable=False, server_default=text("0"))
    )
    withdrawal_daily_limit: int = Field(default=1, sa_column_kwargs={"server_default": text("1")})
    # Messages sent out (e-mail) go in their recipient's language, this one for those without (migration 0043).
    default_language: str = Field(
        default="zh-CN", sa_column=Column(String(5), nullable=False, server_default=text("'zh-CN'"))
    )


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
    # In every token issued (claim `tv`); raised by a password change or reset, which makes the
    # tokens issued before stop working (account_state() returns it on every request).
    token_version: int = Field(
        default=0, sa_column=Column(Integer, nullable=False, server_default=text("0"))
    )
    created_at: datetime = created_at()
    # The language of the messages sent to this user (zh-CN or en); None: the tenant's (migration 0043).
    language: str | None = Field(default=None, max_length=5)


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


class PasswordReset(SQLModel, table=True):
    """A one-time code an admin issued for a user: stored hashed, works once, until it expires."""

    __tablename__ = "password_reset"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "user_id"], ["app_user.tenant_id", "app_user.id"], ondelete="CASCADE"),
        Index("password_reset_user_idx", "tenant_id", "user_id", "created_at"),
    )

    tenant_id: UUID = tenant_key(references_tenant=False)
    id: UUID = Field(default_factory=uuid4, primary_key=True)
    user_id: UUID
    code_hash: str = Field(max_length=64)
    issued_by: UUID | None = None
    created_at: datetime = created_at()
    expires_at: datetime = timestamp(nullable=False)
    used_at: datetime | None = timestamp()
