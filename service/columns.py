"""Column conventions shared by every table.

Tenant-owned tables have `tenant_id` first in the primary key and in every foreign key,
so the schema can be distributed by tenant (Citus) and no join can cross tenants.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal, overload
from uuid import UUID, uuid4

from sqlalchemy import DateTime, text
from sqlmodel import Field


def now_utc() -> datetime:
    return datetime.now(UTC)


def tenant_key(*, references_tenant: bool = True) -> UUID:
    """`references_tenant=False` for a table with a composite foreign key (tenant_id, ...) to another
    tenant table: that key already proves the tenant exists, and a second check per row written
    costs bulk writes such as the close (tests/test_citus_readiness.py checks the chain)."""
    if references_tenant:
        return Field(primary_key=True, foreign_key="tenant.id", nullable=False)
    return Field(primary_key=True, nullable=False)


def row_id() -> UUID:
    return Field(default_factory=uuid4, primary_key=True, nullable=False)


def created_at() -> datetime:
    return Field(
        default_factory=now_utc,
        sa_type=DateTime(timezone=True),
        sa_column_kwargs={"server_default": text("clock_timestamp()")},
        nullable=False,
    )


@overload
def timestamp(nullable: Literal[False]) -> datetime: ...
@overload
def timestamp(nullable: bool = True) -> datetime | None: ...
def timestamp(nullable: bool = True) -> datetime | None:
    return Field(default=None, sa_type=DateTime(timezone=True), nullable=nullable)
