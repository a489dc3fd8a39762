"""The notifications of a real close (service.procurement.close): whatever the close writes to
the outbox, the relay turns into the right in-app notifications and one webhook delivery per
event and subscription, with the supplier's and leaders' e-mail addresses as e-mail targets."""

from __future__ import annotations

import uuid

from tests.close_fixtures import BatchSpec, OrderSpec, build_batch
from tests.conftest import run_db
from tests.test_notify import relay, subscribe


def test_a_close_notifies_leaders_suppliers_and_refunded_customers(  # type: ignore[no-untyped-def]
    gql, make_tenant, owner_db,
):
    from service.db import tenant_transaction
    from service.procurement.close import close_batch

    tenant = make_tenant()
    spec = BatchSpec(
        suppliers=2, products=[(0, 300), (1, 500)], points=2,
        offers=[(0, 800, 1), (1, 1200, 5)],  # the second offer will miss its minimum: refunds
        customers=3,
        orders=[OrderSpec(customer=0, point=0, status="PAID", lines=[(0, 2), (1, 1)]),
                OrderSpec(customer=1, point=1, status="PAID", lines=[(1, 1)]),
                OrderSpec(customer=2, point=1, status="PENDING_PAYMENT", lines=[(0, 1)])],
    )
    built = build_batch(owner_db, tenant.uuid, spec)
    staff = uuid.uuid4()
    owner_db.execute("INSERT INTO app_user (tenant_id, id, kind, display_name, password_hash, supplier_id) "
                     "VALUES (%s, %s, 'SUPPLIER', 'staff', 'x', %s)",
                     (tenant.uuid, staff, built.supplier_ids[0]))
    subscribe(gql, tenant, "https://hooks.example.com/all", [
        "ORDER_CANCELLED", "BATCH_CLOSED", "PURCHASE_ORDER_CREATED", "PICK_LIST_READY", "REFUND_CREATED"])

    async def close(engine):  # type: ignore[no-untyped-def]
        async with tenant_transaction(tenant.uuid, engine=engine) as session:
            return await close_batch(session, tenant_id=tenant.uuid, batch_id=built.batch_id)

    assert run_db(close) is not None
    events = owner_db.execute("SELECT event, count(*) FROM outbox_event WHERE tenant_id = %s GROUP BY event",
                              (tenant.uuid,)).fetchall()
    relayed = relay(tenant.uuid)
    assert relayed.events == sum(n for _, n in events)
    # One webhook delivery per event (the subscription hears every kind the close writes).
    assert len(relayed.delivery_ids) == relayed.events

    got = {(r[0], r[1]) for r in owner_db.execute(
        "SELECT event, user_id FROM notification WHERE tenant_id = %s", (tenant.uuid,)).fetchall()}
    c = built.customer_ids
    # Customer 0: offer 1 below its minimum → a refund; customer 1: nothing left → cancelled and
    # refunded; customer 2 never paid → cancelled. Only suppliers with goods to deliver get orders.
    assert ("REFUND_CREATED", c[0]) in got and ("REFUND_CREATED", c[1]) in got
    assert ("ORDER_CANCELLED", c[1]) in got and ("ORDER_CANCELLED", c[2]) in got
    assert ("PURCHASE_ORDER_CREATED", staff) in got
    assert ("PICK_LIST_READY", built.leader_user_ids[0]) in got
    assert {e for e, _ in got} <= {"REFUND_CREATED", "ORDER_CANCELLED", "PURCHASE_ORDER_CREATED",
                                    "PICK_LIST_READY"}
    # Nobody outside the tenant's own users.
    users = {r[0] for r in owner_db.execute("SELECT id FROM app_user WHERE tenant_id = %s", (tenant.uuid,))}
    assert {u for _, u in got} <= users
    owner_db.execute("UPDATE delivery SET status = 'FAILED' WHERE tenant_id = %s", (tenant.uuid,))
