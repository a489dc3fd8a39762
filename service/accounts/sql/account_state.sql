-- Last changed by migration 0013; a change needs a migration carrying this whole text.
CREATE OR REPLACE FUNCTION account_state(p_tenant uuid, p_user uuid)
RETURNS TABLE (kind text, supplier_id uuid, leader_status text)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  PERFORM set_config('app.tenant_id', p_tenant::text, true);
  RETURN QUERY
    SELECT u.kind::text, u.supplier_id, l.status::text
      FROM app_user u
      LEFT JOIN leader l ON l.tenant_id = u.tenant_id AND l.user_id = u.id
     WHERE u.tenant_id = p_tenant AND u.id = p_user AND u.disabled_at IS NULL;
END $$
