-- Statement trigger on offer: a new offer's stock slots, its stock limit spread over them.
-- Last changed by migration 0011; a change needs a migration carrying this whole text.
CREATE OR REPLACE FUNCTION offer_stock_slots_create() RETURNS trigger
LANGUAGE plpgsql SECURITY INVOKER AS $fn$
BEGIN
  INSERT INTO offer_stock_slot (tenant_id, offer_id, slot, quota, sold)
  SELECT a.tenant_id, a.id, s.slot,
         a.stock_limit / a.stock_slots + CASE WHEN s.slot < a.stock_limit % a.stock_slots THEN 1 ELSE 0 END, 0
    FROM added a CROSS JOIN LATERAL generate_series(0, a.stock_slots - 1) AS s(slot);
  RETURN NULL;
END
$fn$
