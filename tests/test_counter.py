"""At the pickup counter: orders found by the phone's last four digits (leaders and admins) and by
跟团号 (batchSequence), a customer's orders handed over in one step (all or none), and 催取货 (the
waiting customers with their phones, one reminder to all, rate-limited per point, the limit ending)."""

from __future__ import annotations

import uuid

from service import global_id
from tests.conftest import run_db
from tests.ordering_fixtures import (
    ORDER_PLACE,
    add_leader,
    make_world,
    offer_input,
    open_batch_with_offers,
    place_input,
)

ORDERS = """
query($b: ID, $tail: String, $seq: Int) {
  orders(batchId: $b, phoneTail: $tail, batchSequence: $seq, first: 50) {
    edges { node { id number batchSequence customerPhone status } }
  }
}"""
CONFIRM = """
mutation($p: ID!, $ids: [ID!]!) {
  pickupConfirmOrders(pickupPointId: $p, orderIds: $ids) {
    orders { id status pickedUpAt } alreadyPickedUp errors { code field message }
  }
}"""
WAITING = """
query($p: ID!) { pickupWaiting(pickupPointId: $p) { customerName phone orderCount orderIds since } }"""
REMIND = "mutation($p: ID!) { pickupRemind(pickupPointId: $p) { reminded errors { code field message } } }"


def _place(gql, world, batch, customer) -> dict:  # type: ignore[no-untyped-def]
    payload = gql.data(ORDER_PLACE, place_input(batch, world, [(0, 1)]), token=customer.token)["orderPlace"]
    assert payload["errors"] == [], payload
    return payload["order"]


def _ready(owner_db, *orders: dict) -> None:  # type: ignore[no-untyped-def]
    ids = [global_id.decode_as(o["id"], "Order") for o in orders]
    owner_db.execute("UPDATE customer_order SET status = 'READY_FOR_PICKUP' WHERE id = ANY(%s)", (ids,))


def _world(gql, tenant, owner_db, make_customer):  # type: ignore[no-untyped-def]
    world = make_world(owner_db, tenant)
    batch = open_batch_with_offers(gql, world, [offer_input(world, 0)])
    a, b = make_customer(tenant, "Wang"), make_customer(tenant, "Li")
    orders = [_place(gql, world, batch, c) for c in (a, b, a)]
    return world, batch, a, b, orders


def test_find_orders_by_phone_tail_and_batch_sequence(gql, tenant, owner_db, make_customer):  # type: ignore[no-untyped-def]
    world, batch, a, b, orders = _world(gql, tenant, owner_db, make_customer)
    edges = gql.data(ORDERS, {"b": batch["id"]}, token=tenant.admin_token)["orders"]["edges"]
    sequences = {e["node"]["id"]: e["node"]["batchSequence"] for e in edges}
    assert [sequences[o["id"]] for o in orders] == [1, 2, 3]  # as placed: 1, 2, 3 in the batch

    def found(token: str, **variables: object) -> list[str]:
        edges = gql.data(ORDERS, variables, token=token)["orders"]["edges"]
        return sorted(e["node"]["id"] for e in edges)

    tail = a.phone[-4:]
    for token in (world.leader_token, tenant.admin_token):  # the leader at the counter, the console's search
        assert found(token, tail=tail) == sorted([orders[0]["id"], orders[2]["id"]])
        assert found(token, b=batch["id"], seq=2) == [orders[1]["id"]]
    # The leader sees the customer's phone to call them; a customer only their own orders.
    edges = gql.data(ORDERS, {"tail": tail}, token=world.leader_token)["orders"]["edges"]
    assert {e["node"]["customerPhone"] for e in edges} == {a.phone}
    assert found(b.token, tail=tail) == []
    for variables, field in (({"tail": "12a4"}, "phoneTail"), ({"tail": "123"}, "phoneTail"),
                             ({"seq": 1}, "batchSequence"), ({"b": batch["id"], "seq": 0}, "batchSequence")):
        body = gql(ORDERS, variables, token=world.leader_token, headers={"Accept-Language": "zh-CN"})
        assert body["errors"][0]["extensions"] == {"code": "INVALID", "fields": [[field]]}, body


