"""Column conventions shared by every table.

Tenant-owned tables have `tenant_id` first in the primary key and in every foreign key,
so the schema can be distributed by tenant (Citus) and no join can cross tenants.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal, overload
from uuid import UUID, uuid4

from sqlalchemy import ColumnElement, DateTime, Uuid, bindparam, or_, text
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


# The tenant of the session running a statement, as a parameter: on Citus, service.db supplies it
# to every ORM statement. Citus sends a query to one shard only when every distributed table in it
# is filtered to the tenant by a value: a subquery correlated on `s.tenant_id = o.tenant_id` alone
# makes the whole statement run on every shard.
SCOPE_TENANT = "scope_tenant"


def in_scope(tenant_column: Any) -> ColumnElement[bool]:
    """`tenant_column` is the session's tenant; no restriction when none is given (one node)."""
    scope = bindparam(SCOPE_TENANT, None, type_=Uuid)
    return or_(scope.is_(None), tenant_column == scope)
