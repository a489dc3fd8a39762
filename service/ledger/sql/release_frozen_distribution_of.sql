-- The freeze's end for one tenant's distribution commissions, as release_frozen_commissions_of
-- does for leaders': earned ones whose commission_freeze_days have passed become available, at
-- most p_limit per call; the rows due are locked first (rows another run or a refund holds are
-- skipped), then one UPDATE releases them (its trigger appends the DISTRIBUTION_RELEASED
-- entries). Exactly once: released_at IS NULL is re-checked on the locked rows, and
-- ledger_entry_once_per_commission refuses a second DISTRIBUTION_RELEASED. Every statement names
-- the tenant and the clock is read once (Citus). SECURITY DEFINER: the scheduler's job, returning
-- per beneficiary what was released.
-- Last changed by migration 0044; a change needs a migration carrying this whole text.
CREATE OR REPLACE FUNCTION release_frozen_distribution_of(p_tenant uuid, p_limit int)
RETURNS TABLE (tenant_id uuid, beneficiary_id uuid, commissions bigint, amount_minor bigint)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public
AS $$
#variable_conflict use_column
DECLARE
  v_now timestamptz := clock_timestamp();
  v_days int;
  v_ids uuid[];
BEGIN
  SELECT t.commission_freeze_days INTO v_days FROM tenant t WHERE t.id = p_tenant;
  SELECT array_agg(d.id) INTO v_ids FROM (
    SELECT c.id FROM distribution_commission c
    WHERE c.tenant_id = p_tenant AND c.released_at IS NULL AND c.earned_at IS NOT NULL
      AND c.earned_at <= v_now - make_interval(days => v_days)
    LIMIT p_limit
    FOR UPDATE OF c SKIP LOCKED
  ) d;
  IF v_ids IS NULL THEN
    RETURN;
  END IF;
  UPDATE distribution_commission c SET released_at = v_now
  WHERE c.tenant_id = p_tenant AND c.id = ANY(v_ids) AND c.released_at IS NULL;
  RETURN QUERY
    SELECT p_tenant, c.beneficiary_id, count(*), sum(c.amount_minor)::bigint
    FROM distribution_commission c
    WHERE c.tenant_id = p_tenant AND c.id = ANY(v_ids) AND c.released_at = v_now
    GROUP BY c.beneficiary_id;
END
$$
