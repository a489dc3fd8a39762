"""The scheduler's release of frozen commissions: leaders' (release_frozen_commissions()) and
sharers' distribution ones (release_frozen_distribution()), set-based."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from service.db import tenant_transaction

# Rows per transaction: bounds how long one call holds its row locks.
RELEASE_CHUNK = 20_000


async def release_commissions(chunk: int = RELEASE_CHUNK, engine: AsyncEngine | None = None) -> int:
    """Releases every due commission, a chunk per transaction; returns how many."""
    total = 0
    while True:
        async with tenant_transaction(None, engine=engine) as session:
            released = int((await session.execute(
                text("SELECT coalesce(sum(commissions), 0) FROM release_frozen_commissions(:n)"), {"n": chunk}
            )).scalar_one())
        total += released
        if released < chunk:
            break
    while True:  # the sharers' distribution commissions, the same way
        async with tenant_transaction(None, engine=engine) as session:
            released = int((await session.execute(
                text("SELECT coalesce(sum(commissions), 0) FROM release_frozen_distribution(:n)"), {"n": chunk}
            )).scalar_one())
        total += released
        if released < chunk:
            return total
