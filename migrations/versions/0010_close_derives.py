"""the close derives what is per order or per point x product instead of copying it

A close wrote one row per confirmed order twice (its CONFIRMED status, its commission) and one
per purchase order x pickup point x product (deliveries): ~1.1M rows for a 1M-line batch, five
times the aggregate it is built from. Now it writes what is new and small (purchase orders and
their lines, pick lists, cancellations, events) and the rest is read from the lines it confirmed:

- An order's CONFIRMED status: an order still PAID or PLACED in a CLOSED or COMPLETED batch is
  confirmed (the close cancels the unpaid ones and those left without a line). order_state()
  says so; rows written CONFIRMED by earlier closes stay as they are.
- The lines a close confirmed: those of its batch still ACTIVE, or cancelled after the close
  finished (a refund: the supplier shipped and the leader received them all the same). The
  close's own cancellations happen before batch_close.finished_at, later refunds after it.
- purchase_order_delivery and pick_list_line: views of those lines per purchase order, product
  and point (the product's purchase-order line names the purchase order: a snapshot). A
  purchase order's lines are found through its products' offers in the batch (order_line's
  offer index), a pick list's through its point's orders (customer_order's pickup-code key).
- commission: a view. commission_entry holds the rows written by earlier closes and those
  written when a commission changes state (earned, reversed); every other confirmed order's
  commission is PENDING with rate x its active lines, id = the order's id, created at the close.

Revision ID: 0010
Revises: 0009
"""

from alembic import op

from service.tenants.rls import enable_tenant_rls

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

ORDER_STATE_FUNCTION = """
CREATE OR REPLACE FUNCTION order_state(order_status text, batch_status text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT CASE WHEN order_status IN ('PAID', 'PLACED') AND batch_status IN ('CLOSED', 'COMPLETED')
                  THEN 'CONFIRMED' ELSE order_status END $$
"""

# security_invoker: the views apply the caller's row-level security (a view otherwise reads as
# its owner, which bypasses RLS).
DELIVERY_VIEW = """
CREATE VIEW purchase_order_delivery WITH (security_invoker = true) AS
SELECT po.tenant_id, po.id AS purchase_order_id, l.product_id, o.pickup_point_id,
       sum(l.quantity)::integer AS quantity
FROM purchase_order po
JOIN batch_close bc ON bc.tenant_id = po.tenant_id AND bc.batch_id = po.batch_id
JOIN purchase_order_line pl ON pl.tenant_id = po.tenant_id AND pl.purchase_order_id = po.id
JOIN offer f ON f.tenant_id = po.tenant_id AND f.batch_id = po.batch_id AND f.product_id = pl.product_id
JOIN order_line l ON l.tenant_id = f.tenant_id AND l.offer_id = f.id
JOIN customer_order o ON o.tenant_id = l.tenant_id AND o.id = l.order_id
WHERE l.status = 'ACTIVE' OR l.cancelled_at > bc.finished_at
GROUP BY po.tenant_id, po.id, l.product_id, o.pickup_point_id
"""

PICK_LIST_LINE_VIEW = """
CREATE VIEW pick_list_line WITH (security_invoker = true) AS
SELECT pk.tenant_id, pk.id AS pick_list_id, l.product_id, pl.product_name, pl.unit,
       sum(l.quantity)::integer AS quantity
FROM pick_list pk
JOIN batch_close bc ON bc.tenant_id = pk.tenant_id AND bc.batch_id = pk.batch_id
JOIN customer_order o ON o.tenant_id = pk.tenant_id AND o.batch_id = pk.batch_id
  AND o.pickup_point_id = pk.pickup_point_id
JOIN order_line l ON l.tenant_id = o.tenant_id AND l.order_id = o.id
JOIN purchase_order po ON po.tenant_id = pk.tenant_id AND po.batch_id = pk.batch_id
JOIN purchase_order_line pl ON pl.tenant_id = po.tenant_id AND pl.purchase_order_id = po.id
  AND pl.product_id = l.product_id
WHERE l.status = 'ACTIVE' OR l.cancelled_at > bc.finished_at
GROUP BY pk.tenant_id, pk.id, l.product_id, pl.product_name, pl.unit
"""

