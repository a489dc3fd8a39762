"""coupons: templates with a money budget and a quantity, the coupons customers hold, and the
discount an order took (customer_order.discount_minor, coupon_id; order_line.discount_minor)

Budgets hold by construction: a claim takes one from coupon_template.claimed with a guarded
`UPDATE ... WHERE claimed < total_quantity`, a customer's count in coupon_holding with a guarded
upsert, and a redemption adds its discount to discount_given_minor with a guarded update; check
constraints refuse any row past its limits as well. Tenant settings: commission_base
(COMMISSION_ON_PAID or COMMISSION_ON_LIST_PRICE) and coupon_release_on_refund.

Revision ID: 0021
Revises: 0024
"""

import sqlalchemy as sa
from alembic import op

from service.tenants.rls import enable_tenant_rls

revision = "0021"
down_revision = "0024"
branch_labels = None
depends_on = None

COUPON_APPLY = r"""
-- A coupon on a just-placed order, in the order's transaction: checks it, reserves it (one order
-- per coupon: a guarded update), takes its discount from the template's money budget (a guarded
-- update: never past the budget), and splits the discount across the lines in scope in proportion
-- to their amounts, in minor units summing exactly (largest remainder, ties by position).
-- Refusals: SQLSTATE GB002 with DETAIL = a JSON array of {code, message, field}, as place_order().
-- Lock order: the order's stock (place_order) -> the coupon -> its template.
CREATE OR REPLACE FUNCTION coupon_apply(p_tenant uuid, p_order uuid, p_customer uuid, p_coupon uuid)
RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY INVOKER
AS $fn$
DECLARE
  v_coupon record;
  v_template coupon_template;
  v_batch uuid;
  v_subtotal bigint;
  v_discount bigint;
  v_code text;
  v_message text;
BEGIN
  SELECT c.status, c.valid_from, c.valid_until, c.template_id INTO v_coupon FROM coupon c
  WHERE c.tenant_id = p_tenant AND c.id = p_coupon AND c.customer_id = p_customer FOR UPDATE;
  IF NOT FOUND THEN
    v_code := 'NOT_FOUND'; v_message := 'No such coupon.';
  ELSIF v_coupon.status = 'VOID' OR clock_timestamp() >= v_coupon.valid_until THEN
    v_code := 'COUPON_EXPIRED'; v_message := 'This coupon has expired.';
  ELSIF v_coupon.status <> 'AVAILABLE' THEN
    v_code := 'COUPON_NOT_APPLICABLE'; v_message := 'This coupon is already used by another order.';
  ELSIF clock_timestamp() < v_coupon.valid_from THEN
    v_code := 'COUPON_NOT_APPLICABLE'; v_message := 'This coupon is not valid yet.';
  END IF;
  IF v_code IS NULL THEN
    SELECT * INTO v_template FROM coupon_template t WHERE t.tenant_id = p_tenant AND t.id = v_coupon.template_id;
    SELECT o.batch_id INTO v_batch FROM customer_order o WHERE o.tenant_id = p_tenant AND o.id = p_order;
    SELECT coalesce(sum(l.quantity * l.unit_price_minor), 0) INTO v_subtotal FROM order_line l
    WHERE l.tenant_id = p_tenant AND l.order_id = p_order AND l.status = 'ACTIVE'
      AND (v_template.batch_id IS NULL OR v_template.batch_id = v_batch)
      AND (v_template.offer_ids IS NULL OR l.offer_id = ANY (v_template.offer_ids));
    IF v_subtotal = 0 THEN
      v_code := 'COUPON_NOT_APPLICABLE'; v_message := 'This coupon does not apply to anything in this order.';
    ELSIF v_subtotal < v_template.threshold_minor THEN
      v_code := 'COUPON_NOT_APPLICABLE'; v_message := 'The order is below this coupon''s threshold.';
    END IF;
  END IF;
  IF v_code IS NOT NULL THEN
    RAISE EXCEPTION 'order refused' USING ERRCODE = 'GB002', DETAIL = jsonb_build_array(jsonb_build_object(
      'code', v_code, 'message', v_message, 'field', jsonb_build_array('couponId')))::text;
  END IF;

  IF v_template.kind = 'AMOUNT_OFF' THEN
    v_discount := v_template.amount_off_minor;
  ELSIF v_template.kind = 'PERCENT_OFF' THEN
    v_discount := round(v_subtotal * v_template.percent_off / 100);
    v_discount := least(v_discount, coalesce(v_template.max_discount_minor, v_discount));
  ELSE  -- UNIT_OFF: one unit of the offer, at most its price
    SELECT least(v_template.amount_off_minor, min(l.unit_price_minor)) INTO v_discount FROM order_line l
    WHERE l.tenant_id = p_tenant AND l.order_id = p_order AND l.status = 'ACTIVE'
      AND l.offer_id = ANY (v_template.offer_ids);
  END IF;
  v_discount := least(v_discount, v_subtotal);
  IF v_discount <= 0 THEN
    RAISE EXCEPTION 'order refused' USING ERRCODE = 'GB002', DETAIL = jsonb_build_array(jsonb_build_object(
      'code', 'COUPON_NOT_APPLICABLE', 'message', 'This coupon gives nothing off this order.',
      'field', jsonb_build_array('couponId')))::text;
  END IF;

  UPDATE coupon SET status = 'RESERVED', order_id = p_order, discount_minor = v_discount
  WHERE tenant_id = p_tenant AND id = p_coupon AND status = 'AVAILABLE';

  WITH lines AS (
    SELECT l.id, l.position, l.quantity * l.unit_price_minor AS amount FROM order_line l
    WHERE l.tenant_id = p_tenant AND l.order_id = p_order AND l.status = 'ACTIVE'
      AND (v_template.batch_id IS NULL OR v_template.batch_id = v_batch)
      AND (v_template.offer_ids IS NULL OR l.offer_id = ANY (v_template.offer_ids))
      AND (v_template.kind <> 'UNIT_OFF' OR l.offer_id = v_template.offer_ids[1])
  ), total AS (
    SELECT sum(amount)::numeric AS amount FROM lines
  ), base AS (  -- numeric: discount x amount can pass bigint
    SELECT lines.id, div(v_discount::numeric * lines.amount, total.amount)::bigint AS share,
           mod(v_discount::numeric * lines.amount, total.amount) AS rest, lines.position FROM lines, total
  ), ranked AS (
    SELECT id, share, row_number() OVER (ORDER BY rest DESC, position) AS n,
           v_discount - sum(share) OVER () AS left_over FROM base
  )
  UPDATE order_line l SET discount_minor = r.share + CASE WHEN r.n <= r.left_over THEN 1 ELSE 0 END
  FROM ranked r WHERE l.tenant_id = p_tenant AND l.id = r.id;

  UPDATE customer_order SET discount_minor = v_discount, coupon_id = p_coupon, total_minor = total_minor - v_discount
  WHERE tenant_id = p_tenant AND id = p_order;
  -- Last: the template's row is every redemption's hot row, locked from here to the commit.
  UPDATE coupon_template SET discount_given_minor = discount_given_minor + v_discount
  WHERE tenant_id = p_tenant AND id = v_template.id
    AND (budget_minor IS NULL OR discount_given_minor + v_discount <= budget_minor);
  IF NOT FOUND THEN
    RAISE EXCEPTION 'order refused' USING ERRCODE = 'GB002', DETAIL = jsonb_build_array(jsonb_build_object(
      'code', 'COUPON_EXHAUSTED', 'message', 'This coupon''s budget is spent.',
      'field', jsonb_build_array('couponId')))::text;
  END IF;
  RETURN v_discount;
END;
$fn$;
"""

