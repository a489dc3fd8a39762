"""Helpers for the coupon tests: documents, a tenant with an open batch, templates, claims."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import psycopg

from service import global_id
from tests.conftest import GraphQLClient, TenantHandle
from tests.ordering_fixtures import World, bulk_customers, make_world, offer_input, open_batch_with_offers

TEMPLATE_FIELDS = """
  id name kind active claimed used totalQuantity perCustomerLimit audience paused endedAt
  budget { amount currency } discountGiven { amount currency } amountOff { amount } threshold { amount }
  maxDiscount { amount } percentOff
"""
TEMPLATE_CREATE = f"""
mutation($input: CouponTemplateInput!) {{
  couponTemplateCreate(input: $input) {{ template {{ {TEMPLATE_FIELDS} }} errors {{ code field message }} }}
}}"""
TEMPLATE_END = f"""
mutation($id: ID!, $void: Boolean) {{
  couponTemplateEnd(id: $id, voidClaimed: $void) {{ template {{ {TEMPLATE_FIELDS} }} errors {{ code field message }} }}
}}"""
TEMPLATE_PAUSE = """
mutation($id: ID!, $p: Boolean!) {
  couponTemplatePause(id: $id, paused: $p) { template { id active paused } errors { code field message } }
}"""
TEMPLATES = f"""
query($first: Int, $after: String) {{
  couponTemplates(first: $first, after: $after) {{
    edges {{ cursor node {{ {TEMPLATE_FIELDS} }} }} pageInfo {{ hasNextPage endCursor }}
  }}
}}"""
CLAIM = """
mutation($t: ID!, $k: String!) {
  couponClaim(templateId: $t, idempotencyKey: $k) {
    coupon { id status validUntil template { id } order { id } } errors { code field message }
  }
}"""
GRANT = """
mutation($t: ID!, $u: [ID!]!, $g: ID) {
  couponGrant(templateId: $t, userIds: $u, communityGroupId: $g) { granted errors { code field message } }
}"""
MY_COUPONS = """
query($usable: Boolean, $first: Int, $after: String) {
  myCoupons(usable: $usable, first: $first, after: $after) {
    edges { cursor node { id status template { id } order { id } discount { amount } } }
    pageInfo { hasNextPage endCursor }
  }
}"""
AVAILABLE = "query($b: ID) { availableCoupons(batchId: $b) { id name active } }"
ORDER_FIELDS = """
  id status total { amount } discount { amount } refunded { amount } coupon { id status }
  lines { id quantity unitPrice { amount } total { amount } discount { amount } }
"""
ORDER_PLACE = f"""
mutation($input: OrderPlaceInput!) {{
  orderPlace(input: $input) {{ order {{ {ORDER_FIELDS} }} errors {{ code field message }} }}
}}"""
SETTINGS_UPDATE = """
mutation($b: CommissionBase, $r: Boolean) {
  couponSettingsUpdate(commissionBase: $b, releaseOnRefund: $r) {
    settings { commissionBase releaseOnRefund } errors { code field message }
  }
}"""
REPORT = """
query { couponReport { template { id name } claimed reserved used expired discountGiven { amount }
  discountUsed { amount } budget { amount } } }"""


@dataclass
class Shop:
    world: World
    batch: dict
    gql: GraphQLClient

    @property
    def tenant(self) -> TenantHandle:
        return self.world.tenant

    def offer(self, i: int) -> str:
        return str(self.batch["offers"][i]["id"])

    def template(self, **input: Any) -> dict:
        payload = self.gql.data(TEMPLATE_CREATE, {"input": {"name": "Coupon", "kind": "AMOUNT_OFF",
                                                            "amountOff": "5.00", **input}},
                                token=self.tenant.admin_token)["couponTemplateCreate"]
        assert payload["errors"] == [], payload
        return dict(payload["template"])

    def customers(self, owner_db: psycopg.Connection, n: int) -> list[tuple[uuid.UUID, str]]:
        return bulk_customers(owner_db, self.tenant, n)

    def claim(self, token: str, template_id: str, key: str | None = None) -> dict:
        return dict(self.gql.data(CLAIM, {"t": template_id, "k": key or uuid.uuid4().hex},
                                  token=token)["couponClaim"])

    def place(self, token: str, lines: list[tuple[int, int]], coupon: str | None = None,
              key: str | None = None) -> dict:
        input: dict[str, Any] = {
            "batchId": self.batch["id"], "pickupPointId": self.world.point_gid,
            "lines": [{"offerId": self.offer(i), "quantity": q} for i, q in lines],
            "idempotencyKey": key or uuid.uuid4().hex,
        }
        if coupon is not None:
            input["couponId"] = coupon
        return dict(self.gql.data(ORDER_PLACE, {"input": input}, token=token)["orderPlace"])


def make_shop(gql: GraphQLClient, owner_db: psycopg.Connection, tenant: TenantHandle,
              prices: tuple[str, ...] = ("9.90", "3.30", "12.00"), stock: int | None = None) -> Shop:
    world = make_world(owner_db, tenant, products=len(prices))
    extra = {} if stock is None else {"stockLimit": stock}
    batch = open_batch_with_offers(gql, world, [offer_input(world, i, p, **extra) for i, p in enumerate(prices)])
    return Shop(world=world, batch=batch, gql=gql)


def uid(global_or_uuid: str) -> uuid.UUID:
    decoded = global_id.decode(global_or_uuid)
    assert decoded is not None
    return decoded[1]


def user_gid(user_id: uuid.UUID) -> str:
    return global_id.encode("User", user_id)
