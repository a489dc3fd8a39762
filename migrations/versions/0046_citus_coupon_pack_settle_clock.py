"""Coupon pack rewards on Citus: coupon_pack_settle() reads the clock once, outside its updates

coupon_pack_settle() (customer_order AFTER UPDATE OF status) set settled_at with clock_timestamp()
inside its UPDATEs of coupon_pack_referral, and inserted the coupons by INSERT ... SELECT with
gen_random_uuid() and clock_timestamp(). Citus refuses a volatile function in an UPDATE of a
distributed table, so on a cluster every paid, cancelled or expired order with a pending pack
reward failed (orderMarkPaid, orderCancel, the expiry job). The clock is now read into a variable
after the friend's lock (one moment for the settlement, as before within microseconds) and each
coupon is inserted from values. Same outcomes on one node.

Revision ID: 0046
Revises: 0045
"""

from alembic import op

revision = "0046"
down_revision = "0045"
branch_labels = None
depends_on = None

COUPON_PACK_SETTLE = r"""
-- customer_order AFTER UPDATE OF status, to PAID, PICKED_UP (paid at pickup) or CANCELLED: settles
-- the order's PENDING coupon pack reward. Cancelled: nothing is granted. Paid: one coupon of each
-- of the pack's templates to the friend and to the sharer, once per friend (a lock per friend: of
-- two first orders paid at once the second sees the first's reward), each within its template's
-- per-customer limit and total quantity (guarded updates, as claims): a template that is full,
-- paused or ended gives nothing, never more than it has.
-- Lock order: the holdings, then the templates in id order, the order's own coupon's among them
-- (consume_for_order() updates it next): claims take holding -> template, so no cycle. The templates
-- are locked FOR NO KEY UPDATE, as an UPDATE would: inserting a holding or a coupon holds KEY SHARE
-- on its template (the foreign key), which FOR UPDATE would wait on, a cycle between two payments.
-- The clock is read once into v_now: Citus refuses a volatile function in an UPDATE of a
-- distributed table, and the coupons are inserted from values, not INSERT ... SELECT, which Citus
-- does not push down with gen_random_uuid() in it.
CREATE OR REPLACE FUNCTION coupon_pack_settle()
RETURNS trigger LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  v_ref coupon_pack_referral;
  v_item record;
  v_templates uuid[] := '{}';
  v_customers uuid[] := '{}';
  v_friend_side boolean[] := '{}';
  v_friend_coupons int := 0;
  v_sharer_coupons int := 0;
  v_now timestamptz := clock_timestamp();
  v_from timestamptz;
  v_until timestamptz;
BEGIN
  SELECT * INTO v_ref FROM coupon_pack_referral r
   WHERE r.tenant_id = NEW.tenant_id AND r.order_id = NEW.id AND r.status = 'PENDING' FOR UPDATE;
  IF NOT FOUND THEN
    RETURN NULL;
  END IF;
  IF NEW.status = 'CANCELLED' THEN
    UPDATE coupon_pack_referral SET status = 'CANCELLED', settled_at = v_now
     WHERE tenant_id = NEW.tenant_id AND id = v_ref.id;
    RETURN NULL;
  END IF;
  PERFORM pg_advisory_xact_lock(hashtextextended('coupon_pack_friend:' || NEW.tenant_id::text || ':'
                                                 || v_ref.friend_id::text, 0));
  v_now := clock_timestamp();
  IF EXISTS (SELECT 1 FROM coupon_pack_referral r WHERE r.tenant_id = NEW.tenant_id AND r.friend_id = v_ref.friend_id
                AND r.status = 'GRANTED') THEN
    UPDATE coupon_pack_referral SET status = 'NOT_FIRST', settled_at = v_now
     WHERE tenant_id = NEW.tenant_id AND id = v_ref.id;
    RETURN NULL;
  END IF;
  FOR v_item IN
    SELECT t.id, x.customer_id, x.friend_side, t.per_customer_limit
      FROM coupon_pack p
      CROSS JOIN LATERAL (SELECT unnest(p.friend_template_ids), v_ref.friend_id, true
                          UNION ALL SELECT unnest(p.sharer_template_ids), v_ref.sharer_id, false)
           AS x(template_id, customer_id, friend_side)
      JOIN coupon_template t ON t.tenant_id = p.tenant_id AND t.id = x.template_id
     WHERE p.tenant_id = NEW.tenant_id AND p.id = v_ref.pack_id
       AND t.ended_at IS NULL AND NOT t.paused AND (t.valid_until IS NULL OR t.valid_until > v_now)
     ORDER BY t.id, x.customer_id
  LOOP
    INSERT INTO coupon_holding (tenant_id, template_id, customer_id, claimed)
    VALUES (NEW.tenant_id, v_item.id, v_item.customer_id, 1)
    ON CONFLICT (tenant_id, template_id, customer_id) DO UPDATE SET claimed = coupon_holding.claimed + 1
     WHERE coupon_holding.claimed < v_item.per_customer_limit;
    IF FOUND THEN
      v_templates := v_templates || v_item.id;
      v_customers := v_customers || v_item.customer_id;
      v_friend_side := v_friend_side || v_item.friend_side;
    END IF;
  END LOOP;
  PERFORM 1 FROM coupon_template t
   WHERE t.tenant_id = NEW.tenant_id
     AND (t.id = ANY (v_templates)
          OR t.id = (SELECT c.template_id FROM coupon c WHERE c.tenant_id = NEW.tenant_id AND c.order_id = NEW.id))
   ORDER BY t.id FOR NO KEY UPDATE;
  FOR i IN 1 .. coalesce(array_length(v_templates, 1), 0) LOOP
    UPDATE coupon_template SET claimed = claimed + 1
     WHERE tenant_id = NEW.tenant_id AND id = v_templates[i]
       AND (total_quantity IS NULL OR claimed + 1 <= total_quantity);
    IF NOT FOUND THEN  -- sold out: the holding gives its count back
      UPDATE coupon_holding SET claimed = claimed - 1
       WHERE tenant_id = NEW.tenant_id AND template_id = v_templates[i] AND customer_id = v_customers[i];
      CONTINUE;
    END IF;
    SELECT t.valid_from, CASE WHEN t.valid_days IS NULL THEN t.valid_until
                              ELSE least(t.valid_until, v_now + make_interval(days => t.valid_days)) END
      INTO v_from, v_until
      FROM coupon_template t WHERE t.tenant_id = NEW.tenant_id AND t.id = v_templates[i];
    INSERT INTO coupon (tenant_id, id, template_id, customer_id, status, valid_from, valid_until, order_id,
                        discount_minor, idempotency_key, granted, claimed_at, used_at)
    VALUES (NEW.tenant_id, gen_random_uuid(), v_templates[i], v_customers[i], 'AVAILABLE', v_from, v_until,
            NULL, 0, 'pack:' || v_ref.id::text || ':' || v_templates[i]::text, true, v_now, NULL);
    IF v_friend_side[i] THEN
      v_friend_coupons := v_friend_coupons + 1;
    ELSE
      v_sharer_coupons := v_sharer_coupons + 1;
    END IF;
  END LOOP;
  UPDATE coupon_pack_referral SET status = 'GRANTED', settled_at = v_now,
         friend_coupons = v_friend_coupons, sharer_coupons = v_sharer_coupons
   WHERE tenant_id = NEW.tenant_id AND id = v_ref.id;
  RETURN NULL;
END $$
"""

