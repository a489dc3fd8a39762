"""The tables of social growth (migration 0022).

- share_link: who shared what, under an unguessable code (the sharer is never in the code).
- share_visit: each opening of a code (the visitor when signed in; the order when one carried it).
- referral_binding: a customer's referrer, kept as history: a rebind (LATEST) closes the old row
  (superseded_at) and adds one, so the chain in force at any moment can be read back.
- order_referral: the chain snapshotted on an order placed with a share code (levels 1 and 2).
- offer_distribution: an offer's override of the tenant's distribution rates, or fixed amounts per unit.
- distribution_commission / distribution_commission_line: distributors' commissions, one row per
  order and level, shaped like commission_entry, with the per-line amounts refunds reverse.
Levels are 1 or 2 by CHECK constraint everywhere: level 3 cannot be stored.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from uuid import UUID, uuid4

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    ForeignKeyConstraint,
    Index,
    Numeric,
    SmallInteger,
    String,
    UniqueConstraint,
    text,
)
from sqlmodel import Field, SQLModel

from service.columns import created_at, tenant_key, timestamp

LEVELS = "level IN (1, 2)"


class ShareLink(SQLModel, table=True):
    __tablename__ = "share_link"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "sharer_id"], ["app_user.tenant_id", "app_user.id"]),
        UniqueConstraint("tenant_id", "code", name="share_link_code_key"),
        UniqueConstraint("tenant_id", "sharer_id", "target", "target_id", name="share_link_once"),
        CheckConstraint("target IN ('BATCH', 'OFFER', 'COMMUNITY_GROUP', 'GROUP_BUY')", name="share_link_target"),
    )

    tenant_id: UUID = tenant_key(references_tenant=False)
    id: UUID = Field(default_factory=uuid4, primary_key=True)
    code: str = Field(max_length=32)
    sharer_id: UUID
    target: str = Field(sa_column=Column(String(20), nullable=False))
    target_id: UUID
    created_at: datetime = created_at()


class ShareVisit(SQLModel, table=True):
    __tablename__ = "share_visit"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "share_link_id"], ["share_link.tenant_id", "share_link.id"],
                             ondelete="CASCADE"),
        Index("share_visit_link_idx", "tenant_id", "share_link_id", "visited_at"),
    )

    tenant_id: UUID = tenant_key(references_tenant=False)
    id: UUID = Field(default_factory=uuid4, primary_key=True)
    share_link_id: UUID
    visitor_id: UUID | None = None
    order_id: UUID | None = None
    visited_at: datetime = created_at()


class ReferralBindingRow(SQLModel, table=True):
    __tablename__ = "referral_binding"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "customer_id"], ["app_user.tenant_id", "app_user.id"]),
        ForeignKeyConstraint(["tenant_id", "referrer_id"], ["app_user.tenant_id", "app_user.id"]),
        ForeignKeyConstraint(["tenant_id", "share_link_id"], ["share_link.tenant_id", "share_link.id"]),
        CheckConstraint("referrer_id <> customer_id", name="referral_binding_not_self"),
        CheckConstraint("superseded_at IS NULL OR superseded_at >= bound_at", name="referral_binding_period"),
        # One binding in force per customer.
        Index("referral_binding_current", "tenant_id", "customer_id", unique=True,
              postgresql_where=text("superseded_at IS NULL")),
        Index("referral_binding_history", "tenant_id", "customer_id", "bound_at"),
        Index("referral_binding_referrer", "tenant_id", "referrer_id", "bound_at"),
    )

    tenant_id: UUID = tenant_key(references_tenant=False)
    id: UUID = Field(default_factory=uuid4, primary_key=True)
    customer_id: UUID
    referrer_id: UUID
    share_link_id: UUID
    bound_at: datetime = created_at()
    superseded_at: datetime | None = timestamp()


class OrderReferral(SQLModel, table=True):
    __tablename__ = "order_referral"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "order_id"], ["customer_order.tenant_id", "customer_order.id"]),
        ForeignKeyConstraint(["tenant_id", "referrer_id"], ["app_user.tenant_id", "app_user.id"]),
        CheckConstraint(LEVELS, name="order_referral_two_levels"),
        CheckConstraint("referrer_id <> customer_id", name="order_referral_not_buyer"),
    )

    tenant_id: UUID = tenant_key(references_tenant=False)
    order_id: UUID = Field(primary_key=True)
    level: int = Field(sa_column=Column(SmallInteger, primary_key=True, nullable=False))
    referrer_id: UUID
    customer_id: UUID
    share_link_id: UUID | None = None
    created_at: datetime = created_at()


class OfferDistribution(SQLModel, table=True):
    __tablename__ = "offer_distribution"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "offer_id"], ["offer.tenant_id", "offer.id"], ondelete="CASCADE"),
        CheckConstraint("coalesce(level1_rate, 0) + coalesce(level2_rate, 0) <= 0.3 "
                        "AND coalesce(level1_rate, 0) >= 0 AND coalesce(level2_rate, 0) >= 0",
                        name="offer_distribution_rates"),
        CheckConstraint("coalesce(level1_amount_minor, 0) >= 0 AND coalesce(level2_amount_minor, 0) >= 0",
                        name="offer_distribution_amounts"),
    )

    tenant_id: UUID = tenant_key(references_tenant=False)
    offer_id: UUID = Field(primary_key=True)
    level1_rate: Decimal | None = Field(default=None, sa_column=Column(Numeric(5, 4), nullable=True))
    level2_rate: Decimal | None = Field(default=None, sa_column=Column(Numeric(5, 4), nullable=True))
    # A fixed amount per unit replaces the level's rate.
    level1_amount_minor: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    level2_amount_minor: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))


class DistributionCommission(SQLModel, table=True):
    __tablename__ = "distribution_commission"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "order_id"], ["customer_order.tenant_id", "customer_order.id"]),
        ForeignKeyConstraint(["tenant_id", "beneficiary_id"], ["app_user.tenant_id", "app_user.id"]),
        ForeignKeyConstraint(["tenant_id", "batch_id"], ["batch.tenant_id", "batch.id"]),
        UniqueConstraint("tenant_id", "order_id", "level", name="distribution_commission_once"),
        CheckConstraint(LEVELS, name="distribution_commission_two_levels"),
        CheckConstraint("beneficiary_id <> customer_id", name="distribution_commission_not_buyer"),
        CheckConstraint("amount_minor >= 0 AND reversed_minor >= 0", name="distribution_commission_amount"),
        CheckConstraint("status IN ('PENDING', 'EARNED', 'REVERSED')", name="distribution_commission_status"),
        Index("distribution_commission_beneficiary", "tenant_id", "beneficiary_id", "created_at", "id"),
    )

    tenant_id: UUID = tenant_key(references_tenant=False)
    id: UUID = Field(default_factory=uuid4, primary_key=True)
    order_id: UUID
    batch_id: UUID
    level: int = Field(sa_column=Column(SmallInteger, nullable=False))
    beneficiary_id: UUID
    customer_id: UUID
    currency: str = Field(max_length=3)
    amount_minor: int = Field(sa_column=Column(BigInteger, nullable=False))
    reversed_minor: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, server_default=text("0")))
    status: str = Field(sa_column=Column(String(20), nullable=False))
    earned_at: datetime | None = timestamp()
    reversed_at: datetime | None = timestamp()
    created_at: datetime = created_at()


class DistributionCommissionLine(SQLModel, table=True):
    __tablename__ = "distribution_commission_line"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "order_id", "level"],
                             ["distribution_commission.tenant_id", "distribution_commission.order_id",
                              "distribution_commission.level"], ondelete="CASCADE"),
        CheckConstraint(LEVELS, name="distribution_commission_line_two_levels"),
        CheckConstraint("amount_minor >= 0", name="distribution_commission_line_amount"),
    )

    tenant_id: UUID = tenant_key(references_tenant=False)
    order_line_id: UUID = Field(primary_key=True)
    level: int = Field(sa_column=Column(SmallInteger, primary_key=True, nullable=False))
    order_id: UUID
    amount_minor: int = Field(sa_column=Column(BigInteger, nullable=False))
