"""Refunding units a coupon paid for in full: no refund row of nothing

refund_line_quantities() inserted a refund for every refunded line, also when the units' paid
share was 0 (a coupon covered them); refund.amount_minor > 0 refused it and the whole refund
failed with an internal error (found by the coupons' property test). The units are still
refunded (quantities, stock, commissions); only the money row and its event are left out.

Revision ID: 0047
Revises: 0044
"""

from alembic import op

revision = "0047"
down_revision = "0044"
branch_labels = None
depends_on = None

REFUND_LINE_QUANTITIES = r"""
-- Refunds quantities of order lines in one set-based pass: the one path of every refund
-- (orderLinesRefund, orderRefund, shortages, damaged goods, after-sales approvals), with its
-- REFUND_CREATED event.
-- Orders are locked before lines, both in id order, so concurrent refunds and shortages queue
-- instead of deadlocking; the check order_line_refunded_check makes over-refunding impossible.
-- The leader's commission on a line falls from round(rate x base(before)) to
-- round(rate x base(after)): per-line half-up rounding stays exact however a line is split. A
-- line's base is the price of its units not refunded, less what is left of its coupon discount
-- when the tenant pays commission on what was paid (tenant.commission_base); the refund is what
-- was paid for the units (line_paid_share()).
-- The clock is read once, before the updates: Citus refuses a volatile function in an UPDATE
-- of a distributed table.
-- Last changed by migration 0047; a change needs a migration carrying this whole text.
CREATE OR REPLACE FUNCTION refund_line_quantities(
  p_tenant uuid, p_lines uuid[], p_quantities int[], p_reason_code text, p_note text,
  p_actor_kind text, p_actor_id uuid, p_shorted boolean, p_prepaid boolean)
RETURNS TABLE (kind text, id uuid)
LANGUAGE plpgsql VOLATILE SECURITY INVOKER AS $fn$
#variable_conflict use_column
DECLARE
  v_now timestamptz := clock_timestamp();
BEGIN
  PERFORM 1 FROM customer_order o
  WHERE o.tenant_id = p_tenant
    AND o.id IN (SELECT l.order_id FROM order_line l WHERE l.tenant_id = p_tenant AND l.id = ANY(p_lines))
  ORDER BY o.id FOR UPDATE OF o;
  PERFORM 1 FROM order_line l WHERE l.tenant_id = p_tenant AND l.id = ANY(p_lines) ORDER BY l.id FOR UPDATE;

  -- The commission as the close derived it, written down before it changes.
  INSERT INTO commission_entry (tenant_id, id, leader_id, order_id, batch_id, rate, currency, amount_minor,
                                status, created_at)
  SELECT o.tenant_id, o.id, o.leader_id, o.id, o.batch_id, o.commission_rate, o.currency,
         (SELECT coalesce(sum(round(o.commission_rate * (l.quantity * l.unit_price_minor
                                            - CASE WHEN t.commission_base = 'COMMISSION_ON_PAID'
                                              THEN l.discount_minor ELSE 0 END))), 0)::bigint
          FROM order_line l JOIN tenant t ON t.id = l.tenant_id
          WHERE l.tenant_id = o.tenant_id AND l.order_id = o.id
            AND (l.status = 'ACTIVE' OR l.cancelled_at > bc.finished_at)),
         'PENDING', b.closed_at
  FROM customer_order o
  JOIN batch b ON b.tenant_id = o.tenant_id AND b.id = o.batch_id
  JOIN batch_close bc ON bc.tenant_id = o.tenant_id AND bc.batch_id = o.batch_id
  WHERE o.tenant_id = p_tenant AND b.status IN ('CLOSED', 'COMPLETED')
    AND o.id IN (SELECT l.order_id FROM order_line l WHERE l.tenant_id = p_tenant AND l.id = ANY(p_lines))
    AND NOT EXISTS (SELECT 1 FROM commission_entry c WHERE c.tenant_id = o.tenant_id AND c.order_id = o.id)
  ON CONFLICT (tenant_id, order_id) DO NOTHING;

  UPDATE commission_entry c
  SET amount_minor = c.amount_minor - least(p.amount, c.amount_minor),
      reversed_minor = c.reversed_minor + least(p.amount, c.amount_minor),
      status = CASE WHEN c.status = 'EARNED' OR c.amount_minor <= p.amount THEN 'REVERSED' ELSE c.status END,
      reversed_at = v_now
  FROM (
    SELECT l.order_id,
           sum(round(ce.rate * ((l.quantity - l.refunded_quantity) * l.unit_price_minor
                                - CASE WHEN t.commission_base = 'COMMISSION_ON_PAID'
                                  THEN l.discount_minor - l.discount_minor * l.refunded_quantity / l.quantity
                                  ELSE 0 END))
               - round(ce.rate * ((l.quantity - l.refunded_quantity - r.q) * l.unit_price_minor
                                  - CASE WHEN t.commission_base = 'COMMISSION_ON_PAID'
                                    THEN l.discount_minor
                                         - l.discount_minor * (l.refunded_quantity + r.q) / l.quantity
                                    ELSE 0 END)))::bigint AS amount
    FROM (SELECT u.line_id, sum(u.q)::int AS q FROM unnest(p_lines, p_quantities) AS u(line_id, q)
          GROUP BY u.line_id) r
    JOIN order_line l ON l.tenant_id = p_tenant AND l.id = r.line_id
    JOIN tenant t ON t.id = l.tenant_id
    JOIN commission_entry ce ON ce.tenant_id = l.tenant_id AND ce.order_id = l.order_id
    GROUP BY l.order_id
  ) p
  WHERE c.tenant_id = p_tenant AND c.order_id = p.order_id AND p.amount > 0;

  RETURN QUERY
  WITH r AS (
    SELECT u.line_id, sum(u.q)::int AS q FROM unnest(p_lines, p_quantities) AS u(line_id, q) GROUP BY u.line_id
  ), changed AS (
    UPDATE order_line l
    SET refunded_quantity = l.refunded_quantity + r.q,
        shorted_quantity = l.shorted_quantity + CASE WHEN p_shorted THEN r.q ELSE 0 END,
        status = CASE WHEN l.refunded_quantity + r.q = l.quantity THEN 'CANCELLED' ELSE l.status END,
        cancelled_at = CASE WHEN l.refunded_quantity + r.q = l.quantity THEN v_now
                            ELSE l.cancelled_at END
    FROM r
    WHERE l.tenant_id = p_tenant AND l.id = r.line_id AND r.q > 0
    RETURNING l.id, l.order_id, r.q, l.unit_price_minor, l.quantity, l.discount_minor,
              l.refunded_quantity - r.q AS refunded_before
  ), paid AS (
    -- Money moved only if it was paid: always for PREPAID tenants, at pickup otherwise.
    SELECT c.id AS line_id, c.order_id, c.q,
           line_paid_share(c.unit_price_minor, c.quantity, c.discount_minor, c.refunded_before, c.q) AS amount,
           o.currency
    FROM changed c JOIN customer_order o ON o.tenant_id = p_tenant AND o.id = c.order_id
    WHERE p_prepaid OR o.status = 'PICKED_UP'
  ), refunds AS (
    INSERT INTO refund (tenant_id, id, order_id, order_line_id, amount_minor, currency, reason, quantity,
                        reason_code, actor_kind, actor_id)
    SELECT p_tenant, gen_random_uuid(), p.order_id, p.line_id, p.amount, p.currency,
           coalesce(p_note, p_reason_code), p.q, p_reason_code, p_actor_kind, p_actor_id
    FROM paid p
    WHERE p.amount > 0  -- units a coupon paid for in full move no money: no refund row
    RETURNING id, order_id, amount_minor, currency, quantity, reason_code
  ), events AS (
    INSERT INTO outbox_event (tenant_id, id, event, subject_type, subject_id, payload)
    SELECT p_tenant, gen_random_uuid(), 'REFUND_CREATED', 'refund', f.id,
           jsonb_build_object('refundId', f.id, 'orderId', f.order_id, 'amountMinor', f.amount_minor,
                              'currency', f.currency, 'customerId', o.customer_id, 'quantity', f.quantity,
                              'reasonCode', f.reason_code)
    FROM refunds f JOIN customer_order o ON o.tenant_id = p_tenant AND o.id = f.order_id
    RETURNING id
  ), totals AS (
    UPDATE customer_order o SET refunded_minor = o.refunded_minor + s.amount
    FROM (SELECT order_id, sum(amount)::bigint AS amount FROM paid GROUP BY order_id) s
    WHERE o.tenant_id = p_tenant AND o.id = s.order_id
    RETURNING o.id
  )
  SELECT 'refund'::text, refunds.id FROM refunds
  UNION ALL SELECT DISTINCT 'order'::text, changed.order_id FROM changed
  UNION ALL SELECT 'total'::text, totals.id FROM totals;

  -- An order left with nothing, not picked up, is cancelled.
  RETURN QUERY
  UPDATE customer_order o
  SET status = 'CANCELLED', cancelled_at = v_now, cancel_reason = coalesce(p_note, p_reason_code)
  WHERE o.tenant_id = p_tenant AND o.status <> 'PICKED_UP' AND o.status <> 'CANCELLED'
    AND o.id IN (SELECT l.order_id FROM order_line l WHERE l.tenant_id = p_tenant AND l.id = ANY(p_lines))
    AND NOT EXISTS (SELECT 1 FROM order_line l WHERE l.tenant_id = o.tenant_id AND l.order_id = o.id
                    AND l.status = 'ACTIVE')
  RETURNING 'cancelled'::text, o.id;
END
$fn$;
"""

