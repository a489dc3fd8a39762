-- A whole order placement in one statement (see migrations 0008, 0009, 0011 and 0012 for why each
-- part is as it is). Refusals: SQLSTATE GB002 with DETAIL = a JSON array of {code, message, field};
-- GB003: the account is missing or disabled; GB004: not a customer; GB001: past the cutoff;
-- GB011: in a group, an earlier order holds a slot of the offer; GB005: the token is older than the
-- account's last password change (p_token_version, so orderPlace needs no account check of its own).
-- Last changed by migration 0027; a change needs a migration carrying this whole text.
CREATE OR REPLACE FUNCTION place_order(
  p_tenant uuid, p_customer uuid, p_batch uuid, p_point uuid, p_offers uuid[], p_quantities int[],
  p_key text, p_hash text, p_number text, p_code text, p_status text, p_currency text,
  p_default_rate numeric, p_check_customer boolean, p_alone boolean DEFAULT false,
  p_token_version int DEFAULT NULL
) RETURNS TABLE (replayed boolean, placed customer_order)
LANGUAGE plpgsql VOLATILE SECURITY INVOKER
SET plan_cache_mode = force_generic_plan
AS $fn$
DECLARE
  v_user record;
  v_batch record;
  v_point record;
  v_row customer_order;
  v_errors jsonb := '[]';
  v_found uuid[];
  v_products uuid[];
  v_names text[];
  v_prices bigint[];
  v_limits int[];
  v_slots int[];
  v_slot int;
  v_total bigint;
  v_id uuid := gen_random_uuid();
  v_code text := p_code;
  v_draw bigint;
  v_attempt int := 0;
  v_left int;
  r record;
