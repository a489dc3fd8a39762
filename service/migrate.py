"""Apply the Alembic migrations as the owner, then (re)grant the app role."""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, make_url, pool, text

from service.config import get_settings
from service.db import owner_url
from service.tenants.rls import app_role_statements

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
_MIGRATION_LOCK = 7243001


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def migrate() -> None:
    s = get_settings()
    url = owner_url()
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as conn:
        # Several replicas may start at once: one migrates, the others wait and find nothing to do.
        conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _MIGRATION_LOCK})
        conn.commit()
        try:
            cfg = alembic_config()
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
            conn.commit()
            bypass = conn.execute(text(
                "SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user")).scalar()
            if not bypass:
                log.warning("the owner role %s is subject to row-level security: the scheduler's scans across "
                            "tenants will find nothing. ALTER ROLE ... BYPASSRLS (see deploy/README.md)",
                            make_url(url).username)
            database = make_url(url).database or ""
            for statement in app_role_statements(s.app_db_role, s.app_db_password_value, database):
                conn.execute(text(statement))
            conn.commit()
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _MIGRATION_LOCK})
            conn.commit()
    engine.dispose()