OLD_PICK_LIST_LINE_VIEW = """
CREATE VIEW pick_list_line WITH (security_invoker = true) AS
SELECT pl.tenant_id, pl.id AS pick_list_id, d.product_id, l.product_name, l.unit, d.quantity
FROM pick_list pl
JOIN purchase_order po ON po.tenant_id = pl.tenant_id AND po.batch_id = pl.batch_id
JOIN purchase_order_delivery d ON d.tenant_id = po.tenant_id AND d.purchase_order_id = po.id
  AND d.pickup_point_id = pl.pickup_point_id
JOIN purchase_order_line l ON l.tenant_id = d.tenant_id AND l.purchase_order_id = d.purchase_order_id
  AND l.product_id = d.product_id
"""

# What a confirmed order's commission is while nothing happened to it: PENDING, rate x its
# active lines rounded half-up per line (as the close computed it), created at the close.
DERIVED_COMMISSIONS = """
SELECT o.tenant_id, o.id, o.leader_id, o.id AS order_id, o.batch_id, o.commission_rate AS rate, o.currency,
       (SELECT coalesce(sum(round(o.commission_rate * l.quantity * l.unit_price_minor)), 0)::bigint
        FROM order_line l WHERE l.tenant_id = o.tenant_id AND l.order_id = o.id AND l.status = 'ACTIVE')
         AS amount_minor,
       0::bigint AS reversed_minor, 'PENDING'::varchar(20) AS status, NULL::timestamptz AS earned_at,
       NULL::timestamptz AS reversed_at, b.closed_at AS created_at
FROM customer_order o
JOIN batch b ON b.tenant_id = o.tenant_id AND b.id = o.batch_id
WHERE b.status IN ('CLOSED', 'COMPLETED') AND o.status IN ('PAID', 'PLACED', 'READY_FOR_PICKUP')
  AND NOT EXISTS (SELECT 1 FROM commission_entry c WHERE c.tenant_id = o.tenant_id AND c.order_id = o.id)
"""

COMMISSION_VIEW = f"""
CREATE VIEW commission WITH (security_invoker = true) AS
SELECT tenant_id, id, leader_id, order_id, batch_id, rate, currency, amount_minor, reversed_minor, status,
       earned_at, reversed_at, created_at
FROM commission_entry
UNION ALL
{DERIVED_COMMISSIONS}
"""

COMPLETE_FINISHED_BATCHES = """
CREATE OR REPLACE FUNCTION complete_finished_batches(window_days int)
RETURNS TABLE (tenant_id uuid, batch_id uuid)
LANGUAGE sql SECURITY DEFINER SET search_path = public
AS $$
  UPDATE batch b SET status = 'COMPLETED'
  WHERE b.status = 'CLOSED' AND (
    b.pickup_date + window_days < (clock_timestamp() AT TIME ZONE (SELECT t.timezone FROM tenant t WHERE t.id = b.tenant_id))::date
    OR NOT EXISTS (SELECT 1 FROM customer_order o WHERE o.tenant_id = b.tenant_id AND o.batch_id = b.id
                   AND o.status IN ('PAID', 'PLACED', 'CONFIRMED', 'READY_FOR_PICKUP')))
  RETURNING b.tenant_id, b.id
$$
"""

# What downgrade() restores: complete_finished_batches() as revision 0004 created it.
OLD_COMPLETE_FINISHED_BATCHES = """
CREATE OR REPLACE FUNCTION complete_finished_batches(window_days int)
RETURNS TABLE (tenant_id uuid, batch_id uuid)
LANGUAGE sql SECURITY DEFINER SET search_path = public
AS $$
  UPDATE batch b SET status = 'COMPLETED'
  WHERE b.status = 'CLOSED' AND (
    b.pickup_date + window_days < (clock_timestamp() AT TIME ZONE (SELECT t.timezone FROM tenant t WHERE t.id = b.tenant_id))::date
    OR NOT EXISTS (SELECT 1 FROM customer_order o WHERE o.tenant_id = b.tenant_id AND o.batch_id = b.id
                   AND o.status IN ('CONFIRMED', 'READY_FOR_PICKUP')))
  RETURNING b.tenant_id, b.id
$$
"""

