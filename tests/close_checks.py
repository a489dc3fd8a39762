"""An independent model of what a close must produce, computed from the rows before the close,
and the comparison with what the database holds afterwards (invariants 4 and 7)."""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

import psycopg

from tests.reliability.invariants import SOLD_SQL


@dataclass
class Snapshot:
    orders: dict[uuid.UUID, dict]
    lines: list[dict]
    offers: dict[uuid.UUID, dict]
    products: dict[uuid.UUID, dict]
    points: dict[uuid.UUID, uuid.UUID]  # pickup point -> leader


def snapshot(conn: psycopg.Connection, tenant_id: uuid.UUID, batch_id: uuid.UUID) -> Snapshot:
    cur = conn.cursor(row_factory=psycopg.rows.dict_row)
    orders = {r["id"]: r for r in cur.execute(
        "SELECT id, status, pickup_point_id, leader_id, commission_rate, total_minor, refunded_minor "
        "FROM customer_order WHERE tenant_id = %s AND batch_id = %s", (tenant_id, batch_id))}
    lines = list(cur.execute(
        "SELECT l.id, l.order_id, l.offer_id, l.product_id, l.quantity, l.unit_price_minor, l.status "
        "FROM order_line l JOIN customer_order o ON o.tenant_id = l.tenant_id AND o.id = l.order_id "
        "WHERE o.tenant_id = %s AND o.batch_id = %s", (tenant_id, batch_id)))
    offers = {r["id"]: r for r in cur.execute(
        f"SELECT id, product_id, {SOLD_SQL}, min_group_quantity FROM offer o WHERE tenant_id = %s AND batch_id = %s",
        (tenant_id, batch_id))}
    products = {r["id"]: r for r in cur.execute(
        "SELECT id, supplier_id, cost_minor FROM product WHERE tenant_id = %s", (tenant_id,))}
    points = {r["id"]: r["leader_id"] for r in cur.execute(
        "SELECT id, leader_id FROM pickup_point WHERE tenant_id = %s", (tenant_id,))}
    return Snapshot(orders, lines, offers, products, points)


