-- Statement trigger on commission_entry (AFTER UPDATE, transition tables old_rows/new_rows):
-- appends what each changed commission means to its leader's money, set-based, in the same
-- transaction as the change, so no other code needs to know the ledger:
--   earned now            -> EARNED    (frozen +amount)
--   reversed after earned -> REVERSED  (frozen -part) before its release, CLAWBACK (available -part) after
--   released now          -> RELEASED  (frozen -amount, available +amount)
-- A PENDING commission's shrinking writes nothing: pending is derived from commission.
-- A clawback is also a COMMISSION_CLAWED_BACK event for the leader.
-- Last changed by migration 0019; a change needs a migration carrying this whole text.
CREATE OR REPLACE FUNCTION ledger_commission_changed()
RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  WITH appended AS (
    INSERT INTO ledger_entry (tenant_id, beneficiary_id, leader_id, kind, currency, amount_minor, frozen_minor,
                              available_minor, commission_id, order_id)
    SELECT n.tenant_id, l.user_id, n.leader_id, e.kind, n.currency, e.amount, e.frozen, e.available, n.id, n.order_id
    FROM new_rows n
    JOIN old_rows o ON o.tenant_id = n.tenant_id AND o.id = n.id
    JOIN leader l ON l.tenant_id = n.tenant_id AND l.id = n.leader_id
    CROSS JOIN LATERAL (VALUES
      ('EARNED', n.amount_minor, n.amount_minor, 0::bigint,
       o.earned_at IS NULL AND n.earned_at IS NOT NULL AND n.amount_minor > 0),
      ('REVERSED', o.reversed_minor - n.reversed_minor, o.reversed_minor - n.reversed_minor, 0::bigint,
       o.earned_at IS NOT NULL AND o.released_at IS NULL AND n.reversed_minor > o.reversed_minor),
      ('CLAWBACK', o.reversed_minor - n.reversed_minor, 0::bigint, o.reversed_minor - n.reversed_minor,
       o.released_at IS NOT NULL AND n.reversed_minor > o.reversed_minor),
      ('RELEASED', n.amount_minor, -n.amount_minor, n.amount_minor,
       o.released_at IS NULL AND n.released_at IS NOT NULL AND n.amount_minor > 0)
    ) AS e(kind, amount, frozen, available, happened)
    WHERE e.happened
    RETURNING tenant_id, beneficiary_id, leader_id, kind, currency, amount_minor, order_id
  )
  INSERT INTO outbox_event (tenant_id, id, event, subject_type, subject_id, payload)
  SELECT a.tenant_id, gen_random_uuid(), 'COMMISSION_CLAWED_BACK', 'leader', a.leader_id,
         jsonb_build_object(
           'leaderId', a.leader_id, 'orderId', a.order_id, 'userIds', jsonb_build_array(a.beneficiary_id),
           'amount', jsonb_build_object('amount', round(-a.amount_minor::numeric / 10::numeric ^ x.e, x.e)::text,
                                        'currency', a.currency))
  FROM appended a
  CROSS JOIN LATERAL (SELECT CASE WHEN a.currency IN ('JPY', 'KRW', 'VND', 'CLP', 'ISK') THEN 0
                                  WHEN a.currency IN ('BHD', 'KWD', 'OMR', 'TND') THEN 3 ELSE 2 END AS e) x
  WHERE a.kind = 'CLAWBACK';
  RETURN NULL;
END
$$
