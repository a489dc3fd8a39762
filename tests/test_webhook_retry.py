"""An admin retries one FAILED webhook delivery: it becomes PENDING, goes out again with the same
webhook-id, and ends DELIVERED; a delivery that did not fail cannot be retried."""

from __future__ import annotations

from typing import Any

from service import global_id
from tests.conftest import run_db
from tests.test_notify import emit_events, make_world, subscribe
from tests.webhook_sink import WebhookSink

RETRY = """mutation($id: ID!) { webhookDeliveryRetry(id: $id) {
  webhookDelivery { id status attempts webhookId nextAttemptAt } errors { code field }
} }"""


def test_a_failed_delivery_is_retried_once_with_the_same_webhook_id(  # type: ignore[no-untyped-def]
    gql, make_tenant, make_customer, owner_db
):
    from service.notify.delivery import deliver_many
    from service.notify.relay import relay_tenant

    tenant = make_tenant()
    w = make_world(owner_db, tenant, make_customer)
    with WebhookSink() as sink:
        _, secret = subscribe(gql, tenant, sink.url, ["ORDER_READY_FOR_PICKUP"])
        sink.secret, sink.always_fail = secret, True
        emit_events(w.tenant_id, [("ORDER_READY_FOR_PICKUP", "order", w.order_id, {"pickupPointId": str(w.point_id)})])
        ids: list[Any] = []

        async def relay_and_send(engine: Any) -> None:
            relayed = await relay_tenant(w.tenant_id, engine=engine)
            ids[:] = relayed.delivery_ids
            await deliver_many(w.tenant_id, ids, engine=engine)

        run_db(relay_and_send)
        (delivery,) = ids
        # The schedule ran out (as after its last retry): FAILED.
        owner_db.execute("UPDATE delivery SET status = 'FAILED' WHERE id = %s", (delivery,))
        gid = global_id.encode("WebhookDelivery", delivery)
        retried = gql.data(RETRY, {"id": gid}, token=tenant.admin_token)["webhookDeliveryRetry"]
        assert retried["errors"] == []
        assert retried["webhookDelivery"]["status"] == "PENDING" and retried["webhookDelivery"]["attempts"] == 1
        assert retried["webhookDelivery"]["nextAttemptAt"] is not None

        sink.always_fail = False
        run_db(lambda engine: deliver_many(w.tenant_id, [delivery], engine=engine))
        received = sink.snapshot()
        assert [r.answered for r in received] == [500, 204]
        assert received[0].webhook_id == received[1].webhook_id and received[1].signature_ok
    status, attempts = owner_db.execute("SELECT status, attempts FROM delivery WHERE id = %s", (delivery,)).fetchone()
    assert (status, attempts) == ("DELIVERED", 2)

    again = gql.data(RETRY, {"id": gid}, token=tenant.admin_token)["webhookDeliveryRetry"]
    assert again == {"webhookDelivery": None, "errors": [{"code": "CONFLICT", "field": ["id"]}]}
    customer = make_customer(tenant)
    refused = gql.data(RETRY, {"id": gid}, token=customer.token)["webhookDeliveryRetry"]
    assert [e["code"] for e in refused["errors"]] == ["FORBIDDEN"]
