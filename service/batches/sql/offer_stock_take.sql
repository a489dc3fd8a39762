-- Locks every slot of an offer in slot order, then takes p_take into p_slot when the offer has
-- that much free, and spreads the rest evenly. p_limit: the stock limit to spread (a changed
-- limit); NULL keeps the current total of the quotas. Returns what was free before the take
-- (NULL: unlimited); nothing changes when that is less than p_take.
-- Last changed by migration 0011; a change needs a migration carrying this whole text.
CREATE OR REPLACE FUNCTION offer_stock_take(p_tenant uuid, p_offer uuid, p_slot int, p_take int,
                                            p_limit int DEFAULT NULL)
RETURNS bigint LANGUAGE plpgsql VOLATILE SECURITY INVOKER AS $fn$
DECLARE
  v_slots int;
  v_total bigint;
  v_sold bigint;
  v_free bigint;
BEGIN
  SELECT count(*), sum(s.quota), sum(s.sold) INTO v_slots, v_total, v_sold
    FROM (SELECT quota, sold FROM offer_stock_slot
           WHERE tenant_id = p_tenant AND offer_id = p_offer ORDER BY slot FOR UPDATE) s;
  IF v_slots = 0 THEN
    RETURN 0;
  END IF;
  IF p_limit IS NULL AND v_total IS NULL THEN
    -- Unlimited: nothing to check or spread.
    UPDATE offer_stock_slot SET sold = sold + p_take
     WHERE tenant_id = p_tenant AND offer_id = p_offer AND slot = p_slot;
    RETURN NULL;
  END IF;
  v_total := coalesce(p_limit, v_total);
  v_free := v_total - v_sold;
  IF v_free < p_take THEN
    RETURN v_free;
  END IF;
  UPDATE offer_stock_slot s
     SET sold = s.sold + CASE WHEN s.slot = p_slot THEN p_take ELSE 0 END,
         quota = s.sold + CASE WHEN s.slot = p_slot THEN p_take ELSE 0 END
                 + (v_free - p_take) / v_slots + CASE WHEN s.slot < (v_free - p_take) % v_slots THEN 1 ELSE 0 END
   WHERE s.tenant_id = p_tenant AND s.offer_id = p_offer;
  RETURN v_free;
END
$fn$
