-- The freeze's end: every earned commission whose tenant's commission_freeze_days have passed
-- since it was earned becomes available, at most p_limit per call. Set-based: one UPDATE (its
-- trigger appends the RELEASED entries) and one COMMISSION_AVAILABLE event per leader, in the
-- same transaction. Exactly once: released_at IS NULL is re-checked on the locked row, rows
-- another run (or a refund) holds are skipped and taken by a later call, and
-- ledger_entry_once_per_commission refuses a second RELEASED. Platform job over every tenant:
-- SECURITY DEFINER, returning per leader what was released.
-- Last changed by migration 0019; a change needs a migration carrying this whole text.
CREATE OR REPLACE FUNCTION release_frozen_commissions(p_limit int)
RETURNS TABLE (tenant_id uuid, leader_id uuid, commissions bigint, amount_minor bigint)
LANGUAGE sql SECURITY DEFINER SET search_path = public
AS $$
  WITH due AS (
    SELECT c.tenant_id, c.id
    FROM commission_entry c
    JOIN tenant t ON t.id = c.tenant_id
    WHERE c.released_at IS NULL AND c.earned_at IS NOT NULL
      AND c.earned_at <= clock_timestamp() - make_interval(days => t.commission_freeze_days)
    LIMIT p_limit
    FOR UPDATE OF c SKIP LOCKED
  ), released AS (
    UPDATE commission_entry c SET released_at = clock_timestamp()
    FROM due
    WHERE c.tenant_id = due.tenant_id AND c.id = due.id AND c.released_at IS NULL
    RETURNING c.tenant_id, c.leader_id, c.amount_minor, c.currency
  ), per_leader AS (
    SELECT r.tenant_id, r.leader_id, count(*) AS commissions, sum(r.amount_minor)::bigint AS amount_minor,
           min(r.currency) AS currency
    FROM released r GROUP BY r.tenant_id, r.leader_id
  ), events AS (
    INSERT INTO outbox_event (tenant_id, id, event, subject_type, subject_id, payload)
    SELECT p.tenant_id, gen_random_uuid(), 'COMMISSION_AVAILABLE', 'leader', p.leader_id,
           jsonb_build_object(
             'leaderId', p.leader_id, 'commissions', p.commissions, 'userIds', jsonb_build_array(l.user_id),
             'amount', jsonb_build_object(
               'amount', round(p.amount_minor::numeric / 10::numeric ^ x.e, x.e)::text, 'currency', p.currency))
    FROM per_leader p
    JOIN leader l ON l.tenant_id = p.tenant_id AND l.id = p.leader_id
    CROSS JOIN LATERAL (SELECT CASE WHEN p.currency IN ('JPY', 'KRW', 'VND', 'CLP', 'ISK') THEN 0
                                    WHEN p.currency IN ('BHD', 'KWD', 'OMR', 'TND') THEN 3 ELSE 2 END AS e) x
    WHERE p.amount_minor > 0
  )
  SELECT p.tenant_id, p.leader_id, p.commissions, p.amount_minor FROM per_leader p
$$
