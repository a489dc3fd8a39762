"""`groupbuy audit verify`: a tenant's chain checked end to end, as the owner."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.audit.chain import Break, Walk
from service.audit.queries import stream
from service.db import owner_engine, set_tenant


class UnknownTenant(LookupError):
    pass


async def verify_tenant(slug: str) -> tuple[int, Break | None]:
    """(entries checked, the first break or None)."""
    # One snapshot: entries appended while it reads would otherwise look like a head past the end.
    engine = owner_engine().execution_options(isolation_level="REPEATABLE READ")
    async with AsyncSession(engine) as session, session.begin():
        tenant_id = (await session.execute(text("SELECT id FROM tenant WHERE slug = :s"), {"s": slug})).scalar()
        if tenant_id is None:
            raise UnknownTenant(slug)
        await set_tenant(session, tenant_id)  # an owner without BYPASSRLS sees the tenant's rows too
        walk, count = Walk(), 0
        async for entry in stream(session, tenant_id=tenant_id):
            count += 1
            found = walk.feed(entry)
            if found is not None:
                return count, found
        row = (await session.execute(text("SELECT seq, hash FROM audit_chain_head WHERE tenant_id = :t"),
                                     {"t": tenant_id})).first()
        head = (int(row.seq), row.hash) if row is not None else (0, None)
        return count, walk.end(head)
