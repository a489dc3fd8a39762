"""Shortages and after-sales: refunds by quantity with a reason code and an actor, shipped and
received quantities per purchase-order delivery, after-sales requests, the PER_POINT policy.

order_line gets refunded_quantity (every refund, by any path) and shorted_quantity (the part
that was never delivered); a check keeps 0 <= shorted <= refunded <= quantity, so no path can
refund a unit twice. delivery_line holds, per (purchase order, product, pickup point), what was
ordered, shipped and received (and damaged): it exists once the purchase order shipped, so a
repeated shipment finds it and allocates nothing more.

Revision ID: 0020
Revises: 0021
"""

import sqlalchemy as sa
from alembic import op

from service.tenants.rls import enable_tenant_rls

revision = "0020"
down_revision = "0021"
branch_labels = None
depends_on = None

REASONS = "('SHORTAGE', 'DAMAGED', 'QUALITY', 'CUSTOMER_REQUEST', 'OTHER')"

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
-- Last changed by migration 0020; a change needs a migration carrying this whole text.
CREATE OR REPLACE FUNCTION refund_line_quantities(
  p_tenant uuid, p_lines uuid[], p_quantities int[], p_reason_code text, p_note text,
  p_actor_kind text, p_actor_id uuid, p_shorted boolean, p_prepaid boolean)
RETURNS TABLE (kind text, id uuid)
LANGUAGE plpgsql VOLATILE SECURITY INVOKER AS $fn$
#variable_conflict use_column
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
      reversed_at = clock_timestamp()
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
        cancelled_at = CASE WHEN l.refunded_quantity + r.q = l.quantity THEN clock_timestamp()
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
  SET status = 'CANCELLED', cancelled_at = clock_timestamp(), cancel_reason = coalesce(p_note, p_reason_code)
  WHERE o.tenant_id = p_tenant AND o.status <> 'PICKED_UP' AND o.status <> 'CANCELLED'
    AND o.id IN (SELECT l.order_id FROM order_line l WHERE l.tenant_id = p_tenant AND l.id = ANY(p_lines))
    AND NOT EXISTS (SELECT 1 FROM order_line l WHERE l.tenant_id = o.tenant_id AND l.order_id = o.id
                    AND l.status = 'ACTIVE')
  RETURNING 'cancelled'::text, o.id;
END
$fn$;
"""

SHORTAGE_ALLOCATE = r"""
-- Allocates shortfalls of a closed batch to its customers' order lines and refunds them, in one
-- set-based pass. A demand is (product, pickup point or NULL for every point, units short).
-- LAST_ORDERED_FIRST: the latest orders lose first. PRO_RATA: each line loses floor(exact share),
-- the units left over go to the largest remainders (ties: the later order), so no line loses more
-- than it holds and the totals are exact. Only lines still holding goods (confirmed orders not
-- picked up) take part; a shortfall larger than what they hold is capped at it.
-- Returns the refunds, touched and cancelled orders, and per (product, point) the units allocated.
-- Last changed by migration 0020; a change needs a migration carrying this whole text.
CREATE OR REPLACE FUNCTION shortage_allocate(
  p_tenant uuid, p_batch uuid, p_policy text, p_products uuid[], p_points uuid[], p_shortfalls int[],
  p_reason_code text, p_note text, p_actor_kind text, p_actor_id uuid, p_prepaid boolean)
RETURNS TABLE (kind text, id uuid, product_id uuid, pickup_point_id uuid, quantity int)
LANGUAGE plpgsql VOLATILE SECURITY INVOKER AS $fn$
#variable_conflict use_column
DECLARE
  v_lines uuid[];
  v_quantities int[];
