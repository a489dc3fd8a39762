-- The transaction's tenant (app.tenant_id), which every row-level security policy compares with.
-- Last changed by migration 0001; a change needs a migration carrying this whole text.
CREATE OR REPLACE FUNCTION current_tenant_id() RETURNS uuid
LANGUAGE sql STABLE PARALLEL SAFE
AS $$ SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid $$
