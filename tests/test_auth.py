"""Authentication and tenant resolution: each failure is clear, specific, and changes nothing."""

from __future__ import annotations

import time

import jwt

from tests.conftest import CUSTOMER_REGISTER, TOKEN_CREATE, sign_in

ME = "{ me { userId displayName roles tenant { slug } } }"


def _count_users(owner_db, tenant_uuid) -> int:  # type: ignore[no-untyped-def]
    return owner_db.execute("SELECT count(*) FROM app_user WHERE tenant_id = %s", (tenant_uuid,)).fetchone()[0]


def test_register_then_sign_in_by_phone_and_email(gql, tenant):  # type: ignore[no-untyped-def]
    payload = gql.data(CUSTOMER_REGISTER, {"input": {"displayName": "李四", "phone": "+86 138-0013-8000",
                                                     "email": "Li.Si@Example.com", "password": "secret-pw-1"}},
                       tenant=tenant.slug)["customerRegister"]
    assert payload["errors"] == []
    assert payload["viewer"]["roles"] == ["CUSTOMER"]
    me = gql.data(ME, token=payload["token"])["me"]
    assert me["displayName"] == "李四" and me["tenant"]["slug"] == tenant.slug
    assert sign_in(gql, tenant.slug, "+8613800138000", "secret-pw-1")
    assert sign_in(gql, tenant.slug, "li.si@example.com", "secret-pw-1")


def test_password_is_stored_as_argon2(gql, tenant, owner_db):  # type: ignore[no-untyped-def]
    gql.data(CUSTOMER_REGISTER, {"input": {"displayName": "A", "email": "argon@example.com",
                                           "password": "secret-pw-1"}}, tenant=tenant.slug)
    stored = owner_db.execute("SELECT password_hash FROM app_user WHERE email = 'argon@example.com'").fetchone()[0]
    assert stored.startswith("$argon2id$") and "secret-pw-1" not in stored


def test_wrong_password(gql, tenant, owner_db):  # type: ignore[no-untyped-def]
    before = _count_users(owner_db, tenant.uuid)
    payload = gql.data(TOKEN_CREATE, {"input": {"login": tenant.admin_email, "password": "nope-nope"}},
                       tenant=tenant.slug)["tokenCreate"]
    assert payload["token"] is None
    assert payload["errors"][0]["code"] == "INVALID_CREDENTIALS"
    assert _count_users(owner_db, tenant.uuid) == before


def test_duplicate_registration_and_invalid_input(gql, tenant, owner_db):  # type: ignore[no-untyped-def]
    inp = {"displayName": "Dup", "email": "dup@example.com", "password": "secret-pw-1"}
    assert gql.data(CUSTOMER_REGISTER, {"input": inp}, tenant=tenant.slug)["customerRegister"]["errors"] == []
    before = _count_users(owner_db, tenant.uuid)
    again = gql.data(CUSTOMER_REGISTER, {"input": inp}, tenant=tenant.slug)["customerRegister"]
    assert [(e["code"], e["field"]) for e in again["errors"]] == [("ALREADY_EXISTS", ["input", "email"])]
    bad = gql.data(CUSTOMER_REGISTER, {"input": {"displayName": " ", "email": "not-an-email",
                                                 "phone": "12", "password": "short"}},
                   tenant=tenant.slug)["customerRegister"]
    assert {tuple(e["field"]) for e in bad["errors"]} == {
        ("input", "displayName"), ("input", "email"), ("input", "phone"), ("input", "password")}
    assert all(e["code"] == "INVALID" for e in bad["errors"])
    assert _count_users(owner_db, tenant.uuid) == before


def test_expired_token(gql, tenant, make_customer):  # type: ignore[no-untyped-def]
    from service.config import get_settings

    customer = make_customer(tenant)
    claims = jwt.decode(customer.token, options={"verify_signature": False})
    claims["exp"] = int(time.time()) - 10
    expired = jwt.encode(claims, get_settings().jwt_secret_value, algorithm="HS256")
    response = gql.post(ME, token=expired)
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "TOKEN_EXPIRED"


