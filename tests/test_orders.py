"""Ordering, one request at a time: snapshots, validation with field paths, idempotency, limits,
cancellation, payment, expiry, role-scoped reads and pickup."""

from __future__ import annotations

import re
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from service import global_id
from tests.ordering_fixtures import (
    OFFER_QUERY,
    ORDER_CANCEL,
    ORDER_MARK_PAID,
    ORDER_PLACE,
    add_leader,
    add_pickup_point,
    bulk_customers,
    create_batch,
    make_world,
    offer_input,
    offer_state,
    open_batch_with_offers,
    place_input,
    run_domain,
)

ORDERS = """
query($b: ID, $p: ID, $s: [OrderStatus!], $first: Int, $after: String) {
  orders(batchId: $b, pickupPointId: $p, status: $s, first: $first, after: $after) {
    edges { node { id number status pickupCode } cursor } pageInfo { hasNextPage endCursor }
  }
}"""
ORDER = "query($id: ID!) { order(id: $id) { id number pickupCode } }"
PICKUP = """
mutation($p: ID!, $c: String!) {
  pickupConfirm(pickupPointId: $p, pickupCode: $c) { order { id status pickedUpAt } alreadyPickedUp errors { code field } }
}"""


def _errors(payload):  # type: ignore[no-untyped-def]
    return [(e["code"], e["field"]) for e in payload["errors"]]


def _uuid(gid: str) -> uuid.UUID:
    return global_id.decode(gid)[1]  # type: ignore[index]


def test_place_snapshots_number_code_and_attribution(gql, make_tenant, owner_db, make_customer):  # type: ignore[no-untyped-def]
    tenant = make_tenant(paymentMode="PAY_AT_PICKUP")
    world = make_world(owner_db, tenant)
    batch = open_batch_with_offers(
        gql, world, [offer_input(world, 0, price="12.50", stockLimit=10), offer_input(world, 1, price="3.00")]
    )
    customer = make_customer(tenant, "王五")
    payload = gql.data(ORDER_PLACE, place_input(batch, world, [(0, 2), (1, 5)]), token=customer.token)[
        "orderPlace"
    ]
    assert payload["errors"] == []
    order = payload["order"]
    assert order["status"] == "PLACED" and order["customerName"] == "王五"
    assert re.fullmatch(r"GB[0-9A-Z]{8}", order["number"])
    assert re.fullmatch(r"[0-9]{6}", order["pickupCode"])
    assert order["total"] == {"amount": "40.00", "currency": "CNY"}
    assert [
        (ln["productName"], ln["quantity"], ln["unitPrice"]["amount"], ln["total"]["amount"])
        for ln in order["lines"]
    ] == [("Product 0", 2, "12.50", "25.00"), ("Product 1", 5, "3.00", "15.00")]
    assert (
        order["lines"][0]["offer"]["remainingStock"] == 8
        and order["lines"][1]["offer"]["remainingStock"] is None
    )
    # the snapshot does not move when the product is renamed
    owner_db.execute("UPDATE product SET name = 'Renamed' WHERE id = %s", (world.product_ids[0],))
    again = gql.data(ORDER, {"id": order["id"]}, token=customer.token)["order"]
    assert again["number"] == order["number"]
    row = owner_db.execute(
        "SELECT leader_id, commission_rate, total_minor, commit_checked_at IS NOT NULL "
        "FROM customer_order WHERE id = %s",
        (_uuid(order["id"]),),
    ).fetchone()
    assert row[0] == world.leader_id and str(row[1]) == "0.1000" and row[2] == 4000 and row[3]
    assert owner_db.execute(
        "SELECT product_name FROM order_line WHERE order_id = %s ORDER BY position", (_uuid(order["id"]),)
    ).fetchall() == [("Product 0",), ("Product 1",)]


