"""What was shipped and received per delivery, and customers' after-sales requests."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from uuid import UUID, uuid4

from sqlalchemy import ARRAY, CheckConstraint, Column, ForeignKeyConstraint, Index, String, text
from sqlmodel import Field, SQLModel

from service.columns import created_at, tenant_key, timestamp


class RefundReason(str, Enum):
    SHORTAGE = "SHORTAGE"
    DAMAGED = "DAMAGED"
    QUALITY = "QUALITY"
    CUSTOMER_REQUEST = "CUSTOMER_REQUEST"
    OTHER = "OTHER"


class AfterSalesStatus(str, Enum):
    REQUESTED = "REQUESTED"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"
    CANCELLED = "CANCELLED"


class DeliveryLine(SQLModel, table=True):
    """One product to one pickup point on one purchase order: ordered (at the close), shipped
    (purchaseOrderShip) and received/damaged (deliveryConfirm). Written when the purchase order
    ships, once: its existence is what makes a repeated shipment change nothing."""

    __tablename__ = "delivery_line"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "purchase_order_id"], ["purchase_order.tenant_id", "purchase_order.id"]),
        ForeignKeyConstraint(["tenant_id", "pickup_point_id"], ["pickup_point.tenant_id", "pickup_point.id"]),
        CheckConstraint("shipped >= 0 AND shipped <= ordered AND damaged >= 0 "
                        "AND (received IS NULL OR (received <= shipped AND damaged <= received))",
                        name="delivery_line_quantities_check"),
        Index("delivery_line_point_idx", "tenant_id", "batch_id", "pickup_point_id"),
    )

    tenant_id: UUID = tenant_key(references_tenant=False)
    purchase_order_id: UUID = Field(primary_key=True)
    product_id: UUID = Field(primary_key=True)
    pickup_point_id: UUID = Field(primary_key=True)
    batch_id: UUID
    ordered: int
    shipped: int
    received: int | None = None
    damaged: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    note: str | None = Field(default=None, max_length=500)
    photo_urls: list[str] = Field(default_factory=list, sa_column=Column(
        ARRAY(String(500)), nullable=False, server_default=text("'{}'")))
    shipped_at: datetime | None = timestamp()
    received_at: datetime | None = timestamp()


class AfterSalesRequest(SQLModel, table=True):
    __tablename__ = "after_sales_request"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "order_line_id"], ["order_line.tenant_id", "order_line.id"]),
        ForeignKeyConstraint(["tenant_id", "order_id"], ["customer_order.tenant_id", "customer_order.id"]),
        CheckConstraint("quantity > 0 AND (approved_quantity IS NULL OR "
                        "(approved_quantity > 0 AND approved_quantity <= quantity))",
                        name="after_sales_quantity_check"),
        Index("after_sales_one_open_per_line", "tenant_id", "order_line_id", unique=True,
              postgresql_where=text("status = 'REQUESTED'")),
        Index("after_sales_point_idx", "tenant_id", "pickup_point_id", "created_at", "id"),
        Index("after_sales_customer_idx", "tenant_id", "customer_id", "created_at", "id"),
    )

    tenant_id: UUID = tenant_key(references_tenant=False)
    id: UUID = Field(default_factory=uuid4, primary_key=True)
    order_id: UUID
    order_line_id: UUID
    customer_id: UUID
    pickup_point_id: UUID
    quantity: int
    approved_quantity: int | None = None
    reason: str = Field(max_length=20)
    note: str | None = Field(default=None, max_length=500)
    photo_urls: list[str] = Field(default_factory=list, sa_column=Column(
        ARRAY(String(500)), nullable=False, server_default=text("'{}'")))
    status: str = Field(max_length=20)
    created_at: datetime = created_at()  # when it was requested
    decided_at: datetime | None = timestamp()
    decision_reason: str | None = Field(default=None, max_length=500)
    decided_by: UUID | None = None
