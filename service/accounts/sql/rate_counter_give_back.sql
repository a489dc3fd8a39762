-- Last changed by migration 0013; a change needs a migration carrying this whole text.
CREATE OR REPLACE FUNCTION rate_counter_give_back(p_tenant uuid, p_back text[], p_reset text[])
RETURNS void LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  PERFORM set_config('app.tenant_id', p_tenant::text, true);
  UPDATE rate_counter SET hits = hits - 1 WHERE tenant_id = p_tenant AND key = ANY(p_back) AND hits > 0;
  DELETE FROM rate_counter WHERE tenant_id = p_tenant AND key = ANY(p_reset);
END $$