BEGIN
  -- Lock what is allocated (orders before lines, as refund_line_quantities does) before reading it.
  PERFORM 1 FROM customer_order o
  WHERE o.tenant_id = p_tenant AND o.batch_id = p_batch
    AND o.status IN ('PAID', 'PLACED', 'CONFIRMED', 'READY_FOR_PICKUP')
    AND EXISTS (SELECT 1 FROM order_line l WHERE l.tenant_id = o.tenant_id AND l.order_id = o.id
                AND l.product_id = ANY(p_products) AND l.status = 'ACTIVE')
  ORDER BY o.id FOR UPDATE OF o;

  CREATE TEMP TABLE IF NOT EXISTS shortage_allocation (
    line_id uuid, product_id uuid, pickup_point_id uuid, q int) ON COMMIT DROP;
  TRUNCATE shortage_allocation;
  INSERT INTO shortage_allocation
  WITH d AS (
    SELECT u.product_id, u.point_id, u.shortfall, u.n
    FROM unnest(p_products, p_points, p_shortfalls) WITH ORDINALITY AS u(product_id, point_id, shortfall, n)
    WHERE u.shortfall > 0
  ), c AS (
    SELECT d.n, d.shortfall, l.id AS line_id, l.product_id, o.pickup_point_id, o.created_at, o.id AS order_id,
           l.quantity - l.refunded_quantity AS held
    FROM d
    JOIN customer_order o ON o.tenant_id = p_tenant AND o.batch_id = p_batch
     AND (d.point_id IS NULL OR o.pickup_point_id = d.point_id)
     AND o.status IN ('PAID', 'PLACED', 'CONFIRMED', 'READY_FOR_PICKUP')
    JOIN order_line l ON l.tenant_id = o.tenant_id AND l.order_id = o.id AND l.product_id = d.product_id
     AND l.status = 'ACTIVE' AND l.quantity > l.refunded_quantity
  ), w AS (
    SELECT c.*, least(c.shortfall, sum(c.held) OVER (PARTITION BY c.n))::bigint AS s,
           sum(c.held) OVER (PARTITION BY c.n) AS total_held,
           sum(c.held) OVER (PARTITION BY c.n ORDER BY c.created_at DESC, c.order_id DESC
                             ROWS UNBOUNDED PRECEDING) AS running
    FROM c
  ), pro AS (
    SELECT w.*, (w.s * w.held) / w.total_held AS base, (w.s * w.held) % w.total_held AS rest
    FROM w
  ), ranked AS (
    SELECT pro.*, pro.s - sum(pro.base) OVER (PARTITION BY pro.n) AS left_over,
           row_number() OVER (PARTITION BY pro.n ORDER BY pro.rest DESC, pro.created_at DESC, pro.order_id DESC)
             AS place
    FROM pro
  )
  SELECT r.line_id, r.product_id, r.pickup_point_id,
         CASE WHEN p_policy = 'PRO_RATA' THEN r.base + CASE WHEN r.place <= r.left_over THEN 1 ELSE 0 END
              ELSE least(r.held, greatest(0, r.s - (r.running - r.held))) END::int
  FROM ranked r;

  SELECT array_agg(a.line_id), array_agg(a.q) INTO v_lines, v_quantities FROM shortage_allocation a WHERE a.q > 0;
  RETURN QUERY
  SELECT 'point'::text, NULL::uuid, a.product_id, a.pickup_point_id, sum(a.q)::int
  FROM shortage_allocation a WHERE a.q > 0 GROUP BY a.product_id, a.pickup_point_id;
  IF v_lines IS NOT NULL THEN
    RETURN QUERY
    SELECT f.kind, f.id, NULL::uuid, NULL::uuid, NULL::int
    FROM refund_line_quantities(p_tenant, v_lines, v_quantities, p_reason_code, p_note, p_actor_kind,
                                p_actor_id, true, p_prepaid) f;
  END IF;
