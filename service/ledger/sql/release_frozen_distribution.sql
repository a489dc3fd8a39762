-- The freeze's end for distribution commissions, as release_frozen_commissions does for leaders':
-- every earned one whose tenant's commission_freeze_days have passed since it was earned becomes
-- available, at most p_limit per call, in one UPDATE (its trigger appends the
-- DISTRIBUTION_RELEASED entries). Exactly once: released_at IS NULL is re-checked on the locked
-- row, rows another run (or a refund) holds are skipped, and ledger_entry_once_per_commission
-- refuses a second DISTRIBUTION_RELEASED. Platform job over every tenant: SECURITY DEFINER,
-- returning per beneficiary what was released.
-- Last changed by migration 0028; a change needs a migration carrying this whole text.
CREATE OR REPLACE FUNCTION release_frozen_distribution(p_limit int)
RETURNS TABLE (tenant_id uuid, beneficiary_id uuid, commissions bigint, amount_minor bigint)
LANGUAGE sql SECURITY DEFINER SET search_path = public
AS $$
  WITH due AS (
    SELECT c.tenant_id, c.id
    FROM distribution_commission c
    JOIN tenant t ON t.id = c.tenant_id
    WHERE c.released_at IS NULL AND c.earned_at IS NOT NULL
      AND c.earned_at <= clock_timestamp() - make_interval(days => t.commission_freeze_days)
    LIMIT p_limit
    FOR UPDATE OF c SKIP LOCKED
  ), released AS (
    UPDATE distribution_commission c SET released_at = clock_timestamp()
    FROM due
    WHERE c.tenant_id = due.tenant_id AND c.id = due.id AND c.released_at IS NULL
    RETURNING c.tenant_id, c.beneficiary_id, c.amount_minor
  )
  SELECT r.tenant_id, r.beneficiary_id, count(*), sum(r.amount_minor)::bigint
  FROM released r GROUP BY r.tenant_id, r.beneficiary_id
$$