def test_place_validation(gql, tenant, owner_db, make_customer):  # type: ignore[no-untyped-def]
    world = make_world(owner_db, tenant)
    batch = open_batch_with_offers(gql, world, [offer_input(world, 0), offer_input(world, 1)])
    other = open_batch_with_offers(gql, world, [offer_input(world, 2)])
    customer = make_customer(tenant)
    bad = place_input(batch, world, [(0, 0), (0, 1)])
    bad["input"]["lines"].append({"offerId": other["offers"][0]["id"], "quantity": 1})
    got = gql.data(ORDER_PLACE, bad, token=customer.token)["orderPlace"]
    assert _errors(got) == [("INVALID", ["input", "lines", "0", "quantity"]), ("INVALID", ["input", "lines", "1", "offerId"])]
    wrong_batch = place_input(batch, world, [(0, 1)])
    wrong_batch["input"]["lines"][0]["offerId"] = other["offers"][0]["id"]
    assert _errors(gql.data(ORDER_PLACE, wrong_batch, token=customer.token)["orderPlace"]) == [
        ("NOT_FOUND", ["input", "lines", "0", "offerId"])
    ]
    empty = place_input(batch, world, [])
    assert _errors(gql.data(ORDER_PLACE, empty, token=customer.token)["orderPlace"]) == [
        ("INVALID", ["input", "lines"])
    ]
    # inactive pickup point, and a point of a suspended leader
    inactive = place_input(batch, world, [(0, 1)])
    inactive["input"]["pickupPointId"] = global_id.encode(
        "PickupPoint", add_pickup_point(owner_db, tenant, world.leader_id, False)
    )
    assert _errors(gql.data(ORDER_PLACE, inactive, token=customer.token)["orderPlace"]) == [
        ("INVALID", ["input", "pickupPointId"])
    ]
    _, suspended, _ = add_leader(owner_db, tenant, status="SUSPENDED")
    at_suspended = place_input(batch, world, [(0, 1)])
    at_suspended["input"]["pickupPointId"] = global_id.encode(
        "PickupPoint", add_pickup_point(owner_db, tenant, suspended)
    )
    assert _errors(gql.data(ORDER_PLACE, at_suspended, token=customer.token)["orderPlace"]) == [
        ("INVALID", ["input", "pickupPointId"])
    ]
    # a batch that is not open, and anonymous callers
    scheduled = create_batch(gql, world, [offer_input(world, 0)], opens_in=600)
    assert _errors(
        gql.data(ORDER_PLACE, place_input(scheduled, world, [(0, 1)]), token=customer.token)["orderPlace"]
    ) == [("BATCH_NOT_OPEN", ["input", "batchId"])]
    assert _errors(
        gql.data(ORDER_PLACE, place_input(batch, world, [(0, 1)]), tenant=tenant.slug)["orderPlace"]
    ) == [("FORBIDDEN", None)]
    assert (
        owner_db.execute(
            "SELECT count(*) FROM customer_order WHERE tenant_id = %s", (tenant.uuid,)
        ).fetchone()[0]
        == 0
    )
    assert offer_state(owner_db, batch["offers"][0]["id"])[0] == 0


def test_after_cutoff_is_refused(gql, tenant, owner_db, make_customer):  # type: ignore[no-untyped-def]
    world = make_world(owner_db, tenant)
    batch = open_batch_with_offers(gql, world, [offer_input(world, 0)])
    # statement_timestamp(): Citus refuses a volatile function in an UPDATE of a distributed table.
    owner_db.execute(
        "UPDATE batch SET closes_at = statement_timestamp() - interval '1 second' WHERE tenant_id = %s AND id = %s",
        (tenant.uuid, _uuid(batch["id"])),
    )
    got = gql.data(ORDER_PLACE, place_input(batch, world, [(0, 1)]), token=make_customer(tenant).token)[
        "orderPlace"
    ]
    assert _errors(got) == [("BATCH_NOT_OPEN", ["input", "batchId"])]


