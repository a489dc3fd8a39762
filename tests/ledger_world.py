"""A leader with picked-up orders, for the ledger tests: a batch built in SQL and closed by the
close, commissions earned and released by the real code (earn_commission, the release function)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from decimal import Decimal

import psycopg

from service import global_id
from tests.close_fixtures import BatchSpec, OrderSpec, build_batch
from tests.conftest import run_db
from tests.ordering_fixtures import _token


@dataclass
class MoneyWorld:
    tenant_id: uuid.UUID
    leader_id: uuid.UUID
    leader_user_id: uuid.UUID
    leader_token: str
    order_ids: list[uuid.UUID]
    # With `sharers`: the sharers' users (level 1, level 2) paid on every order.
    sharer_ids: list[uuid.UUID] = field(default_factory=list)

    @property
    def leader_gid(self) -> str:
        return global_id.encode("Leader", self.leader_id)


def money_world(owner_db: psycopg.Connection, tenant_id: uuid.UUID, *, orders: int, price: int = 1000,
                quantity: int = 1, rate: str = "0.1", prices: list[int] | None = None,
                sharers: tuple[str, str] | None = None,
                sharer_users: list[uuid.UUID | None] | None = None) -> MoneyWorld:
    """`orders` paid orders of one customer each at one point, closed: each commission is
    rate x quantity x price (PENDING); with `prices`, order i buys at prices[i % len(prices)].
    With `sharers` (the tenant's level-1 and level-2 distribution rates), every order was placed
    through a share chain of two sharers (order_referral), so the close writes their PENDING
    distribution commissions too. `sharer_users` names existing users as the sharers (None: a new one)."""
    from service.db import tenant_transaction
    from service.procurement.close import close_batch

    prices = prices or [price]
    spec = BatchSpec(suppliers=1, products=[(0, 100)] * len(prices), points=1,
                     offers=[(i, p, 1) for i, p in enumerate(prices)],
                     customers=max(orders, 1),
                     orders=[OrderSpec(i, 0, "PAID", [(i % len(prices), quantity)]) for i in range(orders)],
                     commission_rates=[Decimal(rate)])
    built = build_batch(owner_db, tenant_id, spec)
    sharer_ids: list[uuid.UUID] = []
    if sharers is not None:
        given = sharer_users or [None, None]
        sharer_ids = [u or uuid.uuid4() for u in given]
        with owner_db.transaction():
            owner_db.execute("UPDATE tenant SET distribution_enabled = true, distribution_level1_rate = %s, "
                             "distribution_level2_rate = %s WHERE id = %s", (sharers[0], sharers[1], tenant_id))
            for n, u in enumerate(sharer_ids):
                if given[n] is not None:
                    continue
                owner_db.execute("INSERT INTO app_user (tenant_id, id, kind, display_name, phone, password_hash) "
                                 "VALUES (%s, %s, 'CUSTOMER', %s, %s, 'x')",
                                 (tenant_id, u, f"分享者 {n + 1}", f"+863{uuid.uuid4().int % 10**10:010d}"))
            for o, c in zip(built.order_ids, [built.customer_ids[i] for i in range(orders)], strict=True):
                for level, u in enumerate(sharer_ids, start=1):
                    owner_db.execute("INSERT INTO order_referral (tenant_id, order_id, level, referrer_id, customer_id) "
                                     "VALUES (%s, %s, %s, %s, %s)", (tenant_id, o, level, u, c))

    async def go(engine):  # type: ignore[no-untyped-def]
        async with tenant_transaction(tenant_id, engine=engine) as session:
            return await close_batch(session, tenant_id=tenant_id, batch_id=built.batch_id)

    run_db(go)
    return MoneyWorld(tenant_id=tenant_id, leader_id=built.leader_ids[0], leader_user_id=built.leader_user_ids[0],
                      leader_token=_token(tenant_id, built.leader_user_ids[0]), order_ids=built.order_ids,
                      sharer_ids=sharer_ids)


def another_order(owner_db: psycopg.Connection, world: MoneyWorld, *, price: int, rate: str = "0.1") -> uuid.UUID:
    """One more paid order at the world's leader's point (with its sharers, if any), in a batch of
    its own that the close closes: its commissions are PENDING. Appended to world.order_ids."""
    from service.db import tenant_transaction
    from service.procurement.close import close_batch

    t = world.tenant_id
    spec = BatchSpec(suppliers=1, products=[(0, 100)], points=1, offers=[(0, price, 1)], customers=1,
                     orders=[OrderSpec(0, 0, "PAID", [(0, 1)])], commission_rates=[Decimal(rate)])
    built = build_batch(owner_db, t, spec)
    order, customer = built.order_ids[0], built.customer_ids[0]
    with owner_db.transaction():
        owner_db.execute("UPDATE customer_order o SET pickup_point_id = w.pickup_point_id, leader_id = w.leader_id "
                         "FROM customer_order w WHERE w.tenant_id = %s AND w.id = %s AND o.tenant_id = %s "
                         "AND o.id = %s", (t, world.order_ids[0], t, order))
        for level, u in enumerate(world.sharer_ids, start=1):
            owner_db.execute("INSERT INTO order_referral (tenant_id, order_id, level, referrer_id, customer_id) "
                             "VALUES (%s, %s, %s, %s, %s)", (t, order, level, u, customer))

    async def go(engine):  # type: ignore[no-untyped-def]
        async with tenant_transaction(t, engine=engine) as session:
            return await close_batch(session, tenant_id=t, batch_id=built.batch_id)

    run_db(go)
    world.order_ids.append(order)
    return order


def earn(tenant_id: uuid.UUID, order_ids: list[uuid.UUID]) -> None:
    """The pickups: each order's commissions PENDING -> EARNED, the leader's and the sharers'
    (as pickupConfirm does)."""
    from service.db import tenant_transaction
    from service.growth import distribution
    from service.procurement.commissions import earn_commission

    async def go(engine):  # type: ignore[no-untyped-def]
        async with tenant_transaction(tenant_id, engine=engine) as session:
            for o in order_ids:
                await earn_commission(session, tenant_id=tenant_id, order_id=o)
                await distribution.earn(session, tenant_id=tenant_id, order_id=o)

    run_db(go)


def refund(tenant_id: uuid.UUID, order_id: uuid.UUID) -> None:
    """After-sales refund of the order's (only) line, by the real refund path."""
    from sqlalchemy import text

    from service.accounts.models import PaymentMode
    from service.aftersales.refunds import Actor
    from service.db import tenant_transaction
    from service.procurement.operations import refund_lines
    from service.tenants.principal import TenantInfo

    tenant = TenantInfo(id=tenant_id, slug="t", name="t", timezone="Asia/Shanghai", currency="CNY",
                        payment_mode=PaymentMode.PREPAID, default_commission_rate=Decimal("0.1"),
                        payment_window_minutes=15)

    async def go(engine):  # type: ignore[no-untyped-def]
        async with tenant_transaction(tenant_id, engine=engine) as session:
            lines = (await session.execute(text("SELECT id FROM order_line WHERE order_id = :o AND status = 'ACTIVE'"),
                                           {"o": order_id})).scalars().all()
            await refund_lines(session, tenant=tenant, order_id=order_id, line_ids=list(lines), reason="damaged",
                               actor=Actor("platform"))

    run_db(go)


def age(owner_db: psycopg.Connection, tenant_id: uuid.UUID, days: int = 30) -> None:
    """Moves the tenant's earned commissions back in time: their freeze is over."""
    # In UTC (immutable arithmetic): Citus refuses a stable function of a column in an UPDATE.
    owner_db.execute("UPDATE commission_entry SET earned_at = (earned_at AT TIME ZONE 'UTC' "
                     "- make_interval(days => %s)) AT TIME ZONE 'UTC' "
                     "WHERE tenant_id = %s AND earned_at IS NOT NULL", (days, tenant_id))
    owner_db.execute("UPDATE distribution_commission SET earned_at = (earned_at AT TIME ZONE 'UTC' "
                     "- make_interval(days => %s)) AT TIME ZONE 'UTC' "
                     "WHERE tenant_id = %s AND earned_at IS NOT NULL", (days, tenant_id))


def release(app_db_url: str, tenant_id: uuid.UUID | None = None) -> int:
    """One run of the scheduler's release (the SQL functions the job calls, leaders' and
    sharers' commissions), as the app role: how many it released, in `tenant_id` if given
    (the job runs over every tenant, and other tests' tenants share the database)."""
    where = "WHERE tenant_id = %(t)s" if tenant_id else ""
    with psycopg.connect(app_db_url, autocommit=True) as conn:
        return int(conn.execute(
            f"SELECT (SELECT coalesce(sum(commissions), 0) FROM release_frozen_commissions(100000) {where}) "
            f"+ (SELECT coalesce(sum(commissions), 0) FROM release_frozen_distribution(100000) {where})",
            {"t": tenant_id}).fetchone()[0])


def buckets(owner_db: psycopg.Connection, tenant_id: uuid.UUID, user_id: uuid.UUID) -> dict[str, int]:
    row = owner_db.execute(
        "SELECT coalesce(sum(frozen_minor), 0), coalesce(sum(available_minor), 0), "
        "coalesce(sum(in_withdrawal_minor), 0), coalesce(sum(withdrawn_minor), 0) "
        "FROM ledger_entry WHERE tenant_id = %s AND beneficiary_id = %s", (tenant_id, user_id)).fetchone()
    return dict(zip(("frozen", "available", "in_withdrawal", "withdrawn"), map(int, row), strict=True))


def kinds(owner_db: psycopg.Connection, tenant_id: uuid.UUID, user_id: uuid.UUID) -> list[tuple[str, int]]:
    """In the order they were written, as a statement lists them (on Citus `seq` alone is not: each
    node draws it from a range of its own, and the triggers' entries are written on the workers)."""
    return [(k, int(a)) for k, a in owner_db.execute(
        "SELECT kind, amount_minor FROM ledger_entry WHERE tenant_id = %s AND beneficiary_id = %s ORDER BY at, seq",
        (tenant_id, user_id)).fetchall()]


def write_again(owner_db: psycopg.Connection, tenant_id: uuid.UUID, kind: str) -> None:
    """One of the tenant's entries of `kind` written a second time (as the owner), by a plain INSERT:
    on Citus an INSERT ... SELECT goes through the coordinator, which reports a unique violation
    as an internal error."""
    row = owner_db.execute("SELECT tenant_id, beneficiary_id, kind, currency, amount_minor, commission_id "
                           "FROM ledger_entry WHERE tenant_id = %s AND kind = %s LIMIT 1", (tenant_id, kind)).fetchone()
    assert row is not None
    owner_db.execute("INSERT INTO ledger_entry (tenant_id, beneficiary_id, kind, currency, amount_minor, commission_id) "
                     "VALUES (%s, %s, %s, %s, %s, %s)", row)
