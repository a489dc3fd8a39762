"""Helpers of the social-growth tests (share links, referrals, distribution), over the public API."""

from __future__ import annotations

import uuid
from typing import Any

from service import global_id
from tests.ordering_fixtures import ORDER_MARK_PAID, place_input

SHARE_CREATE = """
mutation($t: ShareTarget!, $id: ID!) { shareLinkCreate(target: $t, targetId: $id) {
  share { code target targetId sharerName url } posterUrl errors { code field message } } }"""
SHARE_CODE = "query($c: String!) { shareCode(code: $c) { code target targetId sharerName url } }"
SHARE_VISIT = """
mutation($c: String!) { shareVisit(code: $c) { share { code sharerName } errors { code field message } } }"""
ORDER_PLACE = """
mutation($input: OrderPlaceInput!) {
  orderPlace(input: $input) { order { id number status lines { id status } total { amount } }
                              errors { code field message } } }"""
TENANT_UPDATE = """
mutation($input: TenantUpdateInput!) { tenantUpdate(input: $input) { errors { code field message } } }"""
BATCH_CLOSE = "mutation($id: ID!) { batchClose(id: $id) { batch { status } errors { code field message } } }"
DELIVERY_RECEIVE = """
mutation($b: ID!, $p: ID!) { deliveryReceive(batchId: $b, pickupPointId: $p) { receivedAt } }"""
PICKUP_CONFIRM = """
mutation($p: ID!, $c: String!) { pickupConfirm(pickupPointId: $p, pickupCode: $c) {
  order { id status } errors { code field message } } }"""
ORDER_REFUND = """
mutation($id: ID!, $lines: [ID!]!) { orderRefund(id: $id, lineIds: $lines, reason: "damaged") {
  order { id status } errors { code field message } } }"""
MY_PICKUP_CODE = "query($id: ID!) { order(id: $id) { pickupCode } }"


def share(gql: Any, token: str, target: str, target_id: str) -> dict:
    payload = gql.data(SHARE_CREATE, {"t": target, "id": target_id}, token=token)["shareLinkCreate"]
    assert payload["errors"] == [], payload
    return payload


def enable_distribution(gql: Any, tenant: Any, level1: str = "0.05", level2: str = "0.02", **more: Any) -> None:
    payload = gql.data(TENANT_UPDATE, {"input": {"distributionEnabled": True, "distributionLevel1Rate": level1,
                                                 "distributionLevel2Rate": level2, **more}},
                       token=tenant.admin_token)["tenantUpdate"]
    assert payload["errors"] == [], payload


def place(gql: Any, world: Any, batch: dict, customer: Any, lines: list[tuple[int, int]],
          code: str | None = None, pay: bool = True) -> dict:
    variables = place_input(batch, world, lines)
    if code is not None:
        variables["input"]["shareCode"] = code
    placed = gql.data(ORDER_PLACE, variables, token=customer.token)["orderPlace"]
    assert placed["errors"] == [], placed
    if pay:
        paid = gql.data(ORDER_MARK_PAID, {"id": placed["order"]["id"], "ref": uuid.uuid4().hex},
                        token=world.tenant.api_key)["orderMarkPaid"]
        assert paid["errors"] == [], paid
    return placed["order"]


def close(gql: Any, tenant: Any, batch: dict) -> None:
    closed = gql.data(BATCH_CLOSE, {"id": batch["id"]}, token=tenant.admin_token)["batchClose"]
    assert closed["errors"] == [] and closed["batch"]["status"] == "CLOSED", closed


def pick_up(gql: Any, world: Any, batch: dict, customer: Any, order: dict) -> None:
    gql.data(DELIVERY_RECEIVE, {"b": batch["id"], "p": world.point_gid}, token=world.leader_token)
    code = gql.data(MY_PICKUP_CODE, {"id": order["id"]}, token=customer.token)["order"]["pickupCode"]
    done = gql.data(PICKUP_CONFIRM, {"p": world.point_gid, "c": code}, token=world.leader_token)["pickupConfirm"]
    assert done["errors"] == [] and done["order"]["status"] == "PICKED_UP", done


def user_uuid(gid: str) -> uuid.UUID:
    found = global_id.decode_as(gid, "User")
    assert found is not None
    return found


def order_uuid(gid: str) -> uuid.UUID:
    found = global_id.decode_as(gid, "Order")
    assert found is not None
    return found


def commissions(owner_db: Any, order_gid: str) -> dict[int, tuple[uuid.UUID, int, str]]:
    """{level: (beneficiary, amount_minor, status)} of an order's distribution commissions."""
    rows = owner_db.execute("SELECT level, beneficiary_id, amount_minor, status FROM distribution_commission "
                            "WHERE order_id = %s", (order_uuid(order_gid),)).fetchall()
    return {r[0]: (r[1], r[2], r[3]) for r in rows}
