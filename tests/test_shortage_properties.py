"""The invariants of shortages, against an independent model, on random batches: random short
shipments (LAST_ORDERED_FIRST or PRO_RATA), random receipt differences at the points, random
refunds by quantity, then random pickups and after-sales requests (approved in full or in part,
rejected, cancelled or left open; a second open request on a line refused). After each example:
- every line's shortage is the model's (and PRO_RATA within one unit of the exact share;
  LAST_ORDERED_FIRST never shorts an earlier order while a later one keeps goods);
- no line is refunded more than was paid, and its refund rows add up to its refunded units;
- every line's refunded units are the model's (the after-sales approvals included); units an
  approval compensated by a coupon instead stay with the customer, unrefunded, and never exceed
  what is left of the line;
- money adds up: each order's total = the value delivered and kept + what was refunded + what was
  kept against compensation coupons (COUPON_INSTEAD_OF_REFUND), and per product the purchase
  order's revenue = the value delivered and kept + the refunds after the close + that kept value;
- compensation coupons: one per compensated line, never past the template's total quantity;
- each commission is exactly the sum over its lines of round_half_up(rate x units kept x price)."""

from __future__ import annotations

import random
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any
from uuid import UUID, uuid4

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from service.accounts.models import PaymentMode, ShortagePolicy
from service.aftersales import requests
from service.errors import ErrorCode, UserErrors
from service.growth import distribution
from service.procurement.commissions import earn_commission
from tests.close_fixtures import build_batch, random_spec
from tests.conftest import run_db

EXAMPLES = 30


def _tenant(handle: Any, policy: ShortagePolicy):  # type: ignore[no-untyped-def]
    from service.tenants.principal import TenantInfo

    return TenantInfo(id=handle.uuid, slug=handle.slug, name="t", timezone="Asia/Shanghai", currency="CNY",
                      payment_mode=PaymentMode.PREPAID, default_commission_rate=Decimal("0.1"),
                      payment_window_minutes=30, shortage_policy=policy)


def _lines(owner_db, batch_id):  # type: ignore[no-untyped-def]
    rows = owner_db.execute(
        "SELECT l.id, l.order_id, l.product_id, o.pickup_point_id, o.created_at, l.quantity, l.refunded_quantity, "
        "l.shorted_quantity, l.unit_price_minor, l.status, o.status AS order_status, o.commission_rate "
        "FROM order_line l JOIN customer_order o ON o.tenant_id = l.tenant_id AND o.id = l.order_id "
        "WHERE o.batch_id = %s", (batch_id,)).fetchall()
    keys = ("id", "order_id", "product_id", "point", "created_at", "quantity", "refunded", "shorted", "price",
            "status", "order_status", "rate")
    return [dict(zip(keys, r, strict=True)) for r in rows]


def model_allocation(held: list[tuple[Any, int]], shortfall: int, policy: str) -> dict[Any, int]:
    """held: (order key, units held) in placing order (earliest first); what each line loses."""
    total = sum(h for _, h in held)
    s = min(shortfall, total)
    out = {k: 0 for k, _ in held}
    if s <= 0:
        return out
    if policy == "PRO_RATA":
        exact = {k: Fraction(s * h, total) for k, h in held}
        for k in out:
            out[k] = exact[k].numerator // exact[k].denominator
        left = s - sum(out.values())
        later_first = list(reversed(held))
        by_rest = sorted(later_first, key=lambda kh: -(exact[kh[0]] - out[kh[0]]))
        for k, _ in by_rest[:left]:
            out[k] += 1
        return out
    for k, h in reversed(held):  # the latest orders lose first
        take = min(h, s)
        out[k], s = take, s - take
    return out


def _round(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1), policy=st.sampled_from(["LAST_ORDERED_FIRST", "PRO_RATA"]),
       compensation=st.sampled_from(["NONE", "COUPON_AND_REFUND", "COUPON_INSTEAD_OF_REFUND"]))
