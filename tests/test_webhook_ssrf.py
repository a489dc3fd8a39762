"""Webhooks cannot reach the service's own network (service/notify/netpolicy.py), in every
environment: internal addresses however spelled are refused when the subscription is created,
names are resolved and checked at each send and the client connects to the checked address (no
DNS rebinding), and lastError tells the tenant only "refused by policy" or "failed"."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import threading
import uuid
from collections.abc import Iterator

import pytest

from service.errors import Collector
from service.notify import http
from service.notify.netpolicy import FAILED, REFUSED, Policy, is_public, parse_networks
from service.notify.webhooks import check_url
from tests.conftest import run_db
from tests.test_notify import WEBHOOK_CREATE, emit_events, make_world, relay, subscribe
from tests.test_webhook_management import UPDATE

NO_ALLOWANCE = Policy()
LOOPBACK_ALLOWED = Policy(parse_networks("127.0.0.0/8"))

# Internal hosts, however spelled: each one is refused at creation without an allowance.
INTERNAL = [
    "2130706433", "127.1", "0x7f000001", "0177.0.0.1", "0", "0.0.0.0", "127.0.0.1.", "localhost", "localhost.",
    "LOCALHOST", "foo.localhost", "127。0。0。1", "１２７.０.０.１", "127．0．0．1", "metadata.google.internal",
    "kubernetes.default.svc", "kubernetes.default.svc.cluster.local", "postgres", "redis", "printer.local",
    "router.home.arpa", "1.0.0.127.in-addr.arpa", "10.0.0.1", "0xa000001", "012.0.0.1", "172.16.0.1",
    "192.168.1.1", "169.254.169.254", "100.64.0.1", "224.0.0.1", "239.255.255.250", "240.0.0.1",
    "255.255.255.255", "192.0.0.1", "198.18.0.1", "[::1]", "[::]", "[::ffff:127.0.0.1]", "[::ffff:7f00:1]",
    "[::ffff:169.254.169.254]", "[fe80::1]", "[fc00::1]", "[fd12:3456::1]", "[ff02::1]", "[fec0::1]",
    "[2002:7f00:1::]", "[64:ff9b::7f00:1]", "[64:ff9b::a00:1]", "[2001:db8::1]", "[100::1]",
]
PUBLIC = ["hooks.example.com", "93.184.216.34", "[2606:4700:4700::1111]", "[::ffff:93.184.216.34]",
          "8.8.8.8", "erp.example.cn"]


def _refused(url: str, policy: Policy) -> bool:
    errors = Collector()
    check_url(url, errors, policy=policy)
    assert all((e.code.value, e.field) == ("INVALID", ["input", "url"]) for e in errors.errors)
    return bool(errors.errors)


@pytest.mark.parametrize("host", INTERNAL)
def test_internal_hosts_are_refused_at_creation(host: str) -> None:
    for url in (f"https://{host}/hook", f"https://{host}:5432/hook", f"http://{host}/hook"):
        assert _refused(url, NO_ALLOWANCE), url


@pytest.mark.parametrize("host", PUBLIC)
def test_public_hosts_are_accepted_over_https_only(host: str) -> None:
    assert not _refused(f"https://{host}/hook", NO_ALLOWANCE)
    assert _refused(f"http://{host}/hook", NO_ALLOWANCE), "plain http only into an allowed network"


def test_an_allowance_opens_its_network_only() -> None:
    assert not _refused("http://127.0.0.1:8080/hook", LOOPBACK_ALLOWED)
    assert not _refused("https://2130706433/hook", LOOPBACK_ALLOWED)  # it is 127.0.0.1
    assert not _refused("http://[::ffff:127.0.0.1]:8080/hook", LOOPBACK_ALLOWED)
    assert not _refused("http://localhost:8080/hook", LOOPBACK_ALLOWED)  # 127.0.0.1, without a lookup
    for url in ("http://10.0.0.1/", "https://169.254.169.254/", "https://[::1]/",
                "https://metadata.google.internal/", "https://postgres:5432/"):
        assert _refused(url, LOOPBACK_ALLOWED), url


def test_the_policy_on_resolved_addresses() -> None:
    for text in ("93.184.216.34", "2606:4700:4700::1111", "1.1.1.1"):
        assert is_public(ipaddress.ip_address(text)) and NO_ALLOWANCE.permits(ipaddress.ip_address(text))
    for text in ("127.0.0.1", "10.1.1.1", "::1", "::ffff:10.0.0.1", "fe80::1%1", "ff05::1", "0.0.0.0", "::"):
        assert not NO_ALLOWANCE.permits(ipaddress.ip_address(text)), text
    assert not NO_ALLOWANCE.permits(ipaddress.ip_address("93.184.216.34"), plain_http=True)
    with pytest.raises(ValueError, match="not-a-network"):
        parse_networks("127.0.0.0/8, not-a-network")


# -- a loopback listener that records every connection ----------------------------------------


class Listener:
    """Accepts on `host:port`, records each connection's request head, answers `answer`."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0,
                 answer: bytes = b"HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n") -> None:
        self.sock = socket.create_server((host, port))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.answer = answer
        self.connections = 0
        self.heads: list[bytes] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            with conn:
                conn.settimeout(5)
                data = b""
                try:
                    while b"\r\n\r\n" not in data:
                        chunk = conn.recv(65536)
                        if not chunk:
                            break
                        data += chunk
                    self.heads.append(data.split(b"\r\n\r\n")[0])
                    if self.answer:
                        conn.sendall(self.answer)
                except OSError:
                    pass

    def close(self) -> None:
        self._stop.set()
        self.sock.close()
        self._thread.join(5)


