"""A rate change never touches orders already placed: each order keeps the commission rate it
was placed with (its snapshot), through the close, the pickup and the ledger."""

from __future__ import annotations

import uuid

from service import global_id
from tests.ledger_world import earn
from tests.ordering_fixtures import ORDER_MARK_PAID, make_world, offer_input, open_batch_with_offers, place_input

ORDER_PLACE = """mutation($input: OrderPlaceInput!) { orderPlace(input: $input) { order { id } errors { code } } }"""
BATCH_CLOSE = """mutation($id: ID!) { batchClose(id: $id) { errors { code } } }"""
TENANT_UPDATE = """mutation($i: TenantUpdateInput!) { tenantUpdate(input: $i) { errors { code field } } }"""
COMMISSIONS = """query($b: ID) { commissions(batchId: $b) { edges { node { rate amount { amount } order { id } } } } }"""
ENTRIES = """{ ledgerEntries(first: 10) { edges { node { kind amount { amount } order { id } } } } }"""


def test_a_rate_change_keeps_the_rate_of_orders_already_placed(  # type: ignore[no-untyped-def]
        gql, tenant, make_customer, owner_db):
    world = make_world(owner_db, tenant)
    # The leader earns the tenant's default rate (no rate of their own).
    owner_db.execute("UPDATE leader SET commission_rate = NULL WHERE id = %s", (world.leader_id,))

    def default_rate(rate: str) -> None:
        out = gql.data(TENANT_UPDATE, {"i": {"defaultCommissionRate": rate}}, token=tenant.admin_token)
        assert out["tenantUpdate"]["errors"] == []

    def paid_order(customer) -> str:  # type: ignore[no-untyped-def]
        placed = gql.data(ORDER_PLACE, place_input(batch, world, [(0, 1)]), token=customer.token)["orderPlace"]
        assert placed["errors"] == [], placed
        paid = gql.data(ORDER_MARK_PAID, {"id": placed["order"]["id"], "ref": uuid.uuid4().hex},
                        token=tenant.api_key)["orderMarkPaid"]
        assert paid["errors"] == [], paid
        return str(placed["order"]["id"])

    default_rate("0.08")
    batch = open_batch_with_offers(gql, world, [offer_input(world, 0, "10.00")])
    before = paid_order(make_customer(tenant))
    default_rate("0.2")  # after the first order, before the second and before the close
    after = paid_order(make_customer(tenant))
    assert gql.data(BATCH_CLOSE, {"id": batch["id"]}, token=tenant.admin_token)["batchClose"]["errors"] == []
    got = {e["node"]["order"]["id"]: (e["node"]["rate"], e["node"]["amount"]["amount"]) for e in gql.data(
        COMMISSIONS, {"b": batch["id"]}, token=world.leader_token)["commissions"]["edges"]}
    assert got == {before: ("0.08", "0.80"), after: ("0.20", "2.00")}
    earn(tenant.uuid, [global_id.decode_as(o, "Order") for o in (before, after)])
    entries = {e["node"]["order"]["id"]: (e["node"]["kind"], e["node"]["amount"]["amount"])
               for e in gql.data(ENTRIES, token=world.leader_token)["ledgerEntries"]["edges"]}
    assert entries == {before: ("EARNED", "0.80"), after: ("EARNED", "2.00")}