def test_idempotency_key_replay_and_misuse(gql, tenant, owner_db, make_customer):  # type: ignore[no-untyped-def]
    world = make_world(owner_db, tenant)
    batch = open_batch_with_offers(gql, world, [offer_input(world, 0, stockLimit=10), offer_input(world, 1)])
    customer, other = make_customer(tenant), make_customer(tenant)
    first = gql.data(
        ORDER_PLACE, place_input(batch, world, [(0, 2), (1, 1)], key="k-1"), token=customer.token
    )
    # lines in another order are the same request
    replay = gql.data(
        ORDER_PLACE, place_input(batch, world, [(1, 1), (0, 2)], key="k-1"), token=customer.token
    )
    assert replay["orderPlace"]["order"]["id"] == first["orderPlace"]["order"]["id"]
    misuse = gql.data(ORDER_PLACE, place_input(batch, world, [(0, 3)], key="k-1"), token=customer.token)[
        "orderPlace"
    ]
    assert _errors(misuse) == [("INVALID", ["input", "idempotencyKey"])] and misuse["order"] is None
    # another customer's key space is their own
    theirs = gql.data(ORDER_PLACE, place_input(batch, world, [(0, 1)], key="k-1"), token=other.token)[
        "orderPlace"
    ]
    assert theirs["errors"] == [] and theirs["order"]["id"] != first["orderPlace"]["order"]["id"]
    assert offer_state(owner_db, batch["offers"][0]["id"]) == (3, 10, 3)


def test_stock_and_customer_limits_all_lines_or_none(gql, tenant, owner_db, make_customer):  # type: ignore[no-untyped-def]
    world = make_world(owner_db, tenant)
    batch = open_batch_with_offers(
        gql, world, [offer_input(world, 0, stockLimit=3), offer_input(world, 1, perCustomerLimit=2)]
    )
    a, b = make_customer(tenant), make_customer(tenant)
    too_many = gql.data(ORDER_PLACE, place_input(batch, world, [(0, 4)]), token=a.token)["orderPlace"]
    assert _errors(too_many) == [("OUT_OF_STOCK", ["input", "lines", "0", "quantity"])]
    assert (
        gql.data(ORDER_PLACE, place_input(batch, world, [(1, 2)]), token=a.token)["orderPlace"]["errors"]
        == []
    )
    # line 0 fits, line 1 breaks a's per-customer limit: nothing of the order stays
    mixed = gql.data(ORDER_PLACE, place_input(batch, world, [(0, 2), (1, 1)]), token=a.token)["orderPlace"]
    assert _errors(mixed) == [("LIMIT_EXCEEDED", ["input", "lines", "1", "quantity"])]
    assert offer_state(owner_db, batch["offers"][0]["id"]) == (0, 3, 0)
    assert offer_state(owner_db, batch["offers"][1]["id"]) == (2, None, 2)
    # b has their own allowance
    assert (
        gql.data(ORDER_PLACE, place_input(batch, world, [(0, 3), (1, 2)]), token=b.token)["orderPlace"][
            "errors"
        ]
        == []
    )
    remaining = gql.data(OFFER_QUERY, {"id": batch["offers"][0]["id"]}, tenant=tenant.slug)["node"]
    assert remaining == {"soldQuantity": 3, "remainingStock": 0, "stockLimit": 3}


def test_cancel_releases_stock_at_once(gql, tenant, owner_db, make_customer):  # type: ignore[no-untyped-def]
    world = make_world(owner_db, tenant)
    batch = open_batch_with_offers(gql, world, [offer_input(world, 0, stockLimit=2, perCustomerLimit=2)])
    a, b = make_customer(tenant), make_customer(tenant)
    order = gql.data(ORDER_PLACE, place_input(batch, world, [(0, 2)]), token=a.token)["orderPlace"]["order"]
    assert _errors(
        gql.data(ORDER_PLACE, place_input(batch, world, [(0, 1)]), token=b.token)["orderPlace"]
    ) == [("OUT_OF_STOCK", ["input", "lines", "0", "quantity"])]
    assert _errors(gql.data(ORDER_CANCEL, {"id": order["id"]}, token=b.token)["orderCancel"]) == [
        ("NOT_FOUND", ["id"])
    ]
    done = gql.data(ORDER_CANCEL, {"id": order["id"]}, token=a.token)["orderCancel"]
    assert done["errors"] == [] and done["order"]["status"] == "CANCELLED"
    assert (
        gql.data(ORDER_CANCEL, {"id": order["id"]}, token=a.token)["orderCancel"]["errors"] == []
    )  # twice: fine
    assert offer_state(owner_db, batch["offers"][0]["id"]) == (0, 2, 0)
    # a's allowance came back too
    assert (
        gql.data(ORDER_PLACE, place_input(batch, world, [(0, 2)]), token=a.token)["orderPlace"]["errors"]
        == []
    )


