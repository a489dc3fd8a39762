-- Statement trigger on commission_entry (AFTER INSERT, transition table new_rows): a row written
-- down already earned appends its EARNED entry, in the commission's transaction.
-- Last changed by migration 0019; a change needs a migration carrying this whole text.
CREATE OR REPLACE FUNCTION ledger_commission_earned()
RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  INSERT INTO ledger_entry (tenant_id, beneficiary_id, leader_id, kind, currency, amount_minor, frozen_minor,
                            commission_id, order_id)
  SELECT n.tenant_id, l.user_id, n.leader_id, 'EARNED', n.currency, n.amount_minor, n.amount_minor, n.id, n.order_id
  FROM new_rows n
  JOIN leader l ON l.tenant_id = n.tenant_id AND l.id = n.leader_id
  WHERE n.earned_at IS NOT NULL AND n.amount_minor > 0;
  RETURN NULL;
END
$$
