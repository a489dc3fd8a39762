"""Orders, their lines, the per-customer counters that enforce offer limits, and refunds."""

from __future__ import annotations

import functools
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import TYPE_CHECKING, ClassVar
from uuid import UUID, uuid4

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    ColumnElement,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    SmallInteger,
    String,
    UniqueConstraint,
    and_,
    case,
    column,
    literal_column,
    select,
    table,
    text,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Mapped, class_mapper, column_property
from sqlmodel import Field, SQLModel

from service.columns import created_at, in_scope, tenant_key, timestamp


class OrderStatus(str, Enum):
    PENDING_PAYMENT = "PENDING_PAYMENT"
    PAID = "PAID"
    PLACED = "PLACED"
    CONFIRMED = "CONFIRMED"
    READY_FOR_PICKUP = "READY_FOR_PICKUP"
    PICKED_UP = "PICKED_UP"
    CANCELLED = "CANCELLED"


# Orders that still hold stock and that their customer may cancel before the cutoff.
OPEN_ORDER_STATUSES = (OrderStatus.PENDING_PAYMENT, OrderStatus.PAID, OrderStatus.PLACED)
PICKABLE_ORDER_STATUSES = (OrderStatus.CONFIRMED, OrderStatus.READY_FOR_PICKUP)
# The close does not write CONFIRMED: an order still PAID or PLACED once its batch is CLOSED (or
# COMPLETED) is confirmed (the close cancelled the others). Orders written CONFIRMED by earlier
# closes keep that status. SQL: order_state(order status, batch status), or this CASE.
CONFIRMED_BY_BATCH = ("PAID", "PLACED")
CLOSED_BATCH_STATUSES = ("CLOSED", "COMPLETED")


def order_state(status: str, batch_status: str) -> str:
    """The order's status as read, from its stored status and its batch's."""
    if status in CONFIRMED_BY_BATCH and batch_status in CLOSED_BATCH_STATUSES:
        return OrderStatus.CONFIRMED.value
    return status


# Orders with their batch, as order_state_sql() reads them: `FROM {ORDERS_WITH_BATCH} WHERE ...`.
ORDERS_WITH_BATCH = "customer_order o JOIN batch b ON b.tenant_id = o.tenant_id AND b.id = o.batch_id"


def order_state_case(status: ColumnElement[str], batch_status: ColumnElement[str]) -> ColumnElement[str]:
    """The rule of order_state() as an SQL expression (Order.state and order_state_sql() use it)."""
    confirmed = and_(status.in_(CONFIRMED_BY_BATCH), batch_status.in_(CLOSED_BATCH_STATUSES))
    return case((confirmed, OrderStatus.CONFIRMED.value), else_=status)


@functools.cache
def order_state_sql(order: str = "o", batch: str = "b") -> str:
    """The order's status as read, for SQL joining its batch as `batch`."""
    expr = order_state_case(literal_column(f"{order}.status"), literal_column(f"{batch}.status"))
    return f"({expr.compile(dialect=postgresql.dialect(), compile_kwargs={'literal_binds': True})})"


class OrderLineStatus(str, Enum):
    ACTIVE = "ACTIVE"
    CANCELLED = "CANCELLED"


# What the unpaid-orders index holds, without naming `status` (which would make every status
# update non-HOT). A PENDING_PAYMENT order always matches it (check constraint).
UNPAID_PREDICATE = "paid_at IS NULL AND cancelled_at IS NULL AND picked_up_at IS NULL"
# Room on each page for a new version of every row on it: the close updates all of a batch's
# orders in one transaction, and an update is HOT only when the new version fits on its page.
ORDER_FILLFACTOR = 50