def test_mark_paid_needs_the_api_key_and_is_idempotent(gql, tenant, owner_db, make_customer):  # type: ignore[no-untyped-def]
    world = make_world(owner_db, tenant)
    batch = open_batch_with_offers(gql, world, [offer_input(world, 0, price="5.00")])
    customer = make_customer(tenant)
    order = gql.data(ORDER_PLACE, place_input(batch, world, [(0, 1)]), token=customer.token)["orderPlace"][
        "order"
    ]
    assert order["status"] == "PENDING_PAYMENT"
    for token in (customer.token, tenant.admin_token):
        assert _errors(
            gql.data(ORDER_MARK_PAID, {"id": order["id"], "ref": "p1"}, token=token)["orderMarkPaid"]
        ) == [("FORBIDDEN", None)]
    key = tenant.api_key
    assert (
        gql.data(ORDER_MARK_PAID, {"id": order["id"], "ref": "p1"}, token=key)["orderMarkPaid"]["order"][
            "status"
        ]
        == "PAID"
    )
    assert (
        gql.data(ORDER_MARK_PAID, {"id": order["id"], "ref": "p1"}, token=key)["orderMarkPaid"]["errors"]
        == []
    )
    assert _errors(
        gql.data(ORDER_MARK_PAID, {"id": order["id"], "ref": "p2"}, token=key)["orderMarkPaid"]
    ) == [("CONFLICT", ["paymentReference"])]
    # a paid order cancelled by its customer is refunded
    cancelled = gql.data(ORDER_CANCEL, {"id": order["id"]}, token=customer.token)["orderCancel"]["order"]
    assert cancelled["refunded"] == {"amount": "5.00"}


def test_unpaid_orders_expire_and_release_stock(gql, tenant, owner_db, make_customer):  # type: ignore[no-untyped-def]
    from service.orders.expiry import expire_unpaid_orders

    world = make_world(owner_db, tenant)
    batch = open_batch_with_offers(gql, world, [offer_input(world, 0, stockLimit=5)])
    customer = make_customer(tenant)
    old = gql.data(ORDER_PLACE, place_input(batch, world, [(0, 2)]), token=customer.token)["orderPlace"][
        "order"
    ]
    fresh = gql.data(ORDER_PLACE, place_input(batch, world, [(0, 1)]), token=customer.token)["orderPlace"][
        "order"
    ]
    # The new time computed first: Citus refuses a stable function (timestamptz - interval) of a
    # column in an UPDATE of a distributed table.
    created = owner_db.execute("SELECT created_at FROM customer_order WHERE tenant_id = %s AND id = %s",
                               (tenant.uuid, _uuid(old["id"]))).fetchone()[0]
    owner_db.execute(
        "UPDATE customer_order SET created_at = %s WHERE tenant_id = %s AND id = %s",
        (created - timedelta(minutes=16), tenant.uuid, _uuid(old["id"])),
    )
    assert run_domain(lambda e: expire_unpaid_orders(tenant.uuid, engine=e)) == 1
    assert run_domain(lambda e: expire_unpaid_orders(tenant.uuid, engine=e)) == 0
    run_domain(lambda e: expire_unpaid_orders(engine=e))  # the scheduler's form: every tenant
    statuses = dict(
        owner_db.execute(
            "SELECT id, status FROM customer_order WHERE batch_id = %s", (_uuid(batch["id"]),)
        ).fetchall()
    )
    assert statuses == {_uuid(old["id"]): "CANCELLED", _uuid(fresh["id"]): "PENDING_PAYMENT"}
    assert offer_state(owner_db, batch["offers"][0]["id"]) == (1, 5, 1)
    late = gql.data(ORDER_MARK_PAID, {"id": old["id"], "ref": "late"}, token=tenant.api_key)["orderMarkPaid"]
    assert _errors(late) == [("CONFLICT", ["id"])]


