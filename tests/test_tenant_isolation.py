"""Invariant 6 at the database: with the app role and app.tenant_id = A, no row of tenant B
is visible or writable in any tenant table — the list comes from the metadata, so a new
table is covered (and must have demo data, so the check is never vacuous)."""

from __future__ import annotations

import uuid

import psycopg
import pytest
from psycopg import sql

from service.config import get_settings
from service.db import citus_set_tenant
from service.tables import PLATFORM_TABLES, metadata, tenant_tables
from service.tenants.rls import APPEND_ONLY_TABLES

# Views an extension installs (Citus puts citus_tables and citus_shards in public) are not ours.
NOT_AN_EXTENSIONS_VIEW = "NOT EXISTS (SELECT FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'e')"


def _set_tenant(conn: psycopg.Connection, tenant_uuid: uuid.UUID) -> None:
    """As the service does (service.db.set_tenant): on Citus with SET LOCAL, which reaches the shards."""
    if get_settings().citus:
        conn.execute(citus_set_tenant(tenant_uuid))
    else:
        conn.execute("SELECT set_config('app.tenant_id', %s, true)", (str(tenant_uuid),))


def _as_app(app_db_url: str, tenant_uuid: uuid.UUID) -> psycopg.Connection:
    conn = psycopg.connect(app_db_url)
    _set_tenant(conn, tenant_uuid)
    return conn


def test_every_table_is_tenant_owned_or_declared_platform():
    names = {t.name for t in metadata.sorted_tables}
    assert set(tenant_tables()) | PLATFORM_TABLES == names
    assert len(tenant_tables()) >= 3


def test_rls_is_forced_on_every_tenant_table(owner_db):  # type: ignore[no-untyped-def]
    rows = owner_db.execute(
        "SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class "
        "WHERE relnamespace = 'public'::regnamespace AND relkind = 'r'"
    ).fetchall()
    flags = {r[0]: (r[1], r[2]) for r in rows}
    for table in tenant_tables():
        assert flags[table] == (True, True), f"{table}: row-level security must be enabled and forced"
        policies = owner_db.execute("SELECT qual, with_check FROM pg_policies WHERE tablename = %s",
                                    (table,)).fetchall()
        assert policies and all("current_tenant_id()" in (q or "") and "current_tenant_id()" in (w or "")
                                for q, w in policies), table


def test_app_role_owns_nothing_and_cannot_bypass_rls(owner_db):  # type: ignore[no-untyped-def]
    from service.config import get_settings

    role = get_settings().app_db_role
    super_, bypass = owner_db.execute(
        "SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
    assert (super_, bypass) == (False, False)
    owned = owner_db.execute(
        "SELECT count(*) FROM pg_class WHERE relowner = (SELECT oid FROM pg_roles WHERE rolname = %s)", (role,)
    ).fetchone()[0]
    assert owned == 0


def test_no_row_of_another_tenant_is_visible_or_writable(seeded_tenant, owner_db, app_db_url):  # type: ignore[no-untyped-def]
    a, b = seeded_tenant(), seeded_tenant()
    missing = [t for t in tenant_tables()
               if owner_db.execute(sql.SQL("SELECT count(*) FROM {} WHERE tenant_id = %s").format(
                   sql.Identifier(t)), (b.uuid,)).fetchone()[0] == 0]
    assert not missing, f"add demo data (service.demo.DEMO_SEEDS) for {missing} so isolation is checked there"

    with _as_app(app_db_url, a.uuid) as conn:
        for table in tenant_tables():
            rows = conn.execute(sql.SQL("SELECT tenant_id FROM {}").format(sql.Identifier(table))).fetchall()
            assert rows, f"tenant A sees its own rows in {table}"
            assert {r[0] for r in rows} == {a.uuid}, f"{table} leaks another tenant's rows"
            if table in APPEND_ONLY_TABLES:  # no UPDATE or DELETE at all (tests/test_ledger.py)
                continue
            touched = conn.execute(sql.SQL("UPDATE {} SET tenant_id = tenant_id WHERE tenant_id = %s").format(
                sql.Identifier(table)), (b.uuid,)).rowcount
            assert touched == 0, f"{table}: tenant A updated tenant B's rows"
            deleted = conn.execute(sql.SQL("DELETE FROM {} WHERE tenant_id = %s").format(
                sql.Identifier(table)), (b.uuid,)).rowcount
            assert deleted == 0, f"{table}: tenant A deleted tenant B's rows"
        conn.rollback()

    # An INSERT of a row for tenant B, made while acting for A, is refused by the policy.
    for table in tenant_tables():
        row = owner_db.execute(sql.SQL("SELECT * FROM {} WHERE tenant_id = %s LIMIT 1").format(
            sql.Identifier(table)), (b.uuid,)).fetchone()
        columns = [d.name for d in owner_db.execute(
            sql.SQL("SELECT * FROM {} LIMIT 0").format(sql.Identifier(table))).description]
        values = dict(zip(columns, row, strict=True))
        jsonb = {r[0] for r in owner_db.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = %s AND data_type = 'jsonb'",
            (table,))}
        values = {k: psycopg.types.json.Jsonb(v) if k in jsonb else v for k, v in values.items()}
        if "id" in values:
            values["id"] = uuid.uuid4()
        with _as_app(app_db_url, a.uuid) as conn:
            insert = sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
                sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, values)),
                sql.SQL(", ").join(sql.Placeholder() * len(values)))
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"):
                conn.execute(insert, list(values.values()))


