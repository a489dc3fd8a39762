from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import Enum
from uuid import UUID, uuid4

from sqlalchemy import Column, ForeignKeyConstraint, Index, Numeric, String, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from service.columns import created_at, tenant_key, timestamp


class LeaderStatus(str, Enum):
    PENDING = "PENDING"
    APPROVED = "APPROVED"
    SUSPENDED = "SUSPENDED"
    REJECTED = "REJECTED"


class Leader(SQLModel, table=True):
    __tablename__ = "leader"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "user_id"], ["app_user.tenant_id", "app_user.id"]),
        UniqueConstraint("tenant_id", "user_id", name="leader_one_per_user"),
        Index("leader_page_idx", "tenant_id", "created_at", "id"),
    )

    tenant_id: UUID = tenant_key()
    id: UUID = Field(default_factory=uuid4, primary_key=True)
    user_id: UUID
    display_name: str = Field(max_length=100)
    phone: str = Field(max_length=20)
    status: LeaderStatus = Field(sa_column=Column(String(20), nullable=False))
    commission_rate: Decimal | None = Field(default=None, sa_column=Column(Numeric(5, 4), nullable=True))
    status_reason: str | None = Field(default=None, max_length=500)
    approved_at: datetime | None = timestamp()
    created_at: datetime = created_at()


class PickupPoint(SQLModel, table=True):
    __tablename__ = "pickup_point"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "leader_id"], ["leader.tenant_id", "leader.id"]),
        Index("pickup_point_leader_idx", "tenant_id", "leader_id"),
        Index("pickup_point_page_idx", "tenant_id", "created_at", "id"),
        # Bounding-box prefilter for nearestPickupPoints.
        Index("pickup_point_geo_idx", "tenant_id", "latitude", "longitude",
              postgresql_where=text("active")),
    )

    tenant_id: UUID = tenant_key()
    id: UUID = Field(default_factory=uuid4, primary_key=True)
    leader_id: UUID
    name: str = Field(max_length=200)
    address: str = Field(max_length=500)
    latitude: float
    longitude: float
    opening_hours: str | None = Field(default=None, max_length=200)
    active: bool = True
    created_at: datetime = created_at()


class CommunityGroup(SQLModel, table=True):
    __tablename__ = "community_group"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "leader_id"], ["leader.tenant_id", "leader.id"]),
        UniqueConstraint("tenant_id", "invite_code", name="community_group_invite_code_key"),
        Index("community_group_leader_idx", "tenant_id", "leader_id"),
    )

    tenant_id: UUID = tenant_key()
    id: UUID = Field(default_factory=uuid4, primary_key=True)
    leader_id: UUID
    name: str = Field(max_length=100)
    invite_code: str = Field(max_length=16)
    created_at: datetime = created_at()


class GroupMember(SQLModel, table=True):
    """A customer in a leader's group: what attributes their orders to that leader."""

    __tablename__ = "group_member"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "group_id"], ["community_group.tenant_id", "community_group.id"]),
        ForeignKeyConstraint(["tenant_id", "user_id"], ["app_user.tenant_id", "app_user.id"]),
        Index("group_member_user_idx", "tenant_id", "user_id"),
    )

    tenant_id: UUID = tenant_key()
    group_id: UUID = Field(primary_key=True)
    user_id: UUID = Field(primary_key=True)
    joined_at: datetime = created_at()
