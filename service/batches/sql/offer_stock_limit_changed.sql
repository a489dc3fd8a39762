-- Row trigger on offer: a changed stock limit re-spreads the quotas; refused below what is sold.
-- Last changed by migration 0011; a change needs a migration carrying this whole text.
CREATE OR REPLACE FUNCTION offer_stock_limit_changed() RETURNS trigger
LANGUAGE plpgsql SECURITY INVOKER AS $fn$
DECLARE
  v_free bigint;
BEGIN
  IF NEW.stock_limit IS NULL THEN
    PERFORM 1 FROM offer_stock_slot WHERE tenant_id = NEW.tenant_id AND offer_id = NEW.id ORDER BY slot FOR UPDATE;
    UPDATE offer_stock_slot SET quota = NULL WHERE tenant_id = NEW.tenant_id AND offer_id = NEW.id;
    RETURN NULL;
  END IF;
  v_free := offer_stock_take(NEW.tenant_id, NEW.id, 0, 0, NEW.stock_limit);
  IF v_free < 0 THEN
    RAISE EXCEPTION 'stock limit % is below what offer % has sold', NEW.stock_limit, NEW.id
      USING ERRCODE = 'check_violation', CONSTRAINT = 'offer_sold_check';
  END IF;
  RETURN NULL;
END
$fn$
