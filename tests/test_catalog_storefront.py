"""The storefront query with its per-process objects: every change to an offer, its product or
its supplier shows in the next answer, remaining stock is always live, tenants never share
objects, and what depends on the caller is checked per request."""

from __future__ import annotations

import uuid

from service import global_id
from tests.ordering_fixtures import (
    ORDER_PLACE,
    bulk_customers,
    create_batch,
    make_world,
    offer_input,
    open_batch_with_offers,
    place_input,
)

STOREFRONT = """query($id: ID!) { batch(id: $id) { id title offers {
  id price { amount currency } remainingStock soldQuantity stockLimit status
  product { id name unit description supplier { id name } } } } }"""
WITH_COST = """query($id: ID!) { batch(id: $id) { offers { product { name cost { amount }
  supplier { name contactEmail } } } } }"""
PRODUCT_UPDATE = """mutation($id: ID!, $input: ProductInput!) {
  productUpdate(id: $id, input: $input) { product { id name } errors { code message } } }"""
BATCH_OFFER_ADD = """mutation($batchId: ID!, $input: OfferInput!) {
  batchOfferAdd(batchId: $batchId, input: $input) { offer { id } errors { code message } } }"""
BATCH_PUBLISH = "mutation($id: ID!) { batchPublish(id: $id) { batch { status } errors { code } } }"


def offers(gql, tenant, batch_id, **kw):  # type: ignore[no-untyped-def]
    batch = gql.data(STOREFRONT, {"id": batch_id}, tenant=tenant.slug, **kw)["batch"]
    return batch["offers"] if batch else None


def test_changes_to_products_suppliers_and_offers_show_at_once(gql, tenant, owner_db):  # type: ignore[no-untyped-def]
    world = make_world(owner_db, tenant)
    batch = open_batch_with_offers(gql, world, [offer_input(world, i, stockLimit=10) for i in range(3)])
    before = offers(gql, tenant, batch["id"])
    assert [o["product"]["name"] for o in before] == ["Product 0", "Product 1", "Product 2"]
    assert offers(gql, tenant, batch["id"]) == before  # the second answer, from kept objects, is the same

    # A product renamed through the API.
    renamed = gql.data(PRODUCT_UPDATE, {"id": world.product_gid(1), "input": {
        "supplierId": global_id.encode("Supplier", world.supplier_id), "name": "Renamed", "unit": "kg",
        "cost": "5", "description": "Fresh"}}, token=tenant.admin_token)["productUpdate"]
    assert renamed["errors"] == []
    after = offers(gql, tenant, batch["id"])
    assert (after[1]["product"]["name"], after[1]["product"]["unit"], after[1]["product"]["description"]) == (
        "Renamed", "kg", "Fresh")
    assert after[0] == before[0] and after[2] == before[2]

    # The supplier renamed, an offer's price changed, in SQL (an OPEN batch's offers cannot be edited).
    owner_db.execute("UPDATE supplier SET name = 'New farm' WHERE id = %s", (world.supplier_id,))
    after = offers(gql, tenant, batch["id"])
    assert {o["product"]["supplier"]["name"] for o in after} == {"New farm"}
    offer_id = global_id.decode_as(before[2]["id"], "Offer")
    owner_db.execute("UPDATE offer SET price_minor = 1234 WHERE id = %s", (offer_id,))
    after = offers(gql, tenant, batch["id"])
    assert after[2]["price"] == {"amount": "12.34", "currency": before[2]["price"]["currency"]}
    assert [o["price"] for o in after[:2]] == [o["price"] for o in before[:2]]

    # A product moved to another supplier.
    other = uuid.uuid4()
    owner_db.execute("INSERT INTO supplier (tenant_id, id, name) VALUES (%s, %s, 'Orchard')", (tenant.uuid, other))
    owner_db.execute("UPDATE product SET supplier_id = %s WHERE id = %s", (other, world.product_ids[0]))
    after = offers(gql, tenant, batch["id"])
    assert after[0]["product"]["supplier"] == {"id": global_id.encode("Supplier", other), "name": "Orchard"}

    # An offer added, and one removed.
    extra = uuid.uuid4()
    owner_db.execute(
        "INSERT INTO product (tenant_id, id, supplier_id, name, unit, cost_minor, active) VALUES (%s, %s, %s, 'Added', 'u', 1, true)",
        (tenant.uuid, extra, world.supplier_id))
    owner_db.execute(
        "INSERT INTO offer (tenant_id, id, batch_id, product_id, position, price_minor, stock_limit, "
        "min_group_quantity) VALUES (%s, %s, %s, %s, 9, 100, 4, 1)",
        (tenant.uuid, uuid.uuid4(), global_id.decode_as(batch["id"], "Batch"), extra))
    after = offers(gql, tenant, batch["id"])
    assert [o["product"]["name"] for o in after] == ["Product 0", "Renamed", "Product 2", "Added"]
    assert after[3]["remainingStock"] == 4
    owner_db.execute("DELETE FROM offer WHERE product_id = %s", (extra,))
    assert [o["product"]["name"] for o in offers(gql, tenant, batch["id"])] == ["Product 0", "Renamed", "Product 2"]


