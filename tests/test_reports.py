"""salesReport against an independent model: seeded random orders, lines and refunds of two
tenants in two time zones (one with a DST change in the period) are summed here in Python, and
every grouping's rows and total must equal the API's; the CSV link gives the same rows."""

from __future__ import annotations

import csv
import io
import random
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import httpx
import pytest

from service import global_id
from tests.ordering_fixtures import add_leader, bulk_customers

REPORT = """
query($input: SalesReportInput!) {
  salesReport(input: $input) {
    rows { key label orders customers units gmv { amount currency } refunded { amount currency } }
    total { key label orders customers units gmv { amount currency } refunded { amount currency } }
    csvUrl
  }
}"""
GROUPINGS = ("DAY", "BATCH", "LEADER", "PICKUP_POINT", "PRODUCT", "SUPPLIER")
STATUSES = ("PENDING_PAYMENT", "PAID", "PLACED", "CONFIRMED", "READY_FOR_PICKUP", "PICKED_UP", "CANCELLED")
COUNTED = {"PAID", "PLACED", "CONFIRMED", "READY_FOR_PICKUP", "PICKED_UP"}
FORMULA_NAME = '=HYPERLINK("https://evil.example","x")'


@dataclass
class Line:
    id: uuid.UUID
    position: int
    product: uuid.UUID
    quantity: int
    price: int
    active: bool


@dataclass
class Order:
    id: uuid.UUID
    batch: uuid.UUID
    point: uuid.UUID
    leader: uuid.UUID
    customer: uuid.UUID
    status: str
    at: datetime
    lines: list[Line] = field(default_factory=list)


@dataclass
class Refund:
    order: Order
    line: Line | None
    amount: int
    at: datetime


@dataclass
class Shop:
    """One tenant's rows, as written, for the model."""

    tz: ZoneInfo
    currency: str
    period: tuple[date, date]
    names: dict[uuid.UUID, str]  # batch, leader, point, product and supplier names
    supplier_of: dict[uuid.UUID, uuid.UUID]
    orders: list[Order]
    refunds: list[Refund]


def _local(shop: Shop, d: date, hour: int, minute: int) -> datetime:
    return datetime.combine(d, time(hour, minute), tzinfo=shop.tz).astimezone(UTC)