OLD_REFUND_LINE_QUANTITIES = r"""
-- Refunds quantities of order lines in one set-based pass: the one path of every refund
-- (orderLinesRefund, orderRefund, shortages, damaged goods, after-sales approvals), with its
-- REFUND_CREATED event.
-- Orders are locked before lines, both in id order, so concurrent refunds and shortages queue
-- instead of deadlocking; the check order_line_refunded_check makes over-refunding impossible.
-- The leader's commission on a line falls from round(rate x base(before)) to
-- round(rate x base(after)): per-line half-up rounding stays exact however a line is split. A
-- line's base is the price of its units not refunded, less what is left of its coupon discount
-- when the tenant pays commission on what was paid (tenant.commission_base); the refund is what
-- was paid for the units (line_paid_share()).
-- The clock is read once, before the updates: Citus refuses a volatile function in an UPDATE
-- of a distributed table.
-- Last changed by migration 0045; a change needs a migration carrying this whole text.
CREATE OR REPLACE FUNCTION refund_line_quantities(
  p_tenant uuid, p_lines uuid[], p_quantities int[], p_reason_code text, p_note text,
  p_actor_kind text, p_actor_id uuid, p_shorted boolean, p_prepaid boolean)
RETURNS TABLE (kind text, id uuid)
LANGUAGE plpgsql VOLATILE SECURITY INVOKER AS $fn$
#variable_conflict use_column
DECLARE
  v_now timestamptz := clock_timestamp();
BEGIN
  PERFORM 1 FROM customer_order o
  WHERE o.tenant_id = p_tenant
    AND o.id IN (SELECT l.order_id FROM order_line l WHERE l.tenant_id = p_tenant AND l.id = ANY(p_lines))
  ORDER BY o.id FOR UPDATE OF o;
  PERFORM 1 FROM order_line l WHERE l.tenant_id = p_tenant AND l.id = ANY(p_lines) ORDER BY l.id FOR UPDATE;

  -- The commission as the close derived it, written down before it changes.
  INSERT INTO commission_entry (tenant_id, id, leader_id, order_id, batch_id, rate, currency, amount_minor,
                                status, created_at)
  SELECT o.tenant_id, o.id, o.leader_id, o.id, o.batch_id, o.commission_rate, o.currency,
         (SELECT coalesce(sum(round(o.commission_rate * (l.quantity * l.unit_price_minor
                                            - CASE WHEN t.commission_base = 'COMMISSION_ON_PAID'
                                              THEN l.discount_minor ELSE 0 END))), 0)::bigint
          FROM order_line l JOIN tenant t ON t.id = l.tenant_id
          WHERE l.tenant_id = o.tenant_id AND l.order_id = o.id
            AND (l.status = 'ACTIVE' OR l.cancelled_at > bc.finished_at)),
         'PENDING', b.closed_at
  FROM customer_order o
  JOIN batch b ON b.tenant_id = o.tenant_id AND b.id = o.batch_id
  JOIN batch_close bc ON bc.tenant_id = o.tenant_id AND bc.batch_id = o.batch_id
  WHERE o.tenant_id = p_tenant AND b.status IN ('CLOSED', 'COMPLETED')
    AND o.id IN (SELECT l.order_id FROM order_line l WHERE l.tenant_id = p_tenant AND l.id = ANY(p_lines))
    AND NOT EXISTS (SELECT 1 FROM commission_entry c WHERE c.tenant_id = o.tenant_id AND c.order_id = o.id)
  ON CONFLICT (tenant_id, order_id) DO NOTHING;

  UPDATE commission_entry c
  SET amount_minor = c.amount_minor - least(p.amount, c.amount_minor),
      reversed_minor = c.reversed_minor + least(p.amount, c.amount_minor),
      status = CASE WHEN c.status = 'EARNED' OR c.amount_minor <= p.amount THEN 'REVERSED' ELSE c.status END,
      reversed_at = v_now
  FROM (
    SELECT l.order_id,
           sum(round(ce.rate * ((l.quantity - l.refunded_quantity) * l.unit_price_minor
                                - CASE WHEN t.commission_base = 'COMMISSION_ON_PAID'
                                  THEN l.discount_minor - l.discount_minor * l.refunded_quantity / l.quantity
                                  ELSE 0 END))
               - round(ce.rate * ((l.quantity - l.refunded_quantity - r.q) * l.unit_price_minor
                                  - CASE WHEN t.commission_base = 'COMMISSION_ON_PAID'
                                    THEN l.discount_minor
                                         - l.discount_minor * (l.refunded_quantity + r.q) / l.quantity
                                    ELSE 0 END)))::bigint AS amount
    FROM (SELECT u.line_id, sum(u.q)::int AS q FROM unnest(p_lines, p_quantities) AS u(line_id, q)
          GROUP BY u.line_id) r
    JOIN order_line l ON l.tenant_id = p_tenant AND l.id = r.line_id
    JOIN tenant t ON t.id = l.tenant_id
    JOIN commission_entry ce ON ce.tenant_id = l.tenant_id AND ce.order_id = l.order_id
    GROUP BY l.order_id
  ) p
  WHERE c.tenant_id = p_tenant AND c.order_id = p.order_id AND p.amount > 0;

  RETURN QUERY
  WITH r AS (
    SELECT u.line_id, sum(u.q)::int AS q FROM unnest(p_lines, p_quantities) AS u(line_id, q) GROUP BY u.line_id
  ), changed AS (
    UPDATE order_line l
    SET refunded_quantity = l.refunded_quantity + r.q,
        shorted_quantity = l.shorted_quantity + CASE WHEN p_shorted THEN r.q ELSE 0 END,
        status = CASE WHEN l.refunded_quantity + r.q = l.quantity THEN 'CANCELLED' ELSE l.status END,
        cancelled_at = CASE WHEN l.refunded_quantity + r.q = l.quantity THEN v_now
                            ELSE l.cancelled_at END
    FROM r
    WHERE l.tenant_id = p_tenant AND l.id = r.line_id AND r.q > 0
    RETURNING l.id, l.order_id, r.q, l.unit_price_minor, l.quantity, l.discount_minor,
              l.refunded_quantity - r.q AS refunded_before
  ), paid AS (
    -- Money moved only if it was paid: always for PREPAID tenants, at pickup otherwise.
    SELECT c.id AS line_id, c.order_id, c.q,
           line_paid_share(c.unit_price_minor, c.quantity, c.discount_minor, c.refunded_before, c.q) AS amount,
           o.currency
    FROM changed c JOIN customer_order o ON o.tenant_id = p_tenant AND o.id = c.order_id
    WHERE p_prepaid OR o.status = 'PICKED_UP'
  ), refunds AS (
    INSERT INTO refund (tenant_id, id, order_id, order_line_id, amount_minor, currency, reason, quantity,
                        reason_code, actor_kind, actor_id)
    SELECT p_tenant, gen_random_uuid(), p.order_id, p.line_id, p.amount, p.currency,
           coalesce(p_note, p_reason_code), p.q, p_reason_code, p_actor_kind, p_actor_id
    FROM paid p
    RETURNING id, order_id, amount_minor, currency, quantity, reason_code
  ), events AS (
    INSERT INTO outbox_event (tenant_id, id, event, subject_type, subject_id, payload)
    SELECT p_tenant, gen_random_uuid(), 'REFUND_CREATED', 'refund', f.id,
           jsonb_build_object('refundId', f.id, 'orderId', f.order_id, 'amountMinor', f.amount_minor,
                              'currency', f.currency, 'customerId', o.customer_id, 'quantity', f.quantity,
                              'reasonCode', f.reason_code)
    FROM refunds f JOIN customer_order o ON o.tenant_id = p_tenant AND o.id = f.order_id
    RETURNING id
  ), totals AS (
    UPDATE customer_order o SET refunded_minor = o.refunded_minor + s.amount
    FROM (SELECT order_id, sum(amount)::bigint AS amount FROM paid GROUP BY order_id) s
    WHERE o.tenant_id = p_tenant AND o.id = s.order_id
    RETURNING o.id
  )
  SELECT 'refund'::text, refunds.id FROM refunds
  UNION ALL SELECT DISTINCT 'order'::text, changed.order_id FROM changed
  UNION ALL SELECT 'total'::text, totals.id FROM totals;

  -- An order left with nothing, not picked up, is cancelled.
  RETURN QUERY
  UPDATE customer_order o
  SET status = 'CANCELLED', cancelled_at = v_now, cancel_reason = coalesce(p_note, p_reason_code)
  WHERE o.tenant_id = p_tenant AND o.status <> 'PICKED_UP' AND o.status <> 'CANCELLED'
    AND o.id IN (SELECT l.order_id FROM order_line l WHERE l.tenant_id = p_tenant AND l.id = ANY(p_lines))
    AND NOT EXISTS (SELECT 1 FROM order_line l WHERE l.tenant_id = o.tenant_id AND l.order_id = o.id
                    AND l.status = 'ACTIVE')
  RETURNING 'cancelled'::text, o.id;
END
$fn$;
"""


def upgrade() -> None:
    op.execute(REFUND_LINE_QUANTITIES)


def downgrade() -> None:
    op.execute(OLD_REFUND_LINE_QUANTITIES)
