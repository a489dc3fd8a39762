"""The release of frozen commissions on Citus: per tenant, the clock read once

release_frozen_commissions() and release_frozen_distribution() locked the due commissions of
every tenant in one statement (FOR UPDATE SKIP LOCKED) and set released_at with clock_timestamp()
in their UPDATE. Citus refuses both on distributed tables (a locking statement over every shard,
a volatile function in an UPDATE), so on a cluster the scheduler never released a commission.
Now release_frozen_commissions_of() / release_frozen_distribution_of() release one tenant's,
every statement naming it, the clock read into a variable first; the functions the job calls
find the tenants with commissions due (a plain read) and release each one's, at most p_limit in
all, as before. Same outcomes on one node.

Revision ID: 0044
Revises: 0046
"""

from alembic import op

from service.config import get_settings

revision = "0044"
down_revision = "0046"
branch_labels = None
depends_on = None

RELEASE_FROZEN_COMMISSIONS_OF = r"""
CREATE OR REPLACE FUNCTION release_frozen_commissions_of(p_tenant uuid, p_limit int)
RETURNS TABLE (tenant_id uuid, leader_id uuid, commissions bigint, amount_minor bigint)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public
AS $$
#variable_conflict use_column
DECLARE
  v_now timestamptz := clock_timestamp();
  v_days int;
  v_ids uuid[];
  r record;
  v_e int;
BEGIN
  SELECT t.commission_freeze_days INTO v_days FROM tenant t WHERE t.id = p_tenant;
  SELECT array_agg(d.id) INTO v_ids FROM (
    SELECT c.id FROM commission_entry c
    WHERE c.tenant_id = p_tenant AND c.released_at IS NULL AND c.earned_at IS NOT NULL
      AND c.earned_at <= v_now - make_interval(days => v_days)
    LIMIT p_limit
    FOR UPDATE OF c SKIP LOCKED
  ) d;
  IF v_ids IS NULL THEN
    RETURN;
  END IF;
  UPDATE commission_entry c SET released_at = v_now
  WHERE c.tenant_id = p_tenant AND c.id = ANY(v_ids) AND c.released_at IS NULL;
  FOR r IN
    SELECT c.leader_id, count(*) AS commissions, sum(c.amount_minor)::bigint AS amount_minor,
           min(c.currency) AS currency, min(l.user_id::text)::uuid AS user_id
    FROM commission_entry c
    JOIN leader l ON l.tenant_id = c.tenant_id AND l.id = c.leader_id
    WHERE c.tenant_id = p_tenant AND l.tenant_id = p_tenant AND c.id = ANY(v_ids) AND c.released_at = v_now
    GROUP BY c.leader_id
  LOOP
    IF r.amount_minor > 0 THEN
      v_e := CASE WHEN r.currency IN ('JPY', 'KRW', 'VND', 'CLP', 'ISK') THEN 0
                  WHEN r.currency IN ('BHD', 'KWD', 'OMR', 'TND') THEN 3 ELSE 2 END;
      INSERT INTO outbox_event (tenant_id, id, event, subject_type, subject_id, payload)
      VALUES (p_tenant, gen_random_uuid(), 'COMMISSION_AVAILABLE', 'leader', r.leader_id,
              jsonb_build_object(
                'leaderId', r.leader_id, 'commissions', r.commissions, 'userIds', jsonb_build_array(r.user_id),
                'amount', jsonb_build_object(
                  'amount', round(r.amount_minor::numeric / 10::numeric ^ v_e, v_e)::text,
                  'currency', r.currency)));
    END IF;
    tenant_id := p_tenant;
    leader_id := r.leader_id;
    commissions := r.commissions;
    amount_minor := r.amount_minor;
    RETURN NEXT;
  END LOOP;
END
$$
"""