# The derived deliveries must be the rows they replace: refuse to drop any that differ.
DELIVERY_CHECK = """
DO $$
DECLARE n bigint;
BEGIN
  SELECT count(*) INTO n FROM (
    (SELECT tenant_id, purchase_order_id, product_id, pickup_point_id, quantity FROM purchase_order_delivery
     EXCEPT ALL SELECT * FROM derived_delivery)
    UNION ALL
    (SELECT * FROM derived_delivery
     EXCEPT ALL SELECT tenant_id, purchase_order_id, product_id, pickup_point_id, quantity FROM purchase_order_delivery)
  ) diff;
  IF n > 0 THEN
    RAISE EXCEPTION '% purchase-order deliveries differ from the lines their close confirmed', n;
  END IF;
END $$
"""


def upgrade() -> None:
    op.execute(ORDER_STATE_FUNCTION)
    op.execute(COMPLETE_FINISHED_BATCHES)
    # Commissions of confirmed orders are read by leader: the derived ones through their orders.
    op.create_index("customer_order_leader_idx", "customer_order", ["tenant_id", "leader_id", "batch_id"])

    op.execute("DROP VIEW pick_list_line")
    op.execute(DELIVERY_VIEW.replace("VIEW purchase_order_delivery WITH (security_invoker = true)",
                                     "TEMP VIEW derived_delivery"))
    op.execute(DELIVERY_CHECK)
    op.execute("DROP VIEW derived_delivery")
    op.drop_table("purchase_order_delivery")
    op.execute(DELIVERY_VIEW)
    op.execute(PICK_LIST_LINE_VIEW)

    op.rename_table("commission", "commission_entry")
    op.execute(COMMISSION_VIEW)


def downgrade() -> None:
    # Every derived commission written down as the close used to write it, then the table back.
    op.execute("DROP VIEW commission")
    op.execute("INSERT INTO commission_entry (tenant_id, id, leader_id, order_id, batch_id, rate, currency, "
               "amount_minor, reversed_minor, status, earned_at, reversed_at, created_at) "
               + DERIVED_COMMISSIONS)
    op.rename_table("commission_entry", "commission")
    op.execute("UPDATE customer_order o SET status = 'CONFIRMED' FROM batch b "
               "WHERE b.tenant_id = o.tenant_id AND b.id = o.batch_id AND o.status IN ('PAID', 'PLACED') "
               "AND b.status IN ('CLOSED', 'COMPLETED')")

    op.execute("DROP VIEW pick_list_line")
    op.execute(DELIVERY_VIEW.replace("VIEW purchase_order_delivery WITH (security_invoker = true)",
                                     "TEMP VIEW derived_delivery"))
    op.execute("CREATE TEMP TABLE derived_delivery_rows AS SELECT * FROM derived_delivery")
    op.execute("DROP VIEW derived_delivery")
    op.execute("DROP VIEW purchase_order_delivery")
    op.execute("""
CREATE TABLE purchase_order_delivery (
  tenant_id uuid NOT NULL, purchase_order_id uuid NOT NULL, product_id uuid NOT NULL,
  pickup_point_id uuid NOT NULL, quantity integer NOT NULL,
  CONSTRAINT purchase_order_delivery_pkey PRIMARY KEY (tenant_id, purchase_order_id, pickup_point_id, product_id),
  CONSTRAINT purchase_order_delivery_quantity_check CHECK (quantity > 0),
  CONSTRAINT purchase_order_delivery_tenant_id_pickup_point_id_fkey FOREIGN KEY (tenant_id, pickup_point_id)
    REFERENCES pickup_point (tenant_id, id),
  CONSTRAINT purchase_order_delivery_tenant_id_purchase_order_id_product_id_fkey
    FOREIGN KEY (tenant_id, purchase_order_id, product_id)
    REFERENCES purchase_order_line (tenant_id, purchase_order_id, product_id)
)""")
    op.execute("INSERT INTO purchase_order_delivery SELECT * FROM derived_delivery_rows")
    op.execute("DROP TABLE derived_delivery_rows")
    enable_tenant_rls(op.execute, "purchase_order_delivery")
    op.execute(OLD_PICK_LIST_LINE_VIEW)

    op.drop_index("customer_order_leader_idx", table_name="customer_order")
    op.execute(OLD_COMPLETE_FINISHED_BATCHES)
    op.execute("DROP FUNCTION order_state(text, text)")
