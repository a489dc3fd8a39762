-- The scheduler's release of distribution commissions over every tenant, as
-- release_frozen_commissions(): the tenants with some due are found with a plain read, then
-- release_frozen_distribution_of() releases each one's, at most p_limit in all per call.
-- Platform job: SECURITY DEFINER, returning per beneficiary what was released.
-- Last changed by migration 0044; a change needs a migration carrying this whole text.
CREATE OR REPLACE FUNCTION release_frozen_distribution(p_limit int)
RETURNS TABLE (tenant_id uuid, beneficiary_id uuid, commissions bigint, amount_minor bigint)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public
AS $$
#variable_conflict use_column
DECLARE
  v_now timestamptz := clock_timestamp();
  v_left int := p_limit;
  v_tenant uuid;
  r record;
BEGIN
  FOR v_tenant IN
    SELECT DISTINCT c.tenant_id FROM distribution_commission c JOIN tenant t ON t.id = c.tenant_id
    WHERE c.released_at IS NULL AND c.earned_at IS NOT NULL
      AND c.earned_at <= v_now - make_interval(days => t.commission_freeze_days)
  LOOP
    EXIT WHEN v_left <= 0;
    FOR r IN SELECT * FROM release_frozen_distribution_of(v_tenant, v_left) LOOP
      v_left := v_left - r.commissions::int;
      tenant_id := r.tenant_id;
      beneficiary_id := r.beneficiary_id;
      commissions := r.commissions;
      amount_minor := r.amount_minor;
      RETURN NEXT;
    END LOOP;
  END LOOP;
END
$$
