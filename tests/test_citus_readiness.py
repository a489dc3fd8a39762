"""The schema can be distributed by tenant with Citus, and deploy/citus.sql (which does it) is
in sync with the metadata. This is the quick check `make test` runs; `make test-citus` executes
deploy/citus.sql on a real cluster and runs the invariants there (tests/citus/).

Everything here is read from the SQLAlchemy metadata (service/tables.py), so a table added by
anyone is checked without touching this file:

- the tables without `tenant_id` are exactly PLATFORM_TABLES (Citus reference tables);
- every tenant table has `tenant_id` (NOT NULL, same type as tenant.id) first in its primary key;
- every foreign key between tenant tables has `tenant_id` first on both sides, so the join it
  describes stays on one node; reference tables refer to no tenant table;
- every unique constraint, unique index and exclusion constraint of a tenant table includes
  `tenant_id` (Citus can only enforce uniqueness that includes the distribution column);
- every model module is registered in service/tables.py (or Alembic would not see its tables);
- deploy/citus.sql distributes every tenant table by tenant_id, co-located, parents first, and
  makes every platform table a reference table.

deploy/citus.sql is generated from the metadata:  .venv/bin/python -m tests.test_citus_readiness --write
"""

from __future__ import annotations

import importlib
import pkgutil
import re
import sys
from pathlib import Path

from sqlalchemy import Column, Index, Table, UniqueConstraint
from sqlalchemy.sql import visitors

import service
from service.tables import PLATFORM_TABLES, metadata, tenant_tables

ROOT = Path(__file__).resolve().parent.parent
CITUS_SQL = ROOT / "deploy" / "citus.sql"
TENANT_COLUMN = "tenant_id"
REGENERATE = ".venv/bin/python -m tests.test_citus_readiness --write"


def _all_tables() -> list[Table]:
    return list(metadata.sorted_tables)


def _tenant_owned() -> list[Table]:
    return [t for t in _all_tables() if TENANT_COLUMN in t.columns]


def _columns_of(element: object) -> list[str]:
    """Plain column names an index or constraint expression refers to (expressions included)."""
    if isinstance(element, str):
        return [element]
    return [c.name for c in visitors.iterate(element) if isinstance(c, Column)]


def _index_columns(index: Index) -> list[str]:
    names: list[str] = []
    for expr in index.expressions:
        names.extend(_columns_of(expr))
    return names


# ---------------------------------------------------------------------------------------------
# the metadata


def test_model_modules_are_all_registered_in_service_tables() -> None:
    """A table defined in some `models` module but not imported by service/tables.py would be
    invisible to Alembic and to these checks."""
    registered = set(metadata.tables)
    for info in pkgutil.walk_packages(service.__path__, prefix="service."):
        if info.name.rsplit(".", 1)[-1] in {"models", "tables"} or info.name.endswith("_models"):
            importlib.import_module(info.name)
    missing = sorted(set(metadata.tables) - registered)
    assert not missing, f"tables defined but not imported by service/tables.py: {missing}"


def test_tables_without_tenant_id_are_exactly_the_platform_tables() -> None:
    without = {t.name for t in _all_tables() if TENANT_COLUMN not in t.columns}
    assert without == set(PLATFORM_TABLES), (
        f"tables without {TENANT_COLUMN}: {sorted(without)}; PLATFORM_TABLES: {sorted(PLATFORM_TABLES)}. "
        "A tenant-owned table needs tenant_id; a shared one must be listed in PLATFORM_TABLES."
    )
    assert sorted(tenant_tables()) == sorted(t.name for t in _tenant_owned())


def test_tenant_id_is_first_in_every_tenant_primary_key() -> None:
    tenant_id_type = type(metadata.tables["tenant"].c.id.type)
    problems = []
    for table in _tenant_owned():
        pk = [c.name for c in table.primary_key.columns]
        if not pk or pk[0] != TENANT_COLUMN:
            problems.append(f"{table.name}: primary key {pk} does not start with {TENANT_COLUMN}")
        col = table.c[TENANT_COLUMN]
        if col.nullable:
            problems.append(f"{table.name}.{TENANT_COLUMN} is nullable")
        if not isinstance(col.type, tenant_id_type):
            problems.append(f"{table.name}.{TENANT_COLUMN} is {col.type!r}, "
                            f"tenant.id is {tenant_id_type.__name__}"
                            " (co-location needs the same type)")
    assert not problems, "\n".join(problems)


