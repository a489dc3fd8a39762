-- The sales report of one tenant over a period of local dates: one row per key (key_day for DAY,
-- else key_id: the batch, leader, pickup point, product or supplier) and the total (is_total).
-- Parameters:
--   :tenant    the tenant's id (RLS narrows to it too; naming it lets the indexes lead with it)
--   :tz        the tenant's time zone: the period runs from local midnight of :day_from to local
--              midnight after :day_to, DST included; DAY keys are local dates
--   :day_from, :day_to   dates, inclusive
--   :grouping  DAY | BATCH | LEADER | PICKUP_POINT | PRODUCT | SUPPLIER
--
-- Sold: the ACTIVE lines of the orders placed in the period whose status counts, i.e. every
-- status but PENDING_PAYMENT (not paid yet, may expire) and CANCELLED. PAID and PLACED (pay at
-- pickup), CONFIRMED, READY_FOR_PICKUP and PICKED_UP all count; a PAID or PLACED order of a
-- closed batch reads CONFIRMED, so the batch's status needs no join here.
-- Refunded: the refunds created in the period, whatever the order's date or status. A refund of
-- one line goes to that line's key; a refund of the whole order is spread over the order's lines
-- by value (cumulative floors: the parts add up to the refund exactly), so with a PRODUCT or
-- SUPPLIER grouping it is split between products, and with an order-level grouping all its parts
-- share one key. A DAY key of a refund is the refund's own local date.
WITH period AS (
  SELECT (CAST(:day_from AS date)::timestamp AT TIME ZONE :tz) AS since,
         ((CAST(:day_to AS date) + 1)::timestamp AT TIME ZONE :tz) AS until
),
-- One row per key and order. :grouping is a constant of the plan: the CASEs fold to one arm, and
-- the product join is removed unless the grouping is SUPPLIER. Hash aggregates on uuids and dates
-- throughout; no count(DISTINCT), which sorts.
sold AS MATERIALIZED (
  SELECT CASE WHEN :grouping = 'DAY' THEN (o.created_at AT TIME ZONE :tz)::date END AS key_day,
         CASE :grouping
           WHEN 'BATCH' THEN o.batch_id
           WHEN 'LEADER' THEN o.leader_id
           WHEN 'PICKUP_POINT' THEN o.pickup_point_id
           WHEN 'PRODUCT' THEN l.product_id
           WHEN 'SUPPLIER' THEN p.supplier_id
         END AS key_id,
         o.id AS order_id, o.customer_id,
         sum(l.quantity) AS units, sum(l.quantity * l.unit_price_minor) AS value
    FROM period
    JOIN customer_order o ON o.created_at >= period.since AND o.created_at < period.until
    JOIN order_line l ON l.tenant_id = o.tenant_id AND l.order_id = o.id
    LEFT JOIN product p ON p.tenant_id = l.tenant_id AND p.id = l.product_id
   WHERE o.tenant_id = :tenant
     AND o.status NOT IN ('PENDING_PAYMENT', 'CANCELLED')
     AND l.status = 'ACTIVE'
   GROUP BY 1, 2, 3, 4
),
refund_lines AS (
  -- each refund of the period with the lines it covers: its own line, or every line of its order
  SELECT r.id AS refund_id, r.amount_minor, r.created_at, o.batch_id, o.leader_id, o.pickup_point_id,
         l.product_id, l.position, l.id AS line_id, l.quantity * l.unit_price_minor AS value
    FROM period
    JOIN refund r ON r.created_at >= period.since AND r.created_at < period.until
    JOIN customer_order o ON o.tenant_id = r.tenant_id AND o.id = r.order_id
    JOIN order_line l ON l.tenant_id = r.tenant_id AND l.order_id = r.order_id
   WHERE r.tenant_id = :tenant
     AND (r.order_line_id IS NULL OR l.id = r.order_line_id)
),
refund_parts AS MATERIALIZED (
  SELECT CASE WHEN :grouping = 'DAY' THEN (s.created_at AT TIME ZONE :tz)::date END AS key_day,
         CASE :grouping
           WHEN 'BATCH' THEN s.batch_id
           WHEN 'LEADER' THEN s.leader_id
           WHEN 'PICKUP_POINT' THEN s.pickup_point_id
           WHEN 'PRODUCT' THEN s.product_id
           WHEN 'SUPPLIER' THEN p.supplier_id
         END AS key_id,
         div(s.amount_minor::numeric * s.cumulative, s.whole)
           - div(s.amount_minor::numeric * (s.cumulative - s.value), s.whole) AS amount
    FROM (SELECT *, sum(value) OVER (PARTITION BY refund_id ORDER BY position, line_id) AS cumulative,
                 sum(value) OVER (PARTITION BY refund_id) AS whole
            FROM refund_lines) s
    LEFT JOIN product p ON p.tenant_id = :tenant AND p.id = s.product_id
)
SELECT false AS is_total, key_day, key_id, sum(orders)::bigint AS orders, sum(customers)::bigint AS customers,
       sum(units)::bigint AS units, sum(value)::bigint AS gmv_minor, sum(refunded)::bigint AS refunded_minor
  FROM (SELECT key_day, key_id, count(*) AS orders, 0 AS customers, sum(units) AS units, sum(value) AS value,
               0 AS refunded
          FROM sold GROUP BY 1, 2
        UNION ALL
        SELECT key_day, key_id, 0, count(*), 0, 0, 0
          FROM (SELECT DISTINCT key_day, key_id, customer_id FROM sold) c GROUP BY 1, 2
        UNION ALL
        SELECT key_day, key_id, 0, 0, 0, 0, amount FROM refund_parts) x
 GROUP BY 2, 3
UNION ALL
SELECT true, NULL, NULL,
       (SELECT count(*) FROM (SELECT DISTINCT order_id FROM sold) d),
       (SELECT count(*) FROM (SELECT DISTINCT customer_id FROM sold) d),
       (SELECT coalesce(sum(units), 0) FROM sold)::bigint,
       (SELECT coalesce(sum(value), 0) FROM sold)::bigint,
       (SELECT coalesce(sum(amount), 0) FROM refund_parts)::bigint