@pytest.fixture
def listener() -> Iterator[Listener]:
    server = Listener()
    yield server
    server.close()


def _post(client: http.WebhookClient, url: str) -> int:
    async def main() -> int:
        try:
            return await client.post(url, b"{}", {"content-type": "application/json"}, timeout=3,
                                     connect_timeout=3)
        finally:
            await client.aclose()

    return asyncio.run(main())


def test_without_the_allowance_the_local_receiver_is_never_connected_to(listener: Listener) -> None:
    for host in ("127.0.0.1", "2130706433", "127.1", "0x7f000001", "localhost", "[::ffff:127.0.0.1]"):
        with pytest.raises(http.Refused):
            _post(http.WebhookClient(policy=NO_ALLOWANCE), f"http://{host}:{listener.port}/hook")
        with pytest.raises(http.Refused):
            _post(http.WebhookClient(policy=NO_ALLOWANCE), f"https://{host}:{listener.port}/hook")
    # A name that resolves to it is refused too.
    async def to_loopback(host: str, port: int) -> list[str]:
        return ["127.0.0.1"]

    with pytest.raises(http.Refused):
        _post(http.WebhookClient(policy=NO_ALLOWANCE, resolver=to_loopback),
              f"https://hooks.example.com:{listener.port}/hook")
    assert listener.connections == 0
    # The same receiver, allowed: it was listening all along.
    assert _post(http.WebhookClient(policy=LOOPBACK_ALLOWED), f"http://127.0.0.1:{listener.port}/hook") == 204
    assert _post(http.WebhookClient(policy=LOOPBACK_ALLOWED), f"http://localhost:{listener.port}/hook") == 204
    assert listener.connections == 2


def test_a_name_is_refused_when_any_address_it_resolves_to_is(listener: Listener) -> None:
    async def mixed(host: str, port: int) -> list[str]:
        return ["127.0.0.1", "10.0.0.1"]

    allowed = Policy(parse_networks("127.0.0.1/32"))
    with pytest.raises(http.Refused):
        _post(http.WebhookClient(policy=allowed, resolver=mixed), f"https://hooks.example.com:{listener.port}/")
    assert listener.connections == 0


def test_dns_rebinding_connects_to_the_checked_address_only() -> None:
    """The name first resolves to an address the policy allows (127.0.0.1 stands for a public one),
    then to one it refuses (127.0.0.2). The client resolves once per connection through our hook
    and connects to the address it checked: the refused address never sees a connection."""
    good = Listener("127.0.0.1")
    try:
        evil = Listener("127.0.0.2", good.port)
    except OSError:
        good.close()
        pytest.skip("127.0.0.2 is not bindable here")
    calls: list[str] = []

    async def rebinding(host: str, port: int) -> list[str]:
        calls.append(host)
        return ["127.0.0.1"] if len(calls) == 1 else ["127.0.0.2"]

    policy = Policy(parse_networks("127.0.0.1/32"))
    url = f"http://rebind.example:{good.port}/hook"
    try:
        assert _post(http.WebhookClient(policy=policy, resolver=rebinding), url) == 204
        assert calls == ["rebind.example"], "resolved once, and the connection went to that address"
        assert good.connections == 1 and f"host: rebind.example:{good.port}".encode() in good.heads[0].lower()
        with pytest.raises(http.Refused):
            _post(http.WebhookClient(policy=policy, resolver=rebinding), url)
        assert evil.connections == 0 and good.connections == 1
    finally:
        good.close()
        evil.close()


def test_redirects_are_not_followed() -> None:
    target = Listener()
    source = Listener(answer=f"HTTP/1.1 302 Found\r\nlocation: http://127.0.0.1:{target.port}/\r\n"
                             "content-length: 0\r\nconnection: close\r\n\r\n".encode())
    try:
        assert _post(http.WebhookClient(policy=LOOPBACK_ALLOWED), f"http://127.0.0.1:{source.port}/") == 302
        assert source.connections == 1 and target.connections == 0
    finally:
        source.close()
        target.close()


# -- end to end: creation over the API, delivery by the worker's code -----------------------------


