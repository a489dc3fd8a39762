-- Last changed by migration 0014; a change needs a migration carrying this whole text.
CREATE OR REPLACE FUNCTION numbers_taken(p_tenant uuid, p_kind text, p_numbers text[])
RETURNS SETOF text
LANGUAGE plpgsql STABLE SECURITY INVOKER AS $fn$
BEGIN
  PERFORM set_config('app.tenant_id', p_tenant::text, true);
  IF p_kind = 'order' THEN
    RETURN QUERY SELECT o.number::text FROM customer_order o
                  WHERE o.tenant_id = p_tenant AND o.number = ANY (p_numbers);
  ELSE
    RETURN QUERY SELECT po.number::text FROM purchase_order po
                  WHERE po.tenant_id = p_tenant AND po.number = ANY (p_numbers);
  END IF;
END
$fn$