def test_forged_token(gql, tenant, make_customer):  # type: ignore[no-untyped-def]
    customer = make_customer(tenant)
    claims = jwt.decode(customer.token, options={"verify_signature": False})
    forged = jwt.encode(claims, "not-the-secret-of-this-service-xx", algorithm="HS256")
    response = gql.post(ME, token=forged)
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "INVALID_TOKEN"


def test_token_of_one_tenant_with_another_tenants_header(gql, make_tenant, make_customer):  # type: ignore[no-untyped-def]
    a, b = make_tenant(), make_tenant()
    customer = make_customer(a)
    response = gql.post(ME, token=customer.token, tenant=b.slug)
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "TENANT_MISMATCH"
    # the same token with its own tenant named is fine
    assert gql.data(ME, token=customer.token, tenant=a.slug)["me"]["tenant"]["slug"] == a.slug


def test_missing_and_unknown_tenant(gql):  # type: ignore[no-untyped-def]
    body = gql(ME)
    assert body["errors"][0]["extensions"]["code"] == "TENANT_REQUIRED"
    response = gql.post(ME, tenant="no-such-tenant")
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "UNKNOWN_TENANT"


def test_registration_needs_a_tenant_and_changes_nothing_without_one(gql, owner_db):  # type: ignore[no-untyped-def]
    before = owner_db.execute("SELECT count(*) FROM app_user").fetchone()[0]
    body = gql(CUSTOMER_REGISTER, {"input": {"displayName": "X", "email": "x@example.com", "password": "pw-123456"}})
    assert body["errors"][0]["extensions"]["code"] == "TENANT_REQUIRED"
    assert owner_db.execute("SELECT count(*) FROM app_user").fetchone()[0] == before


def test_api_key_works_and_revoked_key_is_refused(gql, tenant, owner_db):  # type: ignore[no-untyped-def]
    me = gql.data(ME, token=tenant.api_key)["me"]
    assert me["roles"] == ["TENANT_ADMIN"] and me["tenant"]["slug"] == tenant.slug
    key_id = tenant.api_key.split("_")[2]
    owner_db.execute("UPDATE api_key SET revoked_at = now() WHERE id = %s", (key_id,))
    response = gql.post(ME, token=tenant.api_key)
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "API_KEY_REVOKED"
    tampered = tenant.api_key[:-4] + "AAAA"
    assert gql.post(ME, token=tampered).json()["errors"][0]["extensions"]["code"] in {
        "INVALID_API_KEY", "API_KEY_REVOKED"}


def test_api_key_create_shown_once_stored_hashed(gql, tenant, owner_db):  # type: ignore[no-untyped-def]
    q = 'mutation { apiKeyCreate(name: "erp") { apiKey errors { code } } }'
    key = gql.data(q, token=tenant.admin_token)["apiKeyCreate"]["apiKey"]
    assert key.startswith("gbk_")
    secret = key.split("_", 3)[3]
    rows = owner_db.execute("SELECT secret_hash FROM api_key WHERE tenant_id = %s", (tenant.uuid,)).fetchall()
    assert all(secret not in r[0] for r in rows) and len(rows) == 2
    assert gql.data(ME, token=key)["me"]["roles"] == ["TENANT_ADMIN"]


def test_customers_cannot_create_api_keys(gql, tenant, make_customer, owner_db):  # type: ignore[no-untyped-def]
    customer = make_customer(tenant)
    q = 'mutation { apiKeyCreate(name: "mine") { apiKey errors { code } } }'
    payload = gql.data(q, token=customer.token)["apiKeyCreate"]
    assert payload == {"apiKey": None, "errors": [{"code": "FORBIDDEN"}]}
    assert gql.data(q, tenant=tenant.slug)["apiKeyCreate"]["errors"] == [{"code": "FORBIDDEN"}]
    assert owner_db.execute("SELECT count(*) FROM api_key WHERE tenant_id = %s", (tenant.uuid,)).fetchone()[0] == 1


