-- Last changed by migration 0022; a change needs a migration carrying this whole text.
CREATE OR REPLACE FUNCTION referral_bind(p_tenant uuid, p_customer uuid, p_link uuid)
RETURNS uuid LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  v_referrer uuid;
  v_mode text;
  v_current uuid;
  v_at timestamptz;
BEGIN
  SELECT sharer_id INTO v_referrer FROM share_link WHERE tenant_id = p_tenant AND id = p_link;
  IF v_referrer IS NULL OR v_referrer = p_customer THEN
    RETURN NULL;  -- no self-referral
  END IF;
  -- One binding change at a time per tenant, so the cycle check below sees every binding made
  -- before it (two customers binding to each other at once would otherwise both pass).
  PERFORM pg_advisory_xact_lock(hashtextextended('referral_binding:' || p_tenant::text, 0));
  SELECT t.referral_binding INTO v_mode FROM tenant t WHERE t.id = p_tenant;
  SELECT b.referrer_id INTO v_current FROM referral_binding b
   WHERE b.tenant_id = p_tenant AND b.customer_id = p_customer AND b.superseded_at IS NULL;
  IF v_current = v_referrer OR (v_current IS NOT NULL AND v_mode = 'FIRST') THEN
    RETURN NULL;
  END IF;
  -- No cycles: the customer must not be among the referrer's own referrers, at any depth.
  IF EXISTS (
    WITH RECURSIVE up(user_id) AS (
      SELECT v_referrer
      UNION
      SELECT b.referrer_id FROM referral_binding b JOIN up ON b.customer_id = up.user_id
       WHERE b.tenant_id = p_tenant AND b.superseded_at IS NULL
    )
    SELECT 1 FROM up WHERE up.user_id = p_customer
  ) THEN
    RETURN NULL;
  END IF;
  v_at := clock_timestamp();
  UPDATE referral_binding SET superseded_at = v_at
   WHERE tenant_id = p_tenant AND customer_id = p_customer AND superseded_at IS NULL;
  INSERT INTO referral_binding (tenant_id, id, customer_id, referrer_id, share_link_id, bound_at)
  VALUES (p_tenant, gen_random_uuid(), p_customer, v_referrer, p_link, v_at);
  RETURN v_referrer;
END $$