def build_shop(owner_db, tenant, tz: str, currency: str, period: tuple[date, date], seed: int) -> Shop:  # type: ignore[no-untyped-def]
    """A random month of one tenant, written as the owner with triggers off, and its edge orders:
    23:30 local on the last day and 00:00 on the first count; 00:30 the day after and 23:59 the
    day before do not."""
    rng = random.Random(seed)
    t = tenant.uuid
    shop = Shop(ZoneInfo(tz), currency, period, {}, {}, [], [])
    suppliers = [uuid.uuid4() for _ in range(2)]
    products = [uuid.uuid4() for _ in range(5)]
    batches = [uuid.uuid4() for _ in range(3)]
    # SET LOCAL in a transaction: Citus passes it on to the shards' connections (propagate_set_commands).
    with owner_db.transaction():
        owner_db.execute("SET LOCAL session_replication_role = replica")
        for i, s in enumerate(suppliers):
            shop.names[s] = f"Supplier {i} 农场"
            owner_db.execute("INSERT INTO supplier (tenant_id, id, name) VALUES (%s, %s, %s)", (t, s, shop.names[s]))
        for i, p in enumerate(products):
            shop.names[p] = FORMULA_NAME if i == 0 else f"Product {i} 苹果"
            shop.supplier_of[p] = suppliers[i % 2]
            owner_db.execute("INSERT INTO product (tenant_id, id, supplier_id, name, unit, cost_minor, active) "
                             "VALUES (%s, %s, %s, %s, 'box', 100, true)", (t, p, shop.supplier_of[p], shop.names[p]))
        leaders, points = [], []
        for i in range(2):
            _, leader, _ = add_leader(owner_db, tenant)
            owner_db.execute("UPDATE leader SET display_name = %s WHERE id = %s", (f"Leader {i} 王", leader))
            shop.names[leader] = f"Leader {i} 王"
            leaders.append(leader)
        for i in range(3):
            point, leader = uuid.uuid4(), leaders[i % 2]
            shop.names[point] = f"Point {i}"
            owner_db.execute("INSERT INTO pickup_point (tenant_id, id, leader_id, name, address, latitude, longitude, "
                             "active) VALUES (%s, %s, %s, %s, 'Road', 31.2, 121.4, true)", (t, point, leader, f"Point {i}"))
            points.append((point, leader))
        offers: dict[tuple[uuid.UUID, uuid.UUID], uuid.UUID] = {}
        for i, b in enumerate(batches):
            shop.names[b] = f"Batch {i} 第{i}期"
            owner_db.execute(
                "INSERT INTO batch (tenant_id, id, title, status, opens_at, closes_at, pickup_date) "
                "VALUES (%s, %s, %s, %s, now() - interval '2 days', now() - interval '1 day', current_date)",
                (t, b, shop.names[b], "CLOSED" if i == 0 else "OPEN"))
            for k, p in enumerate(products):
                offers[b, p] = uuid.uuid4()
                owner_db.execute("INSERT INTO offer (tenant_id, id, batch_id, product_id, position, price_minor, min_group_quantity) "
                                 "VALUES (%s, %s, %s, %s, %s, 100, 1)", (t, offers[b, p], b, p, k))
        customers = [c for c, _ in bulk_customers(owner_db, tenant, 8)]
        first, last = period
        span = int((datetime.combine(last, time()) - datetime.combine(first, time())).total_seconds()) + 4 * 86400
        start = _local(shop, first - timedelta(days=2), 0, 0)
        times = [start + timedelta(seconds=rng.randrange(span)) for _ in range(70)]
        times += [_local(shop, last, 23, 30), _local(shop, first, 0, 0),
                  _local(shop, last + timedelta(days=1), 0, 30), _local(shop, first - timedelta(days=1), 23, 59)]
        for n, at in enumerate(times):
            point, leader = rng.choice(points)
            edge = n >= 70
            order = Order(uuid.uuid4(), rng.choice(batches), point, leader, rng.choice(customers),
                          "PAID" if edge else rng.choice(STATUSES), at)
            for pos, p in enumerate(rng.sample(products, rng.randint(1, 3))):
                order.lines.append(Line(uuid.uuid4(), pos, p, rng.randint(1, 4), rng.choice((99, 1000, 2550, 12345)),
                                        edge or rng.random() > 0.15))
            shop.orders.append(order)
            total = sum(x.quantity * x.price for x in order.lines if x.active)
            owner_db.execute(
                "INSERT INTO customer_order (tenant_id, id, number, batch_id, pickup_point_id, customer_id, "
                "customer_name, leader_id, commission_rate, status, currency, total_minor, pickup_code, "
                "idempotency_key, request_hash, paid_at, cancelled_at, created_at) "
                "VALUES (%s, %s, %s, %s, %s, %s, 'C', %s, 0.1, %s, %s, %s, %s, %s, 'h', %s, %s, %s)",
                (t, order.id, f"R{seed}{n:05d}", order.batch, point, order.customer, leader, order.status, currency,
                 total, f"{n:06d}", f"k{n}", None if order.status == "PENDING_PAYMENT" else at,
                 at if order.status == "CANCELLED" else None, at))
            for x in order.lines:
                owner_db.execute(
                    "INSERT INTO order_line (tenant_id, id, order_id, offer_id, product_id, position, product_name, "
                    "quantity, unit_price_minor, status) VALUES (%s, %s, %s, %s, %s, %s, 'x', %s, %s, %s)",
                    (t, x.id, order.id, offers[order.batch, x.product], x.product, x.position, x.quantity, x.price,
                     "ACTIVE" if x.active else "CANCELLED"))
        refund_times = [start + timedelta(seconds=rng.randrange(span)) for _ in range(25)]
        refund_times += [_local(shop, last, 23, 30), _local(shop, last + timedelta(days=1), 0, 30)]
        for at in refund_times:
            order = rng.choice(shop.orders)
            line = rng.choice(order.lines) if rng.random() < 0.4 else None
            whole = sum(x.quantity * x.price for x in order.lines)
            amount = rng.randint(1, line.quantity * line.price if line else whole)
            shop.refunds.append(Refund(order, line, amount, at))
            owner_db.execute(
                "INSERT INTO refund (tenant_id, id, order_id, order_line_id, amount_minor, currency, reason, created_at) "
                "VALUES (%s, %s, %s, %s, %s, %s, 'r', %s)",
                (t, uuid.uuid4(), order.id, line.id if line else None, amount, currency, at))
    return shop


