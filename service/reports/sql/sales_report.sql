-- The sales report of one tenant over a period of local dates, one row per key plus the total
-- (is_total, from GROUPING SETS). Parameters:
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
sold AS (
  SELECT CASE :grouping
           WHEN 'DAY' THEN to_char(o.created_at AT TIME ZONE :tz, 'YYYY-MM-DD')
           WHEN 'BATCH' THEN o.batch_id::text
           WHEN 'LEADER' THEN o.leader_id::text
           WHEN 'PICKUP_POINT' THEN o.pickup_point_id::text
           WHEN 'PRODUCT' THEN l.product_id::text
           WHEN 'SUPPLIER' THEN (SELECT p.supplier_id::text FROM product p
                                 WHERE p.tenant_id = l.tenant_id AND p.id = l.product_id)
         END AS key,
         o.id AS order_id, o.customer_id, l.quantity, l.quantity * l.unit_price_minor AS value
    FROM period
    JOIN customer_order o ON o.created_at >= period.since AND o.created_at < period.until
    JOIN order_line l ON l.tenant_id = o.tenant_id AND l.order_id = o.id
   WHERE o.tenant_id = :tenant
     AND o.status NOT IN ('PENDING_PAYMENT', 'CANCELLED')
     AND l.status = 'ACTIVE'
),
refunds AS (
  SELECT r.id, r.order_id, r.order_line_id, r.amount_minor, r.created_at
    FROM period
    JOIN refund r ON r.created_at >= period.since AND r.created_at < period.until
   WHERE r.tenant_id = :tenant
),
refund_lines AS (
  -- each refund with the lines it covers: its own line, or every line of its order
  SELECT r.id AS refund_id, r.amount_minor, r.created_at, o.batch_id, o.leader_id, o.pickup_point_id,
         l.product_id, l.position, l.id AS line_id, l.quantity * l.unit_price_minor AS value
    FROM refunds r
    JOIN customer_order o ON o.tenant_id = :tenant AND o.id = r.order_id
    JOIN order_line l ON l.tenant_id = :tenant AND l.order_id = r.order_id
   WHERE r.order_line_id IS NULL OR l.id = r.order_line_id
),
refund_parts AS (
  SELECT CASE :grouping
           WHEN 'DAY' THEN to_char(created_at AT TIME ZONE :tz, 'YYYY-MM-DD')
           WHEN 'BATCH' THEN batch_id::text
           WHEN 'LEADER' THEN leader_id::text
           WHEN 'PICKUP_POINT' THEN pickup_point_id::text
           WHEN 'PRODUCT' THEN product_id::text
           WHEN 'SUPPLIER' THEN (SELECT p.supplier_id::text FROM product p
                                 WHERE p.tenant_id = :tenant AND p.id = product_id)
         END AS key,
         div(amount_minor::numeric * cumulative, whole)
           - div(amount_minor::numeric * (cumulative - value), whole) AS amount
    FROM (SELECT *, sum(value) OVER (PARTITION BY refund_id ORDER BY position, line_id) AS cumulative,
                 sum(value) OVER (PARTITION BY refund_id) AS whole
            FROM refund_lines) s
),
facts AS (
  SELECT key, order_id, customer_id, quantity, value, 0::numeric AS refunded FROM sold
  UNION ALL
  SELECT key, NULL, NULL, 0, 0, amount FROM refund_parts
)
SELECT key, GROUPING(key) = 1 AS is_total,
       count(DISTINCT order_id) AS orders,
       count(DISTINCT customer_id) AS customers,
       coalesce(sum(quantity), 0)::bigint AS units,
       coalesce(sum(value), 0)::bigint AS gmv_minor,
       coalesce(sum(refunded), 0)::bigint AS refunded_minor
  FROM facts
 GROUP BY GROUPING SETS ((key), ())
