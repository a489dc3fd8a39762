-- Several orders of one tenant's batch in one statement and one commit (migration 0012). One row
-- per order, in the order given: n (1-based), error_state NULL and the order (replayed: its
-- idempotency key had been used), or the SQLSTATE and DETAIL of what refused or gave it up.
-- p_token_version_each: each customer's token version (place_order's p_token_version), or NULL.
-- Last changed by migration 0027; a change needs a migration carrying this whole text.
CREATE OR REPLACE FUNCTION place_order_group(
  p_tenant uuid, p_batch uuid, p_customers uuid[], p_points uuid[], p_line_counts int[], p_offers uuid[],
  p_quantities int[], p_keys text[], p_hashes text[], p_numbers text[], p_codes text[], p_status text,
  p_currency text, p_default_rate numeric, p_lock_wait_ms int, p_token_version_each int[] DEFAULT NULL
) RETURNS TABLE (n int, error_state text, error_detail text, replayed boolean, placed customer_order)
LANGUAGE plpgsql VOLATILE SECURITY INVOKER
SET plan_cache_mode = force_generic_plan
AS $fn$
DECLARE
  v_first int := 1;
  v_count int;
  v_offers uuid[];
  v_taken text := '';
  v_written boolean := false;
  v_closes timestamptz;
  v_r record;
BEGIN
  FOR k IN 1 .. cardinality(p_customers) LOOP
    IF k = 2 THEN
      PERFORM set_config('lock_timeout', p_lock_wait_ms::text || 'ms', true);
    END IF;
    v_count := p_line_counts[k];
    v_offers := p_offers[v_first : v_first + v_count - 1];
    n := k;
    BEGIN
      SELECT r.replayed, r.placed INTO v_r
        FROM place_order(p_tenant, p_customers[k], p_batch, p_points[k], v_offers,
                         p_quantities[v_first : v_first + v_count - 1], p_keys[k], p_hashes[k], p_numbers[k],
                         p_codes[k], p_status, p_currency, p_default_rate, true, true, p_token_version_each[k]) AS r;
      error_state := NULL;
      error_detail := NULL;
      replayed := v_r.replayed;
      placed := v_r.placed;
      IF NOT v_r.replayed THEN
        v_written := true;
        v_taken := v_taken || array_to_string(v_offers, ',') || ',';
        PERFORM set_config('groupbuy.taken_offers', v_taken, true);
      END IF;
    EXCEPTION WHEN OTHERS THEN
      GET STACKED DIAGNOSTICS error_state = RETURNED_SQLSTATE, error_detail = PG_EXCEPTION_DETAIL;
      replayed := NULL;
      placed := NULL;
    END;
    RETURN NEXT;
    v_first := v_first + v_count;
  END LOOP;
  IF v_written THEN
    -- The batch row is ours FOR SHARE since the first order written: only the clock can have moved.
    SELECT b.closes_at INTO v_closes FROM batch b WHERE b.tenant_id = p_tenant AND b.id = p_batch;
    IF clock_timestamp() >= v_closes THEN
      RAISE EXCEPTION 'batch % is not open for orders (closes %)', p_batch, v_closes USING ERRCODE = 'GB001';
    END IF;
  END IF;
END
$fn$
