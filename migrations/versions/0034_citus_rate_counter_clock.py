"""The sign-in counters read the clock once per key: the fallback rate limit runs on Citus

rate_counter_take() (the rate limits' PostgreSQL fallback when Redis is down) called
clock_timestamp() inside its INSERT ... ON CONFLICT DO UPDATE and its housekeeping DELETE. Citus
refuses a volatile function there, so on a cluster every sign-in failed while Redis was away. The
clock is now read into a variable first: the same moment for the whole statement, as before
within microseconds. It is also the migration tests/citus runs on a cluster after the move.

Revision ID: 0034
Revises: 0032
"""

from alembic import op

revision = "0034"
down_revision = "0032"
branch_labels = None
depends_on = None

RATE_COUNTER_TAKE = r"""
CREATE OR REPLACE FUNCTION rate_counter_take(p_tenant uuid, p_keys text[], p_allowed int[], p_window float8)
RETURNS float8 LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  v_hits int;
  v_left float8;
  v_now timestamptz;
BEGIN
  PERFORM set_config('app.tenant_id', p_tenant::text, true);
  BEGIN
    FOR i IN 1 .. coalesce(array_length(p_keys, 1), 0) LOOP
      v_now := clock_timestamp();
      INSERT INTO rate_counter AS c (tenant_id, key, hits, window_ends)
      VALUES (p_tenant, p_keys[i], 1, v_now + make_interval(secs => p_window))
      ON CONFLICT (tenant_id, key) DO UPDATE SET
        hits = CASE WHEN c.window_ends <= v_now THEN 1 ELSE c.hits + 1 END,
        window_ends = CASE WHEN c.window_ends <= v_now THEN excluded.window_ends
                           ELSE c.window_ends END
      WHERE c.window_ends <= v_now OR c.hits < p_allowed[i]
      RETURNING hits INTO v_hits;
      IF NOT FOUND THEN
        SELECT extract(epoch FROM window_ends - v_now) INTO v_left
          FROM rate_counter WHERE tenant_id = p_tenant AND key = p_keys[i];
        RAISE EXCEPTION USING ERRCODE = 'GB020', MESSAGE = greatest(v_left, 0.001)::text;
      END IF;
    END LOOP;
  EXCEPTION WHEN SQLSTATE 'GB020' THEN  -- undoes the hits counted on the other keys
    RETURN SQLERRM::float8;
  END;
  IF random() < 0.02 THEN  -- housekeeping
    v_now := clock_timestamp();
    DELETE FROM rate_counter WHERE tenant_id = p_tenant AND window_ends < v_now;
  END IF;
  RETURN 0;
END $$
"""

PREVIOUS_RATE_COUNTER_TAKE = r"""
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
"""


def upgrade() -> None:
    op.execute(RATE_COUNTER_TAKE)


def downgrade() -> None:
    op.execute(PREVIOUS_RATE_COUNTER_TAKE)
