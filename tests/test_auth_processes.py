"""Across API processes: a disabled user and a revoked API key are refused by every process on
the very next request; without Redis, sign-ins count in PostgreSQL and pickup codes are refused;
a sign-in lock outlives a restart and still ends; X-Forwarded-For counts only from trusted peers."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from tests.conftest import TOKEN_CREATE, GraphQLClient, run_db

ME = "{ me { roles } }"
TENANT = "{ tenant { slug } }"
PICKUP = """
mutation($p: ID!, $c: String!) { pickupConfirm(pickupPointId: $p, pickupCode: $c) { errors { code field message } } }"""


@contextmanager
def api_process(**env: str) -> Iterator[GraphQLClient]:
    """`groupbuy serve` in a process of its own, on the tests' database and Redis unless told."""
    from service.embedded import free_port

    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "service.cli", "serve", "--port", str(port)],
        env={**os.environ, "GROUPBUY_LOG_LEVEL": "WARNING", **env},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    client = GraphQLClient(f"http://127.0.0.1:{port}")
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if client.http.get("/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, "the API process exited"
            assert time.monotonic() < deadline, "the API process did not start"
            time.sleep(0.1)
        yield client
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        client.http.close()


def _code(response: httpx.Response) -> str | None:
    body = response.json()
    return body["errors"][0]["extensions"]["code"] if body.get("errors") else None


def _sign_in(client: GraphQLClient, slug: str, login: str, password: str, address: str | None = None) -> str | None:
    body = client(TOKEN_CREATE, {"input": {"login": login, "password": password}}, tenant=slug,
                  headers={"X-Forwarded-For": address} if address else {})
    payload = body["data"]["tokenCreate"]
    return payload["token"] or payload["errors"][0]["code"]


def _in_tenant(tenant_uuid: uuid.UUID, action):  # type: ignore[no-untyped-def]
    from service.db import tenant_transaction

    async def go(engine):  # type: ignore[no-untyped-def]
        async with tenant_transaction(tenant_uuid, engine=engine) as session:
            return await action(session)

    return run_db(go)


def test_disabled_users_and_revoked_keys_are_refused_by_every_process(gql, tenant, make_customer):  # type: ignore[no-untyped-def]
    from service import global_id
    from service.accounts import operations

    customer = make_customer(tenant)
    user_id = global_id.decode(customer.user_id)[1]
    key_id = uuid.UUID(hex=tenant.api_key.split("_")[2])
    with api_process() as one, api_process() as two:
        apis = (gql, one, two)
        for api in apis:  # each process has seen (and may keep) the token and the key
            assert api.data(ME, token=customer.token)["me"]["roles"] == ["CUSTOMER"]
            assert api.data(ME, token=tenant.api_key)["me"]["roles"] == ["TENANT_ADMIN"]
        assert _in_tenant(tenant.uuid, lambda s: operations.disable_user(s, tenant_id=tenant.uuid, user_id=user_id))
        for api in apis:
            for query in (ME, TENANT):  # TENANT needs no roles: it is the request that is refused
                refused = api.post(query, token=customer.token)
                assert (refused.status_code, _code(refused)) == (401, "INVALID_TOKEN")
            assert _sign_in(api, tenant.slug, customer.phone, customer.password) == "INVALID_CREDENTIALS"
        assert _in_tenant(tenant.uuid, lambda s: operations.enable_user(s, tenant_id=tenant.uuid, user_id=user_id))
        for api in apis:
            assert api.data(ME, token=customer.token)["me"]["roles"] == ["CUSTOMER"]
        assert _in_tenant(tenant.uuid, lambda s: operations.revoke_api_key(s, tenant_id=tenant.uuid, key_id=key_id))
        for api in apis:
            refused = api.post(ME, token=tenant.api_key)
            assert (refused.status_code, _code(refused)) == (401, "API_KEY_REVOKED")


def test_without_redis_sign_ins_count_in_postgres_and_pickup_codes_are_refused(gql, tenant, owner_db):  # type: ignore[no-untyped-def]
    from service.embedded import free_port
    from tests.ordering_fixtures import make_world

    world = make_world(owner_db, tenant)
    with api_process(REDIS_URL=f"redis://127.0.0.1:{free_port()}/0", GROUPBUY_LOGIN_WINDOW_SECONDS="8",
                     GROUPBUY_LOGIN_ATTEMPTS_PER_ADDRESS="6") as api:
        answers = [_sign_in(api, tenant.slug, tenant.admin_email, "wrong-0-pw")]
        started = time.monotonic()  # the window opened before
        answers += [_sign_in(api, tenant.slug, tenant.admin_email, f"wrong-{n}-pw") for n in range(1, 12)]
        assert answers == ["INVALID_CREDENTIALS"] * 5 + ["RATE_LIMITED"] * 7
        assert _sign_in(api, tenant.slug, tenant.admin_email, tenant.admin_password) == "RATE_LIMITED"
        # a refused attempt counted nowhere: the address has one failure left, not none
        assert _sign_in(api, tenant.slug, "other@example.com", "wrong-pw-1") == "INVALID_CREDENTIALS"
        assert _sign_in(api, tenant.slug, "third@example.com", "wrong-pw-1") == "RATE_LIMITED"
        time.sleep(max(0.0, started + 8.3 - time.monotonic()))  # the lock ends in PostgreSQL too
        assert _sign_in(api, tenant.slug, tenant.admin_email, tenant.admin_password).startswith("ey")
        guesses = [api.data(PICKUP, {"p": world.point_gid, "c": f"{n:06d}"}, token=world.leader_token)
                   ["pickupConfirm"]["errors"] for n in range(40)]
        assert all([(e["code"], e["field"]) for e in g] == [("RATE_LIMITED", ["pickupCode"])] for g in guesses)


def test_a_lock_outlives_a_restart_and_ends_and_forwarding_is_believed_from_trusted_peers_only(  # type: ignore[no-untyped-def]
        gql, make_tenant):
    a, b = make_tenant(), make_tenant()
    window = 40  # seconds: longer than a restart takes on a loaded machine (20 was not, at load 15)
    env = {"GROUPBUY_LOGIN_WINDOW_SECONDS": str(window), "GROUPBUY_LOGIN_ATTEMPTS_PER_ADDRESS": "3",
           "GROUPBUY_TRUSTED_PROXIES": "10.0.0.0/8"}  # the tests' own address (127.0.0.1) is not trusted
    with api_process(**env) as api:
        started = 0.0
        for n in range(3):
            assert _sign_in(api, a.slug, f"x{n}@example.com", "wrong-pw-1", f"192.0.2.{n + 1}") \
                == "INVALID_CREDENTIALS"
            started = started or time.monotonic()  # after the first answer: the window opened before
        # a new X-Forwarded-For from an untrusted peer changes nothing: the peer is the address
        assert _sign_in(api, a.slug, a.admin_email, a.admin_password, "192.0.2.99") == "RATE_LIMITED"
    with api_process(**env) as api:
        assert time.monotonic() < started + window - 5, "the restart took longer than the window"
        assert _sign_in(api, a.slug, a.admin_email, a.admin_password) == "RATE_LIMITED"
        assert _sign_in(api, b.slug, b.admin_email, b.admin_password).startswith("ey")  # another tenant
        time.sleep(max(0.0, started + window + 0.2 - time.monotonic()))
        assert _sign_in(api, a.slug, a.admin_email, a.admin_password).startswith("ey")
