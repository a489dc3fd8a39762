"""shareVisit is limited per tenant, client address and share code: a bot reloading a link inflates
neither the sharer's visits nor its attribution; the limit ends with its window; concurrent visits
do not pass it; and one tenant's visits never count against another's."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import redis

from tests.growth_fixtures import SHARE_VISIT, share
from tests.ordering_fixtures import make_world, offer_input, open_batch_with_offers

WINDOW = 6  # seconds: a few, yet more than the visits take on a loaded machine
ALLOWED = 3


@pytest.fixture
def short_window(monkeypatch):  # type: ignore[no-untyped-def]
    """A small limit in a window of a few seconds (the API runs in this process and reads the
    settings on every visit)."""
    from service.config import get_settings

    monkeypatch.setattr(get_settings(), "share_visit_window_seconds", WINDOW)
    monkeypatch.setattr(get_settings(), "share_visits_per_address", ALLOWED)
    return WINDOW


def _address() -> str:
    n = uuid.uuid4().int
    return f"203.0.{n % 250}.{(n >> 8) % 250 + 1}"


def _visit(gql, slug: str, code: str, address: str, token: str | None = None) -> dict:  # type: ignore[no-untyped-def]
    body = gql.post(SHARE_VISIT, {"c": code}, tenant=slug, token=token,
                    headers={"X-Forwarded-For": address}).json()
    assert not body.get("errors"), body
    return body["data"]["shareVisit"]  # type: ignore[no-any-return]


def _errors(payload: dict) -> list[tuple[str, list[str]]]:
    return [(e["code"], e["field"]) for e in payload["errors"]]


def _visits(owner_db, code: str) -> int:  # type: ignore[no-untyped-def]
    return owner_db.execute("SELECT count(*) FROM share_visit v JOIN share_link s ON s.tenant_id = v.tenant_id "
                            "AND s.id = v.share_link_id WHERE s.code = %s", (code,)).fetchone()[0]


def _code(gql, owner_db, tenant, make_customer) -> str:  # type: ignore[no-untyped-def]
    world = make_world(owner_db, tenant)
    batch = open_batch_with_offers(gql, world, [offer_input(world, 0, "5.00")])
    return share(gql, make_customer(tenant).token, "BATCH", batch["id"])["share"]["code"]  # type: ignore[no-any-return]


def test_visits_of_a_code_from_one_address_are_limited_and_the_limit_ends(  # type: ignore[no-untyped-def]
        short_window, gql, tenant, make_customer, owner_db, services):
    code = _code(gql, owner_db, tenant, make_customer)
    other_code = _code(gql, owner_db, tenant, make_customer)
    bot, neighbour = _address(), _address()
    started = 0.0
    for _ in range(ALLOWED):
        assert _visit(gql, tenant.slug, code, bot)["errors"] == []
        started = started or time.monotonic()  # after the first answer: the window opened before
    refused = _visit(gql, tenant.slug, code, bot)
    assert refused["share"] is None and _errors(refused) == [("RATE_LIMITED", ["code"])]
    assert "min" in refused["errors"][0]["message"]
    # A signed-in visitor from that address is refused too: no visit, no binding.
    visitor = make_customer(tenant)
    assert _errors(_visit(gql, tenant.slug, code, bot, token=visitor.token)) == [("RATE_LIMITED", ["code"])]
    assert _visits(owner_db, code) == ALLOWED
    assert owner_db.execute("SELECT count(*) FROM referral_binding WHERE tenant_id = %s",
                            (tenant.uuid,)).fetchone()[0] == 0
    # Another address, and another code from the bot's address, are not affected.
    assert _visit(gql, tenant.slug, code, neighbour)["errors"] == []
    assert _visit(gql, tenant.slug, other_code, bot)["errors"] == []
    # The counter in Redis carries its window: the limit ends even if no process ever runs again.
    r = redis.Redis.from_url(services.redis_url)
    keys = list(r.scan_iter(f"rl:share-visit:{tenant.uuid}:*"))
    assert len(keys) == 3 and all(0 < r.pttl(k) <= short_window * 1000 for k in keys)
    time.sleep(max(0.0, started + WINDOW + 0.2 - time.monotonic()))
    again = _visit(gql, tenant.slug, code, bot, token=visitor.token)
    assert again["errors"] == [] and again["share"]["code"] == code
    assert _visits(owner_db, code) == ALLOWED + 2
    # ... and the visit that got through binds as any visit does.
    assert owner_db.execute("SELECT count(*) FROM referral_binding WHERE tenant_id = %s AND superseded_at IS NULL",
                            (tenant.uuid,)).fetchone()[0] == 1


def test_concurrent_visits_do_not_pass_the_limit(short_window, gql, tenant, make_customer, owner_db):  # type: ignore[no-untyped-def]
    code = _code(gql, owner_db, tenant, make_customer)
    bot = _address()

    def visit(_: int) -> list[str]:
        with httpx.Client(base_url=gql.base_url, timeout=60) as http:
            body = http.post("/graphql", json={"query": SHARE_VISIT, "variables": {"c": code}},
                             headers={"X-Tenant": tenant.slug, "X-Forwarded-For": bot}).json()
        return [e["code"] for e in body["data"]["shareVisit"]["errors"]]

    with ThreadPoolExecutor(16) as pool:
        outcomes = list(pool.map(visit, range(16)))
    assert outcomes.count([]) == ALLOWED and outcomes.count(["RATE_LIMITED"]) == 16 - ALLOWED, outcomes
    assert _visits(owner_db, code) == ALLOWED


def test_one_tenants_visits_never_count_against_another(  # type: ignore[no-untyped-def]
        short_window, gql, make_tenant, make_customer, owner_db, services):
    a, b = make_tenant(), make_tenant()
    code_a = _code(gql, owner_db, a, make_customer)
    code_b = _code(gql, owner_db, b, make_customer)
    # The same code string in both tenants (codes are unique per tenant only), from the same address.
    owner_db.execute("UPDATE share_link SET code = %s WHERE tenant_id = %s AND code = %s", (code_a, b.uuid, code_b))
    address = _address()
    for _ in range(ALLOWED):
        assert _visit(gql, a.slug, code_a, address)["errors"] == []
    assert _errors(_visit(gql, a.slug, code_a, address)) == [("RATE_LIMITED", ["code"])]
    for _ in range(ALLOWED):
        assert _visit(gql, b.slug, code_a, address)["errors"] == []
    assert owner_db.execute("SELECT count(*) FROM share_visit WHERE tenant_id = %s", (b.uuid,)).fetchone()[0] \
        == ALLOWED
    # An unknown code is not found, and leaves no counter behind.
    assert _errors(_visit(gql, a.slug, "Z" * 16, address)) == [("NOT_FOUND", ["code"])]
    r = redis.Redis.from_url(services.redis_url)
    assert [k.decode().rsplit(":", 1)[1] for k in r.scan_iter(f"rl:share-visit:{a.uuid}:*")] == [code_a]


def test_the_visit_limit_is_said_in_the_callers_language(short_window, gql, tenant, make_customer, owner_db):  # type: ignore[no-untyped-def]
    code = _code(gql, owner_db, tenant, make_customer)
    address = _address()
    for _ in range(ALLOWED):
        _visit(gql, tenant.slug, code, address)
    body = gql.post(SHARE_VISIT, {"c": code}, tenant=tenant.slug,
                    headers={"X-Forwarded-For": address, "Accept-Language": "zh-CN"}).json()
    (error,) = body["data"]["shareVisit"]["errors"]
    assert error["code"] == "RATE_LIMITED" and "分钟后再试" in error["message"]
