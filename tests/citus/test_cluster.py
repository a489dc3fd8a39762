"""The schema on a real Citus cluster, after deploy/citus.sql ran (tests/citus/conftest.py):
everything read from the metadata, so a table added by anyone is covered."""

from __future__ import annotations

import threading
import uuid

import psycopg
import pytest

from service.config import get_settings
from service.db import citus_set_tenant
from service.tables import PLATFORM_TABLES, metadata, tenant_tables


def test_every_tenant_table_is_distributed_by_tenant_and_colocated(owner_db):  # type: ignore[no-untyped-def]
    rows = owner_db.execute(
        "SELECT table_name::text, citus_table_type, distribution_column, colocation_id FROM citus_tables"
    ).fetchall()
    placed = {r[0]: r for r in rows}
    for name in PLATFORM_TABLES:
        assert placed[name][1] == "reference", name
    for name in tenant_tables():
        assert name in placed, f"{name} is not distributed"
        assert placed[name][1:3] == ("distributed", "tenant_id"), placed[name]
    colocation = {placed[n][3] for n in tenant_tables()}
    assert len(colocation) == 1, f"tenant tables are not all co-located: {colocation}"
    # Tables only the migrations know (audit_entry...) are distributed the same way.
    local = owner_db.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' "
        "WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' AND citus_table_is_visible(c.oid) "
        "AND c.oid NOT IN (SELECT logicalrelid FROM pg_dist_partition WHERE partmethod = 'h')").fetchall()
    assert local == [], local


def test_every_foreign_key_of_the_metadata_is_kept(owner_db):  # type: ignore[no-untyped-def]
    found = {
        (table, tuple(cols), target)
        for table, cols, target in owner_db.execute(
            "SELECT c.conrelid::regclass::text, array(SELECT a.attname::text FROM unnest(c.conkey) k "
            "JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k ORDER BY array_position(c.conkey, k)), "
            "c.confrelid::regclass::text FROM pg_constraint c WHERE c.contype = 'f' "
            "AND c.connamespace = 'public'::regnamespace AND citus_table_is_visible(c.conrelid)")
    }
    wanted = {
        (t.name, tuple(c.name for c in fk.columns), fk.referred_table.name)
        for t in metadata.sorted_tables for fk in t.foreign_key_constraints
    }
    assert wanted - found == set(), f"foreign keys lost on Citus: {sorted(wanted - found)}"


def test_row_level_security_is_forced_with_the_policy_on_every_shard(owner_db):  # type: ignore[no-untyped-def]
    for table in tenant_tables():
        flags = owner_db.execute(
            "SELECT DISTINCT result FROM run_command_on_shards(%s, $$SELECT relrowsecurity AND relforcerowsecurity "
            "AND EXISTS (SELECT FROM pg_policy p WHERE p.polrelid = c.oid AND position('current_tenant_id()' IN "
            "pg_get_expr(p.polqual, p.polrelid)) > 0) FROM pg_class c WHERE c.oid = '%%s'::regclass$$)", (table,)).fetchall()
        assert flags == [("t",)], f"{table}: a shard without forced row-level security: {flags}"


def test_tenants_land_on_both_workers(make_tenant, owner_db):  # type: ignore[no-untyped-def]
    tenants = [make_tenant() for _ in range(8)]
    nodes = {
        owner_db.execute(
            "SELECT nodeport FROM citus_shards WHERE shardid = get_shard_id_for_distribution_column('app_user', %s)",
            (t.uuid,)).fetchone()[0]
        for t in tenants
    }
    workers = {r[0] for r in owner_db.execute("SELECT nodeport FROM pg_dist_node WHERE groupid > 0")}
    assert nodes == workers, (nodes, workers)
    per_worker = owner_db.execute(
        "SELECT nodeport, count(*) FROM citus_shards WHERE citus_table_type = 'distributed' GROUP BY 1 ORDER BY 1"
    ).fetchall()
    print(f"shards per worker: {per_worker}")


def _app(app_db_url: str) -> psycopg.Connection:
    return psycopg.connect(app_db_url)


def test_the_shards_enforce_the_tenant_themselves(make_tenant, app_db_url):  # type: ignore[no-untyped-def]
    """With the tenant set on the coordinator only (set_config, not propagated), the workers' shards
    show nothing: the policies run there, not only on the coordinator. SET LOCAL reaches them."""
    a, b = make_tenant(), make_tenant()
    with _app(app_db_url) as conn:
        conn.execute("SELECT set_config('app.tenant_id', %s, true)", (str(a.uuid),))
        assert conn.execute("SELECT count(*) FROM app_user").fetchone()[0] == 0
        conn.rollback()
        conn.execute(citus_set_tenant(a.uuid))
        seen = conn.execute("SELECT DISTINCT tenant_id FROM app_user").fetchall()
        assert seen == [(a.uuid,)], seen
        assert conn.execute("SELECT count(*) FROM app_user WHERE tenant_id = %s", (b.uuid,)).fetchone()[0] == 0
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"):
            conn.execute("INSERT INTO supplier (tenant_id, id, name) VALUES (%s, %s, 'x')", (b.uuid, uuid.uuid4()))