def test_an_offer_added_through_the_api_shows(gql, tenant, owner_db):  # type: ignore[no-untyped-def]
    world = make_world(owner_db, tenant)
    batch = create_batch(gql, world, [offer_input(world, 0)], opens_in=3600, closes_in=7200)
    assert gql.data(BATCH_PUBLISH, {"id": batch["id"]}, token=tenant.admin_token)["batchPublish"]["errors"] == []
    assert len(offers(gql, tenant, batch["id"])) == 1
    added = gql.data(BATCH_OFFER_ADD, {"batchId": batch["id"], "input": offer_input(world, 1, price="3.50")},
                     token=tenant.admin_token)["batchOfferAdd"]
    assert added["errors"] == []
    now = offers(gql, tenant, batch["id"])
    assert [(o["product"]["name"], o["price"]["amount"]) for o in now] == [("Product 0", "9.90"), ("Product 1", "3.50")]


def test_remaining_stock_is_live_after_orders(gql, tenant, owner_db):  # type: ignore[no-untyped-def]
    world = make_world(owner_db, tenant)
    batch = open_batch_with_offers(gql, world, [offer_input(world, i, stockLimit=5) for i in range(2)])
    assert [o["remainingStock"] for o in offers(gql, tenant, batch["id"])] == [5, 5]
    (_, token), = bulk_customers(owner_db, tenant, 1)
    placed = gql.data(ORDER_PLACE, place_input(batch, world, [(0, 2)]), token=token)["orderPlace"]
    assert placed["errors"] == []
    now = offers(gql, tenant, batch["id"])
    assert [(o["remainingStock"], o["soldQuantity"]) for o in now] == [(3, 2), (5, 0)]
    # The same objects for the unchanged offer and product: the same answer as before.
    assert now[1] == offers(gql, tenant, batch["id"])[1]
    placed = gql.data(ORDER_PLACE, place_input(batch, world, [(0, 3)]), token=token)["orderPlace"]
    assert placed["errors"] == []
    assert offers(gql, tenant, batch["id"])[0]["remainingStock"] == 0


def test_two_tenants_with_the_same_ids_never_share_objects(gql, make_tenant, owner_db):  # type: ignore[no-untyped-def]
    a, b = make_tenant(), make_tenant()
    # The same product, supplier and offer ids in both tenants (keys are tenant-first), other names.
    supplier, product, offer = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    batches = {}
    for t in (a, b):
        world = make_world(owner_db, t)
        owner_db.execute("INSERT INTO supplier (tenant_id, id, name) VALUES (%s, %s, %s)",
                         (t.uuid, supplier, f"Supplier of {t.slug}"))
        owner_db.execute(
            "INSERT INTO product (tenant_id, id, supplier_id, name, unit, cost_minor, active) VALUES (%s, %s, %s, %s, 'u', 1, true)",
            (t.uuid, product, supplier, f"Product of {t.slug}"))
        batch = open_batch_with_offers(gql, world, [offer_input(world, 0)])
        owner_db.execute(
            "INSERT INTO offer (tenant_id, id, batch_id, product_id, position, price_minor, stock_limit, "
            "min_group_quantity) VALUES (%s, %s, %s, %s, 5, 100, 10, 1)",
            (t.uuid, offer, global_id.decode_as(batch["id"], "Batch"), product))
        batches[t.slug] = batch["id"]
    for _ in range(2):
        for t in (a, b):
            got = offers(gql, t, batches[t.slug])
            assert got[-1]["product"]["name"] == f"Product of {t.slug}"
            assert got[-1]["product"]["supplier"]["name"] == f"Supplier of {t.slug}"
    owner_db.execute("SELECT offer_stock_take(%s, %s, 0, 7)", (b.uuid, offer))
    assert offers(gql, a, batches[a.slug])[-1]["remainingStock"] == 10
    assert offers(gql, b, batches[b.slug])[-1]["remainingStock"] == 3
    # Another tenant's batch id is not found.
    assert offers(gql, a, batches[b.slug]) is None


def test_cost_and_contact_are_checked_per_request(gql, tenant, owner_db):  # type: ignore[no-untyped-def]
    world = make_world(owner_db, tenant)
    owner_db.execute("UPDATE supplier SET contact_email = 'farm@example.com' WHERE id = %s", (world.supplier_id,))
    batch = open_batch_with_offers(gql, world, [offer_input(world, 0)])
    for _ in range(2):
        anonymous = gql.data(WITH_COST, {"id": batch["id"]}, tenant=tenant.slug)["batch"]["offers"][0]["product"]
        assert anonymous["cost"] is None and anonymous["supplier"]["contactEmail"] is None
        admin = gql.data(WITH_COST, {"id": batch["id"]}, token=tenant.admin_token)["batch"]["offers"][0]["product"]
        assert admin["cost"] == {"amount": "5.00"} and admin["supplier"]["contactEmail"] == "farm@example.com"
