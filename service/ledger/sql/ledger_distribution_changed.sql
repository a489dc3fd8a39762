-- Statement trigger on distribution_commission (AFTER UPDATE, transition tables old_rows/new_rows):
-- a sharer's distribution commission in their ledger, as ledger_commission_changed does for a
-- leader's (the beneficiary is the sharer's user, leader_id stays null):
--   earned now            -> DISTRIBUTION_EARNED   (frozen +amount)
--   reversed after earned -> DISTRIBUTION_REVERSED (frozen -part) before its release,
--                            DISTRIBUTION_CLAWBACK (available -part) after
--   released now          -> DISTRIBUTION_RELEASED (frozen -amount, available +amount)
-- A PENDING commission's shrinking writes nothing: pending is read from distribution_commission.
-- Last changed by migration 0028; a change needs a migration carrying this whole text.
CREATE OR REPLACE FUNCTION ledger_distribution_changed()
RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  INSERT INTO ledger_entry (tenant_id, beneficiary_id, leader_id, kind, currency, amount_minor, frozen_minor,
                            available_minor, commission_id, order_id)
  SELECT n.tenant_id, n.beneficiary_id, NULL, e.kind, n.currency, e.amount, e.frozen, e.available, n.id, n.order_id
  FROM new_rows n
  JOIN old_rows o ON o.tenant_id = n.tenant_id AND o.id = n.id
  CROSS JOIN LATERAL (VALUES
    ('DISTRIBUTION_EARNED', n.amount_minor, n.amount_minor, 0::bigint,
     o.earned_at IS NULL AND n.earned_at IS NOT NULL AND n.amount_minor > 0),
    ('DISTRIBUTION_REVERSED', o.reversed_minor - n.reversed_minor, o.reversed_minor - n.reversed_minor, 0::bigint,
     o.earned_at IS NOT NULL AND o.released_at IS NULL AND n.reversed_minor > o.reversed_minor),
    ('DISTRIBUTION_CLAWBACK', o.reversed_minor - n.reversed_minor, 0::bigint, o.reversed_minor - n.reversed_minor,
     o.released_at IS NOT NULL AND n.reversed_minor > o.reversed_minor),
    ('DISTRIBUTION_RELEASED', n.amount_minor, -n.amount_minor, n.amount_minor,
     o.released_at IS NULL AND n.released_at IS NOT NULL AND n.amount_minor > 0)
  ) AS e(kind, amount, frozen, available, happened)
  WHERE e.happened;
  RETURN NULL;
END
$$