def test_orders_are_scoped_by_role(gql, tenant, owner_db, make_customer):  # type: ignore[no-untyped-def]
    world = make_world(owner_db, tenant)
    batch = open_batch_with_offers(gql, world, [offer_input(world, 0)])
    _, other_leader, other_token = add_leader(owner_db, tenant)
    other_point = add_pickup_point(owner_db, tenant, other_leader)
    a, b = make_customer(tenant), make_customer(tenant)
    mine = [
        gql.data(ORDER_PLACE, place_input(batch, world, [(0, 1)]), token=a.token)["orderPlace"]["order"]["id"]
        for _ in range(3)
    ]
    at_other = place_input(batch, world, [(0, 1)])
    at_other["input"]["pickupPointId"] = global_id.encode("PickupPoint", other_point)
    theirs = gql.data(ORDER_PLACE, at_other, token=b.token)["orderPlace"]["order"]["id"]

    def ids(token, **v):  # type: ignore[no-untyped-def]
        return [e["node"]["id"] for e in gql.data(ORDERS, v, token=token)["orders"]["edges"]]

    assert ids(a.token) == mine
    assert ids(b.token) == [theirs]
    assert ids(world.leader_token) == mine
    assert ids(other_token) == [theirs]
    assert ids(tenant.admin_token) == [*mine, theirs]
    assert ids(tenant.admin_token, p=global_id.encode("PickupPoint", other_point)) == [theirs]
    assert ids(tenant.admin_token, s=["CANCELLED"]) == []
    assert gql.data(ORDER, {"id": theirs}, token=a.token)["order"] is None
    # The pickup code is the customer's secret: their own order shows it, admins see it, the
    # point's leader reaches the order but not its code (they check the code the customer shows).
    code = owner_db.execute("SELECT pickup_code FROM customer_order WHERE id = %s", (_uuid(theirs),)).fetchone()[0]
    assert gql.data(ORDER, {"id": theirs}, token=b.token)["order"]["pickupCode"] == code
    assert gql.data(ORDER, {"id": theirs}, token=tenant.admin_token)["order"]["pickupCode"] == code
    leader_sees = gql.data(ORDER, {"id": theirs}, token=other_token)["order"]
    assert leader_sees["id"] == theirs and leader_sees["pickupCode"] is None
    leaders_view = gql.data(ORDERS, {"p": global_id.encode("PickupPoint", other_point)}, token=other_token)["orders"]
    assert [e["node"]["pickupCode"] for e in leaders_view["edges"]] == [None]
    assert all(e["node"]["pickupCode"] for e in gql.data(ORDERS, {}, token=a.token)["orders"]["edges"])
    page = gql.data(ORDERS, {"first": 2}, token=a.token)["orders"]
    assert page["pageInfo"]["hasNextPage"]
    rest = gql.data(ORDERS, {"first": 2, "after": page["pageInfo"]["endCursor"]}, token=a.token)["orders"]
    assert [e["node"]["id"] for e in page["edges"] + rest["edges"]] == mine
    assert gql(ORDERS, {}, tenant=tenant.slug)["errors"][0]["extensions"]["code"] == "FORBIDDEN"