RELEASE_FROZEN_DISTRIBUTION_OF = r"""
CREATE OR REPLACE FUNCTION release_frozen_distribution_of(p_tenant uuid, p_limit int)
RETURNS TABLE (tenant_id uuid, beneficiary_id uuid, commissions bigint, amount_minor bigint)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public
AS $$
#variable_conflict use_column
DECLARE
  v_now timestamptz := clock_timestamp();
  v_days int;
  v_ids uuid[];
BEGIN
  SELECT t.commission_freeze_days INTO v_days FROM tenant t WHERE t.id = p_tenant;
  SELECT array_agg(d.id) INTO v_ids FROM (
    SELECT c.id FROM distribution_commission c
    WHERE c.tenant_id = p_tenant AND c.released_at IS NULL AND c.earned_at IS NOT NULL
      AND c.earned_at <= v_now - make_interval(days => v_days)
    LIMIT p_limit
    FOR UPDATE OF c SKIP LOCKED
  ) d;
  IF v_ids IS NULL THEN
    RETURN;
  END IF;
  UPDATE distribution_commission c SET released_at = v_now
  WHERE c.tenant_id = p_tenant AND c.id = ANY(v_ids) AND c.released_at IS NULL;
  RETURN QUERY
    SELECT p_tenant, c.beneficiary_id, count(*), sum(c.amount_minor)::bigint
    FROM distribution_commission c
    WHERE c.tenant_id = p_tenant AND c.id = ANY(v_ids) AND c.released_at = v_now
    GROUP BY c.beneficiary_id;
END
$$
"""

RELEASE_FROZEN_COMMISSIONS = r"""
CREATE OR REPLACE FUNCTION release_frozen_commissions(p_limit int)
RETURNS TABLE (tenant_id uuid, leader_id uuid, commissions bigint, amount_minor bigint)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public
AS $$
#variable_conflict use_column
DECLARE
  v_now timestamptz := clock_timestamp();
  v_left int := p_limit;
  v_tenant uuid;
  r record;
BEGIN
  FOR v_tenant IN
    SELECT DISTINCT c.tenant_id FROM commission_entry c JOIN tenant t ON t.id = c.tenant_id
    WHERE c.released_at IS NULL AND c.earned_at IS NOT NULL
      AND c.earned_at <= v_now - make_interval(days => t.commission_freeze_days)
  LOOP
    EXIT WHEN v_left <= 0;
    FOR r IN SELECT * FROM release_frozen_commissions_of(v_tenant, v_left) LOOP
      v_left := v_left - r.commissions::int;
      tenant_id := r.tenant_id;
      leader_id := r.leader_id;
      commissions := r.commissions;
      amount_minor := r.amount_minor;
      RETURN NEXT;
    END LOOP;
  END LOOP;
END
$$
"""

RELEASE_FROZEN_DISTRIBUTION = r"""
CREATE OR REPLACE FUNCTION release_frozen_distribution(p_limit int)
RETURNS TABLE (tenant_id uuid, beneficiary_id uuid, commissions bigint, amount_minor bigint)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public
AS $$
#variable_conflict use_column
DECLARE
  v_now timestamptz := clock_timestamp();
  v_left int := p_limit;
  v_tenant uuid;
  r record;
BEGIN
  FOR v_tenant IN
    SELECT DISTINCT c.tenant_id FROM distribution_commission c JOIN tenant t ON t.id = c.tenant_id
    WHERE c.released_at IS NULL AND c.earned_at IS NOT NULL
      AND c.earned_at <= v_now - make_interval(days => t.commission_freeze_days)
  LOOP
    EXIT WHEN v_left <= 0;
    FOR r IN SELECT * FROM release_frozen_distribution_of(v_tenant, v_left) LOOP
      v_left := v_left - r.commissions::int;
      tenant_id := r.tenant_id;
      beneficiary_id := r.beneficiary_id;
      commissions := r.commissions;
      amount_minor := r.amount_minor;
      RETURN NEXT;
    END LOOP;
  END LOOP;
END
$$
"""

