"""The suite's fixtures on a Citus cluster: `services` (which every other fixture builds on) is a
coordinator and two workers started from the embedded binaries, the schema migrated to the
revision before head, distributed by deploy/citus.sql, then migrated to head on the cluster and
distributed again (a migration after the move), then the app role allowed onto the workers.

Run by `make test-citus`, not by `make test`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.citus.cluster import CitusCluster, build_citus
from tests.conftest import WORKER, Services

ROOT = Path(__file__).resolve().parents[2]
# Only `make test-citus` runs these (it sets the variable); `make test` skips the directory.
if not os.environ.get("GROUPBUY_CITUS_TESTS"):
    collect_ignore_glob = ["test_*.py"]
CITUS_SQL = ROOT / "deploy" / "citus.sql"
TIMINGS: dict[str, float] = {}


def distribute(url: str) -> float:
    """deploy/citus.sql through psql, as an operator runs it; returns its seconds."""
    from service.embedded import pg_tool

    started = time.monotonic()
    done = subprocess.run([pg_tool("psql"), url, "-q", "-v", "ON_ERROR_STOP=1", "-f", str(CITUS_SQL)],
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-4000:]
    return time.monotonic() - started


# The migration the tests run on the cluster after the move (the schema is distributed at the
# revision before it): it replaces the ordering and close functions, which Citus then propagates.
AFTER_MOVE = "0034"


def revision_before_the_move() -> str:
    from alembic.script import ScriptDirectory

    from service.migrate import alembic_config

    after = ScriptDirectory.from_config(alembic_config()).get_revision(AFTER_MOVE)
    assert after is not None and isinstance(after.down_revision, str), after
    return after.down_revision


def migrate_to(revision: str) -> None:
    from alembic import command
    from sqlalchemy import create_engine, pool

    from service.db import owner_url
    from service.migrate import alembic_config

    engine = create_engine(owner_url(), poolclass=pool.NullPool)
    with engine.connect() as conn:
        cfg = alembic_config()
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
        conn.commit()
    engine.dispose()


@pytest.fixture(scope="session")
def citus_cluster() -> Iterator[CitusCluster]:
    attach = os.environ.get("GROUPBUY_CITUS_ATTACH")
    if attach:  # a cluster left running by `python -m tests.citus.cluster DIR` (while developing)
        cluster = CitusCluster.attach(Path(attach))
        yield cluster
        return
    TIMINGS["build"] = build_citus()
    data_dir = Path(tempfile.mkdtemp(prefix=f"groupbuy-citus-{WORKER}-"))
    cluster = CitusCluster(data_dir / "citus")
    started = time.monotonic()
    try:
        cluster.start()
        TIMINGS["cluster start"] = time.monotonic() - started
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def services(citus_cluster: CitusCluster) -> Iterator[Services]:
    from service.config import get_settings
    from service.embedded import EmbeddedRedis
    from service.migrate import migrate

    data_dir = citus_cluster.root.parent
    redis_dir = data_dir
    if os.environ.get("GROUPBUY_CITUS_ATTACH"):  # the running cluster's Redis may be gone
        redis_dir = Path(tempfile.mkdtemp(prefix=f"groupbuy-citus-{WORKER}-"))
    redis = EmbeddedRedis(redis_dir, persist=False)
    redis_url = redis.start()
    owner = citus_cluster.url()
    os.environ.update(
        DATABASE_URL=owner,
        REDIS_URL=redis_url,
        GROUPBUY_DATA_DIR=str(data_dir),
        GROUPBUY_ENV="test",
        GROUPBUY_CITUS="true",
        GROUPBUY_GRAPHIQL="true",
        GROUPBUY_INTROSPECTION="true",
        GROUPBUY_ARGON2_TIME_COST="1",
        GROUPBUY_ARGON2_MEMORY_KIB="8192",
        GROUPBUY_LOGIN_ATTEMPTS_PER_ADDRESS="100000",
        GROUPBUY_REGISTER_ATTEMPTS_PER_ADDRESS="100000",
    )
    get_settings.cache_clear()
    if not os.environ.get("GROUPBUY_CITUS_ATTACH"):
        migrate_to(revision_before_the_move())
        TIMINGS["distribute"] = distribute(owner)
    migrate()  # AFTER_MOVE and any later migration, on the cluster
    TIMINGS["distribute again"] = distribute(owner)
    settings = get_settings()
    citus_cluster.allow_role(settings.app_db_role, settings.app_db_password_value)
    yield Services(owner_url=owner, redis_url=redis_url, data_dir=data_dir, stop=[redis.stop])
    redis.stop()


def pytest_terminal_summary(terminalreporter) -> None:  # type: ignore[no-untyped-def]
    if TIMINGS:
        terminalreporter.write_line("citus: " + ", ".join(f"{k} {v:.1f} s" for k, v in TIMINGS.items()))


# test_domain_*.py run the single node's domain tests unchanged on the cluster. A test that
# cannot pass there yet is listed here, by node id, with why: strict, so it fails once it passes.
NOT_ON_CITUS_YET: dict[str, str] = {
    "test_domain_stock_slots.py::test_an_order_takes_free_stock_from_other_slots_and_is_refused_only_when_the_offer_has_none":
        "the test predicts a session's stock slot from its backend pid on the coordinator; on Citus the "
        "delegated place_order() picks it by the worker backend's pid, which the test cannot see",
    "test_domain_stock_slots.py::test_a_changed_stock_limit_spreads_the_quotas_again_and_never_below_what_is_sold":
        "Citus relays a worker's check violation without its constraint name (the refusal itself and its "
        "SQLSTATE arrive; the service does not read the name)",
    "test_domain_stock_slots.py::test_slots_are_made_with_the_offer_under_the_tenants_row_level_security":
        "offer_sold(o) takes the table's row type, and on a shard the row is the shard's (offer_NNNN); the "
        "service never calls it (it sums offer_stock_slot), the test's check of it stays on one node",
}


def pytest_collection_modifyitems(config, items) -> None:  # type: ignore[no-untyped-def]
    for item in items:
        reason = NOT_ON_CITUS_YET.get(item.nodeid.removeprefix("tests/citus/"))
        if reason:
            item.add_marker(pytest.mark.xfail(strict=True, reason=reason))
