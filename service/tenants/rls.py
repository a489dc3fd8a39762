"""Row-level security: every tenant-owned table sees only the transaction's tenant.

Used by the migrations (as the owner) and by `groupbuy migrate` to (re)grant the app role.
"""

from __future__ import annotations

from collections.abc import Callable


def tenant_rls_statements(table: str) -> list[str]:
    return [
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY",
        f"DROP POLICY IF EXISTS tenant_isolation ON {table}",
        f"CREATE POLICY tenant_isolation ON {table} "
        "USING (tenant_id = current_tenant_id()) WITH CHECK (tenant_id = current_tenant_id())",
    ]


def enable_tenant_rls(execute: Callable[[str], object], *tables: str) -> None:
    for table in tables:
        for statement in tenant_rls_statements(table):
            execute(statement)


def app_role_statements(role: str, password: str, database: str) -> list[str]:
    """Create or refresh the login role the service uses: it owns nothing and obeys RLS."""
    quoted_pw = password.replace("'", "''")
    return [
        f"""DO $$ BEGIN
              IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') THEN
                CREATE ROLE {role} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
              END IF;
            END $$""",
        f"ALTER ROLE {role} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE PASSWORD '{quoted_pw}'",
        f'GRANT CONNECT ON DATABASE "{database}" TO {role}',
        f"GRANT USAGE ON SCHEMA public TO {role}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}",
        f"REVOKE ALL ON TABLE alembic_version FROM {role}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}",
        f"GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO {role}",
        *append_only_statements(role),
    ]


# Logs the service appends to and reads, and never changes: the app role gets no UPDATE/DELETE.
APPEND_ONLY_TABLES = ("audit_entry", "ledger_entry")


def append_only_statements(role: str) -> list[str]:
    return [
        f"""DO $$ BEGIN
              IF to_regclass('{table}') IS NOT NULL THEN
                REVOKE UPDATE, DELETE, TRUNCATE ON TABLE {table} FROM {role};
                GRANT SELECT, INSERT ON TABLE {table} TO {role};
              END IF;
            END $$"""
        for table in APPEND_ONLY_TABLES
    ]