def half_up(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def check_close(conn: psycopg.Connection, tenant_id: uuid.UUID, batch_id: uuid.UUID, before: Snapshot) -> dict:
    """Asserts everything the close must have produced; returns a few totals for the caller."""
    cur = conn.cursor(row_factory=psycopg.rows.dict_row)
    going = {"PAID", "PLACED"}
    # Offers: what is sold once unpaid orders are dropped decides whether they go ahead.
    sold = Counter()
    for ln in before.lines:
        if ln["status"] == "ACTIVE" and before.orders[ln["order_id"]]["status"] in going:
            sold[ln["offer_id"]] += ln["quantity"]
    confirmed_offer = {f: sold[f] >= o["min_group_quantity"] for f, o in before.offers.items()}
    confirmed = [ln for ln in before.lines if ln["status"] == "ACTIVE"
                 and before.orders[ln["order_id"]]["status"] in going and confirmed_offer[ln["offer_id"]]]
    confirmed_orders = {ln["order_id"] for ln in confirmed}

    batch = cur.execute("SELECT status, closed_at FROM batch WHERE tenant_id = %s AND id = %s",
                        (tenant_id, batch_id)).fetchone()
    assert batch["status"] == "CLOSED" and batch["closed_at"] is not None

    for offer in cur.execute(f"SELECT id, status, {SOLD_SQL} FROM offer o WHERE tenant_id = %s AND batch_id = %s",
                             (tenant_id, batch_id)).fetchall():
        f = offer["id"]
        assert offer["status"] == ("CONFIRMED" if confirmed_offer[f] else "BELOW_MINIMUM"), f
        active = sum(ln["quantity"] for ln in confirmed if ln["offer_id"] == f)
        assert offer["sold"] == active, "soldQuantity is the active quantity after the close"

    # Orders.
    after = {r["id"]: r for r in cur.execute(
        "SELECT o.id, order_state(o.status, b.status) AS status, o.total_minor, o.refunded_minor "
        "FROM customer_order o JOIN batch b ON b.tenant_id = o.tenant_id AND b.id = o.batch_id "
        "WHERE o.tenant_id = %s AND o.batch_id = %s", (tenant_id, batch_id))}
    for oid, o in before.orders.items():
        expected = "CONFIRMED" if oid in confirmed_orders else "CANCELLED"
        assert after[oid]["status"] == expected, (o["status"], after[oid])
    active_lines = {r["id"] for r in cur.execute(
        "SELECT l.id FROM order_line l JOIN customer_order o ON o.tenant_id = l.tenant_id AND o.id = l.order_id "
        "WHERE o.tenant_id = %s AND o.batch_id = %s AND l.status = 'ACTIVE'", (tenant_id, batch_id))}
    assert active_lines == {ln["id"] for ln in confirmed}

    # Refunds: what PAID orders paid for lines that did not go ahead.
    refunded = Counter()
    for ln in before.lines:
        order = before.orders[ln["order_id"]]
        if order["status"] == "PAID" and ln["status"] == "ACTIVE" and not confirmed_offer[ln["offer_id"]]:
            refunded[ln["order_id"]] += ln["quantity"] * ln["unit_price_minor"]
    refunds = Counter()
    for r in cur.execute("SELECT order_id, amount_minor FROM refund WHERE tenant_id = %s AND order_id = ANY(%s)",
                         (tenant_id, list(before.orders))):
        refunds[r["order_id"]] += r["amount_minor"]
    assert refunds == +refunded

    # Purchase orders: one per supplier, lines per product, deliveries per pickup point.
    by_product = Counter()
    by_product_point = Counter()
    revenue = Counter()
    for ln in confirmed:
        point = before.orders[ln["order_id"]]["pickup_point_id"]
        by_product[ln["product_id"]] += ln["quantity"]
        by_product_point[(ln["product_id"], point)] += ln["quantity"]
        revenue[ln["product_id"]] += ln["quantity"] * ln["unit_price_minor"]
    pos = cur.execute("SELECT id, supplier_id, total_cost_minor, revenue_minor, status FROM purchase_order "
                      "WHERE tenant_id = %s AND batch_id = %s", (tenant_id, batch_id)).fetchall()
    suppliers = {before.products[p]["supplier_id"] for p in by_product}
    assert sorted(po["supplier_id"] for po in pos) == sorted(suppliers), "one purchase order per supplier"
    po_lines = cur.execute(
        "SELECT l.purchase_order_id, l.product_id, l.quantity, l.unit_cost_minor, l.total_cost_minor, "
        "l.revenue_minor FROM purchase_order_line l JOIN purchase_order po "
        "ON po.tenant_id = l.tenant_id AND po.id = l.purchase_order_id WHERE po.tenant_id = %s AND po.batch_id = %s",
        (tenant_id, batch_id)).fetchall()
    assert Counter({ln["product_id"]: ln["quantity"] for ln in po_lines}) == by_product
    assert len(po_lines) == len(by_product), "each product in exactly one purchase-order line"
    po_supplier = {po["id"]: po["supplier_id"] for po in pos}
    for ln in po_lines:
        product = before.products[ln["product_id"]]
        assert po_supplier[ln["purchase_order_id"]] == product["supplier_id"]
        assert ln["unit_cost_minor"] == product["cost_minor"]
        assert ln["total_cost_minor"] == ln["quantity"] * product["cost_minor"]
        assert ln["revenue_minor"] == revenue[ln["product_id"]]
    for po in pos:
        mine = [ln for ln in po_lines if ln["purchase_order_id"] == po["id"]]
        assert po["total_cost_minor"] == sum(ln["total_cost_minor"] for ln in mine)
        assert po["revenue_minor"] == sum(ln["revenue_minor"] for ln in mine)
        assert po["status"] == "SENT"
    deliveries = Counter({(r["product_id"], r["pickup_point_id"]): r["quantity"] for r in cur.execute(
        "SELECT d.product_id, d.pickup_point_id, d.quantity FROM purchase_order_delivery d JOIN purchase_order po "
        "ON po.tenant_id = d.tenant_id AND po.id = d.purchase_order_id WHERE po.tenant_id = %s AND po.batch_id = %s",
        (tenant_id, batch_id))})
    assert deliveries == by_product_point

    # Pick lists: one per point with confirmed lines; totals equal the purchase orders' deliveries.
    lists = cur.execute("SELECT id, pickup_point_id, leader_id FROM pick_list WHERE tenant_id = %s AND batch_id = %s",
                        (tenant_id, batch_id)).fetchall()
    points = {p for (_, p) in by_product_point}
    assert sorted(pl["pickup_point_id"] for pl in lists) == sorted(points), "one pick list per pickup point"
    for pl in lists:
        assert pl["leader_id"] == before.points[pl["pickup_point_id"]]
    pick_lines = Counter({(r["product_id"], r["pickup_point_id"]): r["quantity"] for r in cur.execute(
        "SELECT l.product_id, pl.pickup_point_id, l.quantity FROM pick_list_line l JOIN pick_list pl "
        "ON pl.tenant_id = l.tenant_id AND pl.id = l.pick_list_id WHERE pl.tenant_id = %s AND pl.batch_id = %s",
        (tenant_id, batch_id))})
    assert pick_lines == by_product_point
    per_product_from_lists = Counter()
    for (product, _), q in pick_lines.items():
        per_product_from_lists[product] += q
    assert per_product_from_lists == by_product, "purchase orders = sum over pick lists, per product"

    # Commissions: one per confirmed order, rate x goods value rounded half-up per line.
    expected_commission = Counter()
    for ln in confirmed:
        order = before.orders[ln["order_id"]]
        expected_commission[ln["order_id"]] += half_up(order["commission_rate"] * ln["quantity"] * ln["unit_price_minor"])
    commissions = cur.execute("SELECT order_id, leader_id, amount_minor, status FROM commission "
                              "WHERE tenant_id = %s AND batch_id = %s", (tenant_id, batch_id)).fetchall()
    assert len(commissions) == len(confirmed_orders) == len({c["order_id"] for c in commissions})
    for c in commissions:
        assert c["amount_minor"] == expected_commission[c["order_id"]]
        assert c["leader_id"] == before.orders[c["order_id"]]["leader_id"] and c["status"] == "PENDING"

    # Invariant 7: what PAID orders paid = what goes to suppliers' purchase orders + refunds.
    paid = sum(o["total_minor"] for o in before.orders.values() if o["status"] == "PAID")
    paid_confirmed = sum(ln["quantity"] * ln["unit_price_minor"] for ln in confirmed
                         if before.orders[ln["order_id"]]["status"] == "PAID")
    assert paid == paid_confirmed + sum(refunds.values())
    assert sum(po["revenue_minor"] for po in pos) == sum(
        ln["quantity"] * ln["unit_price_minor"] for ln in confirmed)
    # Each order's total is of its active lines; what it paid for the others is refunded.
    dropped = Counter()
    for ln in before.lines:
        if before.orders[ln["order_id"]]["status"] in going and ln["status"] == "ACTIVE" \
                and not confirmed_offer[ln["offer_id"]]:
            dropped[ln["order_id"]] += ln["quantity"] * ln["unit_price_minor"]
    for oid, o in after.items():
        if before.orders[oid]["status"] in going:
            assert o["total_minor"] == before.orders[oid]["total_minor"] - dropped[oid]
            assert o["refunded_minor"] == refunded[oid]

    # Events, each once.
    events = Counter(r["event"] for r in cur.execute(
        "SELECT event FROM outbox_event WHERE tenant_id = %s AND (subject_id = %s OR payload->>'batchId' = %s "
        "OR subject_id = ANY(%s))", (tenant_id, batch_id, str(batch_id), list(before.orders))))
    assert events["BATCH_CLOSED"] == 1
    assert events["PURCHASE_ORDER_CREATED"] == len(pos)
    assert events["PICK_LIST_READY"] == len(lists)
    return {"purchase_orders": len(pos), "pick_lists": len(lists), "commissions": len(commissions),
            "refunds": sum(1 for v in refunds.values() if v), "confirmed_lines": len(confirmed)}