def test_foreign_keys_between_tenant_tables_lead_with_tenant_id() -> None:
    owned = {t.name for t in _tenant_owned()}
    problems = []
    for table in _all_tables():
        for fk in table.foreign_key_constraints:
            target = fk.referred_table.name
            local = [c.name for c in fk.columns]
            remote = [e.column.name for e in fk.elements]
            label = f"{table.name}.{fk.name or local} -> {target}{remote}"
            if table.name not in owned:
                if target in owned:
                    problems.append(f"{label}: a platform (reference) table cannot refer to a tenant table")
                continue
            if target not in owned:
                continue  # tenant table -> reference table: fine in Citus
            if local[0] != TENANT_COLUMN or remote[0] != TENANT_COLUMN:
                problems.append(f"{label}: must start with {TENANT_COLUMN} on both sides")
    assert not problems, "\n".join(problems)


def test_every_tenant_table_proves_its_tenant_exists() -> None:
    """tenant_id -> tenant directly, or a composite (tenant_id, ...) key to a tenant table that
    does (transitively): tables written in bulk drop the direct check (service/columns.py)."""
    owned = {t.name: t for t in _tenant_owned()}

    def parents(table: Table) -> set[str]:
        out = set()
        for fk in table.foreign_key_constraints:
            local = [c.name for c in fk.columns]
            remote = [e.column.name for e in fk.elements]
            if fk.referred_table.name in PLATFORM_TABLES and local == [TENANT_COLUMN]:
                out.add(fk.referred_table.name)
            elif fk.referred_table.name in owned and local[0] == remote[0] == TENANT_COLUMN:
                out.add(fk.referred_table.name)
        return out - {table.name}

    proven = {"tenant"}
    while True:
        more = {n for n, t in owned.items() if n not in proven and parents(t) & proven}
        if not more:
            break
        proven |= more
    missing = sorted(set(owned) - proven)
    assert not missing, f"tenant tables whose tenant_id no foreign key ties to tenant: {missing}"


def test_unique_constraints_and_indexes_include_tenant_id() -> None:
    problems = []
    for table in _tenant_owned():
        for constraint in table.constraints:
            if isinstance(constraint, UniqueConstraint):
                cols = [c.name for c in constraint.columns]
                if TENANT_COLUMN not in cols:
                    problems.append(f"{table.name}: unique constraint {constraint.name or cols} "
                                    f"lacks {TENANT_COLUMN}")
            elif type(constraint).__name__ == "ExcludeConstraint":
                cols = [c.name for c in constraint.columns]
                if TENANT_COLUMN not in cols:
                    problems.append(f"{table.name}: exclusion constraint {constraint.name or cols} "
                                    f"lacks {TENANT_COLUMN}")
        for index in table.indexes:
            if index.unique and TENANT_COLUMN not in _index_columns(index):
                problems.append(f"{table.name}: unique index {index.name} lacks {TENANT_COLUMN}")
    assert not problems, "\n".join(problems)


def test_the_checks_see_expression_indexes() -> None:
    """Sanity check of the helper on an expression index such as lower(email)."""
    for table in _tenant_owned():
        for index in table.indexes:
            assert _index_columns(index), f"{table.name}.{index.name}: no column found in {index.expressions}"


# ---------------------------------------------------------------------------------------------
# deploy/citus.sql


def _dependency_order() -> list[str]:
    """Every table after all the tables it refers to, counting every foreign key (also those
    created later with use_alter, which metadata.sorted_tables ignores): Citus distributes a
    table only once the tables its foreign keys point to are distributed. Ties by name."""
    parents = {
        t.name: {fk.referred_table.name for fk in t.foreign_key_constraints} - {t.name}
        for t in _all_tables()
    }
    ordered: list[str] = []
    while len(ordered) < len(parents):
        ready = sorted(n for n, p in parents.items() if n not in ordered and p <= set(ordered))
        if not ready:
            cycle = sorted(n for n in parents if n not in ordered)
            raise AssertionError(f"foreign keys form a cycle among {cycle}: Citus cannot distribute them "
                                 "in one pass (drop one foreign key, distribute, re-create it)")
        ordered.append(ready[0])
    return ordered


