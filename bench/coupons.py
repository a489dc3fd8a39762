"""orderPlace with a coupon against without, hot (one offer) and spread (1,000 offers), same run.

Standalone: `.venv/bin/python -m bench.coupons [--runs 3] [--seconds 6] [--clients 16]` (private
embedded PostgreSQL and Redis in bench/.data/coupons/, the API as in production with 2 workers).
Runs alternate, plain then with a coupon, per shape, so both see the same machine; each coupon
order uses a coupon of its own (claimed beforehand) from one template with a money budget, so
every such order takes the extras path: place_order_extras(), i.e. place_order() and
coupon_apply() in one statement, the template's budget row updated by each. Prints per shape the medians of orders/s
and p99, and the ratio coupon / plain (median, min, max over the runs).
"""

from __future__ import annotations

import argparse
import itertools
import random
import uuid
from typing import Any

from bench.api import ORDER_PLACE, _gid, _ok_order
from bench.common import free_port, load_average, log, ratio_summary, servers, start_api, summary
from bench.loadgen import graphql_request, load
from bench.world import ORDER_OFFERS, POINTS, build_world, did

COUPONS_PER_CUSTOMER = 60


def make_coupons(env: Any, customers: list[uuid.UUID]) -> tuple[uuid.UUID, dict[uuid.UUID, list[uuid.UUID]]]:
    """One AMOUNT_OFF 1.00 template with a budget no run reaches, and coupons claimed for each customer."""
    t = env.tenant_id
    template = uuid.uuid4()
    coupons = {c: [uuid.uuid4() for _ in range(COUPONS_PER_CUSTOMER)] for c in customers}
    with env.owner() as conn, conn.transaction():
        conn.execute("INSERT INTO coupon_template (tenant_id, id, name, kind, currency, amount_off_minor, "
                     "per_customer_limit, budget_minor, audience, claimed) VALUES (%s, %s, 'bench', 'AMOUNT_OFF', "
                     "'CNY', 100, 1000, 1000000000, 'ANYONE', %s)",
                     (t, template, len(customers) * COUPONS_PER_CUSTOMER))
        conn.cursor().executemany(
            "INSERT INTO coupon (tenant_id, id, template_id, customer_id, idempotency_key) VALUES (%s, %s, %s, %s, %s)",
            [(t, k, template, c, k.hex) for c, ks in coupons.items() for k in ks])
    with env.owner() as conn:
        conn.execute("ANALYZE coupon")
    return template, coupons


def requests(world: Any, port: int, *, hot: bool, coupons: dict[uuid.UUID, list[uuid.UUID]] | None,
             seed: int):  # type: ignore[no-untyped-def]
    rng = random.Random(seed)
    batch = _gid("Batch", world.batch_id)
    points = [_gid("PickupPoint", did("a", i)) for i in range(POINTS)]
    offers = [_gid("Offer", did("8", i)) for i in range(ORDER_OFFERS)]
    turn = itertools.count()

    def make(client: int, n: int) -> bytes:
        k = next(turn) % len(world.customers)
        customer, token = world.customers[k], world.tokens[k]
        offer = offers[0] if hot else offers[rng.randrange(len(offers))]
        variables: dict[str, Any] = {"input": {"batchId": batch, "pickupPointId": points[rng.randrange(POINTS)],
                                               "lines": [{"offerId": offer, "quantity": 1}],
                                               "idempotencyKey": uuid.uuid4().hex}}
        if coupons is not None:
            variables["input"]["couponId"] = _gid("Coupon", coupons[customer].pop())
        return graphql_request("/graphql", ORDER_PLACE, variables, {"Authorization": f"Bearer {token}"}, port)

    return make


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=6)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--customers", type=int, default=400)
    args = parser.parse_args()
    with servers("coupons") as env:
        world = build_world(env, customers=args.customers)
        _, coupons = make_coupons(env, world.customers)
        port = free_port()
        start_api(env, port=port, workers=2)
        results: dict[str, Any] = {}
        for shape in ("hot", "spread"):
            plain: list[float] = []
            with_coupon: list[float] = []
            p99: dict[str, list[float]] = {"plain": [], "coupon": []}
            for run in range(args.runs):
                for kind in ("plain", "coupon"):
                    got = load(port, requests(world, port, hot=shape == "hot",
                                              coupons=coupons if kind == "coupon" else None, seed=run),
                               clients=args.clients, seconds=args.seconds, check=_ok_order).as_dict()
                    (plain if kind == "plain" else with_coupon).append(got["per_second"])
                    p99[kind].append(got["p99_ms"])
                    log(f"  {shape} run {run + 1} {kind}: {got}")
            results[shape] = {"plain_per_second": summary(plain), "coupon_per_second": summary(with_coupon),
                              "plain_p99_ms": summary(p99["plain"]), "coupon_p99_ms": summary(p99["coupon"]),
                              "ratio": ratio_summary(with_coupon, plain)}
            log(f"orderPlace {shape}: with a coupon / without = {results[shape]['ratio']}")
        with env.owner() as conn:
            given, used = conn.execute("SELECT discount_given_minor, (SELECT count(*) FROM coupon WHERE "
                                       "status = 'RESERVED') FROM coupon_template").fetchone()
        assert given == used * 100, (given, used)
        log(f"coupons reserved {used}, discount given {given / 100:.2f}; load average {load_average():.1f}")
        log(f"results: {results}")


if __name__ == "__main__":
    main()