# -- the model ------------------------------------------------------------------------------------
def _money(minor: int, currency: str) -> str:
    digits = 0 if currency == "JPY" else 2
    return str((Decimal(minor) / (10 ** digits)).quantize(Decimal(1).scaleb(-digits)))


def _key(shop: Shop, grouping: str, order: Order, line: Line, at: datetime) -> str:
    if grouping == "DAY":
        return at.astimezone(shop.tz).date().isoformat()
    kind, value = {
        "BATCH": ("Batch", order.batch), "LEADER": ("Leader", order.leader), "PICKUP_POINT": ("PickupPoint", order.point),
        "PRODUCT": ("Product", line.product), "SUPPLIER": ("Supplier", shop.supplier_of[line.product]),
    }[grouping]
    return global_id.encode(kind, value)


def expected(shop: Shop, grouping: str) -> tuple[list[dict], dict]:
    first, last = shop.period

    def in_period(at: datetime) -> bool:
        return first <= at.astimezone(shop.tz).date() <= last

    orders: dict[str, set] = defaultdict(set)
    customers: dict[str, set] = defaultdict(set)
    units: dict[str, int] = defaultdict(int)
    gmv: dict[str, int] = defaultdict(int)
    refunded: dict[str, int] = defaultdict(int)
    labels: dict[str, str] = {}
    all_orders, all_customers = set(), set()
    for o in shop.orders:
        if o.status not in COUNTED or not in_period(o.at):
            continue
        for x in o.lines:
            if not x.active:
                continue
            k = _key(shop, grouping, o, x, o.at)
            orders[k].add(o.id)
            customers[k].add(o.customer)
            units[k] += x.quantity
            gmv[k] += x.quantity * x.price
            all_orders.add(o.id)
            all_customers.add(o.customer)
    for r in shop.refunds:
        if not in_period(r.at):
            continue
        if r.line is not None:
            refunded[_key(shop, grouping, r.order, r.line, r.at)] += r.amount
            continue
        # the whole order's refund, shared by its lines in proportion to their value
        lines = sorted(r.order.lines, key=lambda x: x.position)
        whole = sum(x.quantity * x.price for x in lines)
        given, running = 0, 0
        for x in lines:
            running += x.quantity * x.price
            share = r.amount * running // whole - given
            given += share
            refunded[_key(shop, grouping, r.order, x, r.at)] += share
    keys = set(orders) | set(refunded)
    if grouping == "DAY":
        keys |= {(first + timedelta(days=n)).isoformat() for n in range((last - first).days + 1)}
    for k in keys:
        if grouping == "DAY":
            labels[k] = k
        else:
            labels[k] = shop.names[global_id.decode(k)[1]]  # type: ignore[index]
    rows = [{"key": k, "label": labels[k], "orders": len(orders[k]), "customers": len(customers[k]),
             "units": units[k], "gmv": {"amount": _money(gmv[k], shop.currency), "currency": shop.currency},
             "refunded": {"amount": _money(refunded[k], shop.currency), "currency": shop.currency}} for k in keys]
    if grouping == "DAY":
        rows.sort(key=lambda r: r["key"])
    else:
        rows.sort(key=lambda r: (-Decimal(r["gmv"]["amount"]), r["label"], r["key"]))
    total = {"key": "TOTAL", "label": "Total", "orders": len(all_orders), "customers": len(all_customers),
             "units": sum(units.values()),
             "gmv": {"amount": _money(sum(gmv.values()), shop.currency), "currency": shop.currency},
             "refunded": {"amount": _money(sum(refunded.values()), shop.currency), "currency": shop.currency}}
    return rows, total


# -- the tests ------------------------------------------------------------------------------------
# A month with New York's DST change (8 March 2026) and Shanghai without one.
PERIOD = (date(2026, 3, 1), date(2026, 3, 31))