def distribution_order() -> tuple[list[str], list[str]]:
    """(reference tables, tenant tables) in an order where every referenced table comes first."""
    ordered = _dependency_order()
    return [n for n in ordered if n in PLATFORM_TABLES], [n for n in ordered if n not in PLATFORM_TABLES]


# A table already distributed (hash) or a reference table (a Citus local table is neither).
_PLACED = "(partmethod = 'h' OR repmodel = 't')"

# Foreign keys Citus cannot keep, each with the reason; every other foreign key is re-created.
FOREIGN_KEYS_NOT_KEPT: dict[str, str] = {}


LEDGER_ROW_TRIGGERS = r"""
CREATE OR REPLACE FUNCTION ledger_commission_earned_row() RETURNS trigger
LANGUAGE plpgsql AS $fn$
DECLARE v_user uuid;
BEGIN
  IF NEW.earned_at IS NOT NULL AND NEW.amount_minor > 0 THEN
    SELECT l.user_id INTO v_user FROM leader l WHERE l.tenant_id = NEW.tenant_id AND l.id = NEW.leader_id;
    IF FOUND THEN
      INSERT INTO ledger_entry (tenant_id, beneficiary_id, leader_id, kind, currency, amount_minor, frozen_minor,
                                commission_id, order_id)
      VALUES (NEW.tenant_id, v_user, NEW.leader_id, 'EARNED', NEW.currency, NEW.amount_minor, NEW.amount_minor,
              NEW.id, NEW.order_id);
    END IF;
  END IF;
  RETURN NULL;
END
$fn$;
CREATE OR REPLACE FUNCTION ledger_commission_changed_row() RETURNS trigger
LANGUAGE plpgsql AS $fn$
DECLARE
  v_user uuid;
  e record;
  v_part bigint := OLD.reversed_minor - NEW.reversed_minor;
  v_exp int := CASE WHEN NEW.currency IN ('JPY', 'KRW', 'VND', 'CLP', 'ISK') THEN 0
                    WHEN NEW.currency IN ('BHD', 'KWD', 'OMR', 'TND') THEN 3 ELSE 2 END;
BEGIN
  SELECT l.user_id INTO v_user FROM leader l WHERE l.tenant_id = NEW.tenant_id AND l.id = NEW.leader_id;
  IF NOT FOUND THEN
    RETURN NULL;
  END IF;
  FOR e IN SELECT * FROM (VALUES
      ('EARNED', NEW.amount_minor, NEW.amount_minor, 0::bigint,
       OLD.earned_at IS NULL AND NEW.earned_at IS NOT NULL AND NEW.amount_minor > 0),
      ('REVERSED', v_part, v_part, 0::bigint,
       OLD.earned_at IS NOT NULL AND OLD.released_at IS NULL AND NEW.reversed_minor > OLD.reversed_minor),
      ('CLAWBACK', v_part, 0::bigint, v_part,
       OLD.released_at IS NOT NULL AND NEW.reversed_minor > OLD.reversed_minor),
      ('RELEASED', NEW.amount_minor, -NEW.amount_minor, NEW.amount_minor,
       OLD.released_at IS NULL AND NEW.released_at IS NOT NULL AND NEW.amount_minor > 0)
    ) AS x(kind, amount, frozen, available, happened) WHERE x.happened LOOP
    INSERT INTO ledger_entry (tenant_id, beneficiary_id, leader_id, kind, currency, amount_minor, frozen_minor,
                              available_minor, commission_id, order_id)
    VALUES (NEW.tenant_id, v_user, NEW.leader_id, e.kind, NEW.currency, e.amount, e.frozen, e.available,
            NEW.id, NEW.order_id);
    IF e.kind = 'CLAWBACK' THEN
      INSERT INTO outbox_event (tenant_id, id, event, subject_type, subject_id, payload)
      VALUES (NEW.tenant_id, gen_random_uuid(), 'COMMISSION_CLAWED_BACK', 'leader', NEW.leader_id,
              jsonb_build_object(
                'leaderId', NEW.leader_id, 'orderId', NEW.order_id, 'userIds', jsonb_build_array(v_user),
                'amount', jsonb_build_object('amount', round(-e.amount::numeric / 10::numeric ^ v_exp, v_exp)::text,
                                             'currency', NEW.currency)));
    END IF;
  END LOOP;
  RETURN NULL;
END
$fn$;
DROP TRIGGER IF EXISTS commission_entry_ledger_insert ON commission_entry;
CREATE TRIGGER commission_entry_ledger_insert AFTER INSERT ON commission_entry FOR EACH ROW
  EXECUTE FUNCTION ledger_commission_earned_row();
DROP TRIGGER IF EXISTS commission_entry_ledger_update ON commission_entry;
CREATE TRIGGER commission_entry_ledger_update AFTER UPDATE ON commission_entry FOR EACH ROW
  EXECUTE FUNCTION ledger_commission_changed_row();
CREATE OR REPLACE FUNCTION ledger_distribution_changed_row() RETURNS trigger
LANGUAGE plpgsql AS $fn$
DECLARE
  e record;
  v_part bigint := OLD.reversed_minor - NEW.reversed_minor;
BEGIN
  FOR e IN SELECT * FROM (VALUES
      ('DISTRIBUTION_EARNED', NEW.amount_minor, NEW.amount_minor, 0::bigint,
       OLD.earned_at IS NULL AND NEW.earned_at IS NOT NULL AND NEW.amount_minor > 0),
      ('DISTRIBUTION_REVERSED', v_part, v_part, 0::bigint,
       OLD.earned_at IS NOT NULL AND OLD.released_at IS NULL AND NEW.reversed_minor > OLD.reversed_minor),
      ('DISTRIBUTION_CLAWBACK', v_part, 0::bigint, v_part,
       OLD.released_at IS NOT NULL AND NEW.reversed_minor > OLD.reversed_minor),
      ('DISTRIBUTION_RELEASED', NEW.amount_minor, -NEW.amount_minor, NEW.amount_minor,
       OLD.released_at IS NULL AND NEW.released_at IS NOT NULL AND NEW.amount_minor > 0)
    ) AS x(kind, amount, frozen, available, happened) WHERE x.happened LOOP
    INSERT INTO ledger_entry (tenant_id, beneficiary_id, leader_id, kind, currency, amount_minor, frozen_minor,
                              available_minor, commission_id, order_id)
    VALUES (NEW.tenant_id, NEW.beneficiary_id, NULL, e.kind, NEW.currency, e.amount, e.frozen, e.available,
            NEW.id, NEW.order_id);
  END LOOP;
  RETURN NULL;
END
$fn$;
DROP TRIGGER IF EXISTS distribution_commission_ledger_update ON distribution_commission;
CREATE TRIGGER distribution_commission_ledger_update AFTER UPDATE ON distribution_commission FOR EACH ROW
  EXECUTE FUNCTION ledger_distribution_changed_row();
"""