def test_a_customers_orders_are_handed_over_in_one_step_or_not_at_all(gql, tenant, owner_db, make_customer):  # type: ignore[no-untyped-def]
    world, batch, a, b, orders = _world(gql, tenant, owner_db, make_customer)
    mine = [orders[0]["id"], orders[2]["id"]]
    _ready(owner_db, orders[0])
    owner_db.execute("UPDATE customer_order SET status = 'CONFIRMED' WHERE id = %s",
                     (global_id.decode_as(orders[2]["id"], "Order"),))
    refused = gql.data(CONFIRM, {"p": world.point_gid, "ids": mine}, token=world.leader_token,
                       headers={"Accept-Language": "zh-CN"})["pickupConfirmOrders"]
    assert [(e["code"], e["field"]) for e in refused["errors"]] == [("NOT_ARRIVED", ["orderIds", "1"])]
    assert orders[2]["number"] in refused["errors"][0]["message"] and "订单" in refused["errors"][0]["message"]
    states = owner_db.execute("SELECT status FROM customer_order WHERE id = ANY(%s)",
                              ([global_id.decode_as(i, "Order") for i in mine],)).fetchall()
    assert sorted(s for (s,) in states) == ["CONFIRMED", "READY_FOR_PICKUP"]  # nothing half-done

    _ready(owner_db, orders[2])
    _, _, stranger = add_leader(owner_db, tenant)
    other = gql.data(CONFIRM, {"p": world.point_gid, "ids": mine}, token=stranger)["pickupConfirmOrders"]
    assert [e["code"] for e in other["errors"]] == ["FORBIDDEN"]
    elsewhere = gql.data(CONFIRM, {"p": world.point_gid, "ids": [*mine, global_id.encode("Order", uuid.uuid4())]},
                         token=world.leader_token)["pickupConfirmOrders"]
    assert [(e["code"], e["field"]) for e in elsewhere["errors"]] == [("NOT_FOUND", ["orderIds", "2"])]

    done = gql.data(CONFIRM, {"p": world.point_gid, "ids": mine}, token=world.leader_token)["pickupConfirmOrders"]
    assert done["errors"] == [] and done["alreadyPickedUp"] == []
    assert [(o["id"], o["status"]) for o in done["orders"]] == [(i, "PICKED_UP") for i in mine]
    again = gql.data(CONFIRM, {"p": world.point_gid, "ids": mine}, token=world.leader_token)["pickupConfirmOrders"]
    assert again["errors"] == [] and again["alreadyPickedUp"] == mine
    events = owner_db.execute("SELECT count(*) FROM outbox_event WHERE tenant_id = %s AND event = 'ORDER_PICKED_UP'",
                              (tenant.uuid,)).fetchone()[0]
    assert events == 2  # one per order handed over, none for confirming again


def back_by(owner_db, point_id, interval: str) -> None:  # type: ignore[no-untyped-def]
    """Moves the last reminder back; the moment is computed first (Citus refuses a stable
    function applied to a column in an UPDATE)."""
    (at,) = owner_db.execute("SELECT reminded_at - CAST(%s AS interval) FROM pickup_point WHERE id = %s",
                             (interval, point_id)).fetchone()
    owner_db.execute("UPDATE pickup_point SET reminded_at = %s WHERE id = %s", (at, point_id))


def test_pickup_reminders_list_the_waiting_and_are_rate_limited(gql, tenant, owner_db, make_customer):  # type: ignore[no-untyped-def]
    from service.notify.relay import relay_tenant

    world, batch, a, b, orders = _world(gql, tenant, owner_db, make_customer)
    _ready(owner_db, *orders)
    owner_db.execute("UPDATE pickup_point SET name = '幸福里便利店' WHERE id = %s", (world.point_id,))
    waiting = gql.data(WAITING, {"p": world.point_gid}, token=world.leader_token)["pickupWaiting"]
    assert [(w["phone"], w["orderCount"], w["orderIds"]) for w in waiting] == [
        (a.phone, 2, [orders[0]["id"], orders[2]["id"]]), (b.phone, 1, [orders[1]["id"]])]
    assert gql(WAITING, {"p": world.point_gid}, token=a.token)["errors"][0]["extensions"]["code"] == "FORBIDDEN"

    first = gql.data(REMIND, {"p": world.point_gid}, token=world.leader_token)["pickupRemind"]
    assert first == {"reminded": 2, "errors": []}
    second = gql.data(REMIND, {"p": world.point_gid}, token=world.leader_token,
                      headers={"Accept-Language": "zh-CN"})["pickupRemind"]
    assert second["reminded"] == 0 and [e["code"] for e in second["errors"]] == ["RATE_LIMITED"]
    assert "60 分钟" in second["errors"][0]["message"]
    # The interval ends: a reminder an interval (60 minutes) ago no longer holds the next one back.
    back_by(owner_db, world.point_id, "59 minutes")
    assert gql.data(REMIND, {"p": world.point_gid}, token=world.leader_token)["pickupRemind"]["errors"] != []
    back_by(owner_db, world.point_id, "1 minute")
    assert gql.data(REMIND, {"p": world.point_gid}, token=world.leader_token)["pickupRemind"] == {
        "reminded": 2, "errors": []}

    run_db(lambda engine: relay_tenant(tenant.uuid, engine=engine))
    query = "{ notifications(first: 10) { edges { node { event title body } } } }"
    edges = gql.data(query, token=a.token, headers={"Accept-Language": "zh-CN"})["notifications"]["edges"]
    reminders = [e["node"] for e in edges if e["node"]["event"] == "PICKUP_REMINDER"]
    assert reminders and reminders[0]["title"] == "请尽快取货"
    assert reminders[0]["body"] == "您在自提点「幸福里便利店」有 2 个订单待取货，请尽快取货。"
