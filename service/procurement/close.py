"""Closing a batch: one transaction, set-based SQL, exactly once.

The batch gate is taken exclusively and the batch row updated OPEN -> CLOSED first. Order
placement, cancellation and the cutoff trigger hold the gate shared and lock that row FOR SHARE,
so the close waits for orders in flight, and no order can commit after it began: invariants 2
and 4. Concurrent or repeated closes wait on the same row
and then find nothing to do; a close killed half-way rolls back whole and runs again later. The
unique keys of purchase orders, pick lists and commissions back this up in the database.

Steps (the issue's numbering): 拼团 groups still open resolved (service/groupbuys/resolution.py);
unpaid orders cancelled and their stock released; offers below
their minimum group quantity cancelled and refunded; orders left without a line cancelled; one
purchase order per supplier with lines per product; one pick list per pickup point (its orders
numbered); outbox events; CLOSED.

What is per order or per point x product is derived from the lines the close confirmed (those
still ACTIVE, or cancelled after the close finished: migration 0010) instead of written: an
order's CONFIRMED status (PAID or PLACED in a closed batch), its commission (view commission)
and the quantities per pickup point (views purchase_order_delivery, pick_list_line). So a close
writes O(suppliers x products + points) rows, not O(orders).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any, cast
from uuid import UUID

from psycopg.types.json import Jsonb
from sqlalchemy import CursorResult, text
from sqlalchemy.ext.asyncio import AsyncSession

from service.batches.locks import close_gate
from service.config import get_settings
from service.coupons.redemption import release_for_cancelled
from service.groupbuys.resolution import resolve_groups
from service.growth import distribution
from service.observability.metrics import observe_close
from service.orders.models import UNPAID_PREDICATE
from service.orders.numbers import purchase_order_numbers

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CloseResult:
    batch_id: UUID
    order_lines: int
    purchase_orders: int
    pick_lists: int
    commissions: int
    refunds: int
    cancelled_orders: int
    duration_ms: int


_START = text(
    "UPDATE batch SET status = 'CLOSED', closed_at = statement_timestamp() "
    "WHERE tenant_id = :t AND id = :b AND status = 'OPEN' RETURNING closed_at"
)

# 1. Unpaid orders: cancelled, their lines too, their stock and per-customer quantities released.
# The unpaid-orders predicate lets it use that small index rather than read the whole batch.
_CANCEL_UNPAID = text(f"""
WITH cancelled AS (
  UPDATE customer_order SET status = 'CANCELLED', cancelled_at = statement_timestamp(),
         cancel_reason = 'Not paid before the cutoff'
  WHERE tenant_id = :t AND batch_id = :b AND status = 'PENDING_PAYMENT' AND {UNPAID_PREDICATE}
  RETURNING id, customer_id
), lines AS (
  UPDATE order_line l SET status = 'CANCELLED', cancelled_at = statement_timestamp()
  FROM cancelled c WHERE l.tenant_id = :t AND l.order_id = c.id AND l.status = 'ACTIVE'
  RETURNING l.offer_id, l.stock_slot, c.customer_id, l.quantity
), per_offer AS (
  UPDATE offer_stock_slot s SET sold = s.sold - q.quantity
  FROM (SELECT offer_id, stock_slot, sum(quantity) AS quantity FROM lines GROUP BY offer_id, stock_slot) q
  WHERE s.tenant_id = :t AND s.offer_id = q.offer_id AND s.slot = q.stock_slot
  RETURNING s.offer_id
), per_customer AS (
  UPDATE offer_customer_quantity c SET quantity = c.quantity - q.quantity
  FROM (SELECT offer_id, customer_id, sum(quantity) AS quantity FROM lines GROUP BY offer_id, customer_id) q
  WHERE c.tenant_id = :t AND c.offer_id = q.offer_id AND c.customer_id = q.customer_id
  RETURNING c.offer_id
), events AS (
  INSERT INTO outbox_event (tenant_id, id, event, subject_type, subject_id, payload)
  SELECT :t, gen_random_uuid(), 'ORDER_CANCELLED', 'order', id,
         jsonb_build_object('orderId', id, 'customerId', customer_id, 'reason', 'Not paid before the cutoff')
  FROM cancelled
  RETURNING id
)
SELECT (SELECT count(*) FROM cancelled) AS orders, (SELECT count(DISTINCT offer_id) FROM per_offer) AS offers,
       (SELECT count(*) FROM per_customer) AS counters, (SELECT count(*) FROM events) AS events