def test_pickup_confirm(gql, tenant, owner_db, make_customer):  # type: ignore[no-untyped-def]
    world = make_world(owner_db, tenant)
    batch = open_batch_with_offers(gql, world, [offer_input(world, 0)])
    customer = make_customer(tenant)
    order = gql.data(ORDER_PLACE, place_input(batch, world, [(0, 1)]), token=customer.token)["orderPlace"][
        "order"
    ]
    point, code = world.point_gid, order["pickupCode"]
    not_yet = gql.data(PICKUP, {"p": point, "c": code}, token=world.leader_token)["pickupConfirm"]
    assert _errors(not_yet) == [("CONFLICT", ["pickupCode"])]
    # the close and deliveryReceive (another module: tests/test_after_close.py) move the order on;
    # here the row is moved directly. Confirmed but not arrived: no pickup yet.
    owner_db.execute("UPDATE customer_order SET status = 'CONFIRMED' WHERE id = %s", (_uuid(order["id"]),))
    not_arrived = gql.data(PICKUP, {"p": point, "c": code}, token=world.leader_token)["pickupConfirm"]
    assert _errors(not_arrived) == [("NOT_ARRIVED", ["pickupCode"])]
    owner_db.execute("UPDATE customer_order SET status = 'READY_FOR_PICKUP' WHERE id = %s", (_uuid(order["id"]),))
    _, _, stranger = add_leader(owner_db, tenant)
    assert _errors(gql.data(PICKUP, {"p": point, "c": code}, token=stranger)["pickupConfirm"]) == [
        ("FORBIDDEN", ["pickupPointId"])
    ]
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    assert _errors(gql.data(PICKUP, {"p": point, "c": wrong}, token=world.leader_token)["pickupConfirm"]) == [
        ("NOT_FOUND", ["pickupCode"])
    ]
    done = gql.data(PICKUP, {"p": point, "c": code}, token=world.leader_token)["pickupConfirm"]
    assert done["errors"] == [] and done["order"]["status"] == "PICKED_UP" and done["order"]["pickedUpAt"]
    assert done["alreadyPickedUp"] is False
    again = gql.data(PICKUP, {"p": point, "c": code}, token=world.leader_token)["pickupConfirm"]
    assert again["errors"] == [] and again["order"]["id"] == order["id"] and again["alreadyPickedUp"] is True
    assert again["order"]["pickedUpAt"] == done["order"]["pickedUpAt"]


def test_concurrent_confirmations_of_one_code_hand_it_over_once(gql, tenant, owner_db, make_customer):  # type: ignore[no-untyped-def]
    """Several taps on two phones at once: one confirmation picks the order up, every other one
    answers alreadyPickedUp, and the pickup is recorded once (one event, one commission)."""
    from tests.conftest import GraphQLClient

    world = make_world(owner_db, tenant)
    batch = open_batch_with_offers(gql, world, [offer_input(world, 0)])
    customer = make_customer(tenant)
    order = gql.data(ORDER_PLACE, place_input(batch, world, [(0, 1)]), token=customer.token)["orderPlace"][
        "order"
    ]
    owner_db.execute("UPDATE customer_order SET status = 'READY_FOR_PICKUP' WHERE id = %s", (_uuid(order["id"]),))
    clients = [GraphQLClient(gql.base_url) for _ in range(6)]
    start = threading.Barrier(len(clients))

    def confirm(client: GraphQLClient) -> dict:
        start.wait()
        return client.data(PICKUP, {"p": world.point_gid, "c": order["pickupCode"]}, token=world.leader_token)[
            "pickupConfirm"
        ]

    with ThreadPoolExecutor(len(clients)) as pool:
        answers = list(pool.map(confirm, clients))
    assert all(a["errors"] == [] and a["order"]["status"] == "PICKED_UP" for a in answers), answers
    assert sorted(a["alreadyPickedUp"] for a in answers) == [False] + [True] * (len(clients) - 1)
    events = owner_db.execute(
        "SELECT count(*) FROM outbox_event WHERE event = 'ORDER_PICKED_UP' AND subject_id = %s",
        (_uuid(order["id"]),),
    ).fetchone()[0]
    assert events == 1


