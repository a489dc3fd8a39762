-- Runs when the order's transaction commits (deferred): the batch must still be OPEN and the
-- database clock before closes_at at that moment. FOR SHARE makes a close or cancel, which
-- UPDATEs the batch row, wait for in-flight orders, and makes this check wait for (and then see)
-- a close that already began. The moment of the check is recorded on the order.
-- Last changed by migration 0003; a change needs a migration carrying this whole text.
CREATE OR REPLACE FUNCTION order_cutoff_check() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  batch_status text;
  batch_closes timestamptz;
  checked timestamptz;
BEGIN
  SELECT status, closes_at INTO batch_status, batch_closes
    FROM batch WHERE tenant_id = NEW.tenant_id AND id = NEW.batch_id FOR SHARE;
  checked := clock_timestamp();
  IF batch_status IS DISTINCT FROM 'OPEN' OR checked >= batch_closes THEN
    RAISE EXCEPTION 'batch % is not open for orders (status %, closes %)', NEW.batch_id, batch_status, batch_closes
      USING ERRCODE = 'GB001';
  END IF;
  UPDATE customer_order SET commit_checked_at = checked WHERE tenant_id = NEW.tenant_id AND id = NEW.id;
  RETURN NULL;
END
$$
