"""Sign-in, registration and pickup-code limits: per tenant, on the real client address, atomic
under concurrency, kept in PostgreSQL or refusing when Redis is down, and every lock ends."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import redis

from tests.conftest import CUSTOMER_REGISTER, TOKEN_CREATE, GraphQLClient, unique

PICKUP = """
mutation($p: ID!, $c: String!) { pickupConfirm(pickupPointId: $p, pickupCode: $c) { errors { code field } } }"""


def _address() -> str:
    n = uuid.uuid4().int
    return f"198.51.{n % 250}.{(n >> 8) % 250 + 1}"


def _sign_in(gql: GraphQLClient, slug: str, login: str, password: str, address: str | None = None) -> dict:
    headers = {"X-Forwarded-For": address} if address else {}
    body = gql.post(TOKEN_CREATE, {"input": {"login": login, "password": password}}, tenant=slug,
                    headers=headers).json()
    assert not body.get("errors"), body
    return body["data"]["tokenCreate"]


def _code(payload: dict) -> str | None:
    return payload["errors"][0]["code"] if payload["errors"] else None


WINDOW = 6  # seconds: a few, yet more than the attempts take on a loaded machine


@pytest.fixture
def short_window(monkeypatch):  # type: ignore[no-untyped-def]
    """A window of a few seconds (the API runs in this process and reads the settings on every
    attempt)."""
    from service.config import get_settings

    monkeypatch.setattr(get_settings(), "login_window_seconds", WINDOW)
    monkeypatch.setattr(get_settings(), "register_window_seconds", WINDOW)
    return WINDOW


def _after_window(started: float) -> None:
    """Sleeps until a window has ended that opened before `started` (time.monotonic() taken
    after the first attempt's answer)."""
    time.sleep(max(0.0, started + WINDOW + 0.2 - time.monotonic()))


def test_a_login_lock_ends_when_its_window_does(short_window, gql, tenant, services):  # type: ignore[no-untyped-def]
    address = _address()
    started = 0.0
    for _ in range(5):
        assert _code(_sign_in(gql, tenant.slug, tenant.admin_email, "wrong-pw-1", address)) == "INVALID_CREDENTIALS"
        started = started or time.monotonic()  # after the first answer: the window opened before
    locked = _sign_in(gql, tenant.slug, tenant.admin_email, tenant.admin_password, address)
    assert locked["token"] is None and _code(locked) == "RATE_LIMITED"
    # Every counter in Redis carries its window: the lock ends even if no process ever runs again.
    r = redis.Redis.from_url(services.redis_url)
    keys = list(r.scan_iter(f"rl:login*:{tenant.uuid}:*"))
    assert keys and all(0 < r.pttl(k) <= short_window * 1000 for k in keys)
    _after_window(started)
    assert _sign_in(gql, tenant.slug, tenant.admin_email, tenant.admin_password, address)["token"]


def test_concurrent_wrong_sign_ins_do_not_pass_the_limit(gql, tenant):  # type: ignore[no-untyped-def]
    address = _address()

    def attempt(_: int) -> str | None:
        with httpx.Client(base_url=gql.base_url, timeout=60) as http:
            body = http.post("/graphql", json={"query": TOKEN_CREATE, "variables": {"input": {
                "login": tenant.admin_email, "password": "wrong-pw-1"}}},
                headers={"X-Tenant": tenant.slug, "X-Forwarded-For": address}).json()
        return _code(body["data"]["tokenCreate"])

    with ThreadPoolExecutor(30) as pool:
        codes = list(pool.map(attempt, range(30)))
    assert codes.count("INVALID_CREDENTIALS") == 5 and codes.count("RATE_LIMITED") == 25, codes


def test_the_address_counter_is_per_tenant(gql, make_tenant, monkeypatch):  # type: ignore[no-untyped-def]
    from service.config import get_settings

    monkeypatch.setattr(get_settings(), "login_attempts_per_address", 3)
    a, b = make_tenant(), make_tenant()
    attacker, neighbour = _address(), _address()
    for n in range(3):
        assert _code(_sign_in(gql, a.slug, f"nobody{n}@example.com", "wrong-pw-1", attacker)) == "INVALID_CREDENTIALS"
    # That address is done with tenant a, for any login, right password included ...
    assert _code(_sign_in(gql, a.slug, a.admin_email, a.admin_password, attacker)) == "RATE_LIMITED"
    # ... but not with tenant b, and another address is not affected.
    assert _sign_in(gql, b.slug, b.admin_email, b.admin_password, attacker)["token"]
    assert _sign_in(gql, a.slug, a.admin_email, a.admin_password, neighbour)["token"]


def test_a_successful_sign_in_gives_its_attempt_back(gql, tenant, monkeypatch):  # type: ignore[no-untyped-def]
    from service.config import get_settings

    monkeypatch.setattr(get_settings(), "login_attempts_per_address", 3)
    office = _address()  # many people behind one address sign in all day
    for _ in range(6):
        assert _sign_in(gql, tenant.slug, tenant.admin_email, tenant.admin_password, office)["token"]


def test_a_reformatted_phone_number_is_the_same_login(gql, tenant, make_customer):  # type: ignore[no-untyped-def]
    customer = make_customer(tenant)  # +86139xxxxxxxx
    national = customer.phone[3:]
    spaced = f"+86 {national[:3]} {national[3:7]} {national[7:]}"
    dashed = f"+86-{national[:3]}-{national[3:7]}-{national[7:]}"
    other = f"+86 {national[:4]} {national[4:8]} {national[8:]}"
    # every form signs in ...
    for login in (national, spaced, dashed, other):
        assert _sign_in(gql, tenant.slug, login, customer.password, _address())["token"], login
    # ... and every form counts on the one login, from wherever it comes
    for login in (customer.phone, spaced, dashed, national, other):
        assert _code(_sign_in(gql, tenant.slug, login, "wrong-pw-1", _address())) == "INVALID_CREDENTIALS"
    for login in (other, national, customer.phone):
        assert _code(_sign_in(gql, tenant.slug, login, customer.password, _address())) == "RATE_LIMITED"
    # a number with a letter in it is no number: it never signs in
    assert _code(_sign_in(gql, tenant.slug, customer.phone + "x", customer.password, _address())) \
        == "INVALID_CREDENTIALS"


def test_registration_is_limited_per_tenant_and_address_and_the_limit_ends(  # type: ignore[no-untyped-def]
        gql, make_tenant, owner_db, short_window, monkeypatch):
    from service.config import get_settings

    monkeypatch.setattr(get_settings(), "register_attempts_per_address", 3)
    a, b = make_tenant(), make_tenant()
    address = _address()

    def register(slug: str, addr: str) -> dict:
        body = gql.post(CUSTOMER_REGISTER, {"input": {"displayName": "R", "email": f"{unique('r')}@example.com",
                                                      "password": "secret-pw-1"}},
                        tenant=slug, headers={"X-Forwarded-For": addr}).json()
        return body["data"]["customerRegister"]

    assert _code(register(a.slug, address)) is None
    started = time.monotonic()
    assert [_code(register(a.slug, address)) for _ in range(3)] == [None, None, "RATE_LIMITED"]
    assert _code(register(b.slug, address)) is None
    assert _code(register(a.slug, _address())) is None
    _after_window(started)
    assert _code(register(a.slug, address)) is None
    users = owner_db.execute("SELECT count(*) FROM app_user WHERE tenant_id = %s AND kind = 'CUSTOMER'",
                             (a.uuid,)).fetchone()[0]
    assert users == 5


def test_one_password_hash_per_request(gql, tenant, owner_db):  # type: ignore[no-untyped-def]
    aliases = " ".join(
        f'r{i}: customerRegister(input: {{displayName: "A", email: "{unique("alias")}@example.com",'
        f' password: "secret-pw-1"}}) {{ token errors {{ code }} }}' for i in range(30))
    before = owner_db.execute("SELECT count(*) FROM app_user WHERE tenant_id = %s", (tenant.uuid,)).fetchone()[0]
    data = gql.data(f"mutation {{ {aliases} }}", tenant=tenant.slug)
    assert data["r0"]["token"] and all(data[f"r{i}"]["errors"] == [{"code": "RATE_LIMITED"}] for i in range(1, 30))
    after = owner_db.execute("SELECT count(*) FROM app_user WHERE tenant_id = %s", (tenant.uuid,)).fetchone()[0]
    assert after == before + 1
    signs = " ".join(f'r{i}: tokenCreate(input: {{login: "{tenant.admin_email}", password: "guess-{i}-pw"}})'
                     " { errors { code } }" for i in range(5))
    data = gql.data(f"mutation {{ {signs} }}", tenant=tenant.slug)
    assert [d["errors"][0]["code"] for d in data.values()] == ["INVALID_CREDENTIALS"] + ["RATE_LIMITED"] * 4


def test_concurrent_pickup_code_guesses_do_not_pass_the_limit(gql, tenant, owner_db):  # type: ignore[no-untyped-def]
    from tests.ordering_fixtures import make_world

    world = make_world(owner_db, tenant)

    def guess(n: int) -> str | None:
        with httpx.Client(base_url=gql.base_url, timeout=60) as http:
            body = http.post("/graphql", json={"query": PICKUP, "variables": {"p": world.point_gid,
                                                                              "c": f"{n:06d}"}},
                             headers={"Authorization": f"Bearer {world.leader_token}"}).json()
        return _code(body["data"]["pickupConfirm"])

    with ThreadPoolExecutor(50) as pool:
        codes = list(pool.map(guess, range(100)))
    assert codes.count("NOT_FOUND") == 10 and codes.count("RATE_LIMITED") == 90, codes


def test_the_pickup_code_lock_ends(gql, tenant, owner_db, monkeypatch):  # type: ignore[no-untyped-def]
    from service.orders import pickup
    from tests.ordering_fixtures import make_world

    monkeypatch.setattr(pickup, "WINDOW_SECONDS", WINDOW)
    world = make_world(owner_db, tenant)

    def guess(code: str) -> str | None:
        return _code(gql.data(PICKUP, {"p": world.point_gid, "c": code}, token=world.leader_token)["pickupConfirm"])

    assert guess("000000") == "NOT_FOUND"
    started = time.monotonic()
    assert [guess(f"{n:06d}") for n in range(1, 11)] == ["NOT_FOUND"] * 9 + ["RATE_LIMITED"]
    _after_window(started)
    assert guess("000011") == "NOT_FOUND"
