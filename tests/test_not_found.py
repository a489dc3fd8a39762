"""One answer for "not found": an ID that does not exist, is malformed, or is another tenant's
gets the same answer, by the shape of the field that takes it:
- a single object that may be null: null, no error;
- a mutation's payload: a NOT_FOUND error whose field is the ID's path (relative to `input`);
- a mutation answering a Boolean: false;
- anything else (a list's filter, pickList): one GraphQL error, code INVALID, `fields` the
  argument's path.
Every ID of every root field is found by reading the schema, so a new one is covered at once;
each is called by a principal its declaration admits, the other IDs of the call being real."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from graphql import get_named_type, is_non_null_type

from service import global_id
from service.schema.access import Caller
from tests.conftest import GraphQLClient
from tests.root_fields import (
    RootField,
    arguments,
    call,
    id_paths,
    id_type,
    nonexistent_id,
    principals,
    root_fields,
    seeded_tenant,
)

TABLES = {
    "Batch": "batch",
    "Offer": "offer",
    "Product": "product",
    "Supplier": "supplier",
    "Leader": "leader",
    "PickupPoint": "pickup_point",
    "Order": "customer_order",
    "OrderLine": "order_line",
    "PurchaseOrder": "purchase_order",
    "Commission": "commission",
    "WebhookSubscription": "webhook_subscription",
    "Notification": "notification",
    "ApiKey": "api_key",
    "User": "app_user",
    "WebhookDelivery": "delivery",
    "AfterSalesRequest": "after_sales_request",
    "GroupBuy": "group_buy",
    "Withdrawal": "withdrawal",
    "LedgerEntry": "ledger_entry",
}
TABLES.update({"CommunityGroup": "community_group", "CouponTemplate": "coupon_template", "Coupon": "coupon"})
TABLES.update({"CouponPack": "coupon_pack", "CouponPackReward": "coupon_pack_referral"})
TABLES["SharerWithdrawal"] = "withdrawal"  # a sharer's: the leaders' table, no leader
# Its contract answers a PickList!, which has no errors: the one mutation that cannot follow
# the rule for mutations (api-wave2's deliveryConfirm answers a payload).
NO_PAYLOAD_IN_CONTRACT = {"deliveryReceive"}
PREFERENCE = (Caller.ADMIN, Caller.CUSTOMER, Caller.LEADER, Caller.SUPPLIER, Caller.API_KEY, Caller.PLATFORM,
              Caller.ANONYMOUS)
WEBHOOK_CREATE = """mutation($i: WebhookSubscriptionInput!) {
  webhookSubscriptionCreate(input: $i) { errors { code } } }"""

CASES = [
    (f, path)
    for f in root_fields()
    for path in id_paths(f.field)
]


# Where the other IDs of a call must name rows the operation accepts, so that the one error is
# the ID under test: (operation, type) -> the row's condition.
SUITABLE = {
    ("batchOfferAdd", "Batch"): "status = 'DRAFT'",
    ("orderPlace", "Batch"): "status = 'OPEN'",
    ("orderPlace", "Offer"): "batch_id IN (SELECT id FROM batch WHERE status = 'OPEN')",
    ("orderRefund", "Order"): "batch_id IN (SELECT id FROM batch WHERE status IN ('CLOSED', 'COMPLETED'))",
    ("webhookDeliveryRetry", "WebhookDelivery"): "status = 'FAILED'",
    ("orderLinesRefund", "Order"): "batch_id IN (SELECT id FROM batch WHERE status IN ('CLOSED', 'COMPLETED'))",
    ("deliveryConfirm", "Batch"): "id IN (SELECT batch_id FROM pick_list)",
    ("deliveryConfirm", "PickupPoint"): "id IN (SELECT pickup_point_id FROM pick_list)",
    ("orderPlace", "GroupBuy"): "status = 'OPEN'",
}
# A webhook delivery that gave up (webhookDeliveryRetry's subject).
FAILED_DELIVERY = """
WITH e AS (INSERT INTO outbox_event (tenant_id, id, event, subject_type, subject_id, payload)
           VALUES (%(t)s, gen_random_uuid(), 'ORDER_PLACED', 'order', gen_random_uuid(), '{}') RETURNING id)
