"""No overfilled 拼团 group: 100 customers pay at once for the last places of groups of 3, through
the HTTP API of two server processes. Each group ends with exactly 3 paid members; every paying
customer is either a paid member of exactly one group or cancelled and refunded exactly once; and
after the close the money adds up (what was paid = purchase-order revenue + refunds)."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack

from tests.group_buy_fixtures import GROUP_PLACE, MARK_PAID, group_batch, group_order, lapse_holds, pay, uuid_of
from tests.ordering_fixtures import bulk_customers, make_world, run_domain
from tests.test_auth_processes import api_process

GROUPS = 10
JOINERS_PER_GROUP = 10  # for the 2 places left in each group


def test_payments_racing_for_the_last_places_never_overfill_a_group(gql, tenant, owner_db):  # type: ignore[no-untyped-def]
    from service.procurement.scheduling import close_now

    world = make_world(owner_db, tenant)
    batch = group_batch(gql, world, size=3)
    starters = [t for _, t in bulk_customers(owner_db, tenant, GROUPS)]
    joiners = [t for _, t in bulk_customers(owner_db, tenant, GROUPS * JOINERS_PER_GROUP)]
    groups = []
    for token in starters:
        order = group_order(gql, batch, world, token, start=True)["order"]
        pay(gql, world, order["id"])
        groups.append(order["groupBuy"]["id"])

    with ExitStack() as stack:
        servers = [stack.enter_context(api_process()) for _ in range(2)]

        def join(k: int, token: str) -> dict:
            variables = {"input": {"batchId": batch["id"], "pickupPointId": world.point_gid,
                                   "lines": [{"offerId": batch["offers"][0]["id"], "quantity": 1}],
                                   "idempotencyKey": uuid.uuid4().hex, "groupBuyId": groups[k % GROUPS]}}
            return servers[k % 2].data(GROUP_PLACE, variables, token=token)["orderPlace"]  # type: ignore[no-any-return]

        # Unpaid joiners hold the two free places for the payment window: each round fills them,
        # then their window passes, so the next round can join too and all of them hold an order.
        joined: list[dict] = []
        with ThreadPoolExecutor(16) as pool:
            for round_ in range(JOINERS_PER_GROUP // 2):
                chunk = joiners[round_ * 2 * GROUPS:(round_ + 1) * 2 * GROUPS]
                placed = list(pool.map(join, range(len(chunk)), chunk))
                assert all(p["errors"] == [] for p in placed), [p["errors"] for p in placed if p["errors"]]
                joined += [p["order"] for p in placed]
                for g in groups:
                    lapse_holds(owner_db, g)
            assert len(joined) == GROUPS * JOINERS_PER_GROUP

            def pay_over_http(k: int) -> dict:
                return servers[k % 2].data(MARK_PAID, {"id": joined[k]["id"], "ref": f"race-{k}"},  # type: ignore[no-any-return]
                                           token=tenant.api_key)["orderMarkPaid"]

            paid = list(pool.map(pay_over_http, range(len(joined))))
    assert all(p["errors"] == [] for p in paid), [p["errors"] for p in paid if p["errors"]]

    group_ids = [uuid_of(g) for g in groups]
    per_group = dict(owner_db.execute(
        "SELECT m.group_buy_id, count(*) FROM group_buy_member m JOIN customer_order o ON o.id = m.order_id "
        "WHERE m.group_buy_id = ANY(%s) AND m.paid_at IS NOT NULL AND o.status <> 'CANCELLED' "
        "GROUP BY m.group_buy_id", (group_ids,)).fetchall())
    assert per_group == {g: 3 for g in group_ids}, per_group
    assert {r[0] for r in owner_db.execute("SELECT status FROM group_buy WHERE id = ANY(%s)", (group_ids,))} == {
        "SUCCEEDED"}
    # Every paying joiner: a paid member (PAID, no refund) or cancelled with one full refund.
    outcomes = owner_db.execute(
        "SELECT o.status, m.paid_at IS NOT NULL, o.refunded_minor = o.total_minor, "
        "(SELECT count(*) FROM refund r WHERE r.order_id = o.id), "
        "(SELECT count(*) FROM group_buy_member x WHERE x.customer_id = o.customer_id) "
        "FROM customer_order o JOIN group_buy_member m ON m.order_id = o.id "
        "WHERE o.id = ANY(%s)", ([uuid_of(o["id"]) for o in joined],)).fetchall()
    winners = [r for r in outcomes if r[0] == "PAID"]
    losers = [r for r in outcomes if r[0] == "CANCELLED"]
    assert len(winners) == 2 * GROUPS and len(losers) == len(joined) - 2 * GROUPS
    assert all(r[1:4] == (True, False, 0) for r in winners)
    assert all(r[2:4] == (True, 1) and not r[1] for r in losers)
    assert all(r[4] == 1 for r in outcomes)  # each customer in one group only

    batch_id = uuid_of(batch["id"])
    assert run_domain(lambda engine: close_now(tenant.uuid, batch_id)) is not None
    paid_total, revenue, refunds = owner_db.execute(
        "SELECT (SELECT sum(total_minor) FROM customer_order WHERE batch_id = %(b)s AND paid_at IS NOT NULL), "
        "(SELECT sum(revenue_minor) FROM purchase_order WHERE batch_id = %(b)s), "
        "(SELECT sum(r.amount_minor) FROM refund r JOIN customer_order o ON o.id = r.order_id "
        " WHERE o.batch_id = %(b)s)", {"b": batch_id}).fetchone()
    assert revenue == 3 * GROUPS * 990
    assert paid_total == revenue + refunds
