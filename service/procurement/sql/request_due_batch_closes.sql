-- Platform job over every tenant: SECURITY DEFINER (run as the owner, which bypasses RLS) and
-- returning ids only, so the service's role can ask "what is due" without seeing any tenant's data.
-- The clock is read once and written into the statement as constants: Citus refuses a volatile
-- function in a statement on distributed tables, anything but an immutable one in its
-- ON CONFLICT ... WHERE, and parameters in an INSERT ... SELECT it pushes down to the shards.
-- Last changed by migration 0045; a change needs a migration carrying this whole text.
CREATE OR REPLACE FUNCTION request_due_batch_closes(retry_seconds int)
RETURNS TABLE (tenant_id uuid, batch_id uuid)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public
AS $$
DECLARE
  v_now timestamptz := clock_timestamp();
BEGIN
  RETURN QUERY EXECUTE format(
    'INSERT INTO batch_close AS c (tenant_id, batch_id, requested_at)
     SELECT b.tenant_id, b.id, %1$L::timestamptz FROM batch b
     WHERE b.status = ''OPEN'' AND b.closes_at <= %1$L::timestamptz
     ON CONFLICT (tenant_id, batch_id) DO UPDATE SET requested_at = EXCLUDED.requested_at
     WHERE c.requested_at IS NULL OR c.requested_at < %2$L::timestamptz
     RETURNING c.tenant_id, c.batch_id',
    v_now, v_now - make_interval(secs => retry_seconds));
END
$$