OLD_RELEASE_FROZEN_COMMISSIONS = r"""
CREATE OR REPLACE FUNCTION release_frozen_commissions(p_limit int)
RETURNS TABLE (tenant_id uuid, leader_id uuid, commissions bigint, amount_minor bigint)
LANGUAGE sql SECURITY DEFINER SET search_path = public
AS $$
  WITH due AS (
    SELECT c.tenant_id, c.id
    FROM commission_entry c
    JOIN tenant t ON t.id = c.tenant_id
    WHERE c.released_at IS NULL AND c.earned_at IS NOT NULL
      AND c.earned_at <= clock_timestamp() - make_interval(days => t.commission_freeze_days)
    LIMIT p_limit
    FOR UPDATE OF c SKIP LOCKED
  ), released AS (
    UPDATE commission_entry c SET released_at = clock_timestamp()
    FROM due
    WHERE c.tenant_id = due.tenant_id AND c.id = due.id AND c.released_at IS NULL
    RETURNING c.tenant_id, c.leader_id, c.amount_minor, c.currency
  ), per_leader AS (
    SELECT r.tenant_id, r.leader_id, count(*) AS commissions, sum(r.amount_minor)::bigint AS amount_minor,
           min(r.currency) AS currency
    FROM released r GROUP BY r.tenant_id, r.leader_id
  ), events AS (
    INSERT INTO outbox_event (tenant_id, id, event, subject_type, subject_id, payload)
    SELECT p.tenant_id, gen_random_uuid(), 'COMMISSION_AVAILABLE', 'leader', p.leader_id,
           jsonb_build_object(
             'leaderId', p.leader_id, 'commissions', p.commissions, 'userIds', jsonb_build_array(l.user_id),
             'amount', jsonb_build_object(
               'amount', round(p.amount_minor::numeric / 10::numeric ^ x.e, x.e)::text, 'currency', p.currency))
    FROM per_leader p
    JOIN leader l ON l.tenant_id = p.tenant_id AND l.id = p.leader_id
    CROSS JOIN LATERAL (SELECT CASE WHEN p.currency IN ('JPY', 'KRW', 'VND', 'CLP', 'ISK') THEN 0
                                    WHEN p.currency IN ('BHD', 'KWD', 'OMR', 'TND') THEN 3 ELSE 2 END AS e) x
    WHERE p.amount_minor > 0
  )
  SELECT p.tenant_id, p.leader_id, p.commissions, p.amount_minor FROM per_leader p
$$
"""

OLD_RELEASE_FROZEN_DISTRIBUTION = r"""
CREATE OR REPLACE FUNCTION release_frozen_distribution(p_limit int)
RETURNS TABLE (tenant_id uuid, beneficiary_id uuid, commissions bigint, amount_minor bigint)
LANGUAGE sql SECURITY DEFINER SET search_path = public
AS $$
  WITH due AS (
    SELECT c.tenant_id, c.id
    FROM distribution_commission c
    JOIN tenant t ON t.id = c.tenant_id
    WHERE c.released_at IS NULL AND c.earned_at IS NOT NULL
      AND c.earned_at <= clock_timestamp() - make_interval(days => t.commission_freeze_days)
    LIMIT p_limit
    FOR UPDATE OF c SKIP LOCKED
  ), released AS (
    UPDATE distribution_commission c SET released_at = clock_timestamp()
    FROM due
    WHERE c.tenant_id = due.tenant_id AND c.id = due.id AND c.released_at IS NULL
    RETURNING c.tenant_id, c.beneficiary_id, c.amount_minor
  )
  SELECT r.tenant_id, r.beneficiary_id, count(*), sum(r.amount_minor)::bigint
  FROM released r GROUP BY r.tenant_id, r.beneficiary_id
$$
"""



def upgrade() -> None:
    # The return type stays; the language changes (sql -> plpgsql), which CREATE OR REPLACE allows.
    op.execute(RELEASE_FROZEN_COMMISSIONS_OF)
    op.execute(RELEASE_FROZEN_DISTRIBUTION_OF)
    op.execute(RELEASE_FROZEN_COMMISSIONS)
    op.execute(RELEASE_FROZEN_DISTRIBUTION)
    role = get_settings().app_db_role
    op.execute(f"""DO $$ BEGIN
                     IF EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') THEN
                       GRANT EXECUTE ON FUNCTION release_frozen_commissions_of(uuid, int) TO {role};
                       GRANT EXECUTE ON FUNCTION release_frozen_distribution_of(uuid, int) TO {role};
                     END IF;
                   END $$""")


def downgrade() -> None:
    op.execute(OLD_RELEASE_FROZEN_COMMISSIONS)
    op.execute(OLD_RELEASE_FROZEN_DISTRIBUTION)
    op.execute("DROP FUNCTION IF EXISTS release_frozen_commissions_of(uuid, int)")
    op.execute("DROP FUNCTION IF EXISTS release_frozen_distribution_of(uuid, int)")
