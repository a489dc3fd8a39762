"""Invariant 5 through real worker processes: signed webhooks retried with the same id, FAILED
after the schedule, e-mail over SMTP. One dramatiq worker and the scheduler's notification jobs
run for this module (so tests elsewhere never race a relay they did not start)."""

from __future__ import annotations

import email
import email.policy
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from service import global_id
from tests.conftest import run_db
from tests.test_notify import (
    FAST_ENV,
    FAST_RETRIES,
    SUBSCRIPTIONS,
    Processes,
    deliveries,
    emit_events,
    make_world,
    subscribe,
    wait_for,
)
from tests.webhook_sink import WebhookSink


@pytest.fixture(scope="module")
def smtp_server() -> Iterator[Any]:
    from aiosmtpd.controller import Controller

    from service.embedded import free_port

    class Inbox:
        def __init__(self) -> None:
            self.messages: list[email.message.EmailMessage] = []

        async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def] # noqa: N802
            self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
            return "250 OK"

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, inbox
    controller.stop()


@pytest.fixture(scope="module")
def notify_processes(services, smtp_server, tmp_path_factory) -> Iterator[Processes]:  # type: ignore[no-untyped-def]
    controller, _ = smtp_server
    env = {
        **FAST_ENV,
        "GROUPBUY_SMTP_HOST": "127.0.0.1",
        "GROUPBUY_SMTP_PORT": str(controller.port),
        "GROUPBUY_SMTP_FROM": "团购 <noreply@groupbuy.example>",
    }
    procs = Processes(tmp_path_factory.mktemp("notify-procs"), env)
    procs.worker()
    procs.scheduler()
    yield procs
    procs.stop_all()


def test_webhook_is_signed_retried_with_the_same_id_then_delivered(
    gql,
    make_tenant,
    make_customer,
    owner_db,
    notify_processes,  # type: ignore[no-untyped-def]
):
    tenant = make_tenant()
    w = make_world(owner_db, tenant, make_customer)
    with WebhookSink() as sink:
        sink.fail_first = 3
        sub_id, secret = subscribe(gql, tenant, sink.url, ["ORDER_READY_FOR_PICKUP"])
        sink.secret = secret
        emit_events(
            w.tenant_id,
            [
                (
                    "ORDER_READY_FOR_PICKUP",
                    "order",
                    w.order_id,
                    {"number": "N-1", "pickupPointId": str(w.point_id)},
                )
            ],
        )
        delivered = wait_for(
            "the 4th attempt to succeed", lambda: sink.delivered() or None, processes=notify_processes
        )
        received = sink.snapshot()
    assert len(delivered) == 1
    (msg_id,) = delivered
    assert [r.webhook_id for r in received] == [msg_id] * 4
    assert [r.answered for r in received] == [500, 500, 500, 204]
    assert all(r.signature_ok for r in received)
    body = received[-1].body
    assert body["type"] == "ORDER_READY_FOR_PICKUP"
    assert body["data"]["tenant"] == tenant.slug
    assert body["data"]["subject"] == {"type": "Order", "id": global_id.encode("Order", w.order_id)}
    assert body["data"]["pickupPointId"] == global_id.encode("PickupPoint", w.point_id)
    assert body["data"]["number"] == "N-1"
    assert all(r.body == body for r in received)  # the same event, byte for byte, on every attempt

    def delivered_row():  # type: ignore[no-untyped-def]
        rows = deliveries(owner_db, w.tenant_id)
        return rows if rows and rows[0][0] == "DELIVERED" else None

    rows = wait_for("the delivery to be recorded", delivered_row)
    assert [(r[0], r[1], r[2]) for r in rows] == [("DELIVERED", 4, "WEBHOOK")]
    subs = gql.data(SUBSCRIPTIONS, {}, token=tenant.admin_token)["webhookSubscriptions"]
    assert [s["id"] for s in subs] == [sub_id]
    (d,) = subs[0]["deliveries"]
    assert (d["status"], d["attempts"], d["webhookId"], d["lastStatusCode"]) == ("DELIVERED", 4, msg_id, 204)
    # Redelivering a delivered delivery is a no-op (a duplicate message).
    from service.notify.delivery import deliver

    delivery_id = owner_db.execute("SELECT id FROM delivery WHERE tenant_id = %s", (w.tenant_id,)).fetchone()[
        0
    ]
    assert run_db(lambda engine: deliver(w.tenant_id, delivery_id, engine=engine)) is None
    assert len(sink.snapshot()) == 4


