"""Operators manage their webhook subscriptions: change URL and events, switch one off, rotate
its secret (shown once, never stored)."""

from __future__ import annotations

from service import global_id
from service.notify.signing import fingerprint, shown_secret, subscription_secret
from tests.test_notify import WEBHOOK_CREATE

UPDATE = """
mutation($id: ID!, $input: WebhookSubscriptionUpdateInput!) {
  webhookSubscriptionUpdate(id: $id, input: $input) {
    webhookSubscription { id url events active } secret errors { code field message }
  }
}"""
ROTATE = """
mutation($id: ID!) { webhookSubscriptionRotateSecret(id: $id) {
  webhookSubscription { id } secret errors { code field }
} }"""


def _create(gql, tenant) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    payload = gql.data(WEBHOOK_CREATE, {"input": {"url": "https://hooks.example.com/groupbuy",
                                                  "events": ["ORDER_PAID"]}}, token=tenant.admin_token)
    created = payload["webhookSubscriptionCreate"]
    assert created["errors"] == [], created
    return created["webhookSubscription"]["id"], created["secret"]


def test_update_events_url_and_switch_off(gql, tenant, make_tenant, make_customer, owner_db):  # type: ignore[no-untyped-def]
    sub_id, _ = _create(gql, tenant)
    changed = gql.data(UPDATE, {"id": sub_id, "input": {"events": ["ORDER_PAID", "BATCH_CLOSED"],
                                                        "url": "https://erp.example.com/hook"}},
                       token=tenant.admin_token)["webhookSubscriptionUpdate"]
    assert changed["errors"] == [] and changed["secret"] is None
    assert changed["webhookSubscription"] == {"id": sub_id, "url": "https://erp.example.com/hook",
                                              "events": ["BATCH_CLOSED", "ORDER_PAID"], "active": True}
    off = gql.data(UPDATE, {"id": sub_id, "input": {"active": False}}, token=tenant.admin_token)
    assert off["webhookSubscriptionUpdate"]["webhookSubscription"]["active"] is False

    bad = gql.data(UPDATE, {"id": sub_id, "input": {"url": "ftp://nope", "events": []}},
                   token=tenant.admin_token)["webhookSubscriptionUpdate"]
    assert {(e["code"], tuple(e["field"])) for e in bad["errors"]} == {
        ("INVALID", ("input", "url")), ("INVALID", ("input", "events"))}
    row = owner_db.execute("SELECT url, active FROM webhook_subscription WHERE id = %s",
                           (global_id.decode_as(sub_id, "WebhookSubscription"),)).fetchone()
    assert row == ("https://erp.example.com/hook", False), "invalid input changed nothing"

    other = make_tenant()
    foreign = gql.data(UPDATE, {"id": sub_id, "input": {"active": True}}, token=other.admin_token)
    assert foreign["webhookSubscriptionUpdate"]["errors"][0]["code"] == "NOT_FOUND"
    customer = make_customer(tenant)
    refused = gql.data(UPDATE, {"id": sub_id, "input": {"active": True}}, token=customer.token)
    assert refused["webhookSubscriptionUpdate"]["errors"] == [
        {"code": "FORBIDDEN", "field": None, "message": refused["webhookSubscriptionUpdate"]["errors"][0]["message"]}]


def test_rotate_secret_shows_a_new_one_once_and_stores_only_its_fingerprint(gql, tenant, owner_db):  # type: ignore[no-untyped-def]
    sub_id, first = _create(gql, tenant)
    rotated = gql.data(ROTATE, {"id": sub_id}, token=tenant.admin_token)["webhookSubscriptionRotateSecret"]
    assert rotated["errors"] == [] and rotated["secret"].startswith("whsec_") and rotated["secret"] != first
    sub_uuid = global_id.decode_as(sub_id, "WebhookSubscription")
    version, stored = owner_db.execute(
        "SELECT secret_version, secret_fingerprint FROM webhook_subscription WHERE id = %s", (sub_uuid,)).fetchone()
    assert version == 2
    assert shown_secret(subscription_secret(sub_uuid, 2)) == rotated["secret"], "deliveries sign with the new one"
    assert stored == fingerprint(subscription_secret(sub_uuid, 2))
    row = owner_db.execute("SELECT row_to_json(s)::text FROM webhook_subscription s WHERE id = %s",
                           (sub_uuid,)).fetchone()[0]
    assert rotated["secret"].removeprefix("whsec_") not in row