# Delegated to the tenant's worker also inside a transaction (see the comment written with them).
FORCE_DELEGATED = ("place_order", "place_order_group")


def generate_citus_sql() -> str:
    reference, distributed = distribution_order()
    first = distributed[0] if distributed else None
    lines = [
        "-- Distribute the groupbuy schema over a Citus cluster, by tenant.",
        "-- GENERATED from the SQLAlchemy metadata (service/tables.py) by",
        f"--   {REGENERATE}",
        "-- and checked by tests/test_citus_readiness.py; executed on a real cluster by",
        "-- tests/citus/ (make test-citus). Do not edit by hand.",
        "--",
        "-- Run as the owner on the coordinator after `groupbuy migrate` (deploy/README.md, \"Moving to",
        "-- Citus\"), and again after every later migration: tables already distributed are skipped, new",
        "-- ones are distributed. Existing rows are copied into the shards. alembic_version stays local.",
        "",
        "\\set ON_ERROR_STOP on",
        "CREATE EXTENSION IF NOT EXISTS citus;",
        "",
        "-- Every session of this database: SET LOCAL (the app's tenant, app.tenant_id) reaches the",
        "-- workers' connections of the transaction, so the row-level security policies on the shards",
        "-- see the same tenant as the coordinator; triggers on distributed tables are allowed (ours",
        "-- only touch rows of the same tenant, which are co-located).",
        "DO $$ BEGIN",
        "  EXECUTE format('ALTER DATABASE %I SET citus.propagate_set_commands = local', current_database());",
        "  EXECUTE format('ALTER DATABASE %I SET citus.enable_unsafe_triggers = on', current_database());",
        "END $$;",
        "SET citus.propagate_set_commands = local;",
        "SET citus.enable_unsafe_triggers = on;",
        "",
        "-- Foreign keys touching a table not distributed yet are set aside and re-created once every",
        "-- table is distributed (Citus refuses a key between a distributed and a local table).",
        "CREATE TEMP TABLE citus_foreign_key AS",
        "  SELECT c.conrelid::regclass::text AS table_name, c.conname, pg_get_constraintdef(c.oid) AS definition",
        "  FROM pg_constraint c",
        "  WHERE c.contype = 'f' AND c.connamespace = 'public'::regnamespace",
        "    AND citus_table_is_visible(c.conrelid)  -- not a shard",
        "    AND (c.conrelid NOT IN (SELECT logicalrelid FROM pg_dist_partition WHERE {0})",
        "         OR c.confrelid NOT IN (SELECT logicalrelid FROM pg_dist_partition WHERE {0}));",
        "DO $$ DECLARE fk record; BEGIN",
        "  FOR fk IN SELECT * FROM citus_foreign_key LOOP",
        "    EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', fk.table_name, fk.conname);",
        "  END LOOP;",
        "END $$;",
        "",
        "-- Platform tables: one full copy on every node, joinable with every tenant table.",
    ]
    lines = [line.replace("{0}", _PLACED) for line in lines]
    # A table this database does not have yet (an older revision) is skipped: the run after the
    # migration that creates it distributes it.
    not_placed = f"WHERE t IS NOT NULL AND t NOT IN (SELECT logicalrelid FROM pg_dist_partition WHERE {_PLACED})"
    for name in reference:
        lines.append(f"SELECT create_reference_table(t) FROM to_regclass('{name}') AS t {not_placed};")
    lines += [
        "",
        "-- Tenant tables, referenced tables first, all co-located with the first one: every row",
        "-- of a tenant lives on the same node, so every query and foreign key of one tenant is local.",
    ]
    for name in distributed:
        colocate = "" if name == first else f", colocate_with => '{first}'"
        lines.append(f"SELECT create_distributed_table(t, '{TENANT_COLUMN}'{colocate}) "
                     f"FROM to_regclass('{name}') AS t {not_placed};")
    lines += [
        "",
        "-- Tables only the migrations know (no model in service/tables.py) that have tenant_id too.",
        "DO $$ DECLARE t record; BEGIN",
        "  FOR t IN SELECT c.oid::regclass::text AS name FROM pg_class c",
        "           JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped",
        "           WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')",
        f"             AND c.oid NOT IN (SELECT logicalrelid FROM pg_dist_partition WHERE {_PLACED})",
        "           ORDER BY 1",
        "  LOOP",
        f"    PERFORM create_distributed_table(t.name, '{TENANT_COLUMN}', colocate_with => '{first}');",
        "  END LOOP;",
        "END $$;",
    ]
    not_kept = ", ".join(f"'{name}'" for name in sorted(FOREIGN_KEYS_NOT_KEPT))
    lines += [
        "",
        "-- The foreign keys back, now between co-located tenant tables or to reference tables; one",
        "-- connection per node (a key to a reference table may not follow parallel work in a transaction).",
        "SET citus.multi_shard_modify_mode = sequential;",
    ]
    lines += [f"-- Not kept: {name}: {why}" for name, why in sorted(FOREIGN_KEYS_NOT_KEPT.items())]
    lines += [
        "DO $$ DECLARE fk record; BEGIN",
        f"  FOR fk IN SELECT * FROM citus_foreign_key WHERE conname <> ALL (ARRAY[{not_kept}]::text[]) LOOP",
        "    EXECUTE format('ALTER TABLE %s ADD CONSTRAINT %I %s', fk.table_name, fk.conname, fk.definition);",
        "  END LOOP;",
        "END $$;",
        "DROP TABLE citus_foreign_key;",
        "RESET citus.multi_shard_modify_mode;",
        "",
        "-- A trigger runs on the worker, on the shard; the statements it sends go through Citus, which",
        "-- cannot see a statement trigger's transition table there. The new offers' stock slots are",
        "-- made by a row trigger instead (the same rows, one single-shard INSERT per slot).",
        "CREATE OR REPLACE FUNCTION offer_stock_slots_create_row() RETURNS trigger",
        "LANGUAGE plpgsql SECURITY INVOKER AS $fn$",
        "BEGIN",
        "  FOR s IN 0 .. NEW.stock_slots - 1 LOOP",
        "    INSERT INTO offer_stock_slot (tenant_id, offer_id, slot, quota, sold)",
        "    VALUES (NEW.tenant_id, NEW.id, s,",
        "            NEW.stock_limit / NEW.stock_slots + CASE WHEN s < NEW.stock_limit % NEW.stock_slots THEN 1 ELSE 0 END,",
        "            0);",
        "  END LOOP;",
        "  RETURN NULL;",
        "END",
        "$fn$;",
        "DROP TRIGGER IF EXISTS offer_stock_slots ON offer;",
        "CREATE TRIGGER offer_stock_slots AFTER INSERT ON offer FOR EACH ROW",
        "  EXECUTE FUNCTION offer_stock_slots_create_row();",
        "-- The ledger's entries for a commission written or changed (migration 0019's statement",
        "-- triggers, and 0028's for a sharer's distribution commission, service/ledger/sql): the same",
        "-- entries and events, one commission row at a time.",
        *LEDGER_ROW_TRIGGERS.strip("\n").splitlines(),
        "-- Functions that plan their statements once for every call (plan_cache_mode = force_generic_plan,",
        "-- the ordering hot path on one node) plan them per call here: Citus routes a join to the tenant's",
        "-- shards only with the tenant's value in the plan, not a parameter.",
        "DO $$ DECLARE f record; BEGIN",
        "  FOR f IN SELECT p.oid::regprocedure AS signature FROM pg_proc p",
        "           WHERE p.pronamespace = 'public'::regnamespace",
        "             AND 'plan_cache_mode=force_generic_plan' = ANY(p.proconfig) LOOP",
        "    EXECUTE format('ALTER FUNCTION %s SET plan_cache_mode = force_custom_plan', f.signature);",
        "  END LOOP;",
        "END $$;",
        "-- Any other transition-table trigger on a distributed table would fail the same way: refuse.",
        "DO $$ DECLARE bad text; BEGIN",
        "  SELECT string_agg(t.tgrelid::regclass || '.' || t.tgname, ', ') INTO bad FROM pg_trigger t",
        "   WHERE NOT t.tgisinternal AND (t.tgnewtable IS NOT NULL OR t.tgoldtable IS NOT NULL)",
        f"     AND t.tgrelid IN (SELECT logicalrelid FROM pg_dist_partition WHERE {_PLACED});",
        "  IF bad IS NOT NULL THEN",
        "    RAISE EXCEPTION 'triggers with transition tables cannot run on Citus shards: %', bad;",
        "  END IF;",
        "END $$;",
        "",
        "-- Every function on every node (policies, triggers and checks call them there). Those",
        "-- whose first argument is the tenant (p_tenant) are distributed by it, co-located with the",
        "-- tables: a plain `SELECT f(tenant, ...)` call (or `SELECT ... FROM f(tenant, ...)`) is then",
        "-- run on the tenant's worker. The order placements are delegated there inside a transaction",
        "-- too (force_delegation): the orderPlace paths with extras place within their own transaction,",
        "-- and on the coordinator the function's INSERT ... SELECT would be copied into the shards,",
        "-- which row-level security refuses; every statement in them is of the caller's tenant.",
        "DO $$ DECLARE f record; BEGIN",
        "  FOR f IN SELECT p.oid::regprocedure AS signature, p.proargnames[1] = 'p_tenant' AS by_tenant,",
        f"                  p.proname = ANY(ARRAY[{', '.join(repr(n) for n in FORCE_DELEGATED)}]) AS forced",
        "           FROM pg_proc p",
        "           WHERE p.pronamespace = 'public'::regnamespace",
        "             AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass",
        "                             AND d.objid = p.oid AND d.deptype = 'e')",
        "  LOOP",
        "    CONTINUE WHEN EXISTS (SELECT FROM pg_dist_object o WHERE o.classid = 'pg_proc'::regclass",
        "                          AND o.objid = f.signature::oid AND o.distribution_argument_index IS NOT NULL",
        "                          AND o.force_delegation IS NOT DISTINCT FROM (f.forced OR NULL));",
        "    IF f.forced THEN",
        "      PERFORM create_distributed_function(f.signature, 'p_tenant',",
        f"                                          colocate_with => '{first}', force_delegation => true);",
        "    ELSIF f.by_tenant THEN",
        "      PERFORM create_distributed_function(f.signature, 'p_tenant',",
        f"                                          colocate_with => '{first}');",
        "    ELSIF NOT EXISTS (SELECT FROM pg_dist_object o WHERE o.classid = 'pg_proc'::regclass",
        "                      AND o.objid = f.signature::oid) THEN",
        "      PERFORM create_distributed_function(f.signature);",
        "    END IF;",
        "  END LOOP;",
        "END $$;",
    ]
    return "\n".join(lines) + "\n"