@pytest.fixture
def shops(make_tenant, owner_db):  # type: ignore[no-untyped-def]
    a = make_tenant(timezone="Asia/Shanghai", currency="CNY")
    b = make_tenant(timezone="America/New_York", currency="USD")
    return [(a, build_shop(owner_db, a, "Asia/Shanghai", "CNY", PERIOD, 1)),
            (b, build_shop(owner_db, b, "America/New_York", "USD", PERIOD, 2))]


def _report(gql, token: str, grouping: str, period: tuple[date, date] = PERIOD) -> dict:  # type: ignore[no-untyped-def]
    variables = {"input": {"from": period[0].isoformat(), "to": period[1].isoformat(), "groupBy": grouping}}
    return gql.data(REPORT, variables, token=token)["salesReport"]


def test_every_grouping_matches_the_model_in_both_tenants(gql, shops) -> None:  # type: ignore[no-untyped-def]
    for tenant, shop in shops:
        for grouping in GROUPINGS:
            got = _report(gql, tenant.admin_token, grouping)
            rows, total = expected(shop, grouping)
            assert got["rows"] == rows, (tenant.slug, grouping)
            assert got["total"] == total, (tenant.slug, grouping)
            # the total sums the rows, but orders and customers are distinct over the period
            for column in ("units",):
                assert total[column] == sum(r[column] for r in rows)
            for column in ("gmv", "refunded"):
                assert Decimal(total[column]["amount"]) == sum(Decimal(r[column]["amount"]) for r in rows)
            assert total["orders"] <= sum(r["orders"] for r in rows)
        by_product = _report(gql, tenant.admin_token, "PRODUCT")
        # a customer who bought two products counts once in the total
        assert by_product["total"]["customers"] < sum(r["customers"] for r in by_product["rows"])
        assert by_product["total"]["orders"] < sum(r["orders"] for r in by_product["rows"])


def test_period_edges_are_local_dates(gql, shops) -> None:  # type: ignore[no-untyped-def]
    """One day's report: the 23:30 order of its last day is in, the 00:30 order after it is not."""
    for tenant, shop in shops:
        last = PERIOD[1]
        edge_in = [o for o in shop.orders if o.at == _local(shop, last, 23, 30)]
        edge_out = [o for o in shop.orders if o.at == _local(shop, last + timedelta(days=1), 0, 30)]
        assert edge_in and edge_out
        day = _report(gql, tenant.admin_token, "DAY", (last, last))
        assert [r["key"] for r in day["rows"]] == [last.isoformat()]
        rows, total = expected(Shop(**{**shop.__dict__, "period": (last, last)}), "DAY")
        assert day["rows"] == rows and day["total"] == total
        ids_in = {global_id.encode("Batch", o.batch) for o in edge_in}
        by_batch = _report(gql, tenant.admin_token, "BATCH", (last, last))
        assert ids_in <= {r["key"] for r in by_batch["rows"] if r["orders"] > 0}
        next_day = _report(gql, tenant.admin_token, "DAY", (last + timedelta(days=1), last + timedelta(days=1)))
        rows, total = expected(Shop(**{**shop.__dict__, "period": (last + timedelta(days=1),) * 2}), "DAY")
        assert next_day["total"] == total and total["orders"] >= 1  # the 00:30 order is the next day's


def test_tenants_see_only_their_own_rows(gql, shops) -> None:  # type: ignore[no-untyped-def]
    (a, shop_a), (b, shop_b) = shops
    for grouping in GROUPINGS[1:]:
        keys_a = {r["key"] for r in _report(gql, a.admin_token, grouping)["rows"]}
        keys_b = {r["key"] for r in _report(gql, b.admin_token, grouping)["rows"]}
        assert keys_a and keys_b and not keys_a & keys_b
    # another tenant's admin naming this tenant gets their own tenant's figures, or a refusal
    body = gql(REPORT, {"input": {"from": "2026-03-01", "to": "2026-03-31", "groupBy": "BATCH"}},
               token=b.admin_token, tenant=a.slug)
    if body.get("data"):
        assert body["data"]["salesReport"]["total"] == expected(shop_b, "BATCH")[1]
    else:
        assert body["errors"]


