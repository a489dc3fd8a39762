"""Batches with orders built directly in SQL (as the owner), for tests of what happens after
the cutoff: the close, pick lists, purchase orders, commissions. Every invariant the ordering
code maintains holds in what this builds (offers' sold = active quantities, limits respected)."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import psycopg


@dataclass
class OrderSpec:
    customer: int
    point: int
    status: str  # PENDING_PAYMENT, PAID, PLACED or CANCELLED (by the customer, before the cutoff)
    lines: list[tuple[int, int]]  # (offer index, quantity)


@dataclass
class BatchSpec:
    suppliers: int
    products: list[tuple[int, int]]  # (supplier index, cost in minor units)
    points: int
    offers: list[tuple[int, int, int]]  # (product index, price in minor units, minimum group quantity)
    customers: int
    orders: list[OrderSpec]
    commission_rates: list[Decimal] = field(default_factory=lambda: [Decimal("0.1")])


@dataclass
class BuiltBatch:
    tenant_id: uuid.UUID
    batch_id: uuid.UUID
    supplier_ids: list[uuid.UUID]
    product_ids: list[uuid.UUID]
    point_ids: list[uuid.UUID]
    leader_ids: list[uuid.UUID]
    leader_user_ids: list[uuid.UUID]
    offer_ids: list[uuid.UUID]
    customer_ids: list[uuid.UUID]
    order_ids: list[uuid.UUID]


def _ids(n: int) -> list[uuid.UUID]:
    return [uuid.uuid4() for _ in range(n)]


def build_batch(conn: psycopg.Connection, tenant_id: uuid.UUID, spec: BatchSpec,
                closes_in: timedelta = timedelta(hours=1)) -> BuiltBatch:
    t = tenant_id
    now = datetime.now(UTC)
    suppliers, products, points = _ids(spec.suppliers), _ids(len(spec.products)), _ids(spec.points)
    leaders, leader_users, customers = _ids(spec.points), _ids(spec.points), _ids(spec.customers)
    offers, orders = _ids(len(spec.offers)), _ids(len(spec.orders))
    batch = uuid.uuid4()
    tag = batch.hex[:8]
    with conn.transaction():
        cur = conn.cursor()
        cur.executemany("INSERT INTO supplier (tenant_id, id, name, contact_email) VALUES (%s, %s, %s, %s)",
                        [(t, s, f"供应商 {i} {tag}", f"s{i}-{tag}@example.com") for i, s in enumerate(suppliers)])
        cur.executemany(
            "INSERT INTO product (tenant_id, id, supplier_id, name, unit, cost_minor, active) "
            "VALUES (%s, %s, %s, %s, %s, %s, true)",
            [(t, p, suppliers[s], f"产品 {i}", "500g", cost) for i, (p, (s, cost)) in enumerate(zip(products, spec.products))])
        users = [(t, u, "CUSTOMER", f"团长 {i}", f"+861{uuid.uuid4().int % 10**10:010d}", "x")
                 for i, u in enumerate(leader_users)]
        users += [(t, u, "CUSTOMER", f"顾客 {i}", f"+862{uuid.uuid4().int % 10**10:010d}", "x")
                  for i, u in enumerate(customers)]
        cur.executemany("INSERT INTO app_user (tenant_id, id, kind, display_name, phone, password_hash) "
                        "VALUES (%s, %s, %s, %s, %s, %s)", users)
        rates = spec.commission_rates
        cur.executemany(
            "INSERT INTO leader (tenant_id, id, user_id, display_name, phone, status, commission_rate, approved_at) "
            "VALUES (%s, %s, %s, %s, %s, 'APPROVED', %s, now())",
            [(t, ld, u, f"团长 {i}", f"+8613{i:09d}", rates[i % len(rates)])
             for i, (ld, u) in enumerate(zip(leaders, leader_users))])
        cur.executemany(
            "INSERT INTO pickup_point (tenant_id, id, leader_id, name, address, latitude, longitude, active) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, true)",
            [(t, p, leaders[i], f"自提点 {i}", f"上海市 {i} 号", 31.2 + i / 1000, 121.4 + i / 1000)
             for i, p in enumerate(points)])
        cur.execute(
            "INSERT INTO batch (tenant_id, id, title, status, opens_at, closes_at, pickup_date, opened_at) "
            "VALUES (%s, %s, %s, 'OPEN', %s, %s, %s, %s)",
            (t, batch, f"团期 {tag}", now - timedelta(hours=1), now + closes_in,
             (now + closes_in + timedelta(days=1)).date(), now - timedelta(hours=1)))
        sold = [0] * len(offers)
        per_customer: dict[tuple[int, int], int] = {}
        for o in spec.orders:
            if o.status != "CANCELLED":
                for offer, q in o.lines:
                    sold[offer] += q
                    per_customer[(offer, o.customer)] = per_customer.get((offer, o.customer), 0) + q
        cur.executemany(
            "INSERT INTO offer (tenant_id, id, batch_id, product_id, position, price_minor, stock_limit, "
            "min_group_quantity) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            [(t, f, batch, products[p], i, price, (sold[i] + i % 2 * 5) or None, minimum)
             for i, (f, (p, price, minimum)) in enumerate(zip(offers, spec.offers))])
        # What the lines below hold, taken from slot 0 (their stock_slot).
        cur.executemany("SELECT offer_stock_take(%s, %s, 0, %s)",
                        [(t, f, sold[i]) for i, f in enumerate(offers) if sold[i]])
        cur.executemany(
            "INSERT INTO offer_customer_quantity (tenant_id, offer_id, customer_id, quantity) VALUES (%s, %s, %s, %s)",
            [(t, offers[f], customers[c], q) for (f, c), q in per_customer.items()])
        order_rows, line_rows = [], []
        for n, (oid, o) in enumerate(zip(orders, spec.orders)):
            merged: dict[int, int] = {}
            for offer, q in o.lines:
                merged[offer] = merged.get(offer, 0) + q
            total = sum(q * spec.offers[f][1] for f, q in merged.items())
            order_rows.append((t, oid, f"T{tag}{n:06d}", batch, points[o.point], customers[o.customer],
                               f"顾客 {o.customer}", leaders[o.point], rates[o.point % len(rates)], o.status,
                               "CNY", total, 0, f"{n:06d}", f"key-{n}", "h"))
            line_status = "CANCELLED" if o.status == "CANCELLED" else "ACTIVE"
            for pos, (offer, q) in enumerate(sorted(merged.items())):
                line_rows.append((t, uuid.uuid4(), oid, offers[offer], products[spec.offers[offer][0]], pos,
                                  f"产品 {spec.offers[offer][0]}", q, spec.offers[offer][1], line_status))
        cur.executemany(
            "INSERT INTO customer_order (tenant_id, id, number, batch_id, pickup_point_id, customer_id, "
            "customer_name, leader_id, commission_rate, status, currency, total_minor, refunded_minor, "
            "pickup_code, idempotency_key, request_hash) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)", order_rows)
        cur.executemany(
            "INSERT INTO order_line (tenant_id, id, order_id, offer_id, product_id, position, product_name, "
            "quantity, unit_price_minor, status) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)", line_rows)
    return BuiltBatch(tenant_id=t, batch_id=batch, supplier_ids=suppliers, product_ids=products, point_ids=points,
                      leader_ids=leaders, leader_user_ids=leader_users, offer_ids=offers, customer_ids=customers,
                      order_ids=orders)


def random_spec(rng: random.Random, *, orders: int = 30) -> BatchSpec:
    suppliers = rng.randint(1, 3)
    products = [(rng.randrange(suppliers), rng.randint(100, 5000)) for _ in range(rng.randint(1, 5))]
    offers = [(p, rng.randint(150, 9000), rng.randint(1, 8)) for p in range(len(products))]
    customers = rng.randint(1, 10)
    points = rng.randint(1, 4)
    specs = []
    for _ in range(orders):
        chosen = rng.sample(range(len(offers)), rng.randint(1, len(offers)))
        specs.append(OrderSpec(customer=rng.randrange(customers), point=rng.randrange(points),
                               status=rng.choice(["PENDING_PAYMENT", "PAID", "PAID", "PLACED", "CANCELLED"]),
                               lines=[(f, rng.randint(1, 3)) for f in chosen]))
    rates = [Decimal(rng.choice(["0.05", "0.1", "0.125", "0.15", "0.3333"])) for _ in range(points)]
    return BatchSpec(suppliers=suppliers, products=products, points=points, offers=offers, customers=customers,
                     orders=specs, commission_rates=rates)