LINE_PAID_SHARE = r"""
-- What the customer paid for `refunding` more units of a line of `quantity` units, `refunded`
-- of them refunded before: their list price less their share of the line's discount. The shares
-- are differences of floor(discount x units / quantity), so a line refunded in parts gives back
-- exactly its amount less its discount.
CREATE OR REPLACE FUNCTION line_paid_share(p_unit_price bigint, p_quantity int, p_discount bigint,
                                           p_refunded int, p_refunding int)
RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $fn$
  SELECT p_refunding * p_unit_price
         - (p_discount * (p_refunded + p_refunding) / p_quantity - p_discount * p_refunded / p_quantity)
$fn$;
"""

# The commission on what was paid (tenant.commission_base), as 0010 derived it otherwise.
COMMISSION_VIEW = """
CREATE OR REPLACE VIEW commission WITH (security_invoker = true) AS
SELECT tenant_id, id, leader_id, order_id, batch_id, rate, currency, amount_minor, reversed_minor, status,
       earned_at, reversed_at, created_at
FROM commission_entry
UNION ALL
SELECT o.tenant_id, o.id, o.leader_id, o.id AS order_id, o.batch_id, o.commission_rate AS rate, o.currency,
       (SELECT coalesce(sum(round(o.commission_rate * (l.quantity * l.unit_price_minor - CASE WHEN t.commission_base = 'COMMISSION_ON_PAID' THEN l.discount_minor ELSE 0 END))), 0)::bigint
        FROM order_line l, tenant t WHERE t.id = o.tenant_id AND l.tenant_id = o.tenant_id AND l.order_id = o.id AND l.status = 'ACTIVE')
         AS amount_minor,
       0::bigint AS reversed_minor, 'PENDING'::varchar(20) AS status, NULL::timestamptz AS earned_at,
       NULL::timestamptz AS reversed_at, b.closed_at AS created_at
FROM customer_order o
JOIN batch b ON b.tenant_id = o.tenant_id AND b.id = o.batch_id
WHERE b.status IN ('CLOSED', 'COMPLETED') AND o.status IN ('PAID', 'PLACED', 'READY_FOR_PICKUP')
  AND NOT EXISTS (SELECT 1 FROM commission_entry c WHERE c.tenant_id = o.tenant_id AND c.order_id = o.id)
"""