def test_admins_only(gql, make_tenant, make_customer, owner_db) -> None:  # type: ignore[no-untyped-def]
    tenant = make_tenant()
    customer = make_customer(tenant)
    _, _, leader_token = add_leader(owner_db, tenant)
    variables = {"input": {"from": "2026-03-01", "to": "2026-03-31", "groupBy": "DAY"}}
    for token in (customer.token, leader_token, None):
        body = gql(REPORT, variables, token=token, tenant=tenant.slug)
        assert body.get("data") is None, body
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    for token in (tenant.admin_token, tenant.api_key):
        got = gql.data(REPORT, variables, token=token)["salesReport"]
        assert len(got["rows"]) == 31 and got["total"]["orders"] == 0


@pytest.mark.parametrize(("period", "field"), [
    (("2026-03-02", "2026-03-01"), ["input", "from"]),
    (("2025-01-01", "2026-01-02"), ["input", "to"]),  # 367 days
])
def test_a_bad_period_is_an_invalid_argument(gql, tenant, period, field) -> None:  # type: ignore[no-untyped-def]
    body = gql(REPORT, {"input": {"from": period[0], "to": period[1], "groupBy": "DAY"}}, token=tenant.admin_token)
    assert body.get("data") is None
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "INVALID"
    assert error["extensions"]["fields"] == [field]


def test_a_leap_year_fits(gql, tenant) -> None:  # type: ignore[no-untyped-def]
    got = gql.data(REPORT, {"input": {"from": "2028-01-01", "to": "2028-12-31", "groupBy": "DAY"}},
                   token=tenant.admin_token)["salesReport"]
    assert len(got["rows"]) == 366


def _csv(body: bytes) -> list[list[str]]:
    assert body.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def test_csv_has_the_same_rows(gql, api_url, shops) -> None:  # type: ignore[no-untyped-def]
    for tenant, shop in shops:
        for grouping in ("DAY", "PRODUCT"):
            got = _report(gql, tenant.admin_token, grouping)
            response = httpx.get(got["csvUrl"])  # the signed link is the authentication
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/csv")
            table = _csv(response.content)
            assert table[0] == ["key", "label", "orders", "customers", "units", "gmv", "refunded", "currency"]
            want = [[r["key"], r["label"], str(r["orders"]), str(r["customers"]), str(r["units"]),
                     r["gmv"]["amount"], r["refunded"]["amount"], shop.currency]
                    for r in [*got["rows"], got["total"]]]
            for row in want:
                if row[1].startswith("="):
                    row[1] = "'" + row[1]  # a product name that is a formula stays text
            assert table[1:] == want
            if grouping == "PRODUCT":
                assert any(row[1] == "'" + FORMULA_NAME for row in table[1:])
            # the same with an admin's token instead of the signature
            path = got["csvUrl"].split("?")[0].removeprefix(api_url)
            query = "from=2026-03-01&to=2026-03-31&groupBy=" + grouping
            by_token = httpx.get(f"{api_url}{path}?{query}", headers={"Authorization": f"Bearer {tenant.admin_token}"})
            assert by_token.status_code == 200 and by_token.content == response.content


def test_csv_link_cannot_be_altered_or_borrowed(gql, api_url, shops, make_customer) -> None:  # type: ignore[no-untyped-def]
    (a, _), (b, _) = shops
    url = _report(gql, a.admin_token, "DAY")["csvUrl"]
    assert httpx.get(url.replace("groupBy=DAY", "groupBy=PRODUCT")).status_code == 403
    assert httpx.get(url.replace("to=2026-03-31", "to=2026-03-30")).status_code == 403
    assert httpx.get(url.replace(f"tenant={a.uuid}", f"tenant={b.uuid}")).status_code == 403
    customer = make_customer(a)
    plain = f"{api_url}/exports/sales-report.csv?from=2026-03-01&to=2026-03-31&groupBy=DAY"
    assert httpx.get(plain, headers={"Authorization": f"Bearer {customer.token}"}).status_code == 403
    assert httpx.get(plain).status_code == 401
    bad = f"{api_url}/exports/sales-report.csv?from=2026-03-31&to=2026-03-01&groupBy=DAY"
    assert httpx.get(bad, headers={"Authorization": f"Bearer {a.admin_token}"}).status_code == 400
