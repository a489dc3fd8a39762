"""Level 3 does not exist, and no migration makes room for it: after every migration, each column
that holds a distribution level is CHECKed to 1 or 2, no column names a third level's rate, amount
or referrer, and no migration drops, relaxes or widens those checks."""

from __future__ import annotations

import re
from pathlib import Path

MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"
LEVEL_TABLES = {"order_referral", "distribution_commission", "distribution_commission_line"}


def test_every_level_column_is_checked_to_two_levels_at_head(owner_db):  # type: ignore[no-untyped-def]
    checks = dict(owner_db.execute(
        "SELECT c.conrelid::regclass::text, pg_get_constraintdef(c.oid) FROM pg_constraint c "
        "JOIN pg_namespace n ON n.oid = c.connamespace "
        "WHERE n.nspname = 'public' AND c.contype = 'c' AND c.conname LIKE '%two_levels'").fetchall())
    assert set(checks) == LEVEL_TABLES
    assert all(re.fullmatch(r"CHECK \(\(level = ANY \(ARRAY\[1, 2\]\)\)\)", d) for d in checks.values()), checks
    # Every column that stores a level, in any table of growth or distribution, is one of those.
    level_tables = {r[0] for r in owner_db.execute(
        "SELECT table_name FROM information_schema.columns WHERE table_schema = 'public' AND column_name = 'level' "
        "AND (table_name LIKE '%referral%' OR table_name LIKE '%distribution%' OR table_name LIKE '%share%')")}
    assert level_tables == LEVEL_TABLES
    # No column for a third level: no level-3 rate, amount or referrer, in any table.
    third = owner_db.execute(
        "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public' "
        "AND column_name ~* '(level|lvl)_?(3|three)|(third|3rd)_?level'").fetchall()
    assert third == []


def test_no_migration_drops_or_widens_the_two_level_checks() -> None:
    files = sorted(MIGRATIONS.rglob("*.py"))
    assert len(files) > 30  # the whole chain, not an empty directory
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"drop_constraint\([^)]*two_levels|DROP\s+CONSTRAINT[^;\n]*two_levels", text, re.I), path
        # A level list or range that reaches 3 (level IN (1, 2, 3), level <= 3, level BETWEEN 1 AND 3).
        assert not re.search(r"\blevel\s+IN\s*\([^)]*\b3\b|\blevel\s*(<=\s*[3-9]|<\s*[4-9])\b|\blevel\s+BETWEEN\b", text,
                             re.I), path
        assert not re.search(r"(level|lvl)_?(3|three)|(third|3rd)_?level", text, re.I), path
