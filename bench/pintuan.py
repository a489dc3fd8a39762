"""拼团 orders against plain orders, into the same offer, in the same run.

Standalone: `.venv/bin/python -m bench.pintuan [--runs 3] [--seconds 8] [--clients 8,64]` (private
embedded PostgreSQL and Redis in bench/.data/pintuan/, the API as in production: `groupbuy serve
--workers 2`). One OPEN batch whose one offer forms groups of 3, unlimited stock. Per client count,
back to back and alternating, `--runs` times:

- plain: `orderPlace` of that offer without groupBuyId/startGroupBuy (buying alone: today's
  one-statement path, grouped with the orders that meet it in the worker);
- 拼团: `orderPlace` with `startGroupBuy: true` (the extras path: place_order_extras(), i.e.
  place_order() then group_buy_join(), in one statement).

Each request is a different customer (a customer is in at most one open group per offer). The
figure is orders per second and the ratio 拼团 / plain, median of the runs with min and max.
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.common import Env, free_port, load_average, log, servers, start_api
from bench.loadgen import graphql_request, load

ORDER_PLACE = ("mutation($input: OrderPlaceInput!) { orderPlace(input: $input) "
               "{ order { id number status } errors { code field message } } }")


def _ok(body: bytes) -> bool:
    return b'"errors":[]' in body and b'"order":{' in body


def make_world(env: Env, customers: int) -> dict[str, Any]:
    """A supplier, product, leader and point, an OPEN batch with one 拼团 offer, and customers with tokens."""
    from service import global_id
    from service.accounts.credentials import issue_user_token

    t = env.tenant_id
    assert t is not None
    now = datetime.now(UTC)
    supplier, product, batch, offer = uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    leader_user, leader, point = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    people = [uuid.uuid4() for _ in range(customers)]
    with env.owner() as conn, conn.transaction():
        conn.execute("INSERT INTO supplier (tenant_id, id, name) VALUES (%s, %s, 'Farm')", (t, supplier))
        conn.execute("INSERT INTO product (tenant_id, id, supplier_id, name, unit, cost_minor, active) "
                     "VALUES (%s, %s, %s, 'Peaches', 'box', 500, true)", (t, product, supplier))
        cur = conn.cursor()
        cur.executemany("INSERT INTO app_user (tenant_id, id, kind, display_name, phone, password_hash) "
                        "VALUES (%s, %s, 'CUSTOMER', %s, %s, 'x')",
                        [(t, leader_user, "Leader", "+8613900000001")]
                        + [(t, c, f"Buyer {i}", f"+8615{i:09d}") for i, c in enumerate(people)])
        conn.execute("INSERT INTO leader (tenant_id, id, user_id, display_name, phone, status, commission_rate, "
                     "approved_at) VALUES (%s, %s, %s, 'Leader', '+8613900000001', 'APPROVED', 0.1, now())",
                     (t, leader, leader_user))
        conn.execute("INSERT INTO pickup_point (tenant_id, id, leader_id, name, address, latitude, longitude, "
                     "active) VALUES (%s, %s, %s, 'Shop', '1 Road', 31.2, 121.4, true)", (t, point, leader))
        conn.execute("INSERT INTO batch (tenant_id, id, title, status, opens_at, closes_at, pickup_date, opened_at) "
                     "VALUES (%s, %s, 'Bench', 'OPEN', %s, %s, %s, %s)",
                     (t, batch, now - timedelta(hours=1), now + timedelta(days=2), (now + timedelta(days=3)).date(),
                      now - timedelta(hours=1)))
        conn.execute("INSERT INTO offer (tenant_id, id, batch_id, product_id, position, price_minor, stock_limit, "
                     "per_customer_limit, min_group_quantity, group_size, group_window_minutes, group_expiry) "
                     "VALUES (%s, %s, %s, %s, 0, 990, NULL, NULL, 1, 3, 60, 'REFUND')", (t, offer, batch, product))
    with env.owner() as conn:
        conn.execute("ANALYZE")
    return {"batch": global_id.encode("Batch", batch), "offer": global_id.encode("Offer", offer),
            "point": global_id.encode("PickupPoint", point),
            "tokens": [issue_user_token(tenant_id=t, user_id=c) for c in people]}


def requests(world: dict[str, Any], port: int, tokens: Any, *, group: bool):  # type: ignore[no-untyped-def]
    extra = {"startGroupBuy": True} if group else {}

    def make(client: int, n: int) -> bytes:
        variables = {"input": {"batchId": world["batch"], "pickupPointId": world["point"],
                               "lines": [{"offerId": world["offer"], "quantity": 1}],
                               "idempotencyKey": uuid.uuid4().hex, **extra}}
        return graphql_request("/graphql", ORDER_PLACE, variables,
                               {"Authorization": f"Bearer {next(tokens)}"}, port)

    return make


def summary(values: list[float]) -> dict[str, float]:
    return {"median": round(statistics.median(values), 2), "min": round(min(values), 2),
            "max": round(max(values), 2)}


def run(runs: int, seconds: float, client_counts: tuple[int, ...], customers: int) -> dict[str, Any]:
    with servers("pintuan") as env:
        world = make_world(env, customers)
        port = free_port()
        start_api(env, port=port, workers=2)
        tokens = itertools.cycle(world["tokens"])  # past the end, starts are refused (CONFLICT): counted failed
        out: dict[str, Any] = {}
        for clients in client_counts:
            plain, group, failed = [], [], 0
            for _ in range(runs):
                for is_group, into in ((False, plain), (True, group)):
                    got = load(port, requests(world, port, tokens, group=is_group), clients=clients,
                               seconds=seconds, check=_ok)
                    into.append(got.rps)
                    failed += got.failed
                    log(f"  {'拼团' if is_group else 'plain'} c{clients}: {got.as_dict()}")
            ratios = [g / p for g, p in zip(group, plain, strict=True) if p]
            out[f"c{clients}"] = {"plain_per_second": summary(plain), "group_per_second": summary(group),
                                  "ratio": summary(ratios), "failed": failed}
            log(f"c{clients}: plain {summary(plain)} /s, 拼团 {summary(group)} /s, ratio {summary(ratios)}")
        with env.owner() as conn:
            groups = conn.execute("SELECT count(*) FROM group_buy").fetchone()[0]
        out["groups_started"] = groups
        out["load_average"] = round(load_average(), 1)
        return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--clients", default="8,64")
    parser.add_argument("--customers", type=int, default=12000)
    args = parser.parse_args()
    result = run(args.runs, args.seconds, tuple(int(c) for c in args.clients.split(",")), args.customers)
    print(json.dumps(result, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