def test_webhook_fails_visibly_after_the_schedule_is_exhausted(
    gql,
    make_tenant,
    make_customer,
    owner_db,
    notify_processes,  # type: ignore[no-untyped-def]
):
    tenant = make_tenant()
    w = make_world(owner_db, tenant, make_customer)
    with WebhookSink() as sink:
        sink.always_fail = True
        _, sink.secret = subscribe(gql, tenant, sink.url, ["BATCH_CLOSED"])
        emit_events(w.tenant_id, [("BATCH_CLOSED", "batch", w.batch_id, {"title": "周末水果团"})])

        def failed():  # type: ignore[no-untyped-def]
            rows = deliveries(owner_db, w.tenant_id)
            return rows if rows and rows[0][0] == "FAILED" else None

        rows = wait_for("the delivery to fail", failed, processes=notify_processes)
        attempts = len(FAST_RETRIES.split(",")) + 1
        assert rows[0][1] == attempts and rows[0][4] == "HTTP 500"
        assert len(set(sink.attempts())) == 1 and sum(sink.attempts().values()) == attempts
    (d,) = gql.data(SUBSCRIPTIONS, {"status": ["FAILED"]}, token=tenant.admin_token)["webhookSubscriptions"][
        0
    ]["deliveries"]
    assert (d["status"], d["attempts"], d["lastError"], d["lastStatusCode"]) == (
        "FAILED",
        attempts,
        "HTTP 500",
        500,
    )
    assert (
        gql.data(SUBSCRIPTIONS, {"status": ["DELIVERED"]}, token=tenant.admin_token)["webhookSubscriptions"][
            0
        ]["deliveries"]
        == []
    )


def test_emails_to_the_supplier_and_the_leader_over_smtp(
    make_tenant,
    make_customer,
    owner_db,
    notify_processes,
    smtp_server,  # type: ignore[no-untyped-def]
):
    _, inbox = smtp_server
    tenant = make_tenant()
    supplier_email = f"orders-{uuid.uuid4().hex[:8]}@supplier.example"
    w = make_world(owner_db, tenant, make_customer, supplier_email=supplier_email)
    leader_email = owner_db.execute(
        "SELECT email FROM app_user WHERE tenant_id = %s AND id = %s", (w.tenant_id, w.leader_user_id)
    ).fetchone()[0]
    emit_events(
        w.tenant_id,
        [
            (
                "PURCHASE_ORDER_CREATED",
                "purchase_order",
                uuid.uuid4(),
                {"supplierId": str(w.supplier_id), "number": "PO-7"},
            ),
            (
                "PICK_LIST_READY",
                "pick_list",
                uuid.uuid4(),
                {"pickupPointId": str(w.point_id), "pointName": "幸福小区自提点"},
            ),
        ],
    )

    def arrived():  # type: ignore[no-untyped-def]
        mine = {str(m["To"]): m for m in inbox.messages if str(m["To"]) in (supplier_email, leader_email)}
        return mine if len(mine) == 2 else None

    mails = wait_for("both e-mails", arrived, processes=notify_processes)
    po = mails[supplier_email]
    # Neither recipient chose a language: the tenant's (zh-CN by default), and only it.
    assert po["Subject"] == "新采购单" and po["Content-Language"] == "zh-CN"
    assert "PO-7" in po.get_content() and "采购单" in po.get_content() and "purchase order" not in po.get_content()
    assert "团购" in str(po["From"])
    pick = mails[leader_email]
    assert pick["Subject"] == "分拣单已生成" and "幸福小区自提点" in pick.get_content()
    wait_for(
        "deliveries recorded", lambda: {r[0] for r in deliveries(owner_db, w.tenant_id)} == {"DELIVERED"}
    )
    assert sorted(r[3] for r in deliveries(owner_db, w.tenant_id)) == sorted([supplier_email, leader_email])
    assert sum(1 for m in inbox.messages if str(m["To"]) in (supplier_email, leader_email)) == 2




