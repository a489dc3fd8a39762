-- Platform job over every tenant: SECURITY DEFINER (run as the owner, which bypasses RLS) and
-- returning ids only, so the service's role can ask "what is due" without seeing any tenant's data.
-- Last changed by migration 0004; a change needs a migration carrying this whole text.
CREATE OR REPLACE FUNCTION request_due_batch_closes(retry_seconds int)
RETURNS TABLE (tenant_id uuid, batch_id uuid)
LANGUAGE sql SECURITY DEFINER SET search_path = public
AS $$
  INSERT INTO batch_close AS c (tenant_id, batch_id, requested_at)
  SELECT b.tenant_id, b.id, clock_timestamp() FROM batch b
  WHERE b.status = 'OPEN' AND b.closes_at <= clock_timestamp()
  ON CONFLICT (tenant_id, batch_id) DO UPDATE SET requested_at = EXCLUDED.requested_at
  WHERE c.requested_at IS NULL OR c.requested_at < clock_timestamp() - make_interval(secs => retry_seconds)
  RETURNING c.tenant_id, c.batch_id
$$
