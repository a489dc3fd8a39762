"""Messages in their recipient's language; new-customer coupons checked again when used

- app_user.language: the language a user's messages go out in (zh-CN or en; NULL: the tenant's);
  tenant.default_language: the tenant's, for recipients without one (zh-CN by default).
- delivery.language, title, body: an e-mail's subject and text, rendered once in its recipient's
  language when the event is relayed (NULL for webhooks, which carry the event's payload).
- coupon_apply(): a claimed NEW_CUSTOMERS coupon applies only to the customer's first order
  (cancelled ones do not count), checked under a lock on the customer's row so two first orders
  at once cannot both take one. Granted coupons (admin, pack rewards, compensation) are not.

Revision ID: 0043
Revises: 0040
"""

import sqlalchemy as sa
from alembic import op

revision = "0043"
down_revision = "0040"
branch_labels = None
depends_on = None

LANGUAGES = "('zh-CN', 'en')"

COUPON_APPLY = r"""
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
  SELECT c.status, c.valid_from, c.valid_until, c.template_id, c.granted INTO v_coupon FROM coupon c
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
    IF v_template.audience = 'NEW_CUSTOMERS' AND NOT v_coupon.granted THEN
      -- A claimed one is checked again at use, as at the claim: only on the customer's first order
      -- (cancelled ones do not count); grants (an admin's, a pack's reward, compensation) chose their
      -- customer. The customer's row, locked, queues their concurrent first orders: the later one's
      -- next statement sees the earlier one committed (a fresh snapshot per statement here).
      PERFORM 1 FROM app_user u WHERE u.tenant_id = p_tenant AND u.id = p_customer FOR NO KEY UPDATE;
      IF EXISTS (SELECT 1 FROM customer_order o WHERE o.tenant_id = p_tenant AND o.customer_id = p_customer
                 AND o.id <> p_order AND o.status <> 'CANCELLED') THEN
        v_code := 'COUPON_NOT_APPLICABLE';
        v_message := 'This coupon is for new customers only, and this is not your first order.';
      END IF;
    END IF;
  END IF;
  IF v_code IS NULL THEN
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

PREVIOUS_COUPON_APPLY = r"""
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


def upgrade() -> None:
    op.add_column("tenant", sa.Column("default_language", sa.String(length=5), nullable=False,
                                      server_default="zh-CN"))
    op.create_check_constraint("tenant_default_language_check", "tenant", f"default_language IN {LANGUAGES}")
    op.add_column("app_user", sa.Column("language", sa.String(length=5), nullable=True))
    op.create_check_constraint("app_user_language_check", "app_user", f"language IN {LANGUAGES}")
    op.add_column("delivery", sa.Column("language", sa.String(length=5), nullable=True))
    op.add_column("delivery", sa.Column("title", sa.String(length=200), nullable=True))
    op.add_column("delivery", sa.Column("body", sa.String(length=2000), nullable=True))
    op.execute(COUPON_APPLY)


def downgrade() -> None:
    op.execute(PREVIOUS_COUPON_APPLY)
    op.drop_column("delivery", "body")
    op.drop_column("delivery", "title")
    op.drop_column("delivery", "language")
    op.drop_constraint("app_user_language_check", "app_user")
    op.drop_column("app_user", "language")
    op.drop_constraint("tenant_default_language_check", "tenant")
    op.drop_column("tenant", "default_language")
