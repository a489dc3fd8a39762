"""The storefront world for the order, catalog and RLS benchmarks, made directly in SQL as the
owner (like tests/ordering_fixtures.py): suppliers, products, leaders with pickup points,
customers with tokens, an OPEN batch with 1,000 offers for ordering and OPEN batches of 10, 50
and 100 offers for the catalog. Ids are deterministic so pgbench scripts can name them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from bench.common import Env


def did(kind: str, n: int) -> uuid.UUID:
    """A deterministic id: kind is one hex digit (a: point, b: leader, c: product, 8: order offer,
    9: customer, d: supplier, e: leader user, f: catalog offer)."""
    return uuid.UUID(f"00000000-0000-4000-{kind}000-{n:012d}")


ORDER_OFFERS = 1000
POINTS = 100
SUPPLIERS = 50
CATALOG_SIZES = (10, 50, 100)
PRICE = 990
HOT_STOCK = 100_000_000


@dataclass
class World:
    tenant_id: uuid.UUID
    slug: str
    batch_id: uuid.UUID
    customers: list[uuid.UUID]
    tokens: list[str]
    catalog_batches: dict[int, uuid.UUID] = field(default_factory=dict)


def build_world(env: Env, customers: int = 500) -> World:
    from service.accounts.credentials import issue_user_token

    t = env.tenant_id
    assert t is not None
    now = datetime.now(UTC)
    batch = uuid.uuid4()
    with env.owner() as conn, conn.transaction():
        cur = conn.cursor()
        cur.executemany("INSERT INTO supplier (tenant_id, id, name) VALUES (%s, %s, %s)",
                        [(t, did("d", i), f"供应商 {i}") for i in range(SUPPLIERS)])
        cur.executemany(
            "INSERT INTO product (tenant_id, id, supplier_id, name, unit, cost_minor, active) "
            "VALUES (%s, %s, %s, %s, '500g', 500, true)",
            [(t, did("c", i), did("d", i % SUPPLIERS), f"产品 {i}") for i in range(ORDER_OFFERS)])
        users = [(t, did("e", i), f"团长 {i}", f"+8613{i:09d}") for i in range(POINTS)]
        users += [(t, did("9", i), f"顾客 {i}", f"+8615{i:09d}") for i in range(customers)]
        cur.executemany("INSERT INTO app_user (tenant_id, id, kind, display_name, phone, password_hash) "
                        "VALUES (%s, %s, 'CUSTOMER', %s, %s, 'x')", users)
        cur.executemany(
            "INSERT INTO leader (tenant_id, id, user_id, display_name, phone, status, commission_rate, approved_at) "
            "VALUES (%s, %s, %s, %s, %s, 'APPROVED', 0.1, now())",
            [(t, did("b", i), did("e", i), f"团长 {i}", f"+8613{i:09d}") for i in range(POINTS)])
        cur.executemany(
            "INSERT INTO pickup_point (tenant_id, id, leader_id, name, address, latitude, longitude, active) "
            "VALUES (%s, %s, %s, %s, %s, 31.2, 121.4, true)",
            [(t, did("a", i), did("b", i), f"自提点 {i}", f"上海市 {i} 号") for i in range(POINTS)])
        batches = [(batch, "Bench orders")]
        catalog: dict[int, uuid.UUID] = {}
        for size in CATALOG_SIZES:
            catalog[size] = uuid.uuid4()
            batches.append((catalog[size], f"Catalog {size}"))
        cur.executemany(
            "INSERT INTO batch (tenant_id, id, title, status, opens_at, closes_at, pickup_date, opened_at) "
            "VALUES (%s, %s, %s, 'OPEN', %s, %s, %s, %s)",
            [(t, b, title, now - timedelta(hours=1), now + timedelta(days=2), (now + timedelta(days=3)).date(),
              now - timedelta(hours=1)) for b, title in batches])
        offers = [(t, did("8", i), batch, did("c", i), i, PRICE, HOT_STOCK, None) for i in range(ORDER_OFFERS)]
        n = 0
        for size, b in catalog.items():
            for i in range(size):
                offers.append((t, uuid.uuid4(), b, did("c", i), i, 1000 + i, 500 + i, 5))
                n += 1
        cur.executemany(
            "INSERT INTO offer (tenant_id, id, batch_id, product_id, position, price_minor, stock_limit, "
            "per_customer_limit, min_group_quantity) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, 1)",
            offers)
    with env.owner() as conn:
        conn.execute("ANALYZE")
    ids = [did("9", i) for i in range(customers)]
    return World(tenant_id=t, slug=env.tenant_slug, batch_id=batch, customers=ids,
                 tokens=[issue_user_token(tenant_id=t, user_id=c) for c in ids], catalog_batches=catalog)


def oversold(env: Env, batch_id: uuid.UUID) -> list[tuple]:
    """Stock slots whose books do not balance: sold above the slot's quota or the offer's limit, or
    sold != the active quantity of the lines that took from the slot.
    Empty means no oversell."""
    with env.owner() as conn:
        return conn.execute(
            """
            SELECT o.id, s.slot, s.sold, s.quota, o.stock_limit, coalesce(l.q, 0)
              FROM offer o
              JOIN offer_stock_slot s ON s.tenant_id = o.tenant_id AND s.offer_id = o.id
              LEFT JOIN (SELECT offer_id, stock_slot, sum(quantity) AS q FROM order_line
                          WHERE status = 'ACTIVE' GROUP BY offer_id, stock_slot) l
                ON l.offer_id = o.id AND l.stock_slot = s.slot
             WHERE o.batch_id = %s
               AND (s.sold > coalesce(s.quota, s.sold) OR s.sold <> coalesce(l.q, 0)
                    OR offer_sold(o) > coalesce(o.stock_limit, offer_sold(o)))
            """,
            (batch_id,),
        ).fetchall()