BEGIN
  PERFORM set_config('app.tenant_id', p_tenant::text, true);

  SELECT u.kind, u.disabled_at, u.display_name, u.token_version INTO v_user
    FROM app_user u WHERE u.tenant_id = p_tenant AND u.id = p_customer;
  IF p_check_customer THEN
    IF NOT FOUND OR v_user.disabled_at IS NOT NULL THEN
      RAISE EXCEPTION 'account missing or disabled' USING ERRCODE = 'GB003';
    END IF;
    IF v_user.kind IS DISTINCT FROM 'CUSTOMER' THEN
      RAISE EXCEPTION 'not a customer' USING ERRCODE = 'GB004';
    END IF;
    IF p_token_version IS NOT NULL AND v_user.token_version IS DISTINCT FROM p_token_version THEN
      RAISE EXCEPTION 'token older than the password' USING ERRCODE = 'GB005';
    END IF;
  END IF;

  v_row := order_replay(p_tenant, p_customer, p_key, p_hash);
  IF v_row.id IS NOT NULL THEN
    replayed := true;
    placed := v_row;
    RETURN NEXT;
    RETURN;
  END IF;

  -- The batch gate, shared (service.batches.locks: the same key), then the row FOR SHARE.
  PERFORM pg_advisory_xact_lock_shared(hashtextextended(p_batch::text, 0));
  SELECT b.status, b.closes_at, b.closes_at > clock_timestamp() AS before_cutoff INTO v_batch
    FROM batch b WHERE b.tenant_id = p_tenant AND b.id = p_batch FOR SHARE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'order refused' USING ERRCODE = 'GB002', DETAIL = jsonb_build_array(jsonb_build_object(
      'code', 'NOT_FOUND', 'message', 'No such batch.', 'field', jsonb_build_array('batchId')))::text;
  END IF;
  IF v_batch.status IS DISTINCT FROM 'OPEN' OR v_batch.before_cutoff IS NOT TRUE THEN
    RAISE EXCEPTION 'order refused' USING ERRCODE = 'GB002', DETAIL = jsonb_build_array(jsonb_build_object(
      'code', 'BATCH_NOT_OPEN', 'message', 'This batch is not open for orders.',
      'field', jsonb_build_array('batchId')))::text;
  END IF;

  SELECT p.active, l.id AS leader_id, l.status AS leader_status, l.commission_rate INTO v_point
    FROM pickup_point p JOIN leader l ON l.tenant_id = p.tenant_id AND l.id = p.leader_id
    WHERE p.tenant_id = p_tenant AND p.id = p_point;
  IF NOT FOUND THEN
    v_errors := v_errors || jsonb_build_object('code', 'NOT_FOUND', 'message', 'No such pickup point.',
      'field', jsonb_build_array('pickupPointId'));
  ELSIF v_point.active IS NOT TRUE OR v_point.leader_status IS DISTINCT FROM 'APPROVED' THEN
    v_errors := v_errors || jsonb_build_object('code', 'INVALID', 'message', 'This pickup point is not taking orders.',
      'field', jsonb_build_array('pickupPointId'));
  END IF;

  -- The lines' offers, aligned with the lines (NULL: no such ACTIVE offer in this batch).
  SELECT array_agg(o.id ORDER BY v.i), array_agg(o.product_id ORDER BY v.i), array_agg(o.name ORDER BY v.i),
         array_agg(o.price_minor ORDER BY v.i), array_agg(o.per_customer_limit ORDER BY v.i),
         array_agg(pg_backend_pid() % o.stock_slots ORDER BY v.i)
    INTO v_found, v_products, v_names, v_prices, v_limits, v_slots
    FROM unnest(p_offers) WITH ORDINALITY AS v(offer_id, i)
    LEFT JOIN LATERAL (
      SELECT o.id, o.product_id, o.price_minor, o.per_customer_limit, o.stock_slots, p.name FROM offer o
        JOIN product p ON p.tenant_id = o.tenant_id AND p.id = o.product_id
        WHERE o.tenant_id = p_tenant AND o.id = v.offer_id AND o.batch_id = p_batch AND o.status = 'ACTIVE'
        LIMIT 1) o ON true;
  FOR i IN 1 .. cardinality(p_offers) LOOP
    IF v_found[i] IS NULL THEN
      v_errors := v_errors || jsonb_build_object('code', 'NOT_FOUND', 'message', 'No such offer in this batch.',
        'field', jsonb_build_array('lines', (i - 1)::text, 'offerId'));
    ELSIF v_limits[i] IS NOT NULL AND p_quantities[i] > v_limits[i] THEN
      v_errors := v_errors || jsonb_build_object('code', 'LIMIT_EXCEEDED',
        'message', format('At most %s per customer.', v_limits[i]),
        'field', jsonb_build_array('lines', (i - 1)::text, 'quantity'));
    END IF;
  END LOOP;
  IF jsonb_array_length(v_errors) > 0 THEN
    RAISE EXCEPTION 'order refused' USING ERRCODE = 'GB002', DETAIL = v_errors::text;
  END IF;

  SELECT sum(x.price * x.q) INTO v_total FROM unnest(v_prices, p_quantities) AS x(price, q);

  -- The order first: its unique (tenant, customer, key) makes a concurrent retry wait here. Nothing
  -- inserted means that retry committed first (replay it) or the pickup code is taken (draw again).
  LOOP
    INSERT INTO customer_order (tenant_id, id, number, batch_id, pickup_point_id, customer_id, customer_name,
        leader_id, commission_rate, status, currency, total_minor, refunded_minor, pickup_code,
        idempotency_key, request_hash, commit_checked_at)
      VALUES (p_tenant, v_id, p_number, p_batch, p_point, p_customer, v_user.display_name, v_point.leader_id,
        coalesce(v_point.commission_rate, p_default_rate), p_status, p_currency, v_total, 0, v_code,
        p_key, p_hash, CASE WHEN p_alone THEN clock_timestamp() END)
      ON CONFLICT DO NOTHING
      RETURNING * INTO v_row;
    EXIT WHEN FOUND;
    v_row := order_replay(p_tenant, p_customer, p_key, p_hash);
    IF v_row.id IS NOT NULL THEN
      replayed := true;
      placed := v_row;
      RETURN NEXT;
      RETURN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM customer_order o WHERE o.tenant_id = p_tenant AND o.batch_id = p_batch
                     AND o.pickup_point_id = p_point AND o.pickup_code = v_code) THEN
      -- The conflicting order is gone again: the request with this key rolled back after all.
      RAISE EXCEPTION 'order refused' USING ERRCODE = 'GB002', DETAIL = jsonb_build_array(jsonb_build_object(
        'code', 'CONFLICT', 'message', 'A request with this idempotency key is in progress; retry.',
        'field', jsonb_build_array('idempotencyKey')))::text;
    END IF;
    v_attempt := v_attempt + 1;
    IF v_attempt >= 20 THEN
      RAISE EXCEPTION 'could not draw a free pickup code';
    END IF;
    -- Six digits from the strong generator behind gen_random_uuid (32 random bits, no modulo bias).
    LOOP
      v_draw := ('x' || left(replace(gen_random_uuid()::text, '-', ''), 8))::bit(32)::bigint;
      EXIT WHEN v_draw < 4294000000;
    END LOOP;
    v_code := lpad((v_draw % 1000000)::text, 6, '0');
  END LOOP;

  INSERT INTO order_line (tenant_id, id, order_id, offer_id, product_id, position, product_name, quantity,
      unit_price_minor, status, stock_slot)
    SELECT p_tenant, gen_random_uuid(), v_id, x.offer_id, x.product_id, (x.i - 1)::int, x.name, x.q, x.price,
      'ACTIVE', x.slot
    FROM unnest(p_offers, v_products, v_names, p_quantities, v_prices, v_slots) WITH ORDINALITY
      AS x(offer_id, product_id, name, q, price, slot, i);

  INSERT INTO outbox_event (tenant_id, id, event, subject_type, subject_id, payload)
    VALUES (p_tenant, gen_random_uuid(), 'ORDER_PLACED', 'order', v_id, jsonb_build_object(
      'orderId', v_id::text, 'number', p_number, 'customerId', p_customer::text,
      'leaderId', v_point.leader_id::text, 'batchId', p_batch::text));

  -- Last, so the contended offer rows stay locked only from here to the commit. Counters first,
  -- then offers, each in offer-id order: the lock order of every release (stock.give_back).
  FOR r IN SELECT x.offer_id, x.q, x.lim, x.i FROM unnest(p_offers, p_quantities, v_limits) WITH ORDINALITY
             AS x(offer_id, q, lim, i) WHERE x.lim IS NOT NULL ORDER BY x.offer_id LOOP
    INSERT INTO offer_customer_quantity AS c (tenant_id, offer_id, customer_id, quantity)
      VALUES (p_tenant, r.offer_id, p_customer, r.q)
      ON CONFLICT (tenant_id, offer_id, customer_id) DO UPDATE SET quantity = c.quantity + EXCLUDED.quantity
      WHERE c.quantity + EXCLUDED.quantity <= r.lim;
    IF NOT FOUND THEN
      RAISE EXCEPTION 'order refused' USING ERRCODE = 'GB002', DETAIL = jsonb_build_array(jsonb_build_object(
        'code', 'LIMIT_EXCEEDED', 'message', format('At most %s per customer, counting your other orders.', r.lim),
        'field', jsonb_build_array('lines', (r.i - 1)::text, 'quantity')))::text;
    END IF;
  END LOOP;
  -- Each line from its slot; when the slot has no room, offer_stock_take() locks all of the
  -- offer's slots (in slot order) and refuses only if the offer as a whole has not enough.
  -- The slot's UPDATE runs in a block that is rolled back when it finds no room: an UPDATE that
  -- waited for another order re-checks the newest version under its lock and keeps that lock
  -- even when the check fails; held into offer_stock_take(), it would be a slot locked out of
  -- slot order, and two such orders deadlock. Rolling the block back releases it.
  FOR r IN SELECT x.offer_id, x.q, x.slot, x.i FROM unnest(p_offers, p_quantities, v_slots) WITH ORDINALITY
             AS x(offer_id, q, slot, i) ORDER BY x.offer_id LOOP
    BEGIN
      UPDATE offer_stock_slot SET sold = sold + r.q
        WHERE tenant_id = p_tenant AND offer_id = r.offer_id AND slot = r.slot AND (quota IS NULL OR sold + r.q <= quota);
      IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'GB010';
      END IF;
    EXCEPTION WHEN SQLSTATE 'GB010' THEN
      IF strpos(current_setting('groupbuy.taken_offers', true), r.offer_id::text) > 0 THEN
        RAISE EXCEPTION 'an earlier order of this group holds a slot of offer %', r.offer_id
          USING ERRCODE = 'GB011';
      END IF;
      v_left := offer_stock_take(p_tenant, r.offer_id, r.slot, r.q);
      IF v_left < r.q THEN
        RAISE EXCEPTION 'order refused' USING ERRCODE = 'GB002', DETAIL = jsonb_build_array(jsonb_build_object(
          'code', 'OUT_OF_STOCK', 'message', format('Only %s left.', greatest(v_left, 0)),
          'field', jsonb_build_array('lines', (r.i - 1)::text, 'quantity')))::text;
      END IF;
    END;
  END LOOP;

  -- Alone, this statement is the transaction and nothing waits after this point: the cutoff
  -- check the deferred trigger would make at commit is made here (the batch row is ours FOR
  -- SHARE, so only the clock can have moved).
  IF p_alone THEN
    IF clock_timestamp() >= v_batch.closes_at THEN
      RAISE EXCEPTION 'batch % is not open for orders (closes %)', p_batch, v_batch.closes_at
        USING ERRCODE = 'GB001';
    END IF;
  END IF;

  replayed := false;
  placed := v_row;
  RETURN NEXT;
END
$fn$
