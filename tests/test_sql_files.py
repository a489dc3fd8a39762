"""Every function the migrations create lives in one file, service/<domain>/sql/<name>.sql, and the
migrated database runs exactly that text; each rule that exists in SQL and Python is the same rule."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parent.parent
# A file under sql/ is either one function or one query that the code reads (service/reports/).
SQL_FILES = sorted(p for p in (ROOT / "service").glob("*/sql/*.sql") if "CREATE OR REPLACE FUNCTION" in p.read_text())
VERSIONS = ROOT / "migrations" / "versions"

# Every function in our schema, with its definition as PostgreSQL prints it back.
_DEFINITIONS = """
SELECT p.oid::regprocedure::text, pg_get_functiondef(p.oid)
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = 'public' AND p.prokind = 'f'
"""


def _definitions(conn: psycopg.Connection) -> dict[str, str]:
    return dict(conn.execute(_DEFINITIONS).fetchall())


def _function_name(sql: str) -> str:
    match = re.search(r"CREATE OR REPLACE FUNCTION\s+(\w+)\s*\(", sql)
    assert match, "no CREATE OR REPLACE FUNCTION"
    return match.group(1)


def test_each_sql_file_defines_the_function_it_is_named_after() -> None:
    assert len(SQL_FILES) >= 12, SQL_FILES
    for path in SQL_FILES:
        text = path.read_text()
        assert text.count("CREATE OR REPLACE FUNCTION") == 1, path
        assert _function_name(text) == path.stem, path


def test_the_migrated_database_runs_exactly_the_sql_files(services) -> None:  # type: ignore[no-untyped-def]
    """Re-creating every function from its file changes nothing (PostgreSQL prints both the same way),
    and adds no function: so each file's function exists with that text, and each function has a file."""
    with psycopg.connect(services.owner_url) as conn:
        migrated = _definitions(conn)
        try:
            for path in SQL_FILES:
                conn.execute(path.read_text())
            from_files = _definitions(conn)
        finally:
            conn.rollback()
    assert from_files.keys() == migrated.keys(), "a .sql file creates a function the migrations do not"
    changed = sorted(sig for sig in migrated if migrated[sig] != from_files[sig])
    assert not changed, f"the database's text differs from service/*/sql/ for {changed}"
    named = {_function_name(path.read_text()) for path in SQL_FILES}
    missing = sorted(sig for sig in migrated if sig.split("(")[0] not in named)
    assert not missing, f"no service/<domain>/sql/<name>.sql for {missing}"


def test_a_changed_body_is_told_apart(services) -> None:  # type: ignore[no-untyped-def]
    """The comparison above sees a one-character change in a body."""
    path = next(p for p in SQL_FILES if p.stem == "place_order")
    with psycopg.connect(services.owner_url) as conn:
        migrated = _definitions(conn)
        try:
            conn.execute(path.read_text().replace("v_attempt >= 20", "v_attempt >= 21"))
            edited = _definitions(conn)
        finally:
            conn.rollback()
    assert [sig for sig in migrated if migrated[sig] != edited[sig]] == [
        next(sig for sig in migrated if sig.startswith("place_order("))]


def _imports(tree: ast.AST) -> list[str]:
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            names.append(node.module or "")
        elif isinstance(node, ast.Call) and ast.unparse(node.func).endswith(("spec_from_file_location", "import_module")):
            names.append("importlib")
    return names


@pytest.mark.parametrize("path", sorted(VERSIONS.glob("*.py")), ids=lambda p: p.stem)
def test_no_migration_loads_another_or_a_sql_file(path: Path) -> None:
    """A migration is history: it carries the text as it was at its revision, never what another
    migration or a live .sql file says today."""
    source = path.read_text()
    assert "importlib" not in _imports(ast.parse(source)), path
    assert "versions" not in source.replace("migrations/versions", ""), path
    assert not re.search(r"\w\.sql\b['\"]|read_text|read_bytes|\bopen\(", source), path


# The order-state rule: Python's order_state(), the SQL that order_state_case() renders (Order.state
# and order_state_sql()), and the database's order_state() function agree on every pair of statuses.
ORDER_STATUSES = ["PENDING_PAYMENT", "PAID", "PLACED", "CONFIRMED", "READY_FOR_PICKUP", "PICKED_UP", "CANCELLED"]
BATCH_STATUSES = ["DRAFT", "SCHEDULED", "OPEN", "CLOSED", "COMPLETED", "CANCELLED"]


@pytest.fixture(scope="module")
def owner_conn(services):  # type: ignore[no-untyped-def]
    with psycopg.connect(services.owner_url, autocommit=True) as conn:
        yield conn


def test_the_status_lists_are_the_enums() -> None:
    from service.batches.models import BatchStatus
    from service.orders.models import OrderStatus

    assert ORDER_STATUSES == [s.value for s in OrderStatus]
    assert BATCH_STATUSES == [s.value for s in BatchStatus]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(order_status=st.sampled_from(ORDER_STATUSES) | st.text(max_size=12),
       batch_status=st.sampled_from(BATCH_STATUSES) | st.text(max_size=12))
def test_the_order_state_rule_is_one_rule(owner_conn, order_status: str, batch_status: str) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import literal, select
    from sqlalchemy.dialects import postgresql

    from service.orders.models import order_state, order_state_case, order_state_sql

    order_status = order_status.replace("\x00", "")
    batch_status = batch_status.replace("\x00", "")
    # Compiled for psycopg: its literals come out with % doubled, as the query below needs.
    expression = select(order_state_case(literal(order_status), literal(batch_status))).compile(
        dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True})
    row = owner_conn.execute(
        f"SELECT order_state(o.status, b.status), {order_state_sql()}, ({expression}) "
        "FROM (SELECT %(o)s::text AS status) o, (SELECT %(b)s::text AS status) b",
        {"o": order_status, "b": batch_status}).fetchone()
    assert list(row) == [order_state(order_status, batch_status)] * 3
