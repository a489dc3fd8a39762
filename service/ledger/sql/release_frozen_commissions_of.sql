-- The freeze's end in one tenant: its earned commissions whose commission_freeze_days have passed
-- since they were earned become available, at most p_limit per call. The rows due are locked
-- first (rows another run or a refund holds are skipped and taken by a later call), then one
-- UPDATE releases them (its trigger appends the RELEASED entries) and one COMMISSION_AVAILABLE
-- event per leader follows, in the same transaction. Exactly once: released_at IS NULL is
-- re-checked on the locked rows, and ledger_entry_once_per_commission refuses a second RELEASED.
-- Every statement names the tenant and the clock is read once, so on Citus each runs on the
-- tenant's shards. SECURITY DEFINER: the scheduler's job, returning per leader what was released.
-- Last changed by migration 0044; a change needs a migration carrying this whole text.
CREATE OR REPLACE FUNCTION release_frozen_commissions_of(p_tenant uuid, p_limit int)
RETURNS TABLE (tenant_id uuid, leader_id uuid, commissions bigint, amount_minor bigint)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public
AS $$
#variable_conflict use_column
DECLARE
  v_now timestamptz := clock_timestamp();
  v_days int;
  v_ids uuid[];
  r record;
  v_e int;
BEGIN
  SELECT t.commission_freeze_days INTO v_days FROM tenant t WHERE t.id = p_tenant;
  SELECT array_agg(d.id) INTO v_ids FROM (
    SELECT c.id FROM commission_entry c
    WHERE c.tenant_id = p_tenant AND c.released_at IS NULL AND c.earned_at IS NOT NULL
      AND c.earned_at <= v_now - make_interval(days => v_days)
    LIMIT p_limit
    FOR UPDATE OF c SKIP LOCKED
  ) d;
  IF v_ids IS NULL THEN
    RETURN;
  END IF;
  UPDATE commission_entry c SET released_at = v_now
  WHERE c.tenant_id = p_tenant AND c.id = ANY(v_ids) AND c.released_at IS NULL;
  FOR r IN
    SELECT c.leader_id, count(*) AS commissions, sum(c.amount_minor)::bigint AS amount_minor,
           min(c.currency) AS currency, min(l.user_id::text)::uuid AS user_id
    FROM commission_entry c
    JOIN leader l ON l.tenant_id = c.tenant_id AND l.id = c.leader_id
    WHERE c.tenant_id = p_tenant AND l.tenant_id = p_tenant AND c.id = ANY(v_ids) AND c.released_at = v_now
    GROUP BY c.leader_id
  LOOP
    IF r.amount_minor > 0 THEN
      v_e := CASE WHEN r.currency IN ('JPY', 'KRW', 'VND', 'CLP', 'ISK') THEN 0
                  WHEN r.currency IN ('BHD', 'KWD', 'OMR', 'TND') THEN 3 ELSE 2 END;
      INSERT INTO outbox_event (tenant_id, id, event, subject_type, subject_id, payload)
      VALUES (p_tenant, gen_random_uuid(), 'COMMISSION_AVAILABLE', 'leader', r.leader_id,
              jsonb_build_object(
                'leaderId', r.leader_id, 'commissions', r.commissions, 'userIds', jsonb_build_array(r.user_id),
                'amount', jsonb_build_object(
                  'amount', round(r.amount_minor::numeric / 10::numeric ^ v_e, v_e)::text,
                  'currency', r.currency)));
    END IF;
    tenant_id := p_tenant;
    leader_id := r.leader_id;
    commissions := r.commissions;
    amount_minor := r.amount_minor;
    RETURN NEXT;
  END LOOP;
END
$$