def test_the_last_migration_ran_on_the_cluster(owner_db):  # type: ignore[no-untyped-def]
    from alembic.script import ScriptDirectory

    from service.migrate import alembic_config

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert owner_db.execute("SELECT version_num FROM alembic_version").fetchone() == (head,)


def test_a_tenant_moves_to_the_other_worker_while_it_writes(make_tenant, owner_db, app_db_url):  # type: ignore[no-untyped-def]
    """citus_move_shard_placement moves the tenant's co-located shards (every table) while rows
    are written through the coordinator as the app role: none is lost, the tenant's shards end on
    the other worker."""
    tenant = make_tenant()
    shard = owner_db.execute("SELECT get_shard_id_for_distribution_column('supplier', %s)",
                             (tenant.uuid,)).fetchone()[0]
    source = owner_db.execute("SELECT nodeport FROM citus_shards WHERE shardid = %s", (shard,)).fetchone()[0]
    target = owner_db.execute("SELECT nodeport FROM pg_dist_node WHERE groupid > 0 AND nodeport <> %s",
                              (source,)).fetchone()[0]
    written: list[uuid.UUID] = []
    failed: list[BaseException] = []
    stop = threading.Event()

    def write() -> None:
        with _app(app_db_url) as conn:
            while not stop.is_set():
                supplier = uuid.uuid4()
                try:
                    conn.execute(citus_set_tenant(tenant.uuid))
                    conn.execute("INSERT INTO supplier (tenant_id, id, name) VALUES (%s, %s, 'moving')",
                                 (tenant.uuid, supplier))
                    conn.commit()
                    written.append(supplier)
                except psycopg.Error as e:  # a write the move refused is not lost: it never committed
                    conn.rollback()
                    failed.append(e)

    writers = [threading.Thread(target=write) for _ in range(4)]
    for w in writers:
        w.start()
    try:
        while len(written) < 20:
            stop.wait(0.05)
        owner_db.execute("SELECT citus_move_shard_placement(%s, '127.0.0.1', %s, '127.0.0.1', %s, "
                         "shard_transfer_mode => 'force_logical')", (shard, source, target))
        before = len(written)
        while len(written) < before + 20:
            stop.wait(0.05)
    finally:
        stop.set()
        for w in writers:
            w.join(60)
    assert owner_db.execute("SELECT nodeport FROM citus_shards WHERE shardid = %s", (shard,)).fetchone() == (target,)
    stored = {r[0] for r in owner_db.execute(
        "SELECT id FROM supplier WHERE tenant_id = %s AND name = 'moving'", (tenant.uuid,))}
    assert stored == set(written), (len(stored), len(written))
    print(f"tenant move: {len(written)} rows written during the move, {len(failed)} refused and retried")


def test_the_database_propagates_the_tenant_setting(owner_db):  # type: ignore[no-untyped-def]
    """deploy/citus.sql set what the app relies on: SET LOCAL reaches the workers."""
    settings = dict(owner_db.execute(
        "SELECT split_part(s, '=', 1), split_part(s, '=', 2) FROM pg_db_role_setting r, unnest(r.setconfig) s "
        "WHERE r.setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database())").fetchall())
    assert settings.get("citus.propagate_set_commands") == "local", settings
    assert get_settings().citus


def test_the_workers_commit_synchronously(owner_db):  # type: ignore[no-untyped-def]
    """A shard move loses a commit on its source that is not written yet (deploy/README.md, "Keep
    synchronous_commit = on"): every worker's sessions of this database commit synchronously."""
    rows = owner_db.execute("SELECT nodeport, success, result FROM run_command_on_workers("
                            "'SELECT current_setting(''synchronous_commit'')')").fetchall()
    assert len(rows) == 2 and all(ok and result == "on" for _, ok, result in rows), rows


def test_a_worker_reaches_the_other_worker_as_the_app_role(owner_db, citus_cluster):  # type: ignore[no-untyped-def]
    """A function delegated to a worker (place_order) whose tenant's shards sit on the other
    worker (a move switched them mid-call, or an extras path's statement) queries that worker as
    the app role: each node needs its own login for the role (pg_dist_authinfo is not copied)."""
    role = get_settings().app_db_role
    for worker in citus_cluster.worker_nodes:
        while True:  # a tenant (no rows needed) whose shards sit on the other worker
            tenant = uuid.uuid4()
            (port,) = owner_db.execute(
                "SELECT nodeport FROM citus_shards WHERE shardid = "
                "get_shard_id_for_distribution_column('supplier', %s)", (tenant,)).fetchone()
            if port != worker.port:
                break
        with psycopg.connect(worker.url()) as conn:
            conn.execute(f"SET LOCAL ROLE {role}")
            conn.execute(citus_set_tenant(tenant))
            assert conn.execute("SELECT count(*) FROM supplier WHERE tenant_id = %s", (tenant,)).fetchone() == (0,)