class Order(SQLModel, table=True):
    # "order" is an SQL keyword; the table name avoids quoting everywhere.
    __tablename__ = "customer_order"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "batch_id"], ["batch.tenant_id", "batch.id"]),
        ForeignKeyConstraint(["tenant_id", "pickup_point_id"], ["pickup_point.tenant_id", "pickup_point.id"]),
        ForeignKeyConstraint(["tenant_id", "customer_id"], ["app_user.tenant_id", "app_user.id"]),
        ForeignKeyConstraint(["tenant_id", "leader_id"], ["leader.tenant_id", "leader.id"]),
        UniqueConstraint("tenant_id", "number", name="customer_order_number_key"),
        # A retried orderPlace finds the first order here; concurrent retries wait on this index.
        UniqueConstraint(
            "tenant_id", "customer_id", "idempotency_key", name="customer_order_idempotency_key"
        ),
        UniqueConstraint(
            "tenant_id", "batch_id", "pickup_point_id", "pickup_code", name="customer_order_pickup_code_key"
        ),
        # The key a commission refers to: its order, and that order's batch and leader, in one check.
        UniqueConstraint("tenant_id", "id", "batch_id", "leader_id", name="customer_order_commission_key"),
        CheckConstraint("total_minor >= 0 AND refunded_minor >= 0", name="customer_order_amounts_check"),
        Index("customer_order_page_idx", "tenant_id", "created_at", "id"),
        Index("customer_order_customer_idx", "tenant_id", "customer_id", "created_at", "id"),
        Index("customer_order_point_idx", "tenant_id", "pickup_point_id", "created_at", "id"),
        # No index or predicate names `status`, and pages are half full: the close's CONFIRMED
        # update of every order of a batch (and READY_FOR_PICKUP) is then HOT, writing no index.
        Index("customer_order_batch_idx", "tenant_id", "batch_id"),
        # The derived commissions of a leader's confirmed orders (view commission).
        Index("customer_order_leader_idx", "tenant_id", "leader_id", "batch_id"),
        # Unpaid orders for the expiry job: PENDING_PAYMENT rows are exactly those neither paid,
        # cancelled nor picked up (customer_order_unpaid_check); queries repeat this predicate.
        Index(
            "customer_order_unpaid_idx",
            "tenant_id",
            "created_at",
            postgresql_where=text(UNPAID_PREDICATE),
        ),
        CheckConstraint(
            f"status <> 'PENDING_PAYMENT' OR ({UNPAID_PREDICATE})", name="customer_order_unpaid_check"
        ),
        {"postgresql_with": {"fillfactor": ORDER_FILLFACTOR}},
    )

    tenant_id: UUID = tenant_key(references_tenant=False)
    id: UUID = Field(default_factory=uuid4, primary_key=True)
    number: str = Field(max_length=16)
    batch_id: UUID
    pickup_point_id: UUID
    customer_id: UUID
    customer_name: str = Field(max_length=100)
    # Attribution for commissions: the pickup point's leader and their rate when the order was placed.
    leader_id: UUID
    commission_rate: Decimal = Field(sa_column=Column(Numeric(5, 4), nullable=False))
    status: OrderStatus = Field(sa_column=Column(String(20), nullable=False))
    currency: str = Field(max_length=3)
    # Of ACTIVE lines, in minor units.
    total_minor: int = Field(sa_column=Column(BigInteger, nullable=False))
    refunded_minor: int = Field(
        default=0, sa_column=Column(BigInteger, nullable=False, server_default=text("0"))
    )
    pickup_code: str = Field(max_length=12)
    idempotency_key: str = Field(max_length=200)
    # sha256 of the request's meaningful content: the same key with another body is refused.
    request_hash: str = Field(max_length=64)
    payment_reference: str | None = Field(default=None, max_length=200)
    paid_at: datetime | None = timestamp()
    cancelled_at: datetime | None = timestamp()
    cancel_reason: str | None = Field(default=None, max_length=500)
    picked_up_at: datetime | None = timestamp()
    # When the cutoff check passed (database clock): the moment place_order() wrote the order when it
    # ran alone (it checks again after its last lock wait), else the deferred trigger's at commit.
    commit_checked_at: datetime | None = timestamp()
    created_at: datetime = created_at()
    # Coupons (migration 0021): the discount taken off total_minor, and the coupon it came from.
    discount_minor: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, server_default=text("0")))
    coupon_id: UUID | None = None
    if TYPE_CHECKING:  # mapped below, not a field
        state: ClassVar[Mapped[str]]


class OrderLine(SQLModel, table=True):
    __tablename__ = "order_line"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "order_id"], ["customer_order.tenant_id", "customer_order.id"]),
        ForeignKeyConstraint(["tenant_id", "offer_id"], ["offer.tenant_id", "offer.id"]),
        ForeignKeyConstraint(["tenant_id", "product_id"], ["product.tenant_id", "product.id"]),
        UniqueConstraint("tenant_id", "order_id", "offer_id", name="order_line_one_per_offer"),
        CheckConstraint("quantity >= 1", name="order_line_quantity_check"),
        CheckConstraint("unit_price_minor > 0", name="order_line_price_check"),
        CheckConstraint("shorted_quantity >= 0 AND shorted_quantity <= refunded_quantity "
                        "AND refunded_quantity <= quantity", name="order_line_refunded_check"),
        Index("order_line_offer_idx", "tenant_id", "offer_id", "status"),
    )

    tenant_id: UUID = tenant_key(references_tenant=False)
    id: UUID = Field(default_factory=uuid4, primary_key=True)
    order_id: UUID
    offer_id: UUID
    product_id: UUID
    position: int = Field(sa_column=Column(Integer, nullable=False))
    product_name: str = Field(max_length=200)
    quantity: int
    unit_price_minor: int = Field(sa_column=Column(BigInteger, nullable=False))
    status: OrderLineStatus = Field(
        default=OrderLineStatus.ACTIVE, sa_column=Column(String(20), nullable=False, server_default="ACTIVE")
    )
    cancelled_at: datetime | None = timestamp()
    # The offer_stock_slot its quantity was taken from, and is given back to.
    stock_slot: int = Field(default=0, sa_column=Column(SmallInteger, nullable=False, server_default=text("0")))
    # Units refunded by any path, and of those the ones never delivered (shortages, damage).
    refunded_quantity: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default=text("0")))
    shorted_quantity: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default=text("0")))
    # This line's share of the order's coupon discount (migration 0021).
    discount_minor: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, server_default=text("0")))