# The scenario's own names (data, in whatever language they were entered), left out when looking
# for words of the other language.
DATA = ["幸福小区自提点", "周末水果团", "鲜果供应商", "PO-8", "PO-9"]
LANGUAGE_SET = """mutation($l: String!) { messageLanguageSet(language: $l) {
  viewer { messageLanguage } errors { code field message } } }"""
TENANT_LANGUAGE = """mutation($l: String) { tenantUpdate(input: {defaultLanguage: $l}) {
  tenant { defaultLanguage } errors { code field } } }"""


def test_each_email_and_in_app_text_goes_in_its_recipients_language_alone(  # type: ignore[no-untyped-def]
    gql, make_tenant, make_customer, owner_db, notify_processes, smtp_server,
):
    from tests.e2e.test_readable import other_language

    _, inbox = smtp_server
    tenant = make_tenant()
    supplier_email = f"orders-{uuid.uuid4().hex[:8]}@supplier.example"
    w = make_world(owner_db, tenant, make_customer, supplier_email=supplier_email)
    leader_email = owner_db.execute(
        "SELECT email FROM app_user WHERE tenant_id = %s AND id = %s", (w.tenant_id, w.leader_user_id)
    ).fetchone()[0]
    # The tenant's default is English; the leader chose Chinese; the supplier's contact has no account.
    assert gql.data(TENANT_LANGUAGE, {"l": "fr"}, token=tenant.admin_token)["tenantUpdate"]["errors"] == [
        {"code": "INVALID", "field": ["input", "defaultLanguage"]}]
    updated = gql.data(TENANT_LANGUAGE, {"l": "en"}, token=tenant.admin_token)["tenantUpdate"]
    assert updated == {"tenant": {"defaultLanguage": "en"}, "errors": []}
    chosen = gql.data(LANGUAGE_SET, {"l": "zh-CN"}, token=w.leader_token)["messageLanguageSet"]
    assert chosen == {"viewer": {"messageLanguage": "zh-CN"}, "errors": []}
    emit_events(w.tenant_id, [
        ("PURCHASE_ORDER_CREATED", "purchase_order", uuid.uuid4(), {"supplierId": str(w.supplier_id), "number": "PO-8"}),
        ("PICK_LIST_READY", "pick_list", uuid.uuid4(), {"pickupPointId": str(w.point_id), "batchId": str(w.batch_id)}),
    ])

    def arrived():  # type: ignore[no-untyped-def]
        mine = {str(m["To"]): m for m in inbox.messages if str(m["To"]) in (supplier_email, leader_email)}
        return mine if len(mine) == 2 else None

    mails = wait_for("both e-mails", arrived, processes=notify_processes)
    to_leader, to_supplier = mails[leader_email], mails[supplier_email]
    assert (to_leader["Content-Language"], to_supplier["Content-Language"]) == ("zh-CN", "en")
    assert to_leader["Subject"] == "分拣单已生成" and "幸福小区自提点" in to_leader.get_content()
    assert to_supplier["Subject"] == "New purchase order" and "PO-8" in to_supplier.get_content()
    for mail, language in ((to_leader, "zh-CN"), (to_supplier, "en")):
        texts = [str(mail["Subject"]), mail.get_content()]
        assert other_language(texts, language, DATA) == [], (language, texts)
    # In-app: the stored title and body in the reader's language alone too (shown as they are to
    # readers that cannot render; the API renders in the request's language).
    stored = owner_db.execute(
        "SELECT title, body FROM notification WHERE tenant_id = %s AND user_id = %s AND event = 'PICK_LIST_READY'",
        (w.tenant_id, w.leader_user_id)).fetchone()
    assert stored is not None and stored[0] == "分拣单已生成"
    assert other_language(list(stored), "zh-CN", DATA) == []
    # The reader's language still decides what the API shows.
    notes = gql.data("{ notifications(first: 5) { edges { node { event title } } } }", token=w.leader_token,
                     headers={"Accept-Language": "en"})["notifications"]["edges"]
    assert {n["node"]["title"] for n in notes if n["node"]["event"] == "PICK_LIST_READY"} == {"Pick list ready"}
    # The supplier's staff account, with no language of its own, reads the tenant's in its stored text.
    staff = owner_db.execute(
        "SELECT title FROM notification WHERE tenant_id = %s AND user_id = %s AND event = 'PURCHASE_ORDER_CREATED'",
        (w.tenant_id, w.supplier_user_id)).fetchone()
    assert staff is not None and staff[0] == "New purchase order"


