"""Batches: creation with validation (field paths), offers, publication, opening, visibility, cancel."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from service import global_id
from tests.ordering_fixtures import (
    BATCH_CREATE,
    BATCH_PUBLISH,
    ORDER_MARK_PAID,
    ORDER_PLACE,
    create_batch,
    iso,
    make_world,
    offer_input,
    open_batch_with_offers,
    place_input,
    run_domain,
)
from tests.reliability.invariants import SOLD_SQL

BATCHES = "query($s: [BatchStatus!]) { batches(status: $s) { edges { node { id status title } } } }"
BATCH = "query($id: ID!) { batch(id: $id) { id status offers { id soldQuantity } } }"
OFFER_ADD = """
mutation($b: ID!, $input: OfferInput!) {
  batchOfferAdd(batchId: $b, input: $input) { offer { id price { amount } batch { id } product { id name } }
  errors { code field message } }
}"""
BATCH_CANCEL = """
mutation($id: ID!, $r: String!) {
  batchCancel(id: $id, reason: $r) { batch { id status } errors { code field } }
}"""


def _create(gql, world, **input):  # type: ignore[no-untyped-def]
    now = datetime.now(UTC)
    base = {
        "title": "B",
        "opensAt": iso(now + timedelta(hours=1)),
        "closesAt": iso(now + timedelta(hours=5)),
        "pickupDate": (now + timedelta(days=2)).date().isoformat(),
        "offers": [],
    }
    return gql.data(BATCH_CREATE, {"input": {**base, **input}}, token=world.tenant.admin_token)["batchCreate"]


def test_create_validation_names_fields(gql, tenant, owner_db):  # type: ignore[no-untyped-def]
    world = make_world(owner_db, tenant)
    now = datetime.now(UTC)
    payload = _create(
        gql,
        world,
        title=" ",
        opensAt=iso(now + timedelta(hours=2)),
        closesAt=iso(now + timedelta(hours=1)),
        offers=[
            offer_input(world, 0),
            offer_input(world, 1, price="0"),
            offer_input(world, 2, price="1.234"),
            offer_input(world, 0),
            offer_input(world, 1, stockLimit=0, perCustomerLimit=0, minGroupQuantity=0),
            {"productId": "nope", "price": "1"},
        ],
    )
    got = {(e["code"], tuple(e["field"])) for e in payload["errors"]}
    assert got == {
        ("INVALID", ("input", "title",)),
        ("INVALID", ("input", "closesAt",)),
        ("INVALID", ("input", "offers", "1", "price")),
        ("INVALID", ("input", "offers", "2", "price")),
        ("INVALID", ("input", "offers", "3", "productId")),
        ("INVALID", ("input", "offers", "4", "productId")),
        ("INVALID", ("input", "offers", "4", "stockLimit")),
        ("INVALID", ("input", "offers", "4", "perCustomerLimit")),
        ("INVALID", ("input", "offers", "4", "minGroupQuantity")),
        ("NOT_FOUND", ("input", "offers", "5", "productId")),
    }, payload["errors"]
    assert payload["batch"] is None
    assert (
        owner_db.execute("SELECT count(*) FROM batch WHERE tenant_id = %s", (tenant.uuid,)).fetchone()[0] == 0
    )


def test_pickup_date_in_tenant_time_zone(gql, tenant, owner_db):  # type: ignore[no-untyped-def]
    world = make_world(owner_db, tenant)
    # 2030-01-01 17:00 UTC is already 2030-01-02 01:00 in Asia/Shanghai (the tenant's zone).
    close = datetime(2030, 1, 1, 17, 0, tzinfo=UTC)
    bad = _create(
        gql, world, opensAt=iso(close - timedelta(hours=3)), closesAt=iso(close), pickupDate="2030-01-01"
    )
    assert [(e["code"], e["field"]) for e in bad["errors"]] == [("INVALID", ["input", "pickupDate"])]
    good = _create(
        gql, world, opensAt=iso(close - timedelta(hours=3)), closesAt=iso(close), pickupDate="2030-01-02"
    )
    assert good["errors"] == []


def test_offers_money_and_jpy_decimals(gql, make_tenant, owner_db):  # type: ignore[no-untyped-def]
    tenant = make_tenant(currency="JPY")
    world = make_world(owner_db, tenant)
    bad = _create(gql, world, offers=[offer_input(world, 0, price="9.5")])
    assert [(e["code"], e["field"]) for e in bad["errors"]] == [("INVALID", ["input", "offers", "0", "price"])]
    ok = _create(gql, world, offers=[offer_input(world, 0, price="980", stockLimit=5)])
    assert ok["batch"]["offers"][0]["price"] == {"amount": "980", "currency": "JPY"}
    assert (
        owner_db.execute("SELECT price_minor FROM offer WHERE tenant_id = %s", (tenant.uuid,)).fetchone()[0]
        == 980
    )


def test_offer_add_publish_and_states(gql, tenant, owner_db):  # type: ignore[no-untyped-def]
    world = make_world(owner_db, tenant)
    admin = tenant.admin_token
    batch = _create(gql, world)["batch"]
    # no offers yet: cannot publish
    assert (
        gql.data(BATCH_PUBLISH, {"id": batch["id"]}, token=admin)["batchPublish"]["errors"][0]["code"]
        == "INVALID"
    )
    added = gql.data(
        OFFER_ADD, {"b": batch["id"], "input": offer_input(world, 0, price="12.30")}, token=admin
    )["batchOfferAdd"]
    assert added["errors"] == [] and added["offer"]["price"]["amount"] == "12.30"
    assert added["offer"]["product"]["name"] == "Product 0"
    again = gql.data(OFFER_ADD, {"b": batch["id"], "input": offer_input(world, 0)}, token=admin)[
        "batchOfferAdd"
    ]
    assert [(e["code"], e["field"]) for e in again["errors"]] == [("ALREADY_EXISTS", ["input", "productId"])]
    assert (
        gql.data(BATCH_PUBLISH, {"id": batch["id"]}, token=admin)["batchPublish"]["batch"]["status"]
        == "SCHEDULED"
    )
    twice = gql.data(BATCH_PUBLISH, {"id": batch["id"]}, token=admin)["batchPublish"]
    assert twice["errors"][0]["code"] == "CONFLICT"
    # SCHEDULED still takes offers
    assert (
        gql.data(OFFER_ADD, {"b": batch["id"], "input": offer_input(world, 1)}, token=admin)["batchOfferAdd"][
            "errors"
        ]
        == []
    )
    # customers cannot create batches
    assert (
        gql.data(
            BATCH_CREATE,
            {
                "input": {
                    "title": "x",
                    "opensAt": iso(datetime.now(UTC)),
                    "closesAt": iso(datetime.now(UTC) + timedelta(hours=1)),
                    "pickupDate": "2099-01-01",
                }
            },
            tenant=tenant.slug,
        )["batchCreate"]["errors"][0]["code"]
        == "FORBIDDEN"
    )


def test_open_batch_offers_cannot_be_edited(gql, tenant, owner_db):  # type: ignore[no-untyped-def]
    world = make_world(owner_db, tenant)
    batch = open_batch_with_offers(gql, world, [offer_input(world, 0)])
    edit = gql.data(OFFER_ADD, {"b": batch["id"], "input": offer_input(world, 1)}, token=tenant.admin_token)[
        "batchOfferAdd"
    ]
    assert [(e["code"], e["field"]) for e in edit["errors"]] == [("CONFLICT", ["batchId"])]


def test_due_batches_open_once_by_the_scheduler_job(gql, tenant, owner_db):  # type: ignore[no-untyped-def]
    from service.batches.opening import open_due_batches

    world = make_world(owner_db, tenant)
    due = create_batch(gql, world, [offer_input(world, 0)], opens_in=-5)
    later = create_batch(gql, world, [offer_input(world, 1)], opens_in=3600, closes_in=7200)
    draft = create_batch(gql, world, [offer_input(world, 2)], opens_in=-5)
    for b in (due, later):
        gql.data(BATCH_PUBLISH, {"id": b["id"]}, token=tenant.admin_token)
    assert run_domain(lambda e: open_due_batches(engine=e)) >= 1
    assert run_domain(lambda e: open_due_batches(engine=e)) == 0  # nothing left to do
    status = {
        b["id"]: gql.data(BATCH, {"id": b["id"]}, token=tenant.admin_token)["batch"]["status"]
        for b in (due, later, draft)
    }
    assert status == {due["id"]: "OPEN", later["id"]: "SCHEDULED", draft["id"]: "DRAFT"}
    events = owner_db.execute(
        "SELECT count(*) FROM outbox_event WHERE tenant_id = %s AND event = 'BATCH_OPENED'", (tenant.uuid,)
    ).fetchone()[0]
    assert events == 1


def test_visibility_anonymous_vs_admin(gql, tenant, owner_db):  # type: ignore[no-untyped-def]
    world = make_world(owner_db, tenant)
    draft = create_batch(gql, world, [offer_input(world, 0)], title="draft")
    opened = open_batch_with_offers(gql, world, [offer_input(world, 1)], title="open")
    anon = [e["node"]["title"] for e in gql.data(BATCHES, tenant=tenant.slug)["batches"]["edges"]]
    assert anon == ["open"]
    admin = [e["node"]["title"] for e in gql.data(BATCHES, token=tenant.admin_token)["batches"]["edges"]]
    assert admin == ["draft", "open"]
    assert gql.data(BATCH, {"id": draft["id"]}, tenant=tenant.slug)["batch"] is None
    assert gql.data(BATCH, {"id": opened["id"]}, tenant=tenant.slug)["batch"]["status"] == "OPEN"
    only_draft = gql.data(BATCHES, {"s": ["DRAFT"]}, token=tenant.admin_token)["batches"]["edges"]
    assert [e["node"]["title"] for e in only_draft] == ["draft"]


def test_cancel_batch_cancels_orders_refunds_paid_and_notifies(gql, tenant, owner_db, make_customer):  # type: ignore[no-untyped-def]
    world = make_world(owner_db, tenant)
    batch = open_batch_with_offers(gql, world, [offer_input(world, 0, price="10.00", stockLimit=10)])
    a, b = make_customer(tenant), make_customer(tenant)
    oa = gql.data(ORDER_PLACE, place_input(batch, world, [(0, 2)]), token=a.token)["orderPlace"]["order"]
    ob = gql.data(ORDER_PLACE, place_input(batch, world, [(0, 3)]), token=b.token)["orderPlace"]["order"]
    assert (
        gql.data(ORDER_MARK_PAID, {"id": oa["id"], "ref": "pay-1"}, token=tenant.api_key)["orderMarkPaid"][
            "order"
        ]["status"]
        == "PAID"
    )
    done = gql.data(BATCH_CANCEL, {"id": batch["id"], "r": "supplier failed"}, token=tenant.admin_token)[
        "batchCancel"
    ]
    assert done["errors"] == [] and done["batch"]["status"] == "CANCELLED"
    rows = owner_db.execute(
        "SELECT status, refunded_minor FROM customer_order WHERE batch_id = %s ORDER BY number",
        (global_id.decode_as(batch["id"], "Batch"),),
    ).fetchall()
    assert sorted(rows) == [("CANCELLED", 0), ("CANCELLED", 2000)]
    refunds = owner_db.execute(
        "SELECT amount_minor FROM refund WHERE tenant_id = %s", (tenant.uuid,)
    ).fetchall()
    assert refunds == [(2000,)]
    assert (
        owner_db.execute(
            f"SELECT {SOLD_SQL} FROM offer o WHERE batch_id = %s", (global_id.decode_as(batch["id"], "Batch"),)
        ).fetchone()[0]
        == 0
    )
    events = dict(
        owner_db.execute(
            "SELECT event, count(*) FROM outbox_event WHERE tenant_id = %s GROUP BY event", (tenant.uuid,)
        ).fetchall()
    )
    assert events["BATCH_CANCELLED"] == 1 and events["ORDER_CANCELLED"] == 2 and events["REFUND_CREATED"] == 1
    again = gql.data(BATCH_CANCEL, {"id": batch["id"], "r": "again"}, token=tenant.admin_token)["batchCancel"]
    assert again["errors"][0]["code"] == "CONFLICT"
    late = gql.data(ORDER_PLACE, place_input(batch, world, [(0, 1)]), token=a.token)["orderPlace"]
    assert late["errors"][0]["code"] == "BATCH_NOT_OPEN"
    assert ob["status"] == "PENDING_PAYMENT"


def test_publish_sends_a_delayed_message_that_a_worker_uses_to_open(gql, tenant, owner_db):  # type: ignore[no-untyped-def]
    """No scheduler runs here: only the message sent at publish can open the batch."""
    import os
    import subprocess
    import sys
    import time

    from service.tasks import broker  # noqa: F401  (the broker before the actors)
    from service.tasks.batches import open_batch

    world = make_world(owner_db, tenant)
    batch = create_batch(gql, world, [offer_input(world, 0)], opens_in=2)
    assert (
        gql.data(BATCH_PUBLISH, {"id": batch["id"]}, token=tenant.admin_token)["batchPublish"]["errors"] == []
    )
    # a duplicate that arrives too early finds nothing to open yet and waits for the rest
    open_batch.send(str(tenant.uuid), str(global_id.decode_as(batch["id"], "Batch")))
    worker = subprocess.Popen(
        [sys.executable, "-m", "dramatiq", "--processes", "1", "--threads", "2", "service.tasks.worker"],
        env=os.environ.copy(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        status = None
        while time.monotonic() < deadline:
            status = gql.data(BATCH, {"id": batch["id"]}, token=tenant.admin_token)["batch"]["status"]
            if status == "OPEN":
                break
            time.sleep(0.2)
        assert status == "OPEN"
    finally:
        worker.terminate()
        worker.wait(15)
    opened_at, opens_at = owner_db.execute(
        "SELECT opened_at, opens_at FROM batch WHERE id = %s", (global_id.decode_as(batch["id"], "Batch"),)
    ).fetchone()
    assert opened_at >= opens_at


def test_scheduler_jobs_are_registered():  # type: ignore[no-untyped-def]
    from service.tasks.registry import JOBS

    names = {name for name, _ in JOBS}
    assert {"open-due-batches", "expire-unpaid-orders"} <= names
