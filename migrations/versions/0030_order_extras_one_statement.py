"""orderPlace with extras in one statement: place_order_extras()

An order with a coupon, a share code or 拼团 (joining or starting a group) took a transaction of
its own around place_order(): the order, then coupon_apply(), referral_snapshot() or
group_buy_join(), then the commit, each a round trip while the order's stock slot (and a joined
group's row, or the coupon template's budget row) stayed locked; and an order could take only one
of them. place_order_extras() calls place_order() unchanged (plain orders cost the same) and then
applies every extra given, in one statement: any combination works, and any refusal leaves
nothing written.

Revision ID: 0030
Revises: 0029
"""

from alembic import op

revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None

PLACE_ORDER_EXTRAS = r"""
CREATE OR REPLACE FUNCTION place_order_extras(
  p_tenant uuid, p_customer uuid, p_batch uuid, p_point uuid, p_offers uuid[], p_quantities int[],
  p_key text, p_hash text, p_number text, p_code text, p_status text, p_currency text,
  p_default_rate numeric, p_alone boolean, p_token_version int,
  p_coupon uuid, p_share_code text, p_group uuid, p_start_group boolean, p_hold_minutes int
) RETURNS TABLE (replayed boolean, placed customer_order)
LANGUAGE plpgsql VOLATILE SECURITY INVOKER
SET plan_cache_mode = force_generic_plan
AS $fn$
DECLARE
  v_user record;
  v_row customer_order;
  v_placed record;
  v_group uuid;
  v_stacks boolean;
  v_missing jsonb := '[]';
  v_errors jsonb := '[]';
  v_discount bigint;
  v_closes timestamptz;
BEGIN
  PERFORM set_config('app.tenant_id', p_tenant::text, true);
  -- Who may order is answered first, then what the order names: every NOT_FOUND before any other
  -- refusal, the order's own (batch, point, offers) before its extras', as on every path.
  SELECT u.kind, u.disabled_at, u.token_version INTO v_user
    FROM app_user u WHERE u.tenant_id = p_tenant AND u.id = p_customer;
  IF NOT FOUND OR v_user.disabled_at IS NOT NULL THEN
    RAISE EXCEPTION 'account missing or disabled' USING ERRCODE = 'GB003';
  END IF;
  IF v_user.kind IS DISTINCT FROM 'CUSTOMER' THEN
    RAISE EXCEPTION 'not a customer' USING ERRCODE = 'GB004';
  END IF;
  IF p_token_version IS NOT NULL AND v_user.token_version IS DISTINCT FROM p_token_version THEN
    RAISE EXCEPTION 'token older than the password' USING ERRCODE = 'GB005';
  END IF;
  IF p_coupon IS NOT NULL AND NOT EXISTS (SELECT 1 FROM coupon c WHERE c.tenant_id = p_tenant AND c.id = p_coupon
                                            AND c.customer_id = p_customer) THEN
    v_missing := v_missing || jsonb_build_object('code', 'NOT_FOUND', 'message', 'No such coupon.',
      'field', jsonb_build_array('couponId'));
  END IF;
  IF p_share_code IS NOT NULL AND NOT EXISTS (SELECT 1 FROM share_link s WHERE s.tenant_id = p_tenant
                                                AND s.code = p_share_code) THEN
    v_missing := v_missing || jsonb_build_object('code', 'NOT_FOUND', 'message', 'No such share code.',
      'field', jsonb_build_array('shareCode'));
  END IF;
  IF p_group IS NOT NULL THEN  -- locked before the order's stock (the gate first, as place_order)
    PERFORM pg_advisory_xact_lock_shared(hashtextextended(p_batch::text, 0));
    PERFORM 1 FROM group_buy g WHERE g.tenant_id = p_tenant AND g.id = p_group FOR UPDATE;
    IF NOT FOUND THEN
      v_missing := v_missing || jsonb_build_object('code', 'NOT_FOUND', 'message', 'No such group for this offer.',
        'field', jsonb_build_array('groupBuyId'));
    END IF;
  END IF;
  IF jsonb_array_length(v_missing) > 0 THEN
    IF NOT EXISTS (SELECT 1 FROM batch b WHERE b.tenant_id = p_tenant AND b.id = p_batch) THEN
      v_errors := v_errors || jsonb_build_object('code', 'NOT_FOUND', 'message', 'No such batch.',
        'field', jsonb_build_array('batchId'));
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pickup_point p WHERE p.tenant_id = p_tenant AND p.id = p_point) THEN
      v_errors := v_errors || jsonb_build_object('code', 'NOT_FOUND', 'message', 'No such pickup point.',
        'field', jsonb_build_array('pickupPointId'));
    END IF;
    FOR i IN 1 .. cardinality(p_offers) LOOP
      IF NOT EXISTS (SELECT 1 FROM offer o WHERE o.tenant_id = p_tenant AND o.id = p_offers[i]
                       AND o.batch_id = p_batch AND o.status = 'ACTIVE') THEN
        v_errors := v_errors || jsonb_build_object('code', 'NOT_FOUND', 'message', 'No such offer in this batch.',
          'field', jsonb_build_array('lines', (i - 1)::text, 'offerId'));
      END IF;
    END LOOP;
    RAISE EXCEPTION 'order refused' USING ERRCODE = 'GB002', DETAIL = (v_errors || v_missing)::text;
  END IF;

  SELECT r.replayed AS replayed, r.placed AS placed INTO v_placed
    FROM place_order(p_tenant, p_customer, p_batch, p_point, p_offers, p_quantities, p_key, p_hash, p_number,
                     p_code, p_status, p_currency, p_default_rate, false, p_alone, NULL) AS r;
  v_row := v_placed.placed;
  IF v_placed.replayed THEN  -- the first order, with the extras it took then
    replayed := true;
    placed := v_row;
    RETURN NEXT;
    RETURN;
  END IF;

  IF p_group IS NOT NULL OR p_start_group THEN
    v_group := group_buy_join(p_tenant, v_row.id, p_group, p_hold_minutes);
  END IF;

  IF p_share_code IS NOT NULL THEN
    PERFORM referral_snapshot(p_tenant, v_row.id, p_share_code);
  END IF;

  IF p_coupon IS NOT NULL THEN
    v_discount := coupon_apply(p_tenant, v_row.id, p_customer, p_coupon);
    IF v_group IS NOT NULL THEN  -- the template says whether it combines with 拼团 prices
      SELECT t.stacks_with_group_price INTO v_stacks FROM coupon c
        JOIN coupon_template t ON t.tenant_id = c.tenant_id AND t.id = c.template_id
        WHERE c.tenant_id = p_tenant AND c.id = p_coupon;
      IF v_stacks IS NOT TRUE THEN
        RAISE EXCEPTION 'order refused' USING ERRCODE = 'GB002', DETAIL = jsonb_build_array(jsonb_build_object(
          'code', 'COUPON_NOT_APPLICABLE', 'message', 'This coupon does not combine with 拼团 prices.',
          'field', jsonb_build_array('couponId')))::text;
      END IF;
    END IF;
    v_row.discount_minor := v_discount;
    v_row.coupon_id := p_coupon;
    v_row.total_minor := v_row.total_minor - v_discount;
  END IF;

  IF p_alone THEN  -- the extras waited for locks after place_order()'s own check
    SELECT b.closes_at INTO v_closes FROM batch b WHERE b.tenant_id = p_tenant AND b.id = p_batch;
    IF clock_timestamp() >= v_closes THEN
      RAISE EXCEPTION 'batch % is not open for orders (closes %)', p_batch, v_closes USING ERRCODE = 'GB001';
    END IF;
  END IF;

  replayed := false;
  placed := v_row;
  RETURN NEXT;
END
$fn$
"""


def upgrade() -> None:
    op.execute(PLACE_ORDER_EXTRAS)


def downgrade() -> None:
    op.execute("DROP FUNCTION place_order_extras(uuid, uuid, uuid, uuid, uuid[], int[], text, text, text, text, text, text, numeric, boolean, int, uuid, text, uuid, boolean, int)")
