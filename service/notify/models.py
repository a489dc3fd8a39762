"""Webhook subscriptions, in-app notifications and deliveries (one per event × channel × target)."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import (
    ARRAY,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from service.columns import created_at, tenant_key, timestamp


class DeliveryChannel(str, Enum):
    WEBHOOK = "WEBHOOK"
    EMAIL = "EMAIL"


class DeliveryStatus(str, Enum):
    PENDING = "PENDING"  # waiting for its attempt at next_attempt_at
    SENDING = "SENDING"  # claimed by a worker (claimed_at); reset when stuck
    DELIVERED = "DELIVERED"
    FAILED = "FAILED"  # the retry schedule is exhausted, or retrying cannot help


class WebhookSubscription(SQLModel, table=True):
    """An endpoint of the tenant's. Its signing secret is never stored: it is derived from the
    server's webhook key, the subscription id and `secret_version`; only a fingerprint is kept."""

    __tablename__ = "webhook_subscription"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "created_by"], ["app_user.tenant_id", "app_user.id"]),
        Index("webhook_subscription_page_idx", "tenant_id", "created_at", "id"),
    )

    tenant_id: UUID = tenant_key()
    id: UUID = Field(default_factory=uuid4, primary_key=True)
    url: str = Field(max_length=2000)
    events: list[str] = Field(sa_column=Column(ARRAY(String(40)), nullable=False))
    active: bool = True
    secret_version: int = Field(
        default=1, sa_column=Column(Integer, nullable=False, server_default=text("1"))
    )
    # sha256 hex of the derived secret: tells a changed server key from a valid one.
    secret_fingerprint: str = Field(max_length=64)
    created_by: UUID | None = None
    # After a rotation, the previous version signs too until this time (the overlap).
    previous_secret_version: int | None = None
    previous_secret_until: datetime | None = timestamp()
    created_at: datetime = created_at()


class Notification(SQLModel, table=True):
    """An in-app message for one user, made by the relay from one outbox event."""

    __tablename__ = "notification"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "user_id"], ["app_user.tenant_id", "app_user.id"]),
        ForeignKeyConstraint(["tenant_id", "outbox_event_id"], ["outbox_event.tenant_id", "outbox_event.id"]),
        # Re-relaying an event never notifies a user twice.
        UniqueConstraint("tenant_id", "outbox_event_id", "user_id", name="notification_once_per_user"),
        Index("notification_user_idx", "tenant_id", "user_id", "created_at", "id"),
        Index(
            "notification_unread_idx",
            "tenant_id",
            "user_id",
            "created_at",
            "id",
            postgresql_where=text("read_at IS NULL"),
        ),
    )

    tenant_id: UUID = tenant_key()
    id: UUID = Field(default_factory=uuid4, primary_key=True)
    user_id: UUID
    outbox_event_id: UUID
    event: str = Field(max_length=40)
    title: str = Field(max_length=200)
    body: str = Field(max_length=2000)
    # The template's parameters (the event is the template): rendered in the reader's language.
    # NULL on rows written before: their title and body are shown as stored.
    params: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONB, nullable=True))
    created_at: datetime = created_at()
    read_at: datetime | None = timestamp()


class Delivery(SQLModel, table=True):
    """One outbox event to one channel target: a webhook subscription or an e-mail address."""

    __tablename__ = "delivery"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "outbox_event_id"], ["outbox_event.tenant_id", "outbox_event.id"]),
        ForeignKeyConstraint(
            ["tenant_id", "subscription_id"], ["webhook_subscription.tenant_id", "webhook_subscription.id"]
        ),
        # Re-relaying an event (twice, concurrently, after a crash) never creates a second delivery.
        UniqueConstraint(
            "tenant_id", "outbox_event_id", "channel", "target", name="delivery_once_per_target"
        ),
        CheckConstraint(
            "status IN ('PENDING', 'SENDING', 'DELIVERED', 'FAILED')", name="delivery_status_check"
        ),
        CheckConstraint("channel IN ('WEBHOOK', 'EMAIL')", name="delivery_channel_check"),
        Index("delivery_subscription_idx", "tenant_id", "subscription_id", "created_at", "id"),
        # The retry job's "what is due" lookup, across tenants (as the owner).
        Index(
            "delivery_due_idx", "next_attempt_at", postgresql_where=text("status IN ('PENDING', 'SENDING')")
        ),
    )

    tenant_id: UUID = tenant_key()
    id: UUID = Field(default_factory=uuid4, primary_key=True)
    outbox_event_id: UUID
    channel: DeliveryChannel = Field(sa_column=Column(String(10), nullable=False))
    # The subscription id (WEBHOOK) or the address (EMAIL).
    target: str = Field(max_length=300)
    subscription_id: UUID | None = None
    status: DeliveryStatus = Field(
        default=DeliveryStatus.PENDING, sa_column=Column(String(10), nullable=False, server_default="PENDING")
    )
    attempts: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default=text("0")))
    next_attempt_at: datetime = Field(
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=text("clock_timestamp()"))
    )
    # When a message for the current attempt was last put in the broker (NULL: not yet, or the
    # enqueue failed): the retry job leaves it alone until it is overdue, so a working broker
    # carries each attempt once and a lost message is sent again.
    enqueued_at: datetime | None = timestamp()
    claimed_at: datetime | None = timestamp()
    last_attempt_at: datetime | None = timestamp()
    last_status_code: int | None = None
    last_error: str | None = Field(default=None, max_length=1000)
    delivered_at: datetime | None = timestamp()
    created_at: datetime = created_at()
    # An e-mail's subject and text, rendered once in its recipient's language at the relay (migration
    # 0043); NULL for webhooks (they carry the payload) and for e-mails queued before.
    language: str | None = Field(default=None, max_length=5)
    title: str | None = Field(default=None, max_length=200)
    body: str | None = Field(default=None, max_length=2000)
