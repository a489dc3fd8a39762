"""The groups of 拼团 offers and their members (one member per order)."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from uuid import UUID, uuid4

from sqlalchemy import Boolean, CheckConstraint, Column, ForeignKeyConstraint, Index, SmallInteger, text
from sqlmodel import Field, SQLModel

from service.columns import created_at, tenant_key, timestamp


class GroupBuyStatus(str, Enum):
    OPEN = "OPEN"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


class GroupBuyExpiry(str, Enum):
    REFUND = "REFUND"
    SUCCEED_ANYWAY = "SUCCEED_ANYWAY"


class GroupBuy(SQLModel, table=True):
    __tablename__ = "group_buy"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "offer_id"], ["offer.tenant_id", "offer.id"]),
        ForeignKeyConstraint(["tenant_id", "batch_id"], ["batch.tenant_id", "batch.id"]),
        ForeignKeyConstraint(["tenant_id", "starter_id"], ["app_user.tenant_id", "app_user.id"]),
        CheckConstraint("size BETWEEN 2 AND 50", name="group_buy_size_check"),
        CheckConstraint("status IN ('OPEN', 'SUCCEEDED', 'FAILED')", name="group_buy_status_check"),
        CheckConstraint("expiry IN ('REFUND', 'SUCCEED_ANYWAY')", name="group_buy_expiry_check"),
        Index("group_buy_share_code_key", "tenant_id", "share_code", unique=True),
        # The expiry job's and the close's open groups.
        Index("group_buy_open_idx", "tenant_id", "expires_at", postgresql_where=text("status = 'OPEN'")),
        Index("group_buy_batch_idx", "tenant_id", "batch_id", "status"),
        Index("group_buy_offer_idx", "tenant_id", "offer_id"),
    )

    tenant_id: UUID = tenant_key(references_tenant=False)
    id: UUID = Field(default_factory=uuid4, primary_key=True)
    offer_id: UUID
    batch_id: UUID
    # Who started it (团长 of the group): the customer of its first order.
    starter_id: UUID
    size: int = Field(sa_column=Column(SmallInteger, nullable=False))
    window_minutes: int
    expiry: str = Field(max_length=20)
    status: str = Field(max_length=10)
    # 16 bytes of gen_random_uuid() (122 random bits), base64url: the invitation, not the id.
    share_code: str = Field(max_length=32)
    opened_at: datetime | None = timestamp()
    expires_at: datetime = timestamp(nullable=False)
    resolved_at: datetime | None = timestamp()
    # SUCCEED_ANYWAY at the window's end (虚拟成团): succeeded short of its size.
    succeeded_virtually: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default=text("false")))
    created_at: datetime = created_at()


class GroupBuyMember(SQLModel, table=True):
    __tablename__ = "group_buy_member"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "order_id"], ["customer_order.tenant_id", "customer_order.id"]),
        ForeignKeyConstraint(["tenant_id", "group_buy_id"], ["group_buy.tenant_id", "group_buy.id"]),
        Index("group_buy_member_group_idx", "tenant_id", "group_buy_id"),
        # A customer is in at most one open group per offer.
        Index("group_buy_member_one_open_key", "tenant_id", "offer_id", "customer_id", unique=True,
              postgresql_where=text("open")),
    )

    tenant_id: UUID = tenant_key(references_tenant=False)
    order_id: UUID = Field(primary_key=True)
    group_buy_id: UUID
    offer_id: UUID
    customer_id: UUID
    # An unpaid member holds a place until then (the tenant's payment window after joining).
    hold_until: datetime = timestamp(nullable=False)
    paid_at: datetime | None = timestamp()
    # False once the group ended, the order was cancelled, or the payment came too late.
    open: bool = Field(default=True, sa_column=Column(Boolean, nullable=False, server_default=text("true")))
    created_at: datetime = created_at()