@pytest.fixture
def no_allowance(services, api_url, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:  # type: ignore[no-untyped-def]
    """The operator allows no network (the in-process API and deliveries read the setting anew)."""
    from service.config import get_settings

    monkeypatch.setenv("GROUPBUY_WEBHOOK_ALLOWED_NETWORKS", "")
    get_settings.cache_clear()
    yield
    monkeypatch.undo()
    get_settings.cache_clear()


def test_the_api_refuses_internal_urls(gql, tenant, owner_db, no_allowance) -> None:  # type: ignore[no-untyped-def]
    for url in ("https://2130706433/", "https://127.1/x", "https://0x7f000001/", "https://0177.0.0.1/",
                "https://0/", "https://localhost./", "https://foo.localhost/", "https://127。0。0。1/",
                "https://metadata.google.internal/computeMetadata/v1/", "https://kubernetes.default.svc/",
                "https://postgres:5432/", "http://127.0.0.1:8080/", "https://[::ffff:10.0.0.1]/"):
        payload = gql.data(WEBHOOK_CREATE, {"input": {"url": url, "events": ["ORDER_PAID"]}},
                           token=tenant.admin_token)["webhookSubscriptionCreate"]
        assert [(e["code"], e["field"]) for e in payload["errors"]] == [("INVALID", ["input", "url"])], url
        assert payload["webhookSubscription"] is None and payload["secret"] is None
    count = owner_db.execute("SELECT count(*) FROM webhook_subscription WHERE tenant_id = %s",
                             (tenant.uuid,)).fetchone()[0]
    assert count == 0
    # Changing a subscription's URL obeys the same rules.
    sub_id, _ = subscribe(gql, tenant, "https://hooks.example.com/ok", ["ORDER_PAID"])
    changed = gql.data(UPDATE, {"id": sub_id, "input": {"url": "https://0x7f000001:6379/"}},
                       token=tenant.admin_token)["webhookSubscriptionUpdate"]
    assert [(e["code"], e["field"]) for e in changed["errors"]] == [("INVALID", ["input", "url"])]
    url = owner_db.execute("SELECT url FROM webhook_subscription WHERE tenant_id = %s", (tenant.uuid,)).fetchone()[0]
    assert url == "https://hooks.example.com/ok"


def _deliver_all(tenant_id: uuid.UUID, owner_db) -> list[tuple]:  # type: ignore[no-untyped-def]
    from service.notify.delivery import deliver

    relay(tenant_id)
    ids = [r[0] for r in owner_db.execute(
        "SELECT id FROM delivery WHERE tenant_id = %s AND channel = 'WEBHOOK'", (tenant_id,)).fetchall()]

    async def run(engine):  # type: ignore[no-untyped-def]
        for delivery_id in ids:
            await deliver(tenant_id, delivery_id, engine=engine)

    run_db(run)
    return owner_db.execute(  # type: ignore[no-any-return]
        "SELECT d.status, d.attempts, d.last_error, d.last_status_code, s.url FROM delivery d "
        "JOIN webhook_subscription s ON s.tenant_id = d.tenant_id AND s.id = d.subscription_id "
        "WHERE d.tenant_id = %s AND d.channel = 'WEBHOOK' ORDER BY s.url", (tenant_id,)).fetchall()


def test_a_subscription_made_while_allowed_is_refused_at_send_time(  # type: ignore[no-untyped-def]
    gql, tenant, make_customer, owner_db, listener, monkeypatch
):
    from service.config import get_settings

    w = make_world(owner_db, tenant, make_customer)
    subscribe(gql, tenant, f"http://127.0.0.1:{listener.port}/hook", ["BATCH_CLOSED"])
    # The operator withdraws the allowance; the subscription stays.
    monkeypatch.setenv("GROUPBUY_WEBHOOK_ALLOWED_NETWORKS", "")
    get_settings.cache_clear()
    try:
        emit_events(w.tenant_id, [("BATCH_CLOSED", "batch", w.batch_id, {"title": "t"})])
        rows = _deliver_all(w.tenant_id, owner_db)
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
    assert [r[:4] for r in rows] == [("FAILED", 1, REFUSED, None)], "refused for good, at the first attempt"
    assert listener.connections == 0


def test_last_error_does_not_tell_open_ports_from_closed(gql, tenant, make_customer, owner_db) -> None:  # type: ignore[no-untyped-def]
    w = make_world(owner_db, tenant, make_customer)
    closed = socket.create_server(("127.0.0.1", 0))
    closed_port = closed.getsockname()[1]
    closed.close()  # nothing listens there now
    silent = Listener(answer=b"")  # accepts, reads the request, closes without an answer
    try:
        subscribe(gql, tenant, f"http://127.0.0.1:{closed_port}/a", ["BATCH_CLOSED"])
        subscribe(gql, tenant, f"http://127.0.0.1:{silent.port}/b", ["BATCH_CLOSED"])
        emit_events(w.tenant_id, [("BATCH_CLOSED", "batch", w.batch_id, {"title": "t"})])
        rows = _deliver_all(w.tenant_id, owner_db)
    finally:
        silent.close()
    assert silent.connections >= 1
    assert sorted((r[0], r[2], r[3]) for r in rows) == [("PENDING", FAILED, None)] * 2