""")

# 2a. Offers go ahead only when what was sold reaches their minimum group quantity.
# What each offer sold, joined rather than a subquery in the CASE (which Citus refuses).
_OFFER_OUTCOME = text(
    "UPDATE offer o SET status = CASE WHEN x.sold >= o.min_group_quantity THEN 'CONFIRMED' ELSE 'BELOW_MINIMUM' END "
    "FROM (SELECT f.id, coalesce(sum(s.sold), 0) AS sold FROM offer f "
    "      LEFT JOIN offer_stock_slot s ON s.tenant_id = f.tenant_id AND s.offer_id = f.id "
    "      WHERE f.tenant_id = :t AND f.batch_id = :b GROUP BY f.id) x "
    "WHERE o.tenant_id = :t AND o.id = x.id"
)

# 2b. Lines of offers below their minimum: cancelled, released, refunded where paid (one refund per order).
_CANCEL_BELOW_MINIMUM = text("""
WITH lines AS (
  UPDATE order_line l SET status = 'CANCELLED', cancelled_at = statement_timestamp()
  FROM offer f
  WHERE l.tenant_id = :t AND f.tenant_id = :t AND f.batch_id = :b AND f.status = 'BELOW_MINIMUM'
    AND l.offer_id = f.id AND l.status = 'ACTIVE'
  RETURNING l.order_id, l.offer_id, l.stock_slot, l.quantity,
            l.quantity * l.unit_price_minor - l.discount_minor AS amount
), per_order AS (
  SELECT order_id, sum(amount) AS amount FROM lines GROUP BY order_id
), released AS (
  UPDATE offer_stock_slot s SET sold = s.sold - q.quantity
  FROM (SELECT offer_id, stock_slot, sum(quantity) AS quantity FROM lines GROUP BY offer_id, stock_slot) q
  WHERE s.tenant_id = :t AND s.offer_id = q.offer_id AND s.slot = q.stock_slot
  RETURNING s.offer_id
), orders AS (
  UPDATE customer_order o
  SET total_minor = o.total_minor - p.amount,
      refunded_minor = o.refunded_minor + CASE WHEN o.status = 'PAID' THEN p.amount ELSE 0 END
  FROM per_order p WHERE o.tenant_id = :t AND o.id = p.order_id
  RETURNING o.id, o.status, o.currency, o.customer_id, p.amount
), refunds AS (
  INSERT INTO refund (tenant_id, id, order_id, amount_minor, currency, reason)
  SELECT :t, gen_random_uuid(), id, amount, currency, 'Below the minimum group quantity'
  FROM orders WHERE status = 'PAID'
  RETURNING id, order_id, amount_minor, currency
), events AS (
  INSERT INTO outbox_event (tenant_id, id, event, subject_type, subject_id, payload)
  SELECT :t, gen_random_uuid(), 'REFUND_CREATED', 'refund', r.id,
         jsonb_build_object('refundId', r.id, 'orderId', r.order_id, 'amountMinor', r.amount_minor,
                            'currency', r.currency, 'customerId', o.customer_id)
  FROM refunds r JOIN orders o ON o.id = r.order_id
  RETURNING id
)
SELECT (SELECT count(*) FROM refunds) AS refunds, (SELECT count(DISTINCT offer_id) FROM released) AS offers,
       (SELECT count(*) FROM events) AS events
""")

# 3. Orders that lost every line to step 2b are cancelled; the others with an active line are
# confirmed by the batch's CLOSED status (no row written). Only orders with a line of an offer
# below its minimum can be left empty: found through those offers' lines, not the whole batch.
_CANCEL_EMPTY_ORDERS = text("""
WITH cancelled AS (
  UPDATE customer_order o SET status = 'CANCELLED', cancelled_at = statement_timestamp(),
         cancel_reason = 'No product of this order reached its minimum group quantity'
  WHERE o.tenant_id = :t AND o.batch_id = :b AND o.status IN ('PAID', 'PLACED')
    AND o.id IN (SELECT l.order_id FROM offer f
                 JOIN order_line l ON l.tenant_id = f.tenant_id AND l.offer_id = f.id
                 WHERE f.tenant_id = :t AND f.batch_id = :b AND f.status = 'BELOW_MINIMUM')
    AND NOT EXISTS (SELECT 1 FROM order_line l
                    WHERE l.tenant_id = o.tenant_id AND l.order_id = o.id AND l.status = 'ACTIVE')
  RETURNING id, customer_id
), events AS (
  INSERT INTO outbox_event (tenant_id, id, event, subject_type, subject_id, payload)
  SELECT :t, gen_random_uuid(), 'ORDER_CANCELLED', 'order', id,
         jsonb_build_object('orderId', id, 'customerId', customer_id,
                            'reason', 'No product of this order reached its minimum group quantity')
  FROM cancelled
  RETURNING id
)
SELECT count(*) FROM events
""")

# 4. One pass over the confirmed lines (the ACTIVE lines of the PAID and PLACED orders left),
# aggregated per (supplier, product): the purchase orders and their lines are built from it.
_CONFIRMED_LINES = text("""
CREATE TEMP TABLE close_lines ON COMMIT DROP AS
SELECT p.supplier_id, l.product_id,
       sum(l.quantity)::bigint AS quantity,
       sum(l.quantity * l.unit_price_minor)::bigint AS revenue,
       count(*)::bigint AS lines
