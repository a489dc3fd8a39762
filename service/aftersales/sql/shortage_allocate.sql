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
