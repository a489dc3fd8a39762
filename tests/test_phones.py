"""Phone numbers are one login in whatever form they are typed: E.164 everywhere (phonenumbers),
and migration 0013 rewrites the stored ones, listing accounts that turn out to share one."""

from __future__ import annotations

import uuid

import psycopg
import pytest
from alembic import command
from sqlalchemy import create_engine, pool

from service.accounts.phones import normalise_phone
from tests.conftest import CUSTOMER_REGISTER, sign_in


@pytest.mark.parametrize("typed", ["13900000101", "+86 139 0000 0101", "+86-139-0000-0101", "+8613900000101",
                                   "(+86) 139 0000 0101", " 139-0000-0101 "])
def test_every_form_of_a_number_is_one_number(typed: str) -> None:
    assert normalise_phone(typed) == "+8613900000101"


@pytest.mark.parametrize("typed", ["1390000010x", "+86 139 0000 0102x", "12", "+86 139", "139000001011234",
                                   "abc", "+" + "1" * 50])
def test_what_is_no_number(typed: str) -> None:
    assert normalise_phone(typed) is None


def test_a_number_without_country_code_is_read_in_the_tenants_region() -> None:
    assert normalise_phone("020 7946 0018", "GB") == "+442079460018"
    assert normalise_phone("+86 139 0000 0101", "GB") == "+8613900000101"


def _register(gql, slug: str, phone: str) -> dict:  # type: ignore[no-untyped-def]
    return gql.data(CUSTOMER_REGISTER, {"input": {"displayName": "P", "phone": phone, "password": "secret-pw-1"}},
                    tenant=slug)["customerRegister"]


def test_one_number_in_two_forms_is_one_account(gql, tenant, owner_db):  # type: ignore[no-untyped-def]
    national = f"136{uuid.uuid4().int % 10**8:08d}"
    assert _register(gql, tenant.slug, national)["errors"] == []
    again = _register(gql, tenant.slug, f"+86{national}")
    assert [(e["code"], e["field"]) for e in again["errors"]] == [("ALREADY_EXISTS", ["input", "phone"])]
    stored = owner_db.execute("SELECT phone FROM app_user WHERE tenant_id = %s AND phone LIKE %s",
                              (tenant.uuid, f"%{national}")).fetchall()
    assert stored == [(f"+86{national}",)]
    bad = _register(gql, tenant.slug, national[:-1] + "2x")
    assert [(e["code"], e["field"]) for e in bad["errors"]] == [("INVALID", ["input", "phone"])]


def test_a_leader_signs_in_with_the_number_as_typed(gql, tenant):  # type: ignore[no-untyped-def]
    national = f"139{uuid.uuid4().int % 10**8:08d}"
    assert _register(gql, tenant.slug, f"+86{national}")["errors"] == []
    assert sign_in(gql, tenant.slug, national, "secret-pw-1")
    assert sign_in(gql, tenant.slug, f"+86 {national[:3]} {national[3:7]} {national[7:]}", "secret-pw-1")


def test_migration_0013_normalises_and_lists_duplicates(services):  # type: ignore[no-untyped-def]
    """On a database of its own: migrated to 0012, given phones in many forms, then to 0013."""
    from sqlalchemy.engine import make_url

    from service.migrate import alembic_config

    name = f"phones_{uuid.uuid4().hex[:8]}"
    base = make_url(services.owner_url)
    with psycopg.connect(base.set(database="postgres").render_as_string(False), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = base.set(drivername="postgresql+psycopg", database=name).render_as_string(False)
    engine = create_engine(url, poolclass=pool.NullPool)
    tenant, kept, dup, invalid, plain, leader = (uuid.uuid4() for _ in range(6))
    try:
        with engine.connect() as conn:
            cfg = alembic_config()
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "0012")
            conn.commit()
            raw = conn.connection.dbapi_connection
            assert raw is not None
            with raw.cursor() as cur:
                cur.execute("INSERT INTO tenant (id, slug, name, timezone, currency, payment_mode,"
                            " payment_window_minutes) VALUES (%s, 'p', 'P', 'Asia/Shanghai', 'CNY', 'PREPAID', 15)",
                            (tenant,))
                for user, phone, age in ((dup, "13600000011", 2), (kept, "+8613600000011", 1),
                                         (invalid, "12345", 0), (plain, "+86 139-0000-0101", 0)):
                    cur.execute("INSERT INTO app_user (tenant_id, id, kind, display_name, phone, password_hash,"
                                " created_at) VALUES (%s, %s, 'CUSTOMER', 'U', %s, 'x', now() - %s * interval '1 day')",
                                (tenant, user, phone, age))
                cur.execute("INSERT INTO leader (tenant_id, id, user_id, display_name, phone, status)"
                            " VALUES (%s, %s, %s, 'L', '139 0000 0101', 'APPROVED')", (tenant, leader, plain))
            conn.commit()
            command.upgrade(cfg, "0013")
            conn.commit()
            with raw.cursor() as cur:
                cur.execute("SELECT id, phone FROM app_user")
                phones = dict(cur.fetchall())
                cur.execute("SELECT user_id, reason, normalised, kept_by_user_id FROM phone_number_issue")
                issues = {r[0]: r[1:] for r in cur.fetchall()}
                cur.execute("SELECT phone FROM leader")
                leaders = cur.fetchall()
        # The account already in E.164 keeps the number (though the other is older); the other
        # keeps its own as it was, with its orders, and is listed.
        assert phones == {kept: "+8613600000011", dup: "13600000011", invalid: "12345", plain: "+8613900000101"}
        assert issues == {dup: ("DUPLICATE", "+8613600000011", kept), invalid: ("INVALID", None, None)}
        assert leaders == [("+8613900000101",)]
    finally:
        engine.dispose()
        with psycopg.connect(base.set(database="postgres").render_as_string(False), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
