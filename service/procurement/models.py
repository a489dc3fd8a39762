"""What a batch's close produces. Unique keys make "exactly once" a database fact:
one purchase order per (batch, supplier), one pick list per (batch, pickup point),
one commission per order (derived while nothing happened to it)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import Enum
from uuid import UUID, uuid4

from sqlalchemy import (
    ARRAY,
    BigInteger,
    CheckConstraint,
    Column,
    ForeignKeyConstraint,
    Index,
    Numeric,
    String,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlmodel import Field, SQLModel

from service.columns import created_at, tenant_key, timestamp


class PurchaseOrderStatus(str, Enum):
    SENT = "SENT"
    ACKNOWLEDGED = "ACKNOWLEDGED"
    SHIPPED = "SHIPPED"


class CommissionStatus(str, Enum):
    PENDING = "PENDING"
    EARNED = "EARNED"
    REVERSED = "REVERSED"


class PurchaseOrder(SQLModel, table=True):
    __tablename__ = "purchase_order"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "batch_id"], ["batch.tenant_id", "batch.id"]),
        ForeignKeyConstraint(["tenant_id", "supplier_id"], ["supplier.tenant_id", "supplier.id"]),
        UniqueConstraint("tenant_id", "batch_id", "supplier_id", name="purchase_order_once_per_supplier"),
        UniqueConstraint("tenant_id", "number", name="purchase_order_number_key"),
        Index("purchase_order_page_idx", "tenant_id", "created_at", "id"),
        Index("purchase_order_supplier_idx", "tenant_id", "supplier_id", "created_at", "id"),
    )

    tenant_id: UUID = tenant_key(references_tenant=False)
    id: UUID = Field(default_factory=uuid4, primary_key=True)
    batch_id: UUID
    supplier_id: UUID
    number: str = Field(max_length=32)
    status: PurchaseOrderStatus = Field(sa_column=Column(String(20), nullable=False))
    currency: str = Field(max_length=3)
    total_cost_minor: int = Field(sa_column=Column(BigInteger, nullable=False))
    # What customers paid for these goods: with refunds, it adds up to the batch's order totals.
    revenue_minor: int = Field(sa_column=Column(BigInteger, nullable=False))
    acknowledged_at: datetime | None = timestamp()
    shipped_at: datetime | None = timestamp()
    created_at: datetime = created_at()


class PurchaseOrderLine(SQLModel, table=True):
    __tablename__ = "purchase_order_line"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "purchase_order_id"], ["purchase_order.tenant_id", "purchase_order.id"]),
        ForeignKeyConstraint(["tenant_id", "product_id"], ["product.tenant_id", "product.id"]),
        CheckConstraint("quantity > 0", name="purchase_order_line_quantity_check"),
    )

    tenant_id: UUID = tenant_key(references_tenant=False)
    purchase_order_id: UUID = Field(primary_key=True)
    product_id: UUID = Field(primary_key=True)
    product_name: str = Field(max_length=200)
    unit: str = Field(max_length=50)
    quantity: int
    unit_cost_minor: int = Field(sa_column=Column(BigInteger, nullable=False))
    total_cost_minor: int = Field(sa_column=Column(BigInteger, nullable=False))
    revenue_minor: int = Field(sa_column=Column(BigInteger, nullable=False))
    # What the supplier said it shipped (purchaseOrderShip); null until shipped.
    shipped_quantity: int | None = None


class PickList(SQLModel, table=True):
    __tablename__ = "pick_list"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "batch_id"], ["batch.tenant_id", "batch.id"]),
        ForeignKeyConstraint(["tenant_id", "pickup_point_id"], ["pickup_point.tenant_id", "pickup_point.id"]),
        ForeignKeyConstraint(["tenant_id", "leader_id"], ["leader.tenant_id", "leader.id"]),
        UniqueConstraint("tenant_id", "batch_id", "pickup_point_id", name="pick_list_once_per_point"),
        Index("pick_list_leader_idx", "tenant_id", "leader_id", "created_at"),
    )

    tenant_id: UUID = tenant_key(references_tenant=False)
    id: UUID = Field(default_factory=uuid4, primary_key=True)
    batch_id: UUID
    pickup_point_id: UUID
    leader_id: UUID
    # deliveryReceive: the goods arrived at the point.
    received_at: datetime | None = timestamp()
    created_at: datetime = created_at()
    # The orders the close confirmed here, in the order they were placed: an order's pick number
    # ("#12" on its bag) is its position. One array per point: the close writes no row per order.
    order_ids: list[UUID] = Field(
        default_factory=list,
        sa_column=Column(ARRAY(Uuid), nullable=False, server_default=text("'{}'")),
    )


class CommissionEntry(SQLModel, table=True):
    """A commission written down: by closes before commissions were derived, or when it changed
    state (earned at pickup, reversed by a refund). Until then a confirmed order's commission is
    derived (view `commission`); a written one keeps that derived one's id (the order's id)."""

    __tablename__ = "commission_entry"
    __table_args__ = (
        # Its order, with that order's batch and leader: one check per row instead of three, and
        # batch and leader cannot disagree with the order's (whose own keys prove they exist).
        ForeignKeyConstraint(
            ["tenant_id", "order_id", "batch_id", "leader_id"],
            ["customer_order.tenant_id", "customer_order.id", "customer_order.batch_id", "customer_order.leader_id"],
            name="commission_order_fkey",
        ),
        UniqueConstraint("tenant_id", "order_id", name="commission_once_per_order"),
        CheckConstraint("amount_minor >= 0 AND reversed_minor >= 0", name="commission_amount_check"),
        Index("commission_leader_idx", "tenant_id", "leader_id", "created_at", "id"),
        Index("commission_batch_idx", "tenant_id", "batch_id"),
    )

    tenant_id: UUID = tenant_key(references_tenant=False)
    id: UUID = Field(default_factory=uuid4, primary_key=True)
    leader_id: UUID
    order_id: UUID
    batch_id: UUID
    rate: Decimal = Field(sa_column=Column(Numeric(5, 4), nullable=False))
    currency: str = Field(max_length=3)
    # Current amount (after reversals) and what was reversed, in minor units.
    amount_minor: int = Field(sa_column=Column(BigInteger, nullable=False))
    reversed_minor: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, server_default="0"))
    status: CommissionStatus = Field(sa_column=Column(String(20), nullable=False))
    earned_at: datetime | None = timestamp()
    reversed_at: datetime | None = timestamp()
    created_at: datetime = created_at()
    # When the freeze ended and it became available (service/ledger; migration 0019).
    released_at: datetime | None = timestamp()


class Commission(SQLModel, table=True):
    """The leader's share of one confirmed order: rate × goods value, rounded half-up per line.
    Read-only: the view `commission` (written entries, and the derived ones of every other
    confirmed order); it is not a table, so it is taken out of the metadata below."""

    __tablename__ = "commission"

    tenant_id: UUID = Field(primary_key=True)
    id: UUID = Field(primary_key=True)
    leader_id: UUID
    order_id: UUID
    batch_id: UUID
    rate: Decimal = Field(sa_column=Column(Numeric(5, 4), nullable=False))
    currency: str
    amount_minor: int = Field(sa_column=Column(BigInteger, nullable=False))
    reversed_minor: int = Field(sa_column=Column(BigInteger, nullable=False))
    status: CommissionStatus = Field(sa_column=Column(String(20), nullable=False))
    earned_at: datetime | None = timestamp()
    reversed_at: datetime | None = timestamp()
    created_at: datetime = created_at()


SQLModel.metadata.remove(Commission.__table__)  # type: ignore[attr-defined]  # a marker attribute on our own function or object


class BatchClose(SQLModel, table=True):
    """The record of a batch's close: when it was requested (the scheduler re-requests a close
    that did not finish, e.g. after a worker died) and, once done, what it took."""

    __tablename__ = "batch_close"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "batch_id"], ["batch.tenant_id", "batch.id"]),
    )

    tenant_id: UUID = tenant_key(references_tenant=False)
    batch_id: UUID = Field(primary_key=True)
    requested_at: datetime | None = timestamp()
    finished_at: datetime | None = timestamp()
    order_lines: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    duration_ms: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    created_at: datetime = created_at()