INSERT INTO delivery (tenant_id, id, outbox_event_id, channel, target, subscription_id, status, attempts)
SELECT %(t)s, gen_random_uuid(), e.id, 'WEBHOOK', s.id::text, s.id, 'FAILED', 8
  FROM e, (SELECT id FROM webhook_subscription WHERE tenant_id = %(t)s LIMIT 1) s"""
BATCH_CREATE = """mutation($i: BatchCreateInput!) { batchCreate(input: $i) { errors { code } } }"""


@pytest.fixture(scope="module")
def world(gql: GraphQLClient, platform_token: str, services: Any) -> Iterator[dict[str, Any]]:
    mine, other = seeded_tenant(gql, platform_token), seeded_tenant(gql, platform_token)
    for handle in (mine, other):
        gql.data(WEBHOOK_CREATE, {"i": {"url": "https://hooks.example.com/in", "events": ["ORDER_PLACED"]}},
                 token=handle.admin_token)
        gql.data(BATCH_CREATE, {"i": {"title": "draft", "opensAt": "2100-01-01T00:00:00Z",
                                      "closesAt": "2100-01-02T00:00:00Z", "pickupDate": "2100-01-03"}},
                 token=handle.admin_token)
    with psycopg.connect(services.owner_url, autocommit=True) as conn:
        for handle in (mine, other):
            conn.execute(FAILED_DELIVERY, {"t": handle.uuid})

        def real(handle: Any, field: str, type_name: str) -> str:
            where = SUITABLE.get((field, type_name), "true")
            row = conn.execute(f"SELECT id FROM {TABLES[type_name]} WHERE tenant_id = %s AND {where} "
                               "ORDER BY id LIMIT 1", (handle.uuid,)).fetchone()
            assert row is not None, f"the seeded tenant has no {type_name} for {field}"
            return global_id.encode(type_name, row[0])

        yield {"mine": mine, "other": other, "real": real, "principals": principals(gql, platform_token, mine)}


def _expected_field(path: list[str]) -> list[str]:
    return path  # from the mutation's argument, `input` included


def _answer(gql: GraphQLClient, world: dict[str, Any], field: RootField, target: list[str], sent: str) -> dict:
    assert field.permission is not None
    caller = next(c for c in PREFERENCE if c in field.permission.allowed)
    principal = world["principals"][caller]

    def ids(name: str, path: list[str]) -> str:
        return sent if path == target else world["real"](world["mine"], field.name, id_type(name, field))

    document, variables = call(field, arguments(field, ids, everything=True))
    return gql(document, variables, **principal.headers())  # type: ignore[no-any-return]


@pytest.mark.parametrize(("field", "path"), CASES, ids=[f"{f.name}-{'.'.join(p)}" for f, p in CASES])
def test_an_id_naming_nothing_gets_one_answer(
    gql: GraphQLClient, world: dict[str, Any], field: RootField, path: list[str]
) -> None:
    name = path[-1] if not path[-1].isdigit() else path[-2]
    type_name = id_type(name, field)
    answers = {
        "nonexistent": _answer(gql, world, field, path, nonexistent_id(type_name)),
        "malformed": _answer(gql, world, field, path, "not-an-id"),
        "other tenant's": _answer(gql, world, field, path, world["real"](world["other"], field.name, type_name)),
    }
    first = answers["nonexistent"]
    for case, body in answers.items():
        assert body == first, (case, body, first)

    result = field.field.type
    if field.kind == "mutation" and field.name not in NO_PAYLOAD_IN_CONTRACT:
        assert "errors" not in first, first  # no mutation raises for a user's mistake
        if field.payload:
            errors = first["data"]["result"]["errors"]
            at_path = [e for e in errors if e["field"] == _expected_field(path)]
            assert [e["code"] for e in at_path] == ["NOT_FOUND"], errors
        else:
            assert get_named_type(result).name == "Boolean", field.name
            assert first["data"]["result"] is False, first
    elif not is_non_null_type(result):
        assert first == {"data": {"result": None}}, first
    else:
        errors = first["errors"]
        assert [e["extensions"]["code"] for e in errors] == ["INVALID"], errors
        assert errors[0]["extensions"]["fields"] == [path], errors
        assert first["data"] is None, first


def test_every_id_argument_is_covered() -> None:
    """The cases above come from the schema: at least the IDs the contract had when written."""
    names = {f.name for f, _ in CASES}
    assert {"node", "batch", "order", "orders", "pickList", "orderPlace", "deliveryReceive",
            "notificationMarkRead", "commissions", "purchaseOrders"} <= names
    assert len(CASES) >= 35


def test_every_mutation_answers_a_payload_with_errors() -> None:
    """A user's mistake goes in the payload: every mutation answers one with `errors`, but a
    Boolean answer and the one whose contract predates the rule."""
    for field in root_fields():
        if field.kind == "mutation" and not field.payload:
            assert field.name in NO_PAYLOAD_IN_CONTRACT or get_named_type(field.field.type).name == "Boolean", \
                field.name
