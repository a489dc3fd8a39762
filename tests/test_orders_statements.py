"""N+1 guards: the statements behind a page of batches or orders do not grow with the page."""

from __future__ import annotations

from tests.ordering_fixtures import (
    ORDER_PLACE,
    bulk_customers,
    create_batch,
    make_world,
    offer_input,
    open_batch_with_offers,
    place_input,
)

BATCHES = """
query($first: Int) {
  batches(first: $first) { edges { node { id title offers {
    id price { amount } remainingStock product { id name supplier { id } } batch { id }
  } } } }
}"""
ORDERS = """
query($first: Int) {
  orders(first: $first) { edges { node {
    id number total { amount } batch { id title } pickupPoint { id name }
    lines { productName quantity offer { id soldQuantity product { name } } }
  } } }
}"""


def test_a_page_of_batches_with_offers_and_products(gql, tenant, owner_db, sql_statements):  # type: ignore[no-untyped-def]
    world = make_world(owner_db, tenant)
    for _ in range(12):
        create_batch(gql, world, [offer_input(world, i) for i in range(3)])
    counts = {}
    for first in (3, 12):
        sql_statements.clear()
        edges = gql.data(BATCHES, {"first": first}, token=tenant.admin_token)["batches"]["edges"]
        assert len(edges) == first and all(len(e["node"]["offers"]) == 3 for e in edges)
        counts[first] = len(sql_statements)
    assert counts[3] == counts[12], counts


def test_a_page_of_orders_with_lines_offers_and_points(gql, tenant, owner_db, sql_statements):  # type: ignore[no-untyped-def]
    world = make_world(owner_db, tenant)
    batch = open_batch_with_offers(gql, world, [offer_input(world, i) for i in range(3)])
    (_, token), = bulk_customers(owner_db, tenant, 1)
    for _ in range(12):
        got = gql.data(ORDER_PLACE, place_input(batch, world, [(0, 1), (1, 2), (2, 1)]), token=token)
        assert got["orderPlace"]["errors"] == []
    counts = {}
    for first in (3, 12):
        sql_statements.clear()
        edges = gql.data(ORDERS, {"first": first}, token=token)["orders"]["edges"]
        assert len(edges) == first and all(len(e["node"]["lines"]) == 3 for e in edges)
        counts[first] = len(sql_statements)
    assert counts[3] == counts[12], counts


def test_order_of_reads_loaded_values_and_asks_the_orm_for_the_rest() -> None:
    import datetime as dt
    import uuid

    from service.orders import models
    from service.schema.orders import Order

    when = dt.datetime(2026, 11, 22, 10, tzinfo=dt.UTC)
    row = models.Order(id=uuid.uuid4(), tenant_id=uuid.uuid4(), number="GB1", batch_id=uuid.uuid4(),
                       pickup_point_id=uuid.uuid4(), customer_id=uuid.uuid4(), customer_name="Li",
                       leader_id=uuid.uuid4(), status=models.OrderStatus.PLACED, currency="CNY", total_minor=1,
                       pickup_code="123456", idempotency_key="k", request_hash="h", created_at=when)
    full = Order.of(row)
    assert (full.number, full.customer_name, full.status, full.payment_reference, full.placed_at, full.paid_at) == (
        "GB1", "Li", models.OrderStatus.PLACED, None, when, None)
    partial = models.Order(id=row.id, number="GB1", status=models.OrderStatus.PLACED, customer_name="Wang")
    del partial.__dict__["customer_name"]  # as an expired attribute: the ORM's descriptor answers
    assert "customer_name" not in partial.__dict__
    by_orm = Order.of(partial)
    assert (by_orm.number, by_orm.customer_name) == ("GB1", partial.customer_name)
    row.__dict__["state"] = "CONFIRMED"
    assert Order.of(row).status == models.OrderStatus("CONFIRMED")