class OfferCustomerQuantity(SQLModel, table=True):
    """How many units of an offer one customer holds; reserved with a conditional upsert."""

    __tablename__ = "offer_customer_quantity"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "offer_id"], ["offer.tenant_id", "offer.id"]),
        ForeignKeyConstraint(["tenant_id", "customer_id"], ["app_user.tenant_id", "app_user.id"]),
        CheckConstraint("quantity >= 0", name="offer_customer_quantity_check"),
    )

    tenant_id: UUID = tenant_key(references_tenant=False)
    offer_id: UUID = Field(primary_key=True)
    customer_id: UUID = Field(primary_key=True)
    quantity: int = Field(sa_column=Column(Integer, nullable=False))


class Refund(SQLModel, table=True):
    """Money owed back to a customer for what they paid; the tenant's back end executes it."""

    __tablename__ = "refund"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "order_id"], ["customer_order.tenant_id", "customer_order.id"]),
        ForeignKeyConstraint(["tenant_id", "order_line_id"], ["order_line.tenant_id", "order_line.id"]),
        CheckConstraint("amount_minor > 0", name="refund_amount_check"),
        Index("refund_order_idx", "tenant_id", "order_id"),
    )

    tenant_id: UUID = tenant_key(references_tenant=False)
    id: UUID = Field(default_factory=uuid4, primary_key=True)
    order_id: UUID
    # Null: the whole order's paid amount.
    order_line_id: UUID | None = None
    amount_minor: int = Field(sa_column=Column(BigInteger, nullable=False))
    currency: str = Field(max_length=3)
    reason: str = Field(max_length=500)
    created_at: datetime = created_at()
    # By quantity (null: refunds made before quantities were kept), why (RefundReason) and who.
    quantity: int | None = None
    reason_code: str = Field(default="OTHER", max_length=20, sa_column_kwargs={"server_default": "OTHER"})
    actor_kind: str | None = Field(default=None, max_length=16)
    actor_id: UUID | None = None


class NumberCounter(SQLModel, table=True):
    """A tenant's own counter of order (or purchase-order) numbers, and the random key its numbers
    are permuted with (service/orders/numbers.py): a number says nothing about other tenants."""

    __tablename__ = "number_counter"
    __table_args__ = (CheckConstraint("kind IN ('order', 'purchase_order')", name="number_counter_kind"),)

    tenant_id: UUID = tenant_key()
    kind: str = Field(primary_key=True, max_length=16)
    # The last value handed out (processes take blocks of values: see numbers.py).
    next_value: int = Field(sa_column=Column(BigInteger, nullable=False, server_default=text("0")))
    # 32 bytes of the server's strong random source (gen_random_uuid), made with the row.
    key: bytes = Field(sa_column=Column(
        LargeBinary, nullable=False,
        server_default=text("uuid_send(gen_random_uuid()) || uuid_send(gen_random_uuid())"),
    ))
    # The tenant had numbers of the old platform-wide scheme: new ones are checked against them.
    legacy: bool = Field(default=False, nullable=False, sa_column_kwargs={"server_default": text("false")})


def _order_state_property() -> None:
    """Order.state: the status as read (see CONFIRMED_BY_BATCH), loaded with every Order."""
    batch = table("batch", column("tenant_id"), column("id"), column("status"))
    order = class_mapper(Order, configure=False)
    status = order.local_table.c.status
    state = (
        select(order_state_case(status, batch.c.status))
        .where(batch.c.tenant_id == order.local_table.c.tenant_id,
               batch.c.id == order.local_table.c.batch_id, in_scope(batch.c.tenant_id))  # routed on Citus
        .correlate(order.local_table)
        .scalar_subquery()
    )
    order.add_property("state", column_property(state))


_order_state_property()
