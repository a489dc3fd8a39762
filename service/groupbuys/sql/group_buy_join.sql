-- 拼团: puts an order placed (uncommitted) by place_order() into a group, in the same transaction:
-- p_group NULL starts a new group (opened by its first payment), else joins that group. The
-- group's row is locked, so joins and payments of one group count its members one at a time: a
-- place is taken by a paid member, or held by an unpaid one until p_hold_minutes after it joined.
-- Refusals raise GB002 with the errors as JSON, as place_order() does, so nothing stays.
-- Last changed by migration 0023; a change needs a migration carrying this whole text.
CREATE OR REPLACE FUNCTION group_buy_join(p_tenant uuid, p_order uuid, p_group uuid, p_hold_minutes integer)
RETURNS uuid
LANGUAGE plpgsql VOLATILE SECURITY INVOKER
AS $$
DECLARE
  v_field jsonb := CASE WHEN p_group IS NULL THEN '["startGroupBuy"]'::jsonb ELSE '["groupBuyId"]'::jsonb END;
  v_order record;
  v_offer record;
  v_group record;
  v_lines integer;
  v_taken integer;
  v_id uuid;
BEGIN
  SELECT o.customer_id, o.batch_id, o.status INTO v_order
    FROM customer_order o WHERE o.tenant_id = p_tenant AND o.id = p_order;
  SELECT count(*) INTO v_lines FROM order_line l WHERE l.tenant_id = p_tenant AND l.order_id = p_order;
  SELECT f.id, f.group_size, f.group_window_minutes, f.group_expiry, b.closes_at INTO v_offer
    FROM order_line l
    JOIN offer f ON f.tenant_id = l.tenant_id AND f.id = l.offer_id
    JOIN batch b ON b.tenant_id = f.tenant_id AND b.id = f.batch_id
    WHERE l.tenant_id = p_tenant AND l.order_id = p_order
    LIMIT 1;
  IF p_group IS NOT NULL THEN
    SELECT g.id, g.offer_id, g.size, g.status, g.opened_at, g.expires_at INTO v_group
      FROM group_buy g WHERE g.tenant_id = p_tenant AND g.id = p_group FOR UPDATE;
    IF NOT FOUND THEN
      RAISE EXCEPTION 'order refused' USING ERRCODE = 'GB002', DETAIL = jsonb_build_array(jsonb_build_object(
        'code', 'NOT_FOUND', 'message', 'No such group for this offer.', 'field', v_field))::text;
    END IF;
  END IF;
  IF v_lines <> 1 OR v_offer.group_size IS NULL THEN
    RAISE EXCEPTION 'order refused' USING ERRCODE = 'GB002', DETAIL = jsonb_build_array(jsonb_build_object(
      'code', 'INVALID', 'message', 'A 拼团 order has exactly one line, of an offer that forms groups.',
      'field', v_field))::text;
  END IF;

  -- The customer's places in groups that ended, or of orders cancelled since, are free again.
  UPDATE group_buy_member m SET open = false
    WHERE m.tenant_id = p_tenant AND m.offer_id = v_offer.id AND m.customer_id = v_order.customer_id AND m.open
      AND (EXISTS (SELECT 1 FROM customer_order o WHERE o.tenant_id = m.tenant_id AND o.id = m.order_id
                     AND o.status = 'CANCELLED')
           OR EXISTS (SELECT 1 FROM group_buy g WHERE g.tenant_id = m.tenant_id AND g.id = m.group_buy_id
                        AND g.status <> 'OPEN'));

  IF p_group IS NULL THEN
    INSERT INTO group_buy (tenant_id, id, offer_id, batch_id, starter_id, size, window_minutes, expiry, status,
                           share_code, expires_at)
      VALUES (p_tenant, gen_random_uuid(), v_offer.id, v_order.batch_id, v_order.customer_id, v_offer.group_size,
              v_offer.group_window_minutes, v_offer.group_expiry, 'OPEN',
              rtrim(translate(encode(uuid_send(gen_random_uuid()), 'base64'), '+/', '-_'), '='),
              least(clock_timestamp() + make_interval(mins => v_offer.group_window_minutes), v_offer.closes_at))
      RETURNING id INTO v_id;
  ELSE
    IF v_group.offer_id <> v_offer.id THEN
      RAISE EXCEPTION 'order refused' USING ERRCODE = 'GB002', DETAIL = jsonb_build_array(jsonb_build_object(
        'code', 'NOT_FOUND', 'message', 'No such group for this offer.', 'field', v_field))::text;
    END IF;
    IF v_group.status <> 'OPEN' OR v_group.opened_at IS NULL OR v_group.expires_at <= clock_timestamp() THEN
      RAISE EXCEPTION 'order refused' USING ERRCODE = 'GB002', DETAIL = jsonb_build_array(jsonb_build_object(
        'code', 'INVALID', 'message', 'This group is not open for joining: start a new one.',
        'field', v_field))::text;
    END IF;
    SELECT count(*) INTO v_taken
      FROM group_buy_member m JOIN customer_order o ON o.tenant_id = m.tenant_id AND o.id = m.order_id
      WHERE m.tenant_id = p_tenant AND m.group_buy_id = p_group
        AND ((m.paid_at IS NOT NULL AND o.status <> 'CANCELLED')
             OR (m.paid_at IS NULL AND o.status = 'PENDING_PAYMENT' AND m.hold_until > clock_timestamp()));
    IF v_taken >= v_group.size THEN
      RAISE EXCEPTION 'order refused' USING ERRCODE = 'GB002', DETAIL = jsonb_build_array(jsonb_build_object(
        'code', 'GROUP_FULL', 'message', 'This group is full: start a new one.', 'field', v_field))::text;
    END IF;
    v_id := p_group;
  END IF;

  BEGIN
    INSERT INTO group_buy_member (tenant_id, order_id, group_buy_id, offer_id, customer_id, hold_until)
      VALUES (p_tenant, p_order, v_id, v_offer.id, v_order.customer_id,
              clock_timestamp() + make_interval(mins => p_hold_minutes));
  EXCEPTION WHEN unique_violation THEN
    RAISE EXCEPTION 'order refused' USING ERRCODE = 'GB002', DETAIL = jsonb_build_array(jsonb_build_object(
      'code', 'CONFLICT', 'message', 'You are already in an open group for this offer.', 'field', v_field))::text;
  END;
  RETURN v_id;
END
$$