def test_every_view_reads_with_the_callers_row_level_security(seeded_tenant, owner_db, app_db_url):  # type: ignore[no-untyped-def]
    """Views (derived commissions, deliveries, pick-list lines) are security_invoker, so the
    tables' policies apply to whoever reads them: tenant A sees its own rows and no one else's."""
    a, _b = seeded_tenant(), seeded_tenant()
    views = dict(owner_db.execute(
        "SELECT c.relname, coalesce('security_invoker=true' = ANY(c.reloptions), false) FROM pg_class c "
        "WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'v' AND " + NOT_AN_EXTENSIONS_VIEW).fetchall())
    assert {"commission", "purchase_order_delivery", "pick_list_line"} <= set(views)
    assert all(views.values()), views
    with _as_app(app_db_url, a.uuid) as conn:
        for view in views:
            rows = conn.execute(sql.SQL("SELECT tenant_id FROM {}").format(sql.Identifier(view))).fetchall()
            assert rows and {r[0] for r in rows} == {a.uuid}, view


def test_without_a_tenant_the_app_role_sees_nothing(seeded_tenant, app_db_url):  # type: ignore[no-untyped-def]
    seeded_tenant()
    with psycopg.connect(app_db_url) as conn:
        for table in tenant_tables():
            count = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))).fetchone()[0]
            assert count == 0, f"{table} visible without a tenant"


def test_tenant_setting_does_not_leak_past_the_transaction(seeded_tenant, app_db_url):  # type: ignore[no-untyped-def]
    a = seeded_tenant()
    with psycopg.connect(app_db_url) as conn:
        _set_tenant(conn, a.uuid)
        assert conn.execute("SELECT count(*) FROM app_user").fetchone()[0] > 0
        conn.commit()  # a pooled connection handed to the next request
        assert conn.execute("SELECT count(*) FROM app_user").fetchone()[0] == 0


def test_every_view_applies_the_callers_row_level_security(owner_db):  # type: ignore[no-untyped-def]
    views = owner_db.execute(
        "SELECT c.relname, coalesce(c.reloptions, '{}') FROM pg_class c "
        "WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'v' AND " + NOT_AN_EXTENSIONS_VIEW).fetchall()
    assert views, "no view found: the check is stale"
    for name, options in views:
        assert "security_invoker=true" in options, f"view {name} reads as its owner, bypassing RLS"