_REFERENCE = re.compile(r"create_reference_table\(\s*t\s*\)\s*FROM\s+to_regclass\('([^']+)'\)", re.I)
_DISTRIBUTED = re.compile(
    r"create_distributed_table\(\s*t\s*,\s*'([^']+)'\s*"
    r"(?:,\s*colocate_with\s*=>\s*'([^']+)'\s*)?\)\s*FROM\s+to_regclass\('([^']+)'\)",
    re.I,
)


def _statements(sql: str) -> str:
    return "\n".join(line.split("--", 1)[0] for line in sql.splitlines())


def test_citus_sql_makes_every_platform_table_a_reference_table() -> None:
    assert CITUS_SQL.exists(), f"deploy/citus.sql is missing: {REGENERATE}"
    assert set(PLATFORM_TABLES) <= set(metadata.tables), "PLATFORM_TABLES names a table that does not exist"
    reference = _REFERENCE.findall(_statements(CITUS_SQL.read_text()))
    assert sorted(reference) == sorted(PLATFORM_TABLES), f"deploy/citus.sql is out of date: {REGENERATE}"


def test_citus_sql_distributes_every_tenant_table_by_tenant_id_colocated_parents_first() -> None:
    calls = [(name, column, colocate)
             for column, colocate, name in _DISTRIBUTED.findall(_statements(CITUS_SQL.read_text()))]
    names = [name for name, _, _ in calls]
    assert sorted(names) == sorted(tenant_tables()), (
        f"deploy/citus.sql is out of date (tables missing: {sorted(set(tenant_tables()) - set(names))}, "
        f"unknown: {sorted(set(names) - set(tenant_tables()))}): {REGENERATE}"
    )
    assert len(names) == len(set(names)), "a table is distributed twice"
    first = names[0]
    for name, column, colocate in calls:
        assert column == TENANT_COLUMN, f"{name} distributed by {column}"
        if name != first:
            assert colocate == first, f"{name} is not co-located with {first}"
    position = {name: i for i, name in enumerate(names)}
    for table in _tenant_owned():
        for fk in table.foreign_key_constraints:
            target = fk.referred_table.name
            if target in position and target != table.name:
                assert position[target] < position[table.name], (
                    f"{table.name} refers to {target}, which must be distributed first: {REGENERATE}"
                )


