-- Last changed by migration 0013; a change needs a migration carrying this whole text.
CREATE OR REPLACE FUNCTION rate_counter_take(p_tenant uuid, p_keys text[], p_allowed int[], p_window float8)
RETURNS float8 LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  v_hits int;
  v_left float8;
BEGIN
  PERFORM set_config('app.tenant_id', p_tenant::text, true);
  BEGIN
    FOR i IN 1 .. coalesce(array_length(p_keys, 1), 0) LOOP
      INSERT INTO rate_counter AS c (tenant_id, key, hits, window_ends)
      VALUES (p_tenant, p_keys[i], 1, clock_timestamp() + make_interval(secs => p_window))
      ON CONFLICT (tenant_id, key) DO UPDATE SET
        hits = CASE WHEN c.window_ends <= clock_timestamp() THEN 1 ELSE c.hits + 1 END,
        window_ends = CASE WHEN c.window_ends <= clock_timestamp() THEN excluded.window_ends
                           ELSE c.window_ends END
      WHERE c.window_ends <= clock_timestamp() OR c.hits < p_allowed[i]
      RETURNING hits INTO v_hits;
      IF NOT FOUND THEN
        SELECT extract(epoch FROM window_ends - clock_timestamp()) INTO v_left
          FROM rate_counter WHERE tenant_id = p_tenant AND key = p_keys[i];
        RAISE EXCEPTION USING ERRCODE = 'GB020', MESSAGE = greatest(v_left, 0.001)::text;
      END IF;
    END LOOP;
  EXCEPTION WHEN SQLSTATE 'GB020' THEN  -- undoes the hits counted on the other keys
    RETURN SQLERRM::float8;
  END;
  IF random() < 0.02 THEN  -- housekeeping
    DELETE FROM rate_counter WHERE tenant_id = p_tenant AND window_ends < clock_timestamp();
  END IF;
  RETURN 0;
END $$