OLD_COMMISSION_VIEW = """
CREATE OR REPLACE VIEW commission WITH (security_invoker = true) AS
SELECT tenant_id, id, leader_id, order_id, batch_id, rate, currency, amount_minor, reversed_minor, status,
       earned_at, reversed_at, created_at
FROM commission_entry
UNION ALL
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


def upgrade() -> None:
    op.add_column("tenant", sa.Column("commission_base", sa.String(length=24), nullable=False,
                                      server_default="COMMISSION_ON_PAID"))
    op.add_column("tenant", sa.Column("coupon_release_on_refund", sa.Boolean(), nullable=False,
                                      server_default=sa.text("true")))
    op.create_check_constraint("tenant_commission_base_check", "tenant",
                               "commission_base IN ('COMMISSION_ON_PAID', 'COMMISSION_ON_LIST_PRICE')")
    op.create_table(
        "coupon_template",
        sa.Column("tenant_id", sa.Uuid(), sa.ForeignKey("tenant.id"), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount_off_minor", sa.BigInteger(), nullable=True),
        sa.Column("percent_off", sa.Numeric(5, 2), nullable=True),
        sa.Column("max_discount_minor", sa.BigInteger(), nullable=True),
        sa.Column("threshold_minor", sa.BigInteger(), nullable=False, server_default=sa.text("0")),
        sa.Column("batch_id", sa.Uuid(), nullable=True),
        sa.Column("offer_ids", sa.ARRAY(sa.Uuid()), nullable=True),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=True),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("valid_days", sa.Integer(), nullable=True),
        sa.Column("per_customer_limit", sa.Integer(), nullable=False),
        sa.Column("total_quantity", sa.Integer(), nullable=True),
        sa.Column("budget_minor", sa.BigInteger(), nullable=True),
        sa.Column("audience", sa.String(length=16), nullable=False),
        sa.Column("group_ids", sa.ARRAY(sa.Uuid()), nullable=True),
        sa.Column("stacks_with_group_price", sa.Boolean(), nullable=False, server_default=sa.text("false")),
        sa.Column("paused", sa.Boolean(), nullable=False, server_default=sa.text("false")),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        # Counters, each moved only by a guarded update.
        sa.Column("claimed", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("used", sa.Integer(), nullable=False, server_default=sa.text("0")),
        # Reserved and used discounts: released ones come back off it.
        sa.Column("discount_given_minor", sa.BigInteger(), nullable=False, server_default=sa.text("0")),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.text("clock_timestamp()")),
        sa.PrimaryKeyConstraint("tenant_id", "id"),
        sa.ForeignKeyConstraint(["tenant_id", "batch_id"], ["batch.tenant_id", "batch.id"]),
        sa.CheckConstraint("kind IN ('AMOUNT_OFF', 'PERCENT_OFF', 'UNIT_OFF')", name="coupon_template_kind_check"),
        sa.CheckConstraint("audience IN ('ANYONE', 'NEW_CUSTOMERS', 'GROUP_MEMBERS')",
                           name="coupon_template_audience_check"),
        sa.CheckConstraint("total_quantity IS NULL OR claimed <= total_quantity",
                           name="coupon_template_quantity_check"),
        sa.CheckConstraint("budget_minor IS NULL OR discount_given_minor <= budget_minor",
                           name="coupon_template_budget_check"),
        sa.CheckConstraint("claimed >= 0 AND used >= 0 AND discount_given_minor >= 0",
                           name="coupon_template_counters_check"),
    )
    op.create_index("coupon_template_page_idx", "coupon_template", ["tenant_id", "created_at", "id"])
    op.create_table(
        "coupon_holding",
        sa.Column("tenant_id", sa.Uuid(), sa.ForeignKey("tenant.id"), nullable=False),
        sa.Column("template_id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("claimed", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "template_id", "customer_id"),
        sa.ForeignKeyConstraint(["tenant_id", "template_id"], ["coupon_template.tenant_id", "coupon_template.id"]),
        sa.ForeignKeyConstraint(["tenant_id", "customer_id"], ["app_user.tenant_id", "app_user.id"]),
        sa.CheckConstraint("claimed >= 0", name="coupon_holding_claimed_check"),
    )
    op.create_table(
        "coupon",
        sa.Column("tenant_id", sa.Uuid(), sa.ForeignKey("tenant.id"), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("template_id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False, server_default="AVAILABLE"),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=True),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("order_id", sa.Uuid(), nullable=True),
        sa.Column("discount_minor", sa.BigInteger(), nullable=False, server_default=sa.text("0")),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("granted", sa.Boolean(), nullable=False, server_default=sa.text("false")),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.text("clock_timestamp()")),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("tenant_id", "id"),
        sa.ForeignKeyConstraint(["tenant_id", "template_id"], ["coupon_template.tenant_id", "coupon_template.id"]),
        sa.ForeignKeyConstraint(["tenant_id", "customer_id"], ["app_user.tenant_id", "app_user.id"]),
        sa.ForeignKeyConstraint(["tenant_id", "order_id"], ["customer_order.tenant_id", "customer_order.id"]),
        # A retried claim finds its coupon here; a concurrent retry waits on this index.
        sa.UniqueConstraint("tenant_id", "customer_id", "idempotency_key", name="coupon_idempotency_key"),
        sa.CheckConstraint("status IN ('AVAILABLE', 'RESERVED', 'USED', 'VOID')", name="coupon_status_check"),
        sa.CheckConstraint("(status IN ('RESERVED', 'USED')) = (order_id IS NOT NULL)", name="coupon_order_check"),
    )
    op.create_index("coupon_customer_idx", "coupon", ["tenant_id", "customer_id", "claimed_at", "id"])
    op.create_index("coupon_template_idx", "coupon", ["tenant_id", "template_id", "status"])
    # One coupon per order, one order per coupon.
    op.create_index("coupon_order_idx", "coupon", ["tenant_id", "order_id"], unique=True,
                    postgresql_where=sa.text("order_id IS NOT NULL"))
    op.add_column("customer_order", sa.Column("discount_minor", sa.BigInteger(), nullable=False,
                                              server_default=sa.text("0")))
    op.add_column("customer_order", sa.Column("coupon_id", sa.Uuid(), nullable=True))
    op.add_column("order_line", sa.Column("discount_minor", sa.BigInteger(), nullable=False,
                                          server_default=sa.text("0")))
    op.create_check_constraint("order_line_discount_check", "order_line",
                               "discount_minor >= 0 AND discount_minor <= quantity * unit_price_minor")
    enable_tenant_rls(op.execute, "coupon_template", "coupon_holding", "coupon")
    op.execute(COUPON_APPLY)
    op.execute(LINE_PAID_SHARE)
    op.execute(COMMISSION_VIEW)


def downgrade() -> None:
    op.execute(OLD_COMMISSION_VIEW)
    op.execute("DROP FUNCTION line_paid_share(bigint, int, bigint, int, int)")
    op.execute("DROP FUNCTION coupon_apply(uuid, uuid, uuid, uuid)")
    op.drop_constraint("order_line_discount_check", "order_line")
    op.drop_column("order_line", "discount_minor")
    op.drop_column("customer_order", "coupon_id")
    op.drop_column("customer_order", "discount_minor")
    op.drop_table("coupon")
    op.drop_table("coupon_holding")
    op.drop_table("coupon_template")
    op.drop_constraint("tenant_commission_base_check", "tenant")
    op.drop_column("tenant", "coupon_release_on_refund")
    op.drop_column("tenant", "commission_base")