def test_citus_sql_is_what_the_generator_writes() -> None:
    assert CITUS_SQL.read_text() == generate_citus_sql(), f"deploy/citus.sql is out of date: {REGENERATE}"


_STATEMENT_TRIGGER = re.compile(r"CREATE TRIGGER (\w+) AFTER [\w ]+? ON (\w+)\s+REFERENCING", re.I)


def test_every_transition_table_trigger_has_a_row_level_variant() -> None:
    """Citus refuses a trigger with transition tables on a distributed table (deploy/citus.sql
    stops with an error): every one a migration creates is replaced there by a row trigger."""
    sql = _statements(CITUS_SQL.read_text())
    found = []
    for path in sorted((ROOT / "migrations" / "versions").glob("*.py")):
        source = re.sub(r'"\s*\n\s*f?"', "", path.read_text())  # join adjacent string literals
        for name, table in _STATEMENT_TRIGGER.findall(source):
            found.append(name)
            replaced = re.search(rf"DROP TRIGGER IF EXISTS {name} ON {table};\s*"
                                 rf"CREATE TRIGGER {name} AFTER [\w ]+? ON {table} FOR EACH ROW", sql)
            assert replaced, (f"{path.name}: trigger {name} on {table} uses transition tables; "
                              f"deploy/citus.sql must replace it by a row trigger: {REGENERATE}")
    assert len(found) >= 4, found  # the check sees the known ones (0011, 0019 x2, 0028)


if __name__ == "__main__":
    if sys.argv[1:] == ["--write"]:
        CITUS_SQL.write_text(generate_citus_sql())
        print(f"wrote {CITUS_SQL.relative_to(ROOT)}")
    else:
        sys.stdout.write(generate_citus_sql())
