-- Last changed by migration 0022; a change needs a migration carrying this whole text.
CREATE OR REPLACE FUNCTION referral_snapshot(p_tenant uuid, p_order uuid, p_code text)
RETURNS int LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  v_link uuid;
  v_customer uuid;
  v_new boolean;
  v_level1 uuid;
  v_level2 uuid;
BEGIN
  SELECT id INTO v_link FROM share_link WHERE tenant_id = p_tenant AND code = p_code;
  IF v_link IS NULL THEN
    RAISE EXCEPTION 'no such share code' USING ERRCODE = 'GB005';
  END IF;
  SELECT o.customer_id INTO v_customer FROM customer_order o WHERE o.tenant_id = p_tenant AND o.id = p_order;
  INSERT INTO share_visit (tenant_id, id, share_link_id, visitor_id, order_id, visited_at)
  VALUES (p_tenant, gen_random_uuid(), v_link, v_customer, p_order, clock_timestamp());
  -- The order binds its customer when it is their first order, or when they registered within
  -- the attribution window.
  SELECT NOT EXISTS (SELECT 1 FROM customer_order o WHERE o.tenant_id = p_tenant AND o.customer_id = v_customer
                        AND o.id <> p_order)
         OR u.created_at >= clock_timestamp() - make_interval(days => t.attribution_window_days)
    INTO v_new
    FROM app_user u JOIN tenant t ON t.id = u.tenant_id
   WHERE u.tenant_id = p_tenant AND u.id = v_customer;
  IF v_new THEN
    PERFORM referral_bind(p_tenant, v_customer, v_link);
  END IF;
  -- The chain in force now, written on the order: a later rebind changes nothing placed.
  SELECT referrer_id INTO v_level1 FROM referral_binding
   WHERE tenant_id = p_tenant AND customer_id = v_customer AND superseded_at IS NULL;
  IF v_level1 IS NULL THEN
    RETURN 0;
  END IF;
  INSERT INTO order_referral (tenant_id, order_id, level, referrer_id, customer_id, share_link_id)
  VALUES (p_tenant, p_order, 1, v_level1, v_customer, v_link);
  SELECT referrer_id INTO v_level2 FROM referral_binding
   WHERE tenant_id = p_tenant AND customer_id = v_level1 AND superseded_at IS NULL;
  IF v_level2 IS NULL OR v_level2 = v_customer THEN
    RETURN 1;
  END IF;
  INSERT INTO order_referral (tenant_id, order_id, level, referrer_id, customer_id, share_link_id)
  VALUES (p_tenant, p_order, 2, v_level2, v_customer, NULL);
  RETURN 2;
END $$
