"""Batches (团期) and their offers, plus the outbox every domain writes its events to."""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum
from typing import TYPE_CHECKING, Any, ClassVar
from uuid import UUID, uuid4

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Date,
    ForeignKeyConstraint,
    Index,
    Integer,
    SmallInteger,
    String,
    UniqueConstraint,
    func,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, class_mapper, column_property
from sqlalchemy.sql import literal_column
from sqlmodel import Field, SQLModel, col

from service.columns import created_at, in_scope, tenant_key, timestamp


class BatchStatus(str, Enum):
    DRAFT = "DRAFT"
    SCHEDULED = "SCHEDULED"
    OPEN = "OPEN"
    CLOSED = "CLOSED"
    COMPLETED = "COMPLETED"
    CANCELLED = "CANCELLED"


# What a customer or an anonymous caller may see; admins see every status.
PUBLIC_BATCH_STATUSES = (BatchStatus.SCHEDULED, BatchStatus.OPEN, BatchStatus.CLOSED)
CANCELLABLE_BATCH_STATUSES = (BatchStatus.DRAFT, BatchStatus.SCHEDULED, BatchStatus.OPEN)
EDITABLE_BATCH_STATUSES = (BatchStatus.DRAFT, BatchStatus.SCHEDULED)


class OfferStatus(str, Enum):
    ACTIVE = "ACTIVE"
    CONFIRMED = "CONFIRMED"
    BELOW_MINIMUM = "BELOW_MINIMUM"


class Batch(SQLModel, table=True):
    __tablename__ = "batch"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "created_by"], ["app_user.tenant_id", "app_user.id"]),
        CheckConstraint("closes_at > opens_at", name="batch_window_check"),
        Index("batch_page_idx", "tenant_id", "created_at", "id"),
        # The scheduler's "what is due" lookups.
        Index("batch_status_opens_idx", "tenant_id", "status", "opens_at"),
        Index("batch_status_closes_idx", "tenant_id", "status", "closes_at"),
    )

    tenant_id: UUID = tenant_key()
    id: UUID = Field(default_factory=uuid4, primary_key=True)
    title: str = Field(max_length=200)
    status: BatchStatus = Field(sa_column=Column(String(20), nullable=False))
    opens_at: datetime = timestamp(nullable=False)
    closes_at: datetime = timestamp(nullable=False)
    # A calendar day in the tenant's time zone.
    pickup_date: date = Field(sa_column=Column(Date, nullable=False))
    created_by: UUID | None = None
    published_at: datetime | None = timestamp()
    opened_at: datetime | None = timestamp()
    closed_at: datetime | None = timestamp()
    cancelled_at: datetime | None = timestamp()
    cancel_reason: str | None = Field(default=None, max_length=500)
    created_at: datetime = created_at()


# A hot offer's stock is split into this many rows, so concurrent orders update different rows.
STOCK_SLOTS = 8


class Offer(SQLModel, table=True):
    """A product at a group price in one batch. Its stock lives in `stock_slots` rows of
    offer_stock_slot (OfferStockSlot); `sold` is their sum."""

    __tablename__ = "offer"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "batch_id"], ["batch.tenant_id", "batch.id"]),
        ForeignKeyConstraint(["tenant_id", "product_id"], ["product.tenant_id", "product.id"]),
        UniqueConstraint("tenant_id", "batch_id", "product_id", name="offer_one_per_product"),
        CheckConstraint("stock_slots BETWEEN 1 AND 64", name="offer_stock_slots_check"),
        CheckConstraint("price_minor > 0", name="offer_price_check"),
        CheckConstraint("stock_limit IS NULL OR stock_limit >= 1", name="offer_stock_limit_check"),
        CheckConstraint(
            "per_customer_limit IS NULL OR per_customer_limit >= 1", name="offer_customer_limit_check"
        ),
        CheckConstraint("min_group_quantity >= 1", name="offer_min_group_check"),
        Index("offer_batch_idx", "tenant_id", "batch_id", "position"),
    )

    tenant_id: UUID = tenant_key()
    id: UUID = Field(default_factory=uuid4, primary_key=True)
    batch_id: UUID
    product_id: UUID
    position: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default=text("0")))
    price_minor: int = Field(sa_column=Column(BigInteger, nullable=False))
    stock_limit: int | None = None
    per_customer_limit: int | None = None
    min_group_quantity: int = 1
    stock_slots: int = Field(
        default=STOCK_SLOTS, sa_column=Column(SmallInteger, nullable=False, server_default=text(str(STOCK_SLOTS)))
    )
    status: OfferStatus = Field(
        default=OfferStatus.ACTIVE, sa_column=Column(String(20), nullable=False, server_default="ACTIVE")
    )
    created_at: datetime = created_at()
    # 拼团 (migration 0023, service/groupbuys): orders form groups of group_size; None: none.
    group_size: int | None = None
    group_window_minutes: int | None = None
    group_expiry: str | None = Field(default=None, max_length=20)
    if TYPE_CHECKING:  # mapped below, not a field
        sold: ClassVar[Mapped[int]]


class OfferStockSlot(SQLModel, table=True):
    """One share of an offer's stock (分桶). An order takes its quantity from one slot, picked by
    its database session, with one conditional UPDATE; when that slot has no room, the order
    locks every slot of the offer in slot order and spreads what is free again
    (offer_stock_take(), migration 0011). Quotas add up to the offer's stock limit (NULL:
    unlimited), and each slot's `sold` is the quantity of the ACTIVE lines that took from it."""

    __tablename__ = "offer_stock_slot"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "offer_id"], ["offer.tenant_id", "offer.id"], ondelete="CASCADE"),
        # The last line of defence against overselling, whatever the code above does.
        CheckConstraint("sold >= 0 AND (quota IS NULL OR sold <= quota)", name="offer_stock_slot_check"),
        {"postgresql_with": {"fillfactor": "50"}},
    )

    tenant_id: UUID = tenant_key(references_tenant=False)
    offer_id: UUID = Field(primary_key=True)
    slot: int = Field(sa_column=Column(SmallInteger, primary_key=True))
    quota: int | None = None
    sold: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default=text("0")))


# What an offer has sold: the sum of its slots, read with the offer (in_scope: routed on Citus).
class_mapper(Offer, configure=False).add_property("sold", column_property(
    select(func.coalesce(func.sum(col(OfferStockSlot.sold)), literal_column("0")))
    .where(col(OfferStockSlot.tenant_id) == Offer.tenant_id, col(OfferStockSlot.offer_id) == Offer.id,
           in_scope(col(OfferStockSlot.tenant_id)))
    .correlate_except(OfferStockSlot)
    .scalar_subquery()
))


class OutboxEvent(SQLModel, table=True):
    """An event written in the same transaction as the change it announces; a relay delivers it."""

    __tablename__ = "outbox_event"
    __table_args__ = (
        Index(
            "outbox_event_pending_idx", "tenant_id", "created_at", postgresql_where=text("relayed_at IS NULL")
        ),
    )

    tenant_id: UUID = tenant_key()
    id: UUID = Field(default_factory=uuid4, primary_key=True)
    event: str = Field(max_length=50)
    # e.g. "batch", "order": what `subject_id` names.
    subject_type: str = Field(max_length=30)
    subject_id: UUID
    # Who should hear about it: ["customers", "leaders", "admins"] or explicit user ids in the payload.
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONB, nullable=False))
    created_at: datetime = created_at()
    relayed_at: datetime | None = timestamp()
    attempts: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default=text("0")))
