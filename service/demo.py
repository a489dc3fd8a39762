"""Demo data for a fresh database: one tenant with an admin (more comes with each domain)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import text

from service.accounts import operations
from service.accounts.models import PaymentMode
from service.db import tenant_transaction

DEMO_SLUG = "demo"
DEMO_ADMIN = ("admin@demo.example", "demo-admin-1")


@dataclass
class DemoLogins:
    tenant_slug: str
    logins: list[tuple[str, str, str]] = field(default_factory=list)  # (role, login, password)
    api_key: str | None = None


async def database_is_empty() -> bool:
    async with tenant_transaction(None) as session:
        return (await session.execute(text("SELECT count(*) FROM tenant"))).scalar_one() == 0


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
        for seed in DEMO_SEEDS:
            await seed(session, created.tenant.id, logins)
    return logins


# Each domain appends an async seed(session, tenant_id, logins) for its demo objects.
DEMO_SEEDS: list = []
