"""Which tenants have work for a scheduler job.

Row-level security hides every tenant's rows unless the transaction names the tenant, so one
read-only transaction walks the tenant list, naming each tenant in turn, and asks a cheap,
indexed EXISTS. The work itself then runs in one transaction per tenant that has any.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from service.db import set_tenant, tenant_transaction


async def tenants_having(
    exists_sql: str,
    params: dict[str, Any] | None = None,
    *,
    where_tenant: str = "TRUE",
    engine: AsyncEngine | None = None,
) -> list[UUID]:
    """Tenants (filtered by `where_tenant` on the tenant table) for which `exists_sql` — a
    boolean query run as that tenant — is true."""
    found = []
    async with tenant_transaction(None, engine=engine) as session:
        tenants = (
            (
                await session.execute(
                    text(f"SELECT id FROM tenant WHERE {where_tenant} ORDER BY id"), params or {}
                )
            )
            .scalars()
            .all()
        )
        for tenant_id in tenants:
            await set_tenant(session, tenant_id)
            if (await session.execute(text(exists_sql), {**(params or {}), "t": tenant_id})).scalar():
                found.append(tenant_id)
    return found
