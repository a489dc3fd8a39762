"""A closed batch with paid orders, over GraphQL, for the shortage and after-sales tests."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from service import global_id
from tests.ordering_fixtures import ORDER_MARK_PAID, World, make_world, offer_input, open_batch_with_offers, place_input

ORDER_PLACE = """
mutation($input: OrderPlaceInput!) {
  orderPlace(input: $input) { order { id number status pickupCode lines { id status quantity } }
    errors { code field message } }
}"""
BATCH_CLOSE = "mutation($id: ID!) { batchClose(id: $id) { batch { status } errors { code } } }"
LINES_REFUND = """
mutation($o: ID!, $lines: [RefundLineInput!]!, $reason: RefundReason!, $note: String) {
  orderLinesRefund(orderId: $o, lines: $lines, reason: $reason, note: $note) {
    order { id status refunded { amount } lines { id status quantity refundedQuantity shortedQuantity } }
    errors { code field message }
  }
}"""
ORDER_REFUND = """
mutation($id: ID!, $lines: [ID!]!) {
  orderRefund(id: $id, lineIds: $lines, reason: "damaged") {
    order { id status refunded { amount } lines { id status refundedQuantity } } errors { code field message }
  }
}"""
PURCHASE_ORDERS = """
query($batch: ID) { purchaseOrders(batchId: $batch) { edges { node {
  id status lines { productName quantity shipped shorted product { id } deliveries { quantity pickupPoint { id } } }
} } } }"""
SHIP = """
mutation($id: ID!, $lines: [ShippedLineInput!]) {
  purchaseOrderShip(id: $id, lines: $lines) { purchaseOrder { id status } errors { code field message } }
}"""
MARK_SHIPPED = "mutation($id: ID!) { purchaseOrderMarkShipped(id: $id) { purchaseOrder { status } errors { code } } }"
COMMISSIONS = """
query($b: ID) { commissions(batchId: $b) { edges { node {
  status amount { amount } reversedAmount { amount } order { id }
} } } }"""


@dataclass
class Closed:
    world: World
    batch: dict
    orders: list[dict]  # in the order they were placed

    @property
    def batch_uuid(self) -> uuid.UUID:
        return global_id.decode_as(self.batch["id"], "Batch")


def paid_order(gql: Any, world: World, batch: dict, customer: Any, lines: list[tuple[int, int]],
               point_gid: str | None = None) -> dict:
    body = place_input(batch, world, lines)
    if point_gid:
        body["input"]["pickupPointId"] = point_gid
    placed = gql.data(ORDER_PLACE, body, token=customer.token)["orderPlace"]
    assert placed["errors"] == [], placed
    paid = gql.data(ORDER_MARK_PAID, {"id": placed["order"]["id"], "ref": uuid.uuid4().hex},
                    token=world.tenant.api_key)["orderMarkPaid"]
    assert paid["errors"] == [], paid
    return placed["order"]


def closed_batch(gql: Any, owner_db: Any, tenant: Any, make_customer: Any, prices: list[str],
                 orders: list[list[tuple[int, int]]], world: World | None = None) -> Closed:
    world = world or make_world(owner_db, tenant)
    batch = open_batch_with_offers(gql, world, [offer_input(world, i, p) for i, p in enumerate(prices)])
    placed = [paid_order(gql, world, batch, make_customer(tenant), lines) for lines in orders]
    closed = gql.data(BATCH_CLOSE, {"id": batch["id"]}, token=tenant.admin_token)["batchClose"]
    assert closed["errors"] == [] and closed["batch"]["status"] == "CLOSED", closed
    return Closed(world, batch, placed)


def commission_of(gql: Any, closed: Closed, order_gid: str) -> dict:
    edges = gql.data(COMMISSIONS, {"b": closed.batch["id"]}, token=closed.world.tenant.admin_token)[
        "commissions"]["edges"]
    return next(e["node"] for e in edges if e["node"]["order"]["id"] == order_gid)
