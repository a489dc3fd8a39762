"""Phone numbers in E.164; rate-limit counters in PostgreSQL; the account check of every request

- tenant.phone_region: where a number without a country code is read (CN by default).
- Every stored phone number (app_user, leader) is rewritten in E.164 (service/accounts/phones.py).
  Two accounts of one tenant whose numbers turn out to be one (`13600000011`, `+8613600000011`)
  are not merged: each keeps its orders and history. The account that already had the E.164 form,
  else the oldest, gets it; the others keep their number as it was (nobody can sign in with it
  any more, since logins are normalised too) and are listed in phone_number_issue with the
  account that kept the number, for an administrator to settle. Numbers that are no valid
  number are left as they were and listed there too (reason INVALID).
- rate_counter: the sign-in and registration counters while Redis is unavailable, taken and
  given back by rate_counter_take / rate_counter_give_back (one statement each, which sets the
  tenant for row-level security itself, so the API runs them on its lean driver connections).
- account_state(tenant, user): the roles of an account that exists and is not disabled, in one
  statement that sets the tenant for row-level security itself (checked on every request).

Revision ID: 0013
Revises: 0012
"""

import logging

import sqlalchemy as sa
from alembic import op

from service.accounts.phones import normalise_phone
from service.tenants.rls import enable_tenant_rls

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")

ACCOUNT_STATE = """
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
"""

# Counts one hit on every key (sorted by the caller, so two callers cannot deadlock), or none:
# returns 0, or the seconds until the window of the first full counter ends.
RATE_COUNTER_TAKE = """
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
RATE_COUNTER_GIVE_BACK = """
CREATE OR REPLACE FUNCTION rate_counter_give_back(p_tenant uuid, p_back text[], p_reset text[])
RETURNS void LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  PERFORM set_config('app.tenant_id', p_tenant::text, true);
  UPDATE rate_counter SET hits = hits - 1 WHERE tenant_id = p_tenant AND key = ANY(p_back) AND hits > 0;
  DELETE FROM rate_counter WHERE tenant_id = p_tenant AND key = ANY(p_reset);
END $$
"""


def upgrade() -> None:
    op.add_column(
        "tenant", sa.Column("phone_region", sa.String(2), nullable=False, server_default=sa.text("'CN'"))
    )
    op.create_table(
        "rate_counter",
        sa.Column("tenant_id", sa.Uuid(), sa.ForeignKey("tenant.id", ondelete="CASCADE"), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.Column("window_ends", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "key"),
    )
    op.create_table(
        "phone_number_issue",
        sa.Column("tenant_id", sa.Uuid(), sa.ForeignKey("tenant.id", ondelete="CASCADE"), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("phone", sa.String(20), nullable=False),
        sa.Column("reason", sa.String(20), nullable=False),  # DUPLICATE or INVALID
        sa.Column("normalised", sa.String(20), nullable=True),
        sa.Column("kept_by_user_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.text("now()")),
        sa.PrimaryKeyConstraint("tenant_id", "user_id"),
    )
    enable_tenant_rls(op.execute, "rate_counter", "phone_number_issue")
    op.execute(ACCOUNT_STATE)
    op.execute(RATE_COUNTER_TAKE)
    op.execute(RATE_COUNTER_GIVE_BACK)
    bind = op.get_bind()
    counts = [0, 0, 0]
    # Tenant by tenant: row-level security may apply to the migrating role too.
    for tenant_id, region in bind.execute(sa.text("SELECT id, phone_region FROM tenant")).all():
        bind.execute(sa.text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(tenant_id)})
        for i, n in enumerate(_normalise_users(tenant_id, region)):
            counts[i] += n
        _normalise_leaders(tenant_id, region)
    bind.execute(sa.text("SELECT set_config('app.tenant_id', '', true)"))
    log.info("phone numbers: %d rewritten in E.164, %d accounts share a number with another (kept as they"
             " were), %d not valid; see table phone_number_issue", *counts)


def _normalise_users(tenant_id: object, region: str) -> tuple[int, int, int]:
    bind = op.get_bind()
    rows = bind.execute(sa.text(
        "SELECT id, phone FROM app_user WHERE tenant_id = :t AND phone IS NOT NULL ORDER BY created_at, id"
    ), {"t": tenant_id}).all()
    groups: dict[tuple[object, str], list[tuple[object, str]]] = {}
    issues: list[dict[str, object]] = []
    for user_id, phone in rows:
        normalised = normalise_phone(phone, region)
        if normalised is None:
            issues.append({"t": tenant_id, "u": user_id, "p": phone, "r": "INVALID", "n": None, "k": None})
            continue
        groups.setdefault((tenant_id, normalised), []).append((user_id, phone))
    updates = []
    for (tenant_id, normalised), users in groups.items():
        # The one already in E.164 keeps it, else the oldest (rows come oldest first).
        keeper = next((u for u in users if u[1] == normalised), users[0])
        if keeper[1] != normalised:
            updates.append({"u": keeper[0], "n": normalised})
        for user_id, phone in users:
            if user_id != keeper[0]:
                issues.append({"t": tenant_id, "u": user_id, "p": phone, "r": "DUPLICATE", "n": normalised,
                               "k": keeper[0]})
    if updates:
        bind.execute(sa.text("UPDATE app_user SET phone = :n WHERE id = :u"), updates)
    if issues:
        bind.execute(sa.text(
            "INSERT INTO phone_number_issue (tenant_id, user_id, phone, reason, normalised, kept_by_user_id)"
            " VALUES (:t, :u, :p, :r, :n, :k)"
        ), issues)
    duplicates = sum(1 for i in issues if i["r"] == "DUPLICATE")
    return len(updates), duplicates, len(issues) - duplicates


def _normalise_leaders(tenant_id: object, region: str) -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT id, phone FROM leader WHERE tenant_id = :t"), {"t": tenant_id}).all()
    updates = []
    for leader_id, phone in rows:
        normalised = normalise_phone(phone, region)
        if normalised is not None and normalised != phone:
            updates.append({"i": leader_id, "n": normalised})
    if updates:
        bind.execute(sa.text("UPDATE leader SET phone = :n WHERE id = :i"), updates)


def downgrade() -> None:
    # The numbers stay in E.164: every earlier version reads them as they are.
    op.execute("DROP FUNCTION IF EXISTS account_state(uuid, uuid)")
    op.execute("DROP FUNCTION IF EXISTS rate_counter_take(uuid, text[], int[], float8)")
    op.execute("DROP FUNCTION IF EXISTS rate_counter_give_back(uuid, text[], text[])")
    op.drop_table("phone_number_issue")
    op.drop_table("rate_counter")
    op.drop_column("tenant", "phone_region")
