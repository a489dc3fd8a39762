"""Demo data: one tenant with data in every domain, created when the database is empty.

`seed_tenant` also fills any tenant created by the tests, so checks that must see a row in
every tenant table (isolation, Citus readiness) cover new tables as soon as a domain seeds them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from service.accounts import operations
from service.accounts.demo import seed_password_reset
from service.accounts.models import PaymentMode
from service.aftersales.demo import seed_shortages
from service.batches.demo import seed_batches
from service.catalog.demo import seed_catalog
from service.config import get_settings
from service.coupons.demo import seed_coupons
from service.db import tenant_transaction
from service.groupbuys.demo import seed_group_buys
from service.growth.demo import seed_growth
from service.leaders.demo import seed_community
from service.ledger.demo import seed_ledger
from service.notify.demo import seed_notifications
from service.procurement.demo import seed_closed_batch, seed_last_week_orders

DEMO_SLUG = "demo"
DEMO_ADMIN = ("admin@demo.example", "demo-admin-1")


@dataclass
class DemoLogins:
    tenant_slug: str
    logins: list[tuple[str, str, str]] = field(default_factory=list)  # (role, login, password)
    api_key: str | None = None


# Each domain appends an async seed(session, tenant_id, logins) that creates its demo objects;
# seeds run in order with the tenant set, later seeds may use earlier ones' rows.
Seed = Callable[[AsyncSession, UUID, DemoLogins], Awaitable[None]]
DEMO_SEEDS: list[Seed] = [seed_catalog, seed_community, seed_batches, seed_last_week_orders, seed_closed_batch,
                          seed_notifications]
# The seeds' transaction commits after these: orders check their batch's cutoff when they commit (on
# Citus on the worker, which SET CONSTRAINTS does not reach), so last week's must commit before it closes.
COMMIT_AFTER: set[Seed] = {seed_last_week_orders}
DEMO_SEEDS.append(seed_password_reset)
DEMO_SEEDS.append(seed_shortages)
DEMO_SEEDS.append(seed_growth)
DEMO_SEEDS.append(seed_group_buys)
DEMO_SEEDS.append(seed_coupons)
DEMO_SEEDS.append(seed_ledger)


async def database_is_empty() -> bool:
    async with tenant_transaction(None) as session:
        return (await session.execute(text("SELECT count(*) FROM tenant"))).scalar_one() == 0


async def seed_tenant(tenant_id: UUID, logins: DemoLogins, *, engine: AsyncEngine | None = None) -> DemoLogins:
    pending = list(DEMO_SEEDS)
    while pending:
        async with tenant_transaction(tenant_id, engine=engine) as session:
            if get_settings().citus:
                # One transaction writes many domains, `tenant` (a reference table) after statements
                # over several shards: Citus allows that only over one connection per node.
                await session.execute(text("SET LOCAL citus.multi_shard_modify_mode TO 'sequential'"))
            while pending:
                seed = pending.pop(0)
                await seed(session, tenant_id, logins)
                if seed in COMMIT_AFTER:
                    break
    return logins


async def seed_demo() -> DemoLogins | None:
    """Creates the demo tenant when the database has no tenant at all; None otherwise."""
    if not await database_is_empty():
        return None
    async with tenant_transaction(None) as session:
        created = await operations.create_tenant(
            session, slug=DEMO_SLUG, name="邻里鲜 Demo Market", timezone="Asia/Shanghai", currency="CNY",
            payment_mode=PaymentMode.PREPAID, admin_email=DEMO_ADMIN[0], admin_password=DEMO_ADMIN[1],
        )
    logins = DemoLogins(tenant_slug=DEMO_SLUG, api_key=created.api_key)
    logins.logins.append(("TENANT_ADMIN", *DEMO_ADMIN))
    return await seed_tenant(created.tenant.id, logins)