FROM customer_order o
JOIN order_line l ON l.tenant_id = o.tenant_id AND l.order_id = o.id
JOIN product p ON p.tenant_id = l.tenant_id AND p.id = l.product_id
WHERE o.tenant_id = :t AND o.batch_id = :b AND o.status IN ('PAID', 'PLACED') AND l.status = 'ACTIVE'
GROUP BY p.supplier_id, l.product_id
""")

# 5. The confirmed orders per pickup point (each has an active line after step 3): pick lists
# with their orders in the order they were placed (an order's pick number is its position), and
# the count of commissions the close confirmed.
_CONFIRMED_POINTS = text("""
CREATE TEMP TABLE close_points ON COMMIT DROP AS
SELECT pickup_point_id, count(*)::bigint AS orders, array_agg(id ORDER BY created_at, id) AS order_ids
FROM customer_order
WHERE tenant_id = :t AND batch_id = :b AND status IN ('PAID', 'PLACED')
GROUP BY pickup_point_id
""")

_SUPPLIERS = text("SELECT DISTINCT supplier_id FROM close_lines ORDER BY supplier_id")

_PURCHASE_ORDERS = ("""
INSERT INTO purchase_order (tenant_id, id, batch_id, supplier_id, number, status, currency,
                            total_cost_minor, revenue_minor)""", """
SELECT :t, gen_random_uuid(), :b, s.supplier_id, s.number, 'SENT', :currency, a.cost, a.revenue
FROM unnest(CAST(:suppliers AS uuid[]), CAST(:numbers AS text[])) AS s(supplier_id, number)
JOIN (SELECT c.supplier_id, sum(c.quantity * p.cost_minor) AS cost, sum(c.revenue) AS revenue
      FROM close_lines c JOIN product p ON p.tenant_id = :t AND p.id = c.product_id
      GROUP BY c.supplier_id) a ON a.supplier_id = s.supplier_id
""")

_PURCHASE_ORDER_LINES = ("""
INSERT INTO purchase_order_line (tenant_id, purchase_order_id, product_id, product_name, unit, quantity,
                                 unit_cost_minor, total_cost_minor, revenue_minor)""", """
SELECT :t, po.id, c.product_id, p.name, p.unit, c.quantity, p.cost_minor, c.quantity * p.cost_minor, c.revenue
FROM close_lines c
JOIN purchase_order po ON po.tenant_id = :t AND po.batch_id = :b AND po.supplier_id = c.supplier_id
JOIN product p ON p.tenant_id = :t AND p.id = c.product_id
""")

_PICK_LISTS = ("""
INSERT INTO pick_list (tenant_id, id, batch_id, pickup_point_id, leader_id, order_ids)""", """
SELECT :t, gen_random_uuid(), :b, pp.id, pp.leader_id, c.order_ids
FROM close_points c
JOIN pickup_point pp ON pp.tenant_id = :t AND pp.id = c.pickup_point_id
""")

# 7. Events: the batch, each supplier's purchase order, each leader's pick list.
_CLOSE_EVENTS = ("""
INSERT INTO outbox_event (tenant_id, id, event, subject_type, subject_id, payload)""", """
SELECT :t, gen_random_uuid(), 'BATCH_CLOSED', 'batch', CAST(:b AS uuid), jsonb_build_object('batchId', CAST(:b AS uuid))
UNION ALL
SELECT :t, gen_random_uuid(), 'PURCHASE_ORDER_CREATED', 'purchase_order', id,
       jsonb_build_object('purchaseOrderId', id, 'batchId', batch_id, 'supplierId', supplier_id, 'number', number)
FROM purchase_order WHERE tenant_id = :t AND batch_id = :b
UNION ALL
SELECT :t, gen_random_uuid(), 'PICK_LIST_READY', 'pick_list', id,
       jsonb_build_object('pickListId', id, 'batchId', batch_id, 'pickupPointId', pickup_point_id,
                          'leaderId', leader_id)