END
$fn$;
"""


def upgrade() -> None:
    op.add_column("order_line", sa.Column("refunded_quantity", sa.Integer(), nullable=False, server_default="0"))
    op.add_column("order_line", sa.Column("shorted_quantity", sa.Integer(), nullable=False, server_default="0"))
    # Lines refunded whole before quantities were kept.
    op.execute("UPDATE order_line l SET refunded_quantity = l.quantity WHERE l.status = 'CANCELLED' "
               "AND EXISTS (SELECT 1 FROM refund r WHERE r.tenant_id = l.tenant_id AND r.order_line_id = l.id)")
    op.create_check_constraint(
        "order_line_refunded_check", "order_line",
        "shorted_quantity >= 0 AND shorted_quantity <= refunded_quantity AND refunded_quantity <= quantity")
    op.add_column("refund", sa.Column("quantity", sa.Integer(), nullable=True))
    op.add_column("refund", sa.Column("reason_code", sa.String(20), nullable=False, server_default="OTHER"))
    op.add_column("refund", sa.Column("actor_kind", sa.String(16), nullable=True))
    op.add_column("refund", sa.Column("actor_id", sa.Uuid(), nullable=True))
    op.create_check_constraint("refund_reason_code_check", "refund", f"reason_code IN {REASONS}")
    op.add_column("purchase_order_line", sa.Column("shipped_quantity", sa.Integer(), nullable=True))
    op.drop_constraint("tenant_shortage_policy_check", "tenant", type_="check")
    op.create_check_constraint("tenant_shortage_policy_check", "tenant",
                               "shortage_policy IN ('LAST_ORDERED_FIRST', 'PRO_RATA', 'PER_POINT')")
    op.create_table(
        "delivery_line",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("purchase_order_id", sa.Uuid(), nullable=False),
        sa.Column("product_id", sa.Uuid(), nullable=False),
        sa.Column("pickup_point_id", sa.Uuid(), nullable=False),
        sa.Column("batch_id", sa.Uuid(), nullable=False),
        sa.Column("ordered", sa.Integer(), nullable=False),
        sa.Column("shipped", sa.Integer(), nullable=False),
        sa.Column("received", sa.Integer(), nullable=True),
        sa.Column("damaged", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("note", sa.String(500), nullable=True),
        sa.Column("photo_urls", sa.ARRAY(sa.String(500)), nullable=False, server_default=sa.text("'{}'")),
        sa.Column("shipped_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.text("now()")),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("tenant_id", "purchase_order_id", "product_id", "pickup_point_id"),
        sa.ForeignKeyConstraint(["tenant_id", "purchase_order_id"], ["purchase_order.tenant_id", "purchase_order.id"]),
        sa.ForeignKeyConstraint(["tenant_id", "pickup_point_id"], ["pickup_point.tenant_id", "pickup_point.id"]),
        sa.CheckConstraint("shipped >= 0 AND shipped <= ordered AND damaged >= 0 "
                           "AND (received IS NULL OR (received <= shipped AND damaged <= received))",
                           name="delivery_line_quantities_check"),
    )
    op.create_index("delivery_line_point_idx", "delivery_line", ["tenant_id", "batch_id", "pickup_point_id"])
    op.create_table(
        "after_sales_request",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("order_line_id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("pickup_point_id", sa.Uuid(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("approved_quantity", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(20), nullable=False),
        sa.Column("note", sa.String(500), nullable=True),
        sa.Column("photo_urls", sa.ARRAY(sa.String(500)), nullable=False, server_default=sa.text("'{}'")),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.text("clock_timestamp()")),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_reason", sa.String(500), nullable=True),
        sa.Column("decided_by", sa.Uuid(), nullable=True),
        sa.PrimaryKeyConstraint("tenant_id", "id"),
        sa.ForeignKeyConstraint(["tenant_id", "order_line_id"], ["order_line.tenant_id", "order_line.id"]),
        sa.ForeignKeyConstraint(["tenant_id", "order_id"], ["customer_order.tenant_id", "customer_order.id"]),
        sa.CheckConstraint("quantity > 0 AND (approved_quantity IS NULL OR "
                           "(approved_quantity > 0 AND approved_quantity <= quantity))",
                           name="after_sales_quantity_check"),
        sa.CheckConstraint(f"reason IN {REASONS}", name="after_sales_reason_check"),
        sa.CheckConstraint("status IN ('REQUESTED', 'APPROVED', 'REJECTED', 'CANCELLED')",
                           name="after_sales_status_check"),
    )
    # One open request per line, as a database fact.
    op.create_index("after_sales_one_open_per_line", "after_sales_request", ["tenant_id", "order_line_id"],
                    unique=True, postgresql_where=sa.text("status = 'REQUESTED'"))
    op.create_index("after_sales_point_idx", "after_sales_request",
                    ["tenant_id", "pickup_point_id", "created_at", "id"])
    op.create_index("after_sales_customer_idx", "after_sales_request",
                    ["tenant_id", "customer_id", "created_at", "id"])
    enable_tenant_rls(op.execute, "delivery_line", "after_sales_request")
    op.execute(REFUND_LINE_QUANTITIES)
    op.execute(SHORTAGE_ALLOCATE)


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS shortage_allocate(uuid, uuid, text, uuid[], uuid[], int[], text, text, "
               "text, uuid, boolean)")
    op.execute("DROP FUNCTION IF EXISTS refund_line_quantities(uuid, uuid[], int[], text, text, text, uuid, "
               "boolean, boolean)")
    op.drop_table("after_sales_request")
    op.drop_table("delivery_line")
    op.execute("UPDATE tenant SET shortage_policy = 'LAST_ORDERED_FIRST' WHERE shortage_policy = 'PER_POINT'")
    op.drop_constraint("tenant_shortage_policy_check", "tenant", type_="check")
    op.create_check_constraint("tenant_shortage_policy_check", "tenant",
                               "shortage_policy IN ('LAST_ORDERED_FIRST', 'PRO_RATA')")
    op.drop_column("purchase_order_line", "shipped_quantity")
    op.drop_constraint("refund_reason_code_check", "refund", type_="check")
    for name in ("actor_id", "actor_kind", "reason_code", "quantity"):
        op.drop_column("refund", name)
    op.drop_constraint("order_line_refunded_check", "order_line", type_="check")
    op.drop_column("order_line", "shorted_quantity")
    op.drop_column("order_line", "refunded_quantity")
