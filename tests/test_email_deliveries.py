"""emailDeliveries: an administrator sees the tenant's e-mails with their status, attempts and last
error, newest first, narrowed by status or address; nobody else does, and no other tenant's."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

EMAILS = """
query($status: [WebhookDeliveryStatus!], $to: String, $first: Int) {
  emailDeliveries(status: $status, to: $to, first: $first) {
    id event to status attempts lastError lastAttemptAt nextAttemptAt deliveredAt createdAt
  }
}"""


def _email(owner_db, tenant_id: uuid.UUID, *, to: str, status: str, minutes_ago: int, event: str = "PICK_LIST_READY",
           error: str | None = None) -> None:  # type: ignore[no-untyped-def]
    event_id = uuid.uuid4()
    at = datetime.now(UTC) - timedelta(minutes=minutes_ago)
    owner_db.execute(
        # Relayed already (its deliveries exist), so no relay running for other tests picks it up.
        "INSERT INTO outbox_event (tenant_id, id, event, subject_type, subject_id, payload, created_at, relayed_at) "
        "VALUES (%s, %s, %s, 'pick_list', %s, %s, %s, %s)",
        (tenant_id, event_id, event, uuid.uuid4(), json.dumps({}), at, at),
    )
    owner_db.execute(
        "INSERT INTO delivery (tenant_id, id, outbox_event_id, channel, target, status, attempts, next_attempt_at, "
        "last_attempt_at, last_error, delivered_at, created_at) VALUES (%s, %s, %s, 'EMAIL', %s, %s, %s, %s, %s, %s, "
        "%s, %s)",
        # A pending one is due in an hour: no retry job sends it during the test.
        (tenant_id, uuid.uuid4(), event_id, to, status, 0 if status == "PENDING" else 3,
         datetime.now(UTC) + timedelta(hours=1),
         None if status == "PENDING" else at, error, at if status == "DELIVERED" else None, at),
    )


def test_admins_see_their_tenants_emails(gql, make_tenant, owner_db, make_customer):  # type: ignore[no-untyped-def]
    tenant, other = make_tenant(), make_tenant()
    _email(owner_db, tenant.uuid, to="po@supplier.example", status="DELIVERED", minutes_ago=30,
           event="PURCHASE_ORDER_CREATED")
    _email(owner_db, tenant.uuid, to="leader@point.example", status="FAILED", minutes_ago=20,
           error="550 5.1.1 mailbox unavailable")
    _email(owner_db, tenant.uuid, to="PO@Supplier.example", status="PENDING", minutes_ago=10)
    _email(owner_db, other.uuid, to="po@supplier.example", status="FAILED", minutes_ago=5)

    got = gql.data(EMAILS, {}, token=tenant.admin_token)["emailDeliveries"]
    assert [(e["to"], e["status"]) for e in got] == [
        ("PO@Supplier.example", "PENDING"), ("leader@point.example", "FAILED"), ("po@supplier.example", "DELIVERED"),
    ]
    pending, failed, delivered = got
    assert pending["nextAttemptAt"] and pending["attempts"] == 0 and pending["lastAttemptAt"] is None
    assert failed["lastError"] == "550 5.1.1 mailbox unavailable" and failed["nextAttemptAt"] is None
    assert failed["attempts"] == 3 and failed["event"] == "PICK_LIST_READY"
    assert delivered["deliveredAt"] and delivered["event"] == "PURCHASE_ORDER_CREATED"

    only_failed = gql.data(EMAILS, {"status": ["FAILED"]}, token=tenant.admin_token)["emailDeliveries"]
    assert [e["to"] for e in only_failed] == ["leader@point.example"]
    to_supplier = gql.data(EMAILS, {"to": " po@supplier.example "}, token=tenant.admin_token)["emailDeliveries"]
    assert [e["status"] for e in to_supplier] == ["PENDING", "DELIVERED"]  # addresses compare without case
    assert len(gql.data(EMAILS, {"first": 1}, token=tenant.admin_token)["emailDeliveries"]) == 1
    assert [e["status"] for e in gql.data(EMAILS, {}, token=other.admin_token)["emailDeliveries"]] == ["FAILED"]

    customer = make_customer(tenant)
    refused = gql(EMAILS, {}, token=customer.token)
    assert refused["data"] is None and refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    too_many = gql(EMAILS, {"first": 10_000}, token=tenant.admin_token)
    assert too_many["errors"] and too_many["data"] is None