PREVIOUS_COUPON_PACK_SETTLE = r"""
-- customer_order AFTER UPDATE OF status, to PAID, PICKED_UP (paid at pickup) or CANCELLED: settles
-- the order's PENDING coupon pack reward. Cancelled: nothing is granted. Paid: one coupon of each
-- of the pack's templates to the friend and to the sharer, once per friend (a lock per friend: of
-- two first orders paid at once the second sees the first's reward), each within its template's
-- per-customer limit and total quantity (guarded updates, as claims): a template that is full,
-- paused or ended gives nothing, never more than it has.
-- Lock order: the holdings, then the templates in id order, the order's own coupon's among them
-- (consume_for_order() updates it next): claims take holding -> template, so no cycle. The templates
-- are locked FOR NO KEY UPDATE, as an UPDATE would: inserting a holding or a coupon holds KEY SHARE
-- on its template (the foreign key), which FOR UPDATE would wait on, a cycle between two payments.
CREATE OR REPLACE FUNCTION coupon_pack_settle()
RETURNS trigger LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  v_ref coupon_pack_referral;
  v_item record;
  v_templates uuid[] := '{}';
  v_customers uuid[] := '{}';
  v_friend_side boolean[] := '{}';
  v_friend_coupons int := 0;
  v_sharer_coupons int := 0;
BEGIN
  SELECT * INTO v_ref FROM coupon_pack_referral r
   WHERE r.tenant_id = NEW.tenant_id AND r.order_id = NEW.id AND r.status = 'PENDING' FOR UPDATE;
  IF NOT FOUND THEN
    RETURN NULL;
  END IF;
  IF NEW.status = 'CANCELLED' THEN
    UPDATE coupon_pack_referral SET status = 'CANCELLED', settled_at = clock_timestamp()
     WHERE tenant_id = NEW.tenant_id AND id = v_ref.id;
    RETURN NULL;
  END IF;
  PERFORM pg_advisory_xact_lock(hashtextextended('coupon_pack_friend:' || NEW.tenant_id::text || ':'
                                                 || v_ref.friend_id::text, 0));
  IF EXISTS (SELECT 1 FROM coupon_pack_referral r WHERE r.tenant_id = NEW.tenant_id AND r.friend_id = v_ref.friend_id
                AND r.status = 'GRANTED') THEN
    UPDATE coupon_pack_referral SET status = 'NOT_FIRST', settled_at = clock_timestamp()
     WHERE tenant_id = NEW.tenant_id AND id = v_ref.id;
    RETURN NULL;
  END IF;
  FOR v_item IN
    SELECT t.id, x.customer_id, x.friend_side, t.per_customer_limit
      FROM coupon_pack p
      CROSS JOIN LATERAL (SELECT unnest(p.friend_template_ids), v_ref.friend_id, true
                          UNION ALL SELECT unnest(p.sharer_template_ids), v_ref.sharer_id, false)
           AS x(template_id, customer_id, friend_side)
      JOIN coupon_template t ON t.tenant_id = p.tenant_id AND t.id = x.template_id
     WHERE p.tenant_id = NEW.tenant_id AND p.id = v_ref.pack_id
       AND t.ended_at IS NULL AND NOT t.paused AND (t.valid_until IS NULL OR t.valid_until > clock_timestamp())
     ORDER BY t.id, x.customer_id
  LOOP
    INSERT INTO coupon_holding (tenant_id, template_id, customer_id, claimed)
    VALUES (NEW.tenant_id, v_item.id, v_item.customer_id, 1)
    ON CONFLICT (tenant_id, template_id, customer_id) DO UPDATE SET claimed = coupon_holding.claimed + 1
     WHERE coupon_holding.claimed < v_item.per_customer_limit;
    IF FOUND THEN
      v_templates := v_templates || v_item.id;
      v_customers := v_customers || v_item.customer_id;
      v_friend_side := v_friend_side || v_item.friend_side;
    END IF;
  END LOOP;
  PERFORM 1 FROM coupon_template t
   WHERE t.tenant_id = NEW.tenant_id
     AND (t.id = ANY (v_templates)
          OR t.id = (SELECT c.template_id FROM coupon c WHERE c.tenant_id = NEW.tenant_id AND c.order_id = NEW.id))
   ORDER BY t.id FOR NO KEY UPDATE;
  FOR i IN 1 .. coalesce(array_length(v_templates, 1), 0) LOOP
    UPDATE coupon_template SET claimed = claimed + 1
     WHERE tenant_id = NEW.tenant_id AND id = v_templates[i]
       AND (total_quantity IS NULL OR claimed + 1 <= total_quantity);
    IF NOT FOUND THEN  -- sold out: the holding gives its count back
      UPDATE coupon_holding SET claimed = claimed - 1
       WHERE tenant_id = NEW.tenant_id AND template_id = v_templates[i] AND customer_id = v_customers[i];
      CONTINUE;
    END IF;
    INSERT INTO coupon (tenant_id, id, template_id, customer_id, status, valid_from, valid_until, order_id,
                        discount_minor, idempotency_key, granted, claimed_at, used_at)
    SELECT t.tenant_id, gen_random_uuid(), t.id, v_customers[i], 'AVAILABLE', t.valid_from,
           CASE WHEN t.valid_days IS NULL THEN t.valid_until
                ELSE least(t.valid_until, clock_timestamp() + make_interval(days => t.valid_days)) END,
           NULL, 0, 'pack:' || v_ref.id::text || ':' || t.id::text, true, clock_timestamp(), NULL
      FROM coupon_template t WHERE t.tenant_id = NEW.tenant_id AND t.id = v_templates[i];
    IF v_friend_side[i] THEN
      v_friend_coupons := v_friend_coupons + 1;
    ELSE
      v_sharer_coupons := v_sharer_coupons + 1;
    END IF;
  END LOOP;
  UPDATE coupon_pack_referral SET status = 'GRANTED', settled_at = clock_timestamp(),
         friend_coupons = v_friend_coupons, sharer_coupons = v_sharer_coupons
   WHERE tenant_id = NEW.tenant_id AND id = v_ref.id;
  RETURN NULL;
END $$
"""


def upgrade() -> None:
    op.execute(COUPON_PACK_SETTLE)


def downgrade() -> None:
    op.execute(PREVIOUS_COUPON_PACK_SETTLE)