def test_wrong_pickup_codes_are_rate_limited(gql, tenant, owner_db, make_customer):  # type: ignore[no-untyped-def]
    world = make_world(owner_db, tenant)
    batch = open_batch_with_offers(gql, world, [offer_input(world, 0)])
    customer = make_customer(tenant)
    order = gql.data(ORDER_PLACE, place_input(batch, world, [(0, 1)]), token=customer.token)["orderPlace"][
        "order"
    ]
    owner_db.execute(
        "UPDATE customer_order SET status = 'READY_FOR_PICKUP' WHERE id = %s", (_uuid(order["id"]),)
    )
    codes = {order["pickupCode"]}
    attempts = 0
    while attempts < 10:
        guess = f"{uuid.uuid4().int % 10**6:06d}"
        if guess in codes:
            continue
        attempts += 1
        got = gql.data(PICKUP, {"p": world.point_gid, "c": guess}, token=world.leader_token)["pickupConfirm"]
        assert _errors(got) == [("NOT_FOUND", ["pickupCode"])]
    # now even the right code is refused until the window passes
    blocked = gql.data(PICKUP, {"p": world.point_gid, "c": order["pickupCode"]}, token=world.leader_token)[
        "pickupConfirm"
    ]
    assert _errors(blocked) == [("RATE_LIMITED", ["pickupCode"])]
    assert (
        owner_db.execute("SELECT status FROM customer_order WHERE id = %s", (_uuid(order["id"]),)).fetchone()[
            0
        ]
        == "READY_FOR_PICKUP"
    )


def test_bulk_customers_can_order(gql, make_tenant, owner_db):  # type: ignore[no-untyped-def]
    tenant = make_tenant(paymentMode="PAY_AT_PICKUP")
    world = make_world(owner_db, tenant)
    batch = open_batch_with_offers(gql, world, [offer_input(world, 0)])
    ((_, token),) = bulk_customers(owner_db, tenant, 1)
    assert (
        gql.data(ORDER_PLACE, place_input(batch, world, [(0, 1)]), token=token)["orderPlace"]["errors"] == []
    )


def test_another_tenants_ids_behave_like_missing_ones(gql, make_tenant, owner_db, make_customer):  # type: ignore[no-untyped-def]
    a, b = make_tenant(), make_tenant()
    world_a, world_b = make_world(owner_db, a), make_world(owner_db, b)
    batch_a = open_batch_with_offers(gql, world_a, [offer_input(world_a, 0)])
    customer_a = make_customer(a)
    order_a = gql.data(ORDER_PLACE, place_input(batch_a, world_a, [(0, 1)]), token=customer_a.token)[
        "orderPlace"
    ]
    customer_b = make_customer(b)
    # b's customer names a's batch, point and offer
    got = gql.data(ORDER_PLACE, place_input(batch_a, world_a, [(0, 1)]), token=customer_b.token)["orderPlace"]
    assert _errors(got) == [("NOT_FOUND", ["input", "batchId"])]
    assert (
        gql.data("query($id: ID!) { batch(id: $id) { id } }", {"id": batch_a["id"]}, token=b.admin_token)[
            "batch"
        ]
        is None
    )
    assert gql.data(ORDER, {"id": order_a["order"]["id"]}, token=b.admin_token)["order"] is None
    assert gql.data(OFFER_QUERY, {"id": batch_a["offers"][0]["id"]}, token=b.admin_token)["node"] is None
    assert _errors(
        gql.data(ORDER_MARK_PAID, {"id": order_a["order"]["id"], "ref": "x"}, token=b.api_key)[
            "orderMarkPaid"
        ]
    ) == [("NOT_FOUND", ["id"])]
    assert _errors(
        gql.data(ORDER_CANCEL, {"id": order_a["order"]["id"]}, token=customer_b.token)["orderCancel"]
    ) == [("NOT_FOUND", ["id"])]
    assert (
        gql("{ batches { edges { node { id } } } }")["errors"][0]["extensions"]["code"] == "TENANT_REQUIRED"
    )
    assert world_b.point_id != world_a.point_id