def test_random_shortages_and_refunds_keep_the_money_right(tenant, owner_db, seed, policy, compensation):  # type: ignore[no-untyped-def]
    from service.aftersales.models import RefundReason
    from service.aftersales.receiving import ReceivedLine, confirm_delivery
    from service.aftersales.refunds import Actor, refund_order_lines
    from service.aftersales.shortage import ShippedLine, ship_purchase_order
    from service.db import tenant_transaction
    from service.procurement.close import close_batch

    rng = random.Random(seed)
    spec = random_spec(rng, orders=rng.randint(3, 25))
    spec.offers = [(p, price, 1) for p, price, _ in spec.offers]  # every offer reaches its minimum
    built = build_batch(owner_db, tenant.uuid, spec)
    # Distinct placing times, in the order the orders were listed.
    owner_db.execute("UPDATE customer_order SET created_at = created_at + (CAST(right(number, 6) AS int) "
                     "* interval '1 second') WHERE batch_id = %s", (built.batch_id,))
    info = _tenant(tenant, ShortagePolicy(policy))
    actor = Actor("user", None)

    async def close(engine):  # type: ignore[no-untyped-def]
        async with tenant_transaction(tenant.uuid, engine=engine) as session:
            await close_batch(session, tenant_id=tenant.uuid, batch_id=built.batch_id)

    run_db(close)
    # Compensation by coupon from a template of a random size: too small, some shortages are refunded after all.
    template = uuid4()
    owner_db.execute(
        "INSERT INTO coupon_template (tenant_id, id, name, kind, currency, amount_off_minor, threshold_minor, "
        "per_customer_limit, total_quantity, audience, stacks_with_group_price, paused, claimed, used, "
        "discount_given_minor, created_at) VALUES (%s, %s, 'sorry', 'AMOUNT_OFF', 'CNY', 100, 0, 1, %s, 'ANYONE', "
        "false, false, 0, 0, 0, now())", (tenant.uuid, template, rng.randint(1, 40)))
    owner_db.execute("UPDATE tenant SET compensation_mode = %s, compensation_template_id = %s WHERE id = %s",
                     (compensation, template, tenant.uuid))
    before = {r["id"]: r for r in _lines(owner_db, built.batch_id)}
    kept_at_close = {k: r for k, r in before.items() if r["status"] == "ACTIVE"}
    pos = owner_db.execute("SELECT po.id, pl.product_id, pl.quantity, pl.revenue_minor FROM purchase_order po "
                           "JOIN purchase_order_line pl ON pl.purchase_order_id = po.id WHERE po.batch_id = %s",
                           (built.batch_id,)).fetchall()

    # 1. Short shipments, product by product: the model first, then the service.
    shipped: dict[UUID, list[ShippedLine]] = {}
    expected = {k: 0 for k in kept_at_close}
    for po_id, product, ordered, _ in pos:
        q = rng.randint(0, ordered) if rng.random() < 0.7 else ordered
        shipped.setdefault(po_id, []).append(ShippedLine(product, q))
        held = sorted(((k, r["quantity"]) for k, r in kept_at_close.items() if r["product_id"] == product),
                      key=lambda kh: (kept_at_close[kh[0]]["created_at"], kept_at_close[kh[0]]["order_id"]))
        for k, lost in model_allocation(held, ordered - q, policy).items():
            expected[k] += lost
            if policy == "PRO_RATA" and ordered > q:
                total = sum(h for _, h in held)
                share = Fraction((ordered - q) * kept_at_close[k]["quantity"], total)
                assert abs(lost - share) < 1

    async def ship(engine):  # type: ignore[no-untyped-def]
        async with tenant_transaction(tenant.uuid, engine=engine) as session:
            for po_id, lines in shipped.items():
                await ship_purchase_order(session, tenant=info, purchase_order_id=po_id, supplier_id=None,
                                          lines=lines, actor=actor)

    run_db(ship)
    after_ship = {r["id"]: r for r in _lines(owner_db, built.batch_id)}
    assert {k: after_ship[k]["shorted"] for k in kept_at_close} == expected
    if policy == "LAST_ORDERED_FIRST":
        for a in kept_at_close.values():
            for b in kept_at_close.values():
                if a["product_id"] == b["product_id"] and (a["created_at"], a["order_id"]) < (
                        b["created_at"], b["order_id"]) and after_ship[a["id"]]["shorted"] > 0:
                    assert after_ship[b["id"]]["shorted"] == b["quantity"], "an earlier order lost goods first"

    # 2. Receipt differences at each point, then 3. random refunds by quantity.
    points = owner_db.execute("SELECT d.pickup_point_id, d.product_id, d.shipped FROM delivery_line d "
                              "JOIN purchase_order po ON po.id = d.purchase_order_id WHERE po.batch_id = %s "
                              "ORDER BY 1, 2", (built.batch_id,)).fetchall()
    receipts: dict[UUID, list[ReceivedLine]] = {}
    for point, product, sent in points:
        received = rng.randint(max(0, sent - 2), sent)
        receipts.setdefault(point, []).append(ReceivedLine(product, received, rng.randint(0, min(1, received))))

    async def receive(engine):  # type: ignore[no-untyped-def]
        async with tenant_transaction(tenant.uuid, engine=engine) as session:
            for point, lines in receipts.items():
                await confirm_delivery(session, tenant=info, batch_id=built.batch_id, pickup_point_id=point,
                                       lines=lines, actor=actor)

    run_db(receive)
    now = {r["id"]: r for r in _lines(owner_db, built.batch_id)}
    for point, product, sent in points:
        got = next(r for r in receipts[point] if r.product_id == product)
        lost_here = sum(now[k]["shorted"] - after_ship[k]["shorted"] for k in kept_at_close
                        if now[k]["product_id"] == product and now[k]["point"] == point)
        held_here = sum(after_ship[k]["quantity"] - after_ship[k]["refunded"] for k in kept_at_close
                        if now[k]["product_id"] == product and now[k]["point"] == point)
        assert lost_here == min(held_here, sent - got.received + got.damaged)

    refunds = [(k, rng.randint(1, r["quantity"] - r["refunded"])) for k, r in now.items()
               if r["status"] == "ACTIVE" and r["quantity"] > r["refunded"] and rng.random() < 0.3]

    async def refund(engine):  # type: ignore[no-untyped-def]
        for k, q in refunds:
            async with tenant_transaction(tenant.uuid, engine=engine) as session:
                await refund_order_lines(session, tenant=info, order_id=now[k]["order_id"], lines=[(k, q)],
                                         reason=rng.choice(list(RefundReason)), note=None, actor=actor)

    run_db(refund)
    after_refunds = {r["id"]: r for r in _lines(owner_db, built.batch_id)}
    for k, q in refunds:
        assert after_refunds[k]["refunded"] == now[k]["refunded"] + q

    # 4. Pickups of most ready orders (their commissions earned, as pickupConfirm does; its code check and
    # rate limit are not the subject here), then after-sales requests on their lines, decided at random.
    ready = [r[0] for r in owner_db.execute("SELECT id FROM customer_order WHERE batch_id = %s AND status = "
                                            "'READY_FOR_PICKUP' ORDER BY number", (built.batch_id,)).fetchall()]
    picked_ids = {o for o in ready if rng.random() < 0.7}

    async def pick(engine):  # type: ignore[no-untyped-def]
        async with tenant_transaction(tenant.uuid, engine=engine) as session:
            for order_id in sorted(picked_ids):
                await session.execute(text("UPDATE customer_order SET status = 'PICKED_UP', picked_up_at = "
                                           "statement_timestamp() WHERE id = :id"), {"id": order_id})
                await earn_commission(session, tenant_id=tenant.uuid, order_id=order_id)
                await distribution.earn(session, tenant_id=tenant.uuid, order_id=order_id)

    run_db(pick)
    expected_refunded = {k: r["refunded"] for k, r in after_refunds.items()}
    settled = {k: 0 for k in after_refunds}  # units a coupon stands for instead of a refund (kept goods)
    asks = [(k, rng.randint(1, r["quantity"] - r["refunded"]), rng.choice(["ALL", "PART", "REJECT", "CANCEL", "OPEN"]))
            for k, r in after_refunds.items() if r["order_id"] in picked_ids and r["status"] == "ACTIVE"
            and r["quantity"] > r["refunded"] and rng.random() < 0.6]
    customers = dict(owner_db.execute("SELECT id, customer_id FROM customer_order WHERE batch_id = %s",
                                      (built.batch_id,)).fetchall())
    instead_now = owner_db.execute("SELECT compensation_mode FROM tenant WHERE id = %s",
                                   (tenant.uuid,)).fetchone()[0] == "COUPON_INSTEAD_OF_REFUND"

    async def after_sales(engine):  # type: ignore[no-untyped-def]
        for k, q, decision in asks:
            line = after_refunds[k]
            async with tenant_transaction(tenant.uuid, engine=engine) as session:
                row = await requests.request(session, tenant=info, customer_id=customers[line["order_id"]],
                                             line_id=k, quantity=q, reason=rng.choice(list(RefundReason)),
                                             note=None, urls=None)
            async with tenant_transaction(tenant.uuid, engine=engine) as session:
                with pytest.raises(UserErrors) as refused:  # one open request per line
                    await requests.request(session, tenant=info, customer_id=customers[line["order_id"]],
                                           line_id=k, quantity=1, reason=RefundReason.OTHER, note=None, urls=None)
                assert refused.value.errors[0].code is ErrorCode.CONFLICT
            approved = q if decision == "ALL" else rng.randint(1, q)
            try:
                async with tenant_transaction(tenant.uuid, engine=engine) as session:
                    locked = await requests.locked(session, tenant.uuid, row.id)
                    if decision in ("ALL", "PART"):
                        await requests.approve(session, tenant=info, row=locked, quantity=approved, actor=actor)
                    elif decision == "REJECT":
                        await requests.reject(session, tenant=info, row=locked, reason="不是质量问题", actor=actor)
                    elif decision == "CANCEL":
                        await requests.cancel(session, tenant=info, row=locked, actor=actor)
            except UserErrors as e:  # a coupon instead that cannot be granted refuses the approval
                assert instead_now and decision in ("ALL", "PART"), e.errors
                assert e.errors[0].code in (ErrorCode.COUPON_EXHAUSTED, ErrorCode.COUPON_EXPIRED), e.errors
                continue
            if decision in ("ALL", "PART"):
                if instead_now:
                    settled[k] += approved
                else:
                    expected_refunded[k] += approved
            async with tenant_transaction(tenant.uuid, engine=engine) as session:  # a decided request is final
                if decision != "OPEN":
                    with pytest.raises(UserErrors) as again:
                        await requests.cancel(session, tenant=info, row=await requests.locked(session, tenant.uuid, row.id),
                                              actor=actor)
                    assert again.value.errors[0].code is ErrorCode.CONFLICT

    run_db(after_sales)
    final = {r["id"]: r for r in _lines(owner_db, built.batch_id)}
    assert {k: r["refunded"] for k, r in final.items()} == expected_refunded
    kept_goods = dict(((r[0]), r[1]) for r in owner_db.execute(
        "SELECT c.order_line_id, sum(c.quantity) FROM compensation c JOIN customer_order o ON o.id = c.order_id "
        "WHERE o.batch_id = %s AND c.coupon_id IS NOT NULL AND c.mode = 'COUPON_INSTEAD_OF_REFUND' "
        "AND c.after_sales_request_id IS NOT NULL GROUP BY 1", (built.batch_id,)).fetchall())
    assert {k: kept_goods.get(k, 0) for k in final} == settled
    for k, r in final.items():
        assert r["refunded"] + settled[k] <= r["quantity"]

    # The invariants. Units compensated by a coupon instead of a refund have no refund row: what was
    # paid for them is kept against the coupon.
    instead = dict(((r[0], r[1]), (r[2], r[3])) for r in owner_db.execute(
        "SELECT c.order_line_id, c.order_id, sum(c.quantity), sum(c.kept_minor) FROM compensation c "
        "JOIN customer_order o ON o.id = c.order_id WHERE o.batch_id = %s AND c.coupon_id IS NOT NULL "
        "AND c.mode = 'COUPON_INSTEAD_OF_REFUND' AND c.after_sales_request_id IS NULL GROUP BY 1, 2",
        (built.batch_id,)).fetchall())
    granted = owner_db.execute("SELECT count(*) FROM compensation c JOIN customer_order o ON o.id = c.order_id "
                               "WHERE o.batch_id = %s AND c.coupon_id IS NOT NULL", (built.batch_id,)).fetchone()[0]
    claimed, total_quantity = owner_db.execute("SELECT claimed, total_quantity FROM coupon_template WHERE id = %s",
                                               (template,)).fetchone()
    coupons = owner_db.execute("SELECT count(*) FROM coupon WHERE template_id = %s", (template,)).fetchone()[0]
    assert coupons == claimed == granted <= total_quantity
    if compensation == "NONE":
        assert granted == 0
    rows = dict(((r[0], r[1]), (r[2], r[3])) for r in owner_db.execute(
        "SELECT r.order_line_id, r.order_id, coalesce(sum(r.quantity), 0), sum(r.amount_minor) FROM refund r "
        "JOIN customer_order o ON o.id = r.order_id WHERE o.batch_id = %s AND r.quantity IS NOT NULL "
        "GROUP BY 1, 2", (built.batch_id,)).fetchall())
    for k, r in final.items():
        assert 0 <= r["shorted"] <= r["refunded"] <= r["quantity"]
        q, amount = rows.get((k, r["order_id"]), (0, 0))
        q_instead, kept_instead = instead.get((k, r["order_id"]), (0, 0))
        assert (q + q_instead, (amount or 0) + kept_instead) == (r["refunded"], r["refunded"] * r["price"])
    kept = {k: (r["quantity"] - r["refunded"]) * r["price"] for k, r in final.items() if k in kept_at_close}
    orders = owner_db.execute("SELECT id, total_minor, refunded_minor, status FROM customer_order WHERE batch_id = %s",
                              (built.batch_id,)).fetchall()
    for order_id, total, refunded, status in orders:
        if status == "PENDING_PAYMENT" or (status == "CANCELLED" and refunded == 0):
            continue  # never paid
        kept_for_coupons = sum(v[1] for (_, o), v in instead.items() if o == order_id)
        assert total == sum(v for k, v in kept.items() if final[k]["order_id"] == order_id) + refunded + \
            kept_for_coupons, order_id
    for _, product, _, revenue in pos:
        lines = [k for k in kept_at_close if final[k]["product_id"] == product]
        assert revenue == sum(kept[k] for k in lines) + sum(rows.get((k, final[k]["order_id"]), (0, 0))[1] or 0
                                                            for k in lines) + sum(
            instead.get((k, final[k]["order_id"]), (0, 0))[1] for k in lines)
    commissions = dict(owner_db.execute("SELECT order_id, amount_minor FROM commission WHERE batch_id = %s",
                                        (built.batch_id,)).fetchall())
    for order_id in {r["order_id"] for r in kept_at_close.values()}:
        lines = [r for k, r in final.items() if k in kept_at_close and r["order_id"] == order_id]
        assert commissions[order_id] == sum(
            _round(r["rate"] * (r["quantity"] - r["refunded"]) * r["price"]) for r in lines), order_id
