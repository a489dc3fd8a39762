"""Rotating a webhook secret with an overlap: both secrets sign (several signatures in the
Standard Webhooks `webhook-signature` header) until the overlap ends, then only the new one."""

from __future__ import annotations

import time
from typing import Any
from uuid import UUID

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from service import global_id
from tests.conftest import run_db
from tests.test_notify import emit_events, make_world, subscribe
from tests.webhook_sink import Received, WebhookSink

ROTATE = """
mutation($id: ID!, $overlap: Int) { webhookSubscriptionRotateSecret(id: $id, overlapSeconds: $overlap) {
  webhookSubscription { id previousSecretUntil } secret errors { code field }
} }"""


def _send_one(tenant_id: UUID, order_id: UUID, point_id: UUID, sink: WebhookSink) -> Received:
    """An event written, relayed and delivered in this process; what the receiver got."""
    from service.notify.delivery import deliver_many
    from service.notify.relay import relay_tenant

    before = len(sink.snapshot())
    emit_events(tenant_id, [("ORDER_READY_FOR_PICKUP", "order", order_id, {"pickupPointId": str(point_id)})])

    async def relay_and_send(engine: Any) -> None:
        relayed = await relay_tenant(tenant_id, engine=engine)
        assert len(relayed.delivery_ids) == 1
        await deliver_many(tenant_id, relayed.delivery_ids, engine=engine)

    run_db(relay_and_send)
    received = sink.snapshot()
    assert len(received) == before + 1
    return received[-1]


def _verifies(secret: str, r: Received) -> bool:
    headers = {"webhook-id": r.webhook_id, "webhook-timestamp": r.timestamp, "webhook-signature": r.signature}
    try:
        Webhook(secret).verify(r.raw, headers)
    except WebhookVerificationError:
        return False
    return True


def test_both_secrets_sign_during_the_overlap_and_only_the_new_one_after(  # type: ignore[no-untyped-def]
    gql, make_tenant, make_customer, owner_db
):
    tenant = make_tenant()
    w = make_world(owner_db, tenant, make_customer)
    with WebhookSink() as sink:
        sub_id, old = subscribe(gql, tenant, sink.url, ["ORDER_READY_FOR_PICKUP"])
        rotated = gql.data(ROTATE, {"id": sub_id, "overlap": 3}, token=tenant.admin_token)
        rotated = rotated["webhookSubscriptionRotateSecret"]
        assert rotated["errors"] == []
        new = rotated["secret"]
        assert new != old and rotated["webhookSubscription"]["previousSecretUntil"] is not None
        sink.secret = new

        during = _send_one(w.tenant_id, w.order_id, w.point_id, sink)
        assert len(during.signature.split()) == 2, during.signature
        assert _verifies(new, during) and _verifies(old, during), "both secrets sign during the overlap"

        time.sleep(3.2)  # the overlap ends
        after = _send_one(w.tenant_id, w.order_id, w.point_id, sink)
        assert len(after.signature.split()) == 1
        assert _verifies(new, after) and not _verifies(old, after), "the old secret stopped"
        listed = gql.data(ROTATE, {"id": sub_id, "overlap": 0}, token=tenant.admin_token)
        listed = listed["webhookSubscriptionRotateSecret"]
        assert listed["errors"] == [] and listed["webhookSubscription"]["previousSecretUntil"] is None
        newest = listed["secret"]
        sink.secret = newest
        at_once = _send_one(w.tenant_id, w.order_id, w.point_id, sink)
        assert _verifies(newest, at_once) and not _verifies(new, at_once), "overlap 0 stops the old one at once"


def test_the_default_overlap_is_a_day_and_a_bad_one_changes_nothing(gql, tenant, owner_db):  # type: ignore[no-untyped-def]
    sub_id, _ = subscribe(gql, tenant, "https://hooks.example.com/rotate", ["ORDER_PAID"])
    sub = global_id.decode_as(sub_id, "WebhookSubscription")
    bad = gql.data(ROTATE, {"id": sub_id, "overlap": -1}, token=tenant.admin_token)["webhookSubscriptionRotateSecret"]
    assert bad["errors"] == [{"code": "INVALID", "field": ["overlapSeconds"]}] and bad["secret"] is None
    assert owner_db.execute("SELECT secret_version FROM webhook_subscription WHERE id = %s", (sub,)).fetchone() == (1,)
    ok = gql.data(ROTATE, {"id": sub_id, "overlap": None}, token=tenant.admin_token)["webhookSubscriptionRotateSecret"]
    assert ok["errors"] == []
    version, previous, hours = owner_db.execute(
        "SELECT secret_version, previous_secret_version, "
        "extract(epoch FROM previous_secret_until - clock_timestamp()) / 3600 FROM webhook_subscription "
        "WHERE id = %s", (sub,)).fetchone()
    assert (version, previous) == (2, 1) and 23.9 < hours <= 24
