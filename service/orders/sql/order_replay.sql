-- The order an idempotency key already placed (NULL: none); a different request body refuses
-- (SQLSTATE GB002, DETAIL = a JSON array of {code, message, field}).
-- Last changed by migration 0008; a change needs a migration carrying this whole text.
CREATE OR REPLACE FUNCTION order_replay(p_tenant uuid, p_customer uuid, p_key text, p_hash text)
RETURNS customer_order
LANGUAGE plpgsql STABLE SECURITY INVOKER
AS $fn$
DECLARE
  v_row customer_order;
BEGIN
  SELECT o.* INTO v_row FROM customer_order o
    WHERE o.tenant_id = p_tenant AND o.customer_id = p_customer AND o.idempotency_key = p_key;
  IF NOT FOUND THEN
    RETURN NULL;
  END IF;
  IF v_row.request_hash IS DISTINCT FROM p_hash THEN
    RAISE EXCEPTION 'order refused' USING ERRCODE = 'GB002', DETAIL = jsonb_build_array(jsonb_build_object(
      'code', 'INVALID', 'message', 'This idempotency key was already used for a different order.',
      'field', jsonb_build_array('idempotencyKey')))::text;
  END IF;
  RETURN v_row;
END
$fn$
