"""The invariants of ARCHITECTURE.md checked from the database after a run, with no snapshot from
before the close (the scheduler closed those batches while the load was running): every check
here holds for any CLOSED batch of a PREPAID tenant, whoever closed it and however often."""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from decimal import ROUND_HALF_UP, Decimal

import psycopg
from psycopg.rows import dict_row

# An offer's sold quantity (the sum of its stock slots), as a column of `offer o`: offer_sold(o)'s
# body, which also runs on Citus (where a shard's row is not of type offer).
SOLD_SQL = ("(SELECT coalesce(sum(s.sold), 0)::integer FROM offer_stock_slot s "
            "WHERE s.tenant_id = o.tenant_id AND s.offer_id = o.id) AS sold")


def half_up(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def check_stock_slots(conn: psycopg.Connection, tenant_ids: list[uuid.UUID]) -> None:
    """The books of every stock slot: each slot's sold is the active quantity of the lines that took
    from it and within its quota; an offer has `stock_slots` slots whose quotas add up to its stock
    limit (all NULL when unlimited)."""
    cur = conn.cursor(row_factory=dict_row)
    slots = cur.execute(
        "SELECT s.offer_id, s.slot, s.quota, s.sold, coalesce((SELECT sum(l.quantity) FROM order_line l "
        "  JOIN customer_order c ON c.tenant_id = l.tenant_id AND c.id = l.order_id "
        "  WHERE l.tenant_id = s.tenant_id AND l.offer_id = s.offer_id AND l.stock_slot = s.slot "
        "    AND l.status = 'ACTIVE' AND c.status <> 'CANCELLED'), 0) AS active "
        "FROM offer_stock_slot s WHERE s.tenant_id = ANY(%s)",
        (tenant_ids,),
    ).fetchall()
    for s in slots:
        assert s["sold"] == s["active"], f"a slot's sold != the active quantity taken from it: {s}"
        assert 0 <= s["sold"] and (s["quota"] is None or s["sold"] <= s["quota"]), f"slot over its quota: {s}"
    offers = cur.execute(
        "SELECT o.id, o.stock_limit, o.stock_slots, count(s.slot) AS slots, sum(s.quota) AS quota, "
        "  count(s.quota) AS limited, array_agg(s.slot ORDER BY s.slot) AS numbers "
        "FROM offer o LEFT JOIN offer_stock_slot s ON s.tenant_id = o.tenant_id AND s.offer_id = o.id "
        "WHERE o.tenant_id = ANY(%s) GROUP BY o.id, o.stock_limit, o.stock_slots",
        (tenant_ids,),
    ).fetchall()
    for o in offers:
        assert o["numbers"] == list(range(o["stock_slots"])), f"an offer's slots are not 0..n-1: {o}"
        if o["stock_limit"] is None:
            assert o["limited"] == 0, f"an unlimited offer has quotas: {o}"
        else:
            assert o["limited"] == o["slots"] and o["quota"] == o["stock_limit"], f"quotas != stock limit: {o}"


def check_stock(conn: psycopg.Connection, tenant_ids: list[uuid.UUID]) -> dict:
    """Invariant 1: sold ≤ stock limit; sold = active quantity of non-cancelled orders; per-customer
    quantities within the limit and equal to their counters."""
    cur = conn.cursor(row_factory=dict_row)
    offers = cur.execute(
        f"SELECT o.tenant_id, o.id, {SOLD_SQL}, o.stock_limit, o.per_customer_limit, "
        "  coalesce((SELECT sum(l.quantity) FROM order_line l JOIN customer_order c "
        "            ON c.tenant_id = l.tenant_id AND c.id = l.order_id "
        "            WHERE l.tenant_id = o.tenant_id AND l.offer_id = o.id AND l.status = 'ACTIVE' "
        "              AND c.status <> 'CANCELLED'), 0) AS active, "
        "  (SELECT count(*) FROM order_line l JOIN customer_order c "
        "            ON c.tenant_id = l.tenant_id AND c.id = l.order_id "
        "            WHERE l.tenant_id = o.tenant_id AND l.offer_id = o.id AND l.status = 'ACTIVE' "
        "              AND c.status = 'CANCELLED') AS active_in_cancelled "
        "FROM offer o WHERE o.tenant_id = ANY(%s)",
        (tenant_ids,),
    ).fetchall()
    assert offers
    for o in offers:
        assert o["active_in_cancelled"] == 0, f"active lines in a cancelled order: {o}"
        assert o["sold"] == o["active"], f"sold != active quantity: {o}"
        if o["stock_limit"] is not None:
            assert o["sold"] <= o["stock_limit"], f"oversold: {o}"
    check_stock_slots(conn, tenant_ids)
    per_customer = cur.execute(
        "SELECT f.id AS offer_id, c.customer_id, f.per_customer_limit, sum(l.quantity) AS active, "
        "  (SELECT q.quantity FROM offer_customer_quantity q WHERE q.tenant_id = f.tenant_id "
        "     AND q.offer_id = f.id AND q.customer_id = c.customer_id) AS counter "
        "FROM order_line l JOIN customer_order c ON c.tenant_id = l.tenant_id AND c.id = l.order_id "
        "JOIN offer f ON f.tenant_id = l.tenant_id AND f.id = l.offer_id "
        "WHERE l.tenant_id = ANY(%s) AND l.status = 'ACTIVE' AND c.status <> 'CANCELLED' "
        "GROUP BY f.tenant_id, f.id, c.customer_id, f.per_customer_limit",
        (tenant_ids,),
    ).fetchall()
    for row in per_customer:
        if row["per_customer_limit"] is not None:
            assert row["active"] <= row["per_customer_limit"], f"per-customer limit exceeded: {row}"
            assert row["counter"] == row["active"], f"per-customer counter drifted: {row}"
    # The close releases the counters of unpaid orders but not those of offers below their minimum
    # (harmless: nobody orders from a closed batch); those are left out.
    stale = conn.execute(
        "SELECT q.offer_id, q.customer_id, q.quantity FROM offer_customer_quantity q "
        "JOIN offer f ON f.tenant_id = q.tenant_id AND f.id = q.offer_id AND f.status <> 'BELOW_MINIMUM' "
        "WHERE q.tenant_id = ANY(%s) AND q.quantity <> coalesce((SELECT sum(l.quantity) FROM order_line l "
        "  JOIN customer_order c ON c.tenant_id = l.tenant_id AND c.id = l.order_id "
        "  WHERE l.tenant_id = q.tenant_id AND l.offer_id = q.offer_id AND c.customer_id = q.customer_id "
        "    AND l.status = 'ACTIVE' AND c.status <> 'CANCELLED'), 0)",
        (tenant_ids,),
    ).fetchall()
    assert not stale, f"per-customer counters that do not match the active lines: {stale[:3]}"
    full = sum(1 for o in offers if o["stock_limit"] is not None and o["sold"] == o["stock_limit"])
    return {
        "offers": len(offers),
        "offers_at_stock_limit_after_close": full,
        "customer_offer_pairs": len(per_customer),
    }


def check_closed_batch(conn: psycopg.Connection, tenant_id: uuid.UUID, batch_id: uuid.UUID) -> dict:
    """Invariants 4 and 7 for one CLOSED batch."""
    cur = conn.cursor(row_factory=dict_row)
    q = lambda sql, *a: cur.execute(sql, (tenant_id, batch_id, *a)).fetchall()  # noqa: E731
    batch = q("SELECT status, closed_at FROM batch WHERE tenant_id = %s AND id = %s")[0]
    assert batch["status"] == "CLOSED" and batch["closed_at"] is not None, batch
    orders = {
        r["id"]: r
        for r in q(
            # The status as read: PAID or PLACED in a closed batch is CONFIRMED (migration 0010).
            "SELECT o.id, order_state(o.status, b.status) AS status, o.pickup_point_id, o.leader_id, "
            "o.commission_rate, o.total_minor, o.refunded_minor, o.paid_at "
            "FROM customer_order o JOIN batch b ON b.tenant_id = o.tenant_id AND b.id = o.batch_id "
            "WHERE o.tenant_id = %s AND o.batch_id = %s"
        )
    }
    open_left = [o for o in orders.values() if o["status"] not in ("CONFIRMED", "CANCELLED")]
    assert not open_left, f"orders left open by the close: {open_left[:3]}"
    lines = q(
        "SELECT l.id, l.order_id, l.offer_id, l.product_id, l.quantity, l.unit_price_minor, l.status "
        "FROM order_line l JOIN customer_order o ON o.tenant_id = l.tenant_id AND o.id = l.order_id "
        "WHERE o.tenant_id = %s AND o.batch_id = %s"
    )
    confirmed = [ln for ln in lines if ln["status"] == "ACTIVE"]
    for ln in confirmed:
        assert orders[ln["order_id"]]["status"] == "CONFIRMED", ln
    confirmed_orders = {ln["order_id"] for ln in confirmed}
    assert confirmed_orders == {i for i, o in orders.items() if o["status"] == "CONFIRMED"}, (
        "a CONFIRMED order without active lines, or the reverse"
    )

    offers = {
        r["id"]: r
        for r in q(
            f"SELECT id, product_id, status, {SOLD_SQL}, min_group_quantity FROM offer o "
            "WHERE tenant_id = %s AND batch_id = %s"
        )
    }
    active_by_offer = Counter()
    for ln in confirmed:
        active_by_offer[ln["offer_id"]] += ln["quantity"]
    for f, o in offers.items():
        assert o["sold"] == active_by_offer[f], o
        if o["status"] == "CONFIRMED":
            assert o["sold"] >= o["min_group_quantity"], o
        else:
            assert o["status"] == "BELOW_MINIMUM" and o["sold"] == 0, o

    products = {
        r["id"]: r
        for r in cur.execute(
            "SELECT id, supplier_id, cost_minor FROM product WHERE tenant_id = %s", (tenant_id,)
        )
    }
    by_product, by_product_point, revenue = Counter(), Counter(), Counter()
    for ln in confirmed:
        point = orders[ln["order_id"]]["pickup_point_id"]
        by_product[ln["product_id"]] += ln["quantity"]
        by_product_point[(ln["product_id"], point)] += ln["quantity"]
        revenue[ln["product_id"]] += ln["quantity"] * ln["unit_price_minor"]

    # Purchase orders: exactly one per supplier, one line per product, deliveries per point.
    pos = q(
        "SELECT id, supplier_id, total_cost_minor, revenue_minor FROM purchase_order "
        "WHERE tenant_id = %s AND batch_id = %s"
    )
    suppliers = Counter(po["supplier_id"] for po in pos)
    assert set(suppliers) == {products[p]["supplier_id"] for p in by_product}
    assert all(n == 1 for n in suppliers.values()), f"two purchase orders for one supplier: {suppliers}"
    po_lines = q(
        "SELECT l.purchase_order_id, l.product_id, l.quantity, l.total_cost_minor, l.revenue_minor "
        "FROM purchase_order_line l JOIN purchase_order po ON po.tenant_id = l.tenant_id "
        "AND po.id = l.purchase_order_id WHERE po.tenant_id = %s AND po.batch_id = %s"
    )
    assert len(po_lines) == len(by_product), "each product in exactly one purchase-order line"
    assert Counter({ln["product_id"]: ln["quantity"] for ln in po_lines}) == by_product
    for ln in po_lines:
        assert ln["revenue_minor"] == revenue[ln["product_id"]]
        assert ln["total_cost_minor"] == ln["quantity"] * products[ln["product_id"]]["cost_minor"]
    deliveries = Counter(
        {
            (r["product_id"], r["pickup_point_id"]): r["quantity"]
            for r in q(
                "SELECT d.product_id, d.pickup_point_id, d.quantity FROM purchase_order_delivery d JOIN purchase_order po "  # noqa: E501
                "ON po.tenant_id = d.tenant_id AND po.id = d.purchase_order_id WHERE po.tenant_id = %s AND po.batch_id = %s"  # noqa: E501
            )
        }
    )
    assert deliveries == by_product_point

    # Pick lists: one per point with confirmed lines, the same quantities.
    lists = q("SELECT pickup_point_id FROM pick_list WHERE tenant_id = %s AND batch_id = %s")
    points = Counter(pl["pickup_point_id"] for pl in lists)
    assert set(points) == {p for (_, p) in by_product_point} and all(n == 1 for n in points.values())
    pick_lines = Counter(
        {
            (r["product_id"], r["pickup_point_id"]): r["quantity"]
            for r in q(
                "SELECT l.product_id, pl.pickup_point_id, l.quantity FROM pick_list_line l JOIN pick_list pl "
                "ON pl.tenant_id = l.tenant_id AND pl.id = l.pick_list_id WHERE pl.tenant_id = %s AND pl.batch_id = %s"  # noqa: E501
            )
        }
    )
    assert pick_lines == by_product_point

    # Commissions: one per confirmed order, rate × value rounded half-up per line.
    expected = Counter()
    for ln in confirmed:
        o = orders[ln["order_id"]]
        expected[ln["order_id"]] += half_up(o["commission_rate"] * ln["quantity"] * ln["unit_price_minor"])
    commissions = q(
        "SELECT order_id, leader_id, amount_minor FROM commission WHERE tenant_id = %s AND batch_id = %s"
    )
    per_order = Counter(c["order_id"] for c in commissions)
    assert set(per_order) == confirmed_orders and all(n == 1 for n in per_order.values()), (
        "one commission per confirmed order"
    )
    for c in commissions:
        assert c["amount_minor"] == expected[c["order_id"]], c
        assert c["leader_id"] == orders[c["order_id"]]["leader_id"]

    # Invariant 7. PREPAID: every confirmed order was paid. What a paid order paid is its lines'
    # value; what it keeps is its active lines; the rest is refunded, in refund rows.
    refunds = Counter()
    for r in cur.execute(
        "SELECT order_id, amount_minor FROM refund WHERE tenant_id = %s AND order_id = ANY(%s)",
        (tenant_id, list(orders)),
    ):
        refunds[r["order_id"]] += r["amount_minor"]
    value, active_value = Counter(), Counter()
    for ln in lines:
        value[ln["order_id"]] += ln["quantity"] * ln["unit_price_minor"]
        if ln["status"] == "ACTIVE":
            active_value[ln["order_id"]] += ln["quantity"] * ln["unit_price_minor"]
    paid_in = 0
    for oid, o in orders.items():
        assert o["refunded_minor"] == refunds[oid], ("refund rows != refunded amount", o)
        if o["status"] == "CONFIRMED":
            assert o["paid_at"] is not None, o
            assert o["total_minor"] == active_value[oid], o
        if o["paid_at"] is not None:
            paid_in += value[oid]
            assert o["refunded_minor"] == value[oid] - active_value[oid], ("paid != kept + refunded", o)
        else:
            assert o["refunded_minor"] == 0, o
    po_revenue = sum(po["revenue_minor"] for po in pos)
    assert po_revenue == sum(o["total_minor"] for o in orders.values() if o["status"] == "CONFIRMED")
    assert paid_in == po_revenue + sum(refunds.values()), "money: paid = purchase-order revenue + refunds"

    # Events of the close, each once.
    events = Counter(
        r["event"]
        for r in q(
            "SELECT event FROM outbox_event WHERE tenant_id = %s AND (subject_id = %s OR payload->>'batchId' = %s::text)",  # noqa: E501
            batch_id,
        )
    )
    assert events["BATCH_CLOSED"] == 1, events
    assert events["PURCHASE_ORDER_CREATED"] == len(pos), events
    assert events["PICK_LIST_READY"] == len(lists), events
    return {
        "orders": len(orders),
        "confirmed_orders": len(confirmed_orders),
        "purchase_orders": len(pos),
        "pick_lists": len(lists),
        "commissions": len(commissions),
        "refunds": sum(1 for v in refunds.values() if v),
        "paid_minor": paid_in,
        "po_revenue_minor": po_revenue,
        "refunded_minor": sum(refunds.values()),
    }


def check_orders(
    conn: psycopg.Connection,
    tenant_by_slug: dict,
    successes: list[tuple[str, str, str, str]],
    sent_keys: set[tuple[str, str]],
) -> dict:
    """Invariant 3: each success (tenant slug, customer user id, key, order global id) has exactly one
    order, the one returned; no key made two orders; no order comes from a key never sent."""
    from service import global_id

    tenants = list(tenant_by_slug.values())
    rows = conn.execute(
        "SELECT tenant_id, customer_id, idempotency_key, id FROM customer_order WHERE tenant_id = ANY(%s)",
        (tenants,),
    ).fetchall()
    by_key = defaultdict(list)
    for t, c, k, oid in rows:
        by_key[(t, c, k)].append(oid)
    dup = {k: v for k, v in by_key.items() if len(v) > 1}
    assert not dup, f"an idempotency key made two orders: {list(dup.items())[:3]}"
    for slug, user_gid, key, order_gid in successes:
        found = by_key.get((tenant_by_slug[slug], global_id.decode(user_gid)[1], key), [])
        assert found == [global_id.decode(order_gid)[1]], (slug, key, order_gid, found)
    phantom = [k for k in by_key if (k[2], str(k[1])) not in sent_keys]
    assert not phantom, f"orders from keys the load never sent: {phantom[:3]}"
    return {"orders_in_db": len(rows), "successes": len(successes)}


def check_deliveries(
    conn: psycopg.Connection, tenant_id: uuid.UUID, subscription_uuid: uuid.UUID, sink
) -> dict:  # type: ignore[no-untyped-def]
    """Invariant 5: every event written after the subscription reached the sink (2xx) at least once
    under its webhook-id, duplicates only as identical retries; signatures valid."""
    events = conn.execute(
        "SELECT e.id, e.event FROM outbox_event e JOIN webhook_subscription s ON s.tenant_id = e.tenant_id "
        "AND s.id = %s WHERE e.tenant_id = %s AND e.created_at >= s.created_at",
        (subscription_uuid, tenant_id),
    ).fetchall()
    received = sink.snapshot()
    assert all(r.signature_ok for r in received), "a delivery with a bad signature"
    delivered = sink.delivered()
    missing = [(e, name) for e, name in events if f"msg_{e.hex}" not in delivered]
    assert not missing, f"{len(missing)} events never delivered, e.g. {missing[:3]}"
    ours = {f"msg_{e.hex}" for e, _ in events}
    unknown = set(delivered) - ours
    assert not unknown, f"deliveries of events this tenant does not have: {list(unknown)[:3]}"
    bodies = defaultdict(set)
    for r in received:
        import json

        bodies[r.webhook_id].add(json.dumps(r.body, sort_keys=True))
    changed = {k: v for k, v in bodies.items() if len(v) > 1}
    assert not changed, f"a retried webhook-id carried a different body: {list(changed)[:3]}"
    duplicates = {k: n for k, n in delivered.items() if n > 1}
    return {
        "events": len(events),
        "accepted_deliveries": sum(delivered.values()),
        "attempts": len(received),
        "duplicate_accepts": sum(n - 1 for n in duplicates.values()),
        "by_event": dict(Counter(name for _, name in events)),
    }


def check_ledger(conn: psycopg.Connection, tenant_ids: list[uuid.UUID]) -> dict:
    """Invariant 7 for leader money: per beneficiary, the buckets summed from the entries equal
    what the entries' kinds say, the totals add up (earned − reversed − clawed back − fees +
    adjustments), each commission is earned and released at most once and never releases more
    than was earned, and each withdrawal's entries match its status."""
    cur = conn.cursor(row_factory=dict_row)
    totals = cur.execute("""
SELECT beneficiary_id, sum(frozen_minor) AS frozen, sum(available_minor) AS available,
       sum(in_withdrawal_minor) AS in_w, sum(withdrawn_minor) AS withdrawn,
       sum(amount_minor) FILTER (WHERE kind IN ('EARNED', 'DISTRIBUTION_EARNED')) AS earned,
       sum(amount_minor) FILTER (WHERE kind IN ('REVERSED', 'CLAWBACK', 'FEE', 'ADJUSTMENT',
                                                'DISTRIBUTION_REVERSED', 'DISTRIBUTION_CLAWBACK')) AS taken,
       count(*) FILTER (WHERE frozen_minor + available_minor + in_withdrawal_minor + withdrawn_minor
                        <> CASE WHEN kind IN ('RELEASED', 'WITHDRAWAL', 'WITHDRAWAL_RETURNED',
                                              'DISTRIBUTION_RELEASED') THEN 0
                                WHEN kind = 'WITHDRAWAL_PAID' THEN 0 ELSE amount_minor END) AS bad_rows
FROM ledger_entry WHERE tenant_id = ANY(%s) GROUP BY beneficiary_id""", (tenant_ids,)).fetchall()
    for t in totals:
        assert t["bad_rows"] == 0, t
        assert t["frozen"] + t["available"] + t["in_w"] + t["withdrawn"] == (t["earned"] or 0) + (t["taken"] or 0), t
        assert t["frozen"] >= 0 and t["in_w"] >= 0 and t["withdrawn"] >= 0, t
    per_commission = cur.execute("""
SELECT commission_id, count(*) FILTER (WHERE kind IN ('EARNED', 'DISTRIBUTION_EARNED')) AS earned_n,
       count(*) FILTER (WHERE kind IN ('RELEASED', 'DISTRIBUTION_RELEASED')) AS released_n,
       coalesce(sum(frozen_minor), 0) AS frozen_left
FROM ledger_entry WHERE tenant_id = ANY(%s) AND commission_id IS NOT NULL GROUP BY commission_id""",
                                 (tenant_ids,)).fetchall()
    for c in per_commission:
        assert c["earned_n"] <= 1 and c["released_n"] <= 1 and c["frozen_left"] >= 0, c
        if c["released_n"]:
            assert c["frozen_left"] == 0, c
    withdrawals = cur.execute("""
SELECT w.id, w.status, w.amount_minor, w.fee_minor, w.payout_minor,
       coalesce(sum(e.in_withdrawal_minor), 0) AS still_in, coalesce(sum(e.withdrawn_minor), 0) AS out
FROM withdrawal w LEFT JOIN ledger_entry e ON e.tenant_id = w.tenant_id AND e.withdrawal_id = w.id
WHERE w.tenant_id = ANY(%s) GROUP BY w.id, w.status, w.amount_minor, w.fee_minor, w.payout_minor""",
                              (tenant_ids,)).fetchall()
    for w in withdrawals:
        expected = {"REQUESTED": (w["amount_minor"], 0), "APPROVED": (w["amount_minor"], 0),
                    "PAID": (0, w["payout_minor"]), "REJECTED": (0, 0), "FAILED": (0, 0)}[w["status"]]
        assert (w["still_in"], w["out"]) == expected, w
    return {"beneficiaries": len(totals), "commissions": len(per_commission), "withdrawals": len(withdrawals)}
