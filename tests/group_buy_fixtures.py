"""Helpers for the 拼团 tests: a 拼团 offer in an open batch, orders that start or join groups."""

from __future__ import annotations

import uuid
from typing import Any

import psycopg

from service import global_id
from tests.conftest import GraphQLClient
from tests.ordering_fixtures import World, offer_input, open_batch_with_offers, run_domain

GROUP_FIELDS = "id status size paidMembers openedAt expiresAt shareCode succeededVirtually offer { id groupSize }"
GROUP_PLACE = f"""
mutation($input: OrderPlaceInput!) {{
  orderPlace(input: $input) {{
    order {{ id status total {{ amount currency }} refunded {{ amount }} groupBuy {{ {GROUP_FIELDS} }} }}
    errors {{ code field message }}
  }}
}}"""
GROUP_QUERY = f"query($id: ID!) {{ groupBuy(id: $id) {{ {GROUP_FIELDS} }} }}"
GROUP_JOIN = f"""
mutation($id: ID!) {{ groupBuyJoin(groupBuyId: $id) {{ groupBuy {{ {GROUP_FIELDS} }} errors {{ code field message }} }} }}"""
MARK_PAID = """
mutation($id: ID!, $ref: String!) {
  orderMarkPaid(id: $id, paymentReference: $ref) {
    order { id status refunded { amount } groupBuy { id status paidMembers } } errors { code field message }
  }
}"""


def group_batch(gql: GraphQLClient, world: World, size: int = 3, expiry: str = "REFUND", price: str = "9.90",
                **kw: Any) -> dict:
    """An open batch whose offer 0 forms groups of `size` (offer 1, if products allow, is plain)."""
    offers = [offer_input(world, 0, price, groupSize=size, groupWindowMinutes=60, groupExpiry=expiry)]
    if len(world.product_ids) > 1:
        offers.append(offer_input(world, 1, "5.00"))
    return open_batch_with_offers(gql, world, offers, **kw)


def group_order(gql: GraphQLClient, batch: dict, world: World, token: str, *, group: str | None = None,
                start: bool = False, quantity: int = 1, key: str | None = None) -> dict:
    extra: dict[str, Any] = {"groupBuyId": group} if group else {"startGroupBuy": True} if start else {}
    variables = {"input": {"batchId": batch["id"], "pickupPointId": world.point_gid,
                           "lines": [{"offerId": batch["offers"][0]["id"], "quantity": quantity}],
                           "idempotencyKey": key or uuid.uuid4().hex, **extra}}
    return gql.data(GROUP_PLACE, variables, token=token)["orderPlace"]  # type: ignore[no-any-return]


def pay(gql: GraphQLClient, world: World, order_id: str, ref: str | None = None) -> dict:
    return gql.data(MARK_PAID, {"id": order_id, "ref": ref or uuid.uuid4().hex},  # type: ignore[no-any-return]
                    token=world.tenant.api_key)["orderMarkPaid"]


def uuid_of(gid: str) -> uuid.UUID:
    decoded = global_id.decode(gid)
    assert decoded is not None
    return decoded[1]


def lapse_holds(owner_db: psycopg.Connection, group_gid: str) -> None:
    """The unpaid members' payment window is over (as if the window had passed)."""
    owner_db.execute("UPDATE group_buy_member SET hold_until = statement_timestamp() - interval '1 second' "
                     "WHERE group_buy_id = %s AND paid_at IS NULL", (uuid_of(group_gid),))


def end_window(owner_db: psycopg.Connection, group_gids: list[str]) -> None:
    owner_db.execute("UPDATE group_buy SET expires_at = statement_timestamp() - interval '1 second' "
                     "WHERE id = ANY(%s)", ([uuid_of(g) for g in group_gids],))


def expire_groups(tenant_uuid: uuid.UUID | None = None) -> int:
    from service.groupbuys.resolution import expire_group_buys

    return run_domain(lambda engine: expire_group_buys(tenant_uuid, engine=engine))