def test_a_language_is_adopted_at_sign_in_and_a_choice_is_kept(gql, tenant, make_customer):  # type: ignore[no-untyped-def]
    from tests.conftest import TOKEN_CREATE

    def sign_in(language: str) -> str:
        payload = gql.data(TOKEN_CREATE, {"input": {"login": customer.phone, "password": customer.password}},
                           tenant=tenant.slug, headers={"Accept-Language": language})["tokenCreate"]
        assert payload["errors"] == [], payload
        return str(payload["token"])

    customer = make_customer(tenant, "Sign-in customer")
    me = "{ me { messageLanguage } }"
    # Nothing chosen yet: the tenant's default (zh-CN unless set).
    assert gql.data(me, token=customer.token)["me"]["messageLanguage"] == "zh-CN"
    refused = gql.data(LANGUAGE_SET, {"l": "de"}, token=customer.token)["messageLanguageSet"]
    assert refused["viewer"] is None and [(e["code"], e["field"]) for e in refused["errors"]] == [
        ("INVALID", ["language"])]
    assert any("zh-CN" in e["message"] for e in refused["errors"])
    token = sign_in("en-US,en;q=0.9")
    assert gql.data(me, token=token)["me"]["messageLanguage"] == "en", "adopted from the client's language"
    assert gql.data(LANGUAGE_SET, {"l": "zh-CN"}, token=token)["messageLanguageSet"]["errors"] == []
    token = sign_in("en")
    assert gql.data(me, token=token)["me"]["messageLanguage"] == "zh-CN", "a choice is never overwritten"


def test_a_tenant_is_created_with_its_messages_language(gql, make_tenant, platform_token, owner_db):  # type: ignore[no-untyped-def]
    from tests.conftest import TENANT_CREATE, unique

    english = make_tenant(defaultLanguage="en")
    chinese = make_tenant()
    stored = dict(owner_db.execute("SELECT slug, default_language FROM tenant WHERE slug IN (%s, %s)",
                                   (english.slug, chinese.slug)).fetchall())
    assert stored == {english.slug: "en", chinese.slug: "zh-CN"}
    assert gql.data("{ tenant { defaultLanguage } }", token=english.admin_token)["tenant"] == {"defaultLanguage": "en"}
    slug = unique("t")
    refused = gql.data(TENANT_CREATE, {"input": {"slug": slug, "name": "x", "adminEmail": f"a@{slug}.example",
                                                 "adminPassword": "admin-password-1", "defaultLanguage": "fr"}},
                       token=platform_token)["tenantCreate"]
    assert refused["tenant"] is None and [(e["code"], e["field"]) for e in refused["errors"]] == [
        ("INVALID", ["input", "defaultLanguage"])]
    assert owner_db.execute("SELECT count(*) FROM tenant WHERE slug = %s", (slug,)).fetchone()[0] == 0