FROM pick_list WHERE tenant_id = :t AND batch_id = :b
""")

_RECORD = text("""
INSERT INTO batch_close (tenant_id, batch_id, requested_at, finished_at, order_lines, duration_ms)
VALUES (:t, :b, statement_timestamp(), statement_timestamp(), :lines, :ms)
ON CONFLICT (tenant_id, batch_id) DO UPDATE
SET finished_at = EXCLUDED.finished_at, order_lines = EXCLUDED.order_lines, duration_ms = EXCLUDED.duration_ms
""")


# Rows per INSERT ... VALUES on Citus.
_CITUS_ROWS = 500


async def _insert(session: AsyncSession, statement: tuple[str, str], params: dict[str, Any]) -> int:
    """INSERT ... SELECT; returns the rows inserted. On Citus the rows are selected first and
    inserted as VALUES, routed to the tenant's shards: Citus would copy an INSERT ... SELECT
    from the close's temporary tables into the shards, which row-level security refuses."""
    head, query = statement
    if not get_settings().citus:
        return cast(CursorResult[Any], await session.execute(text(head + query), params)).rowcount
    rows = (await session.execute(text(query), params)).all()
    for start in range(0, len(rows), _CITUS_ROWS):
        chunk = rows[start:start + _CITUS_ROWS]
        values: dict[str, Any] = {}
        tuples = []
        for r, row in enumerate(chunk):
            names = []
            for c, value in enumerate(row):
                values[f"v{r}_{c}"] = Jsonb(value) if isinstance(value, dict) else value
                names.append(f":v{r}_{c}")
            tuples.append("(" + ", ".join(names) + ")")
        await session.execute(text(f"{head} VALUES {', '.join(tuples)}"), values)
    return len(rows)


async def close_batch(session: AsyncSession, *, tenant_id: UUID, batch_id: UUID) -> CloseResult | None:
    """Closes an OPEN batch in the caller's transaction; None when it is not OPEN (already
    closed by someone else, cancelled, or not open yet), so running it twice is harmless."""
    started = time.monotonic()
    params = {"t": tenant_id, "b": batch_id}
    # Fairly queued against orders in flight, so a steady stream of orders cannot starve the close.
    await close_gate(session, batch_id)
    if (await session.execute(_START, params)).first() is None:
        return None
    # 拼团 groups still open end now by their offer's rule: a failed group's orders are cancelled
    # (and refunded) before the steps below, so only orders of groups that succeeded go ahead.
    groups = await resolve_groups(session, tenant_id=tenant_id, batch_id=batch_id, gate=False)
    unpaid = (await session.execute(_CANCEL_UNPAID, params)).one()
    await session.execute(_OFFER_OUTCOME, params)
    below = (await session.execute(_CANCEL_BELOW_MINIMUM, params)).one()
    # One statement (an INSERT ... SELECT from its CTE at the top would be copied through the
    # coordinator on Citus, which row-level security refuses).
    empty = int((await session.execute(_CANCEL_EMPTY_ORDERS, params)).scalar_one())
    await release_for_cancelled(session, tenant_id=tenant_id, batch_id=batch_id)  # their coupons
    await session.execute(_CONFIRMED_LINES, params)
    await session.execute(_CONFIRMED_POINTS, params)
    await distribution.write_pending(session, tenant_id=tenant_id, batch_id=batch_id)
    commissions = (await session.execute(text("SELECT coalesce(sum(orders), 0) FROM close_points"))).scalar_one()
    suppliers = [r.supplier_id for r in (await session.execute(_SUPPLIERS)).all()]
    numbers = await purchase_order_numbers(session, tenant_id, len(suppliers))
    currency = (await session.execute(text("SELECT currency FROM tenant WHERE id = :t"), params)).scalar_one()
    await _insert(session, _PURCHASE_ORDERS, {**params, "suppliers": suppliers, "numbers": numbers,
                                              "currency": currency})
    await _insert(session, _PURCHASE_ORDER_LINES, params)
    pick_lists = await _insert(session, _PICK_LISTS, params)
    await _pause_for_fault_injection()
    await _insert(session, _CLOSE_EVENTS, params)
    lines = (await session.execute(text("SELECT coalesce(sum(lines), 0) FROM close_lines"))).scalar_one()
    duration_ms = int((time.monotonic() - started) * 1000)
    await session.execute(_RECORD, {**params, "lines": int(lines), "ms": duration_ms})
    result = CloseResult(
        batch_id=batch_id, order_lines=int(lines), purchase_orders=len(suppliers), pick_lists=pick_lists,
        commissions=int(commissions), refunds=int(below.refunds),
        cancelled_orders=int(unpaid.orders) + empty + groups.cancelled_orders,
        duration_ms=duration_ms,
    )
    observe_close(result)
    log.info("closed batch %s: %s", batch_id, result)
    return result


async def _pause_for_fault_injection() -> None:
    """Reliability tests kill a worker here, half-way through a close (off unless configured)."""
    pause = get_settings().close_pause_seconds
    if pause > 0:
        log.warning("close paused for %.1fs (GROUPBUY_CLOSE_PAUSE_SECONDS)", pause)
        await asyncio.sleep(pause)
