-- Last changed by migration 0014; a change needs a migration carrying this whole text.
CREATE OR REPLACE FUNCTION number_block(p_tenant uuid, p_kind text, p_count int)
RETURNS TABLE (last_value bigint, key bytea, legacy boolean)
LANGUAGE plpgsql VOLATILE SECURITY INVOKER AS $fn$
#variable_conflict use_column
BEGIN
  PERFORM set_config('app.tenant_id', p_tenant::text, true);
  RETURN QUERY
  INSERT INTO number_counter AS c (tenant_id, kind, next_value) VALUES (p_tenant, p_kind, p_count)
  ON CONFLICT (tenant_id, kind) DO UPDATE SET next_value = c.next_value + EXCLUDED.next_value
  RETURNING c.next_value, c.key, c.legacy;
END
$fn$
