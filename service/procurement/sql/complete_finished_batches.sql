-- CLOSED -> COMPLETED once no order is left to pick up or the pickup window is over. Platform
-- job over every tenant: SECURITY DEFINER, ids only (as request_due_batch_closes).
-- The clock is read once, before the update: Citus refuses a volatile function in an UPDATE of a
-- distributed table (the time zone conversion of a given moment is immutable).
-- Last changed by migration 0045; a change needs a migration carrying this whole text.
CREATE OR REPLACE FUNCTION complete_finished_batches(window_days int)
RETURNS TABLE (tenant_id uuid, batch_id uuid)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public
AS $$
#variable_conflict use_column
DECLARE
  v_now timestamptz := clock_timestamp();
BEGIN
  RETURN QUERY
  UPDATE batch b SET status = 'COMPLETED'
  WHERE b.status = 'CLOSED' AND (
    b.pickup_date + window_days < (v_now AT TIME ZONE (SELECT t.timezone FROM tenant t WHERE t.id = b.tenant_id))::date
    OR NOT EXISTS (SELECT 1 FROM customer_order o WHERE o.tenant_id = b.tenant_id AND o.batch_id = b.id
                   AND o.status IN ('PAID', 'PLACED', 'CONFIRMED', 'READY_FOR_PICKUP')))
  RETURNING b.tenant_id, b.id;
END
$$