def test_tenant_create_needs_the_platform_token(gql, tenant, owner_db):  # type: ignore[no-untyped-def]
    from tests.conftest import TENANT_CREATE

    inp = {"slug": "sneaky-tenant", "name": "S", "adminEmail": "s@example.com", "adminPassword": "pw-1234567"}
    for token in (tenant.admin_token, tenant.api_key):
        payload = gql.data(TENANT_CREATE, {"input": inp}, token=token)["tenantCreate"]
        assert payload["errors"][0]["code"] == "FORBIDDEN"
    assert owner_db.execute("SELECT count(*) FROM tenant WHERE slug = 'sneaky-tenant'").fetchone()[0] == 0
    wrong = gql.post(TENANT_CREATE, {"input": inp}, token="gbp_wrong")
    assert wrong.status_code == 401


def test_tenant_create_validation(gql, platform_token, tenant):  # type: ignore[no-untyped-def]
    from tests.conftest import TENANT_CREATE

    payload = gql.data(TENANT_CREATE, {"input": {"slug": "A!", "name": "", "adminEmail": "x",
                                                 "adminPassword": "1", "timezone": "Mars/Base",
                                                 "currency": "yuan"}}, token=platform_token)["tenantCreate"]
    assert {e["field"][0] for e in payload["errors"]} == {"input"}
    fields = {e["field"][1] for e in payload["errors"]}
    assert fields == {"slug", "name", "adminEmail", "adminPassword", "timezone", "currency"}
    taken = gql.data(TENANT_CREATE, {"input": {"slug": tenant.slug, "name": "x", "adminEmail": "q@example.com",
                                               "adminPassword": "pw-1234567"}}, token=platform_token)
    assert taken["tenantCreate"]["errors"][0]["code"] == "ALREADY_EXISTS"


def test_login_attempts_are_rate_limited_per_login(gql, tenant):  # type: ignore[no-untyped-def]
    from service.config import get_settings

    limit = get_settings().login_attempts_per_login
    for _ in range(limit):
        payload = gql.data(TOKEN_CREATE, {"input": {"login": tenant.admin_email, "password": "wrong-pw"}},
                           tenant=tenant.slug)["tokenCreate"]
        assert payload["errors"][0]["code"] == "INVALID_CREDENTIALS"
    # now even the right password is refused until the window passes
    payload = gql.data(TOKEN_CREATE, {"input": {"login": tenant.admin_email, "password": tenant.admin_password}},
                       tenant=tenant.slug)["tokenCreate"]
    assert payload["token"] is None and payload["errors"][0]["code"] == "RATE_LIMITED"


def test_a_platform_token_that_cannot_work_is_refused_when_the_settings_load(tmp_path):  # type: ignore[no-untyped-def]
    import os
    import subprocess
    import sys

    import pytest

    from service.config import Settings, SettingsError, get_settings

    for bad in ("my-own-platform-secret-123", "gbp_short"):
        with pytest.raises(ValueError, match="must start with 'gbp_'"):
            Settings(platform_token=bad)
    assert Settings(platform_token="gbp_" + "k" * 16).platform_token_value == "gbp_" + "k" * 16
    # `make run` stops before it starts anything, says why, and prints no token (nor the value).
    env = {**os.environ, "GROUPBUY_PLATFORM_TOKEN": "my-own-platform-secret-123",
           "GROUPBUY_DATA_DIR": str(tmp_path)}
    env.pop("DATABASE_URL", None), env.pop("REDIS_URL", None)
    done = subprocess.run([sys.executable, "-m", "service.cli", "run"], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode != 0
    assert "GROUPBUY_PLATFORM_TOKEN must start with 'gbp_'" in done.stderr
    assert "platform admin token" not in done.stdout + done.stderr
    assert "my-own-platform-secret-123" not in done.stdout + done.stderr
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(SettingsError, match="GROUPBUY_PLATFORM_TOKEN"):
        os.environ["GROUPBUY_PLATFORM_TOKEN"] = "not-a-platform-token-at-all"
        try:
            get_settings.cache_clear()
            get_settings()
        finally:
            del os.environ["GROUPBUY_PLATFORM_TOKEN"]
            get_settings.cache_clear()
