"""shortageReport(batchId) and its CSV: per supplier and product, ordered, shipped, received,
damaged, shorted and refunded; a supplier's staff see only their own."""

from __future__ import annotations

import csv
import io

import httpx

from tests.ordering_fixtures import make_world
from tests.shortage_fixtures import PURCHASE_ORDERS, SHIP, closed_batch
from tests.test_after_close import _supplier_login

REPORT = """query($b: ID!) { shortageReport(batchId: $b) {
  supplier { name } product { id } ordered shipped received damaged shorted refunded { amount currency } } }"""
CONFIRM = """mutation($b: ID!, $p: ID!, $lines: [ReceivedLineInput!]) {
  deliveryConfirm(batchId: $b, pickupPointId: $p, lines: $lines) { errors { code } } }"""


def test_the_report_adds_up_shipment_and_receipt(gql, api_url, tenant, make_customer, make_tenant, owner_db):  # type: ignore[no-untyped-def]
    closed = closed_batch(gql, owner_db, tenant, make_customer, ["2.00", "1.00"], [[(0, 3), (1, 2)], [(0, 4)]])
    world = closed.world
    po = gql.data(PURCHASE_ORDERS, {"batch": closed.batch["id"]}, token=tenant.admin_token)["purchaseOrders"][
        "edges"][0]["node"]
    assert gql.data(SHIP, {"id": po["id"], "lines": [{"productId": world.product_gid(0), "quantity": 5}]},
                    token=tenant.admin_token)["purchaseOrderShip"]["errors"] == []
    assert gql.data(CONFIRM, {"b": closed.batch["id"], "p": world.point_gid, "lines": [
        {"productId": world.product_gid(0), "received": 5, "damaged": 1},
        {"productId": world.product_gid(1), "received": 1}]}, token=world.leader_token)["deliveryConfirm"][
        "errors"] == []
    rows = {r["product"]["id"]: r for r in gql.data(REPORT, {"b": closed.batch["id"]}, token=tenant.admin_token)[
        "shortageReport"]}
    p0, p1 = rows[world.product_gid(0)], rows[world.product_gid(1)]
    # Product 0: 7 ordered, 5 shipped, 5 arrived with 1 damaged: 3 shorted, 6.00 refunded.
    assert (p0["ordered"], p0["shipped"], p0["received"], p0["damaged"], p0["shorted"]) == (7, 5, 5, 1, 3)
    assert p0["refunded"] == {"amount": "6.00", "currency": "CNY"} and p0["supplier"]["name"] == "Farm"
    assert (p1["ordered"], p1["shipped"], p1["received"], p1["damaged"], p1["shorted"]) == (2, 2, 1, 0, 1)
    assert p1["refunded"]["amount"] == "1.00"

    own = _supplier_login(gql, world)
    assert len(gql.data(REPORT, {"b": closed.batch["id"]}, token=own)["shortageReport"]) == 2
    stranger = _supplier_login(gql, make_world(owner_db, tenant))
    assert gql.data(REPORT, {"b": closed.batch["id"]}, token=stranger)["shortageReport"] == []
    assert gql(REPORT, {"b": closed.batch["id"]}, token=world.leader_token)["errors"][0]["extensions"][
        "code"] == "FORBIDDEN"
    assert gql(REPORT, {"b": closed.batch["id"]}, token=make_tenant().admin_token)["errors"][0]["extensions"][
        "code"] == "INVALID"

    url = f"{api_url}/exports/shortage-report.csv?batchId={closed.batch['id']}"
    csv = httpx.get(url, headers={"Authorization": f"Bearer {tenant.admin_token}"})
    assert csv.status_code == 200 and csv.content.startswith("\ufeff".encode())
    lines = csv.content.decode("utf-8-sig").strip().splitlines()
    assert lines[0] == "batch,supplier,product,ordered,shipped,received,damaged,shorted,refunded,currency"
    assert sorted(line.split(",", 2)[2] for line in lines[1:]) == ["Product 0,7,5,5,1,3,6.00,CNY",
                                                                  "Product 1,2,2,1,0,1,1.00,CNY"]
    assert httpx.get(url, headers={"Authorization": f"Bearer {stranger}"}).content.decode("utf-8-sig").strip(
        ).count("\n") == 0
    assert httpx.get(url, headers={"Authorization": f"Bearer {world.leader_token}"}).status_code == 403
    assert httpx.get(url, headers={"Authorization": f"Bearer {make_tenant().admin_token}"}).status_code == 404
    assert httpx.get(url).status_code == 401


SUPPLIER_REPORT = """query($s: ID, $since: DateTime, $until: DateTime) {
  supplierShortageReport(supplierId: $s, since: $since, until: $until) {
    supplier { id name } batch { id } closedAt ordered shipped received damaged shorted refunded { amount currency }
    keptForCoupons { amount } } }"""


def test_the_report_per_supplier_and_batch_and_its_csv(gql, api_url, tenant, make_customer, make_tenant, owner_db):  # type: ignore[no-untyped-def]
    closed = closed_batch(gql, owner_db, tenant, make_customer, ["2.00", "1.00"], [[(0, 3), (1, 2)], [(0, 4)]])
    world = closed.world
    other = closed_batch(gql, owner_db, tenant, make_customer, ["5.00"], [[(0, 1)]])  # another supplier
    po = gql.data(PURCHASE_ORDERS, {"batch": closed.batch["id"]}, token=tenant.admin_token)["purchaseOrders"][
        "edges"][0]["node"]
    assert gql.data(SHIP, {"id": po["id"], "lines": [{"productId": world.product_gid(0), "quantity": 5}]},
                    token=tenant.admin_token)["purchaseOrderShip"]["errors"] == []
    assert gql.data(CONFIRM, {"b": closed.batch["id"], "p": world.point_gid, "lines": [
        {"productId": world.product_gid(0), "received": 5, "damaged": 1},
        {"productId": world.product_gid(1), "received": 1}]}, token=world.leader_token)["deliveryConfirm"][
        "errors"] == []
    rows = gql.data(SUPPLIER_REPORT, {}, token=tenant.admin_token)["supplierShortageReport"]
    by_batch = {r["batch"]["id"]: r for r in rows}
    assert set(by_batch) == {closed.batch["id"], other.batch["id"]}
    row = by_batch[closed.batch["id"]]
    # Both products summed: 9 ordered, 7 shipped, 6 arrived with 1 damaged: 4 shorted, 7.00 refunded.
    assert (row["ordered"], row["shipped"], row["received"], row["damaged"], row["shorted"]) == (9, 7, 6, 1, 4)
    assert row["refunded"] == {"amount": "7.00", "currency": "CNY"} and row["keptForCoupons"]["amount"] == "0.00"
    assert row["supplier"]["name"] == "Farm"
    assert by_batch[other.batch["id"]]["ordered"] == 1 and by_batch[other.batch["id"]]["shorted"] == 0
    supplier = row["supplier"]["id"]
    assert [r["batch"]["id"] for r in gql.data(SUPPLIER_REPORT, {"s": supplier}, token=tenant.admin_token)[
        "supplierShortageReport"]] == [closed.batch["id"]]
    # A supplier's staff see their own rows only, whatever they name.
    own = _supplier_login(gql, world)
    assert [r["batch"]["id"] for r in gql.data(SUPPLIER_REPORT, {"s": by_batch[other.batch["id"]]["supplier"]["id"]},
                                               token=own)["supplierShortageReport"]] == [closed.batch["id"]]
    assert gql(SUPPLIER_REPORT, {}, token=world.leader_token)["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    # The period: batches closed before it are not in it; too long a period is refused.
    assert gql.data(SUPPLIER_REPORT, {"until": "2020-01-01T00:00:00+00:00"}, token=tenant.admin_token)[
        "supplierShortageReport"] == []
    refused = gql(SUPPLIER_REPORT, {"since": "2020-01-01T00:00:00+00:00"}, token=tenant.admin_token)["errors"][0]
    assert refused["extensions"]["code"] == "INVALID"

    url = f"{api_url}/exports/supplier-shortage-report.csv"
    csv = httpx.get(url, params={"supplierId": supplier}, headers={"Authorization": f"Bearer {tenant.admin_token}"})
    assert csv.status_code == 200 and csv.content.startswith("\ufeff".encode())
    lines = csv.content.decode("utf-8-sig").strip().splitlines()
    assert lines[0] == ("supplier,batch,closed at,ordered,shipped,received,damaged,shorted,refunded,"
                        "kept for coupons,currency")
    assert len(lines) == 2 and lines[1].startswith("Farm,") and lines[1].endswith(",9,7,6,1,4,7.00,0.00,CNY")
    assert len(httpx.get(url, headers={"Authorization": f"Bearer {own}"}).content.decode(
        "utf-8-sig").strip().splitlines()) == 2
    assert httpx.get(url, headers={"Authorization": f"Bearer {world.leader_token}"}).status_code == 403
    assert httpx.get(url, params={"since": "yesterday"},
                     headers={"Authorization": f"Bearer {tenant.admin_token}"}).status_code == 400
    assert httpx.get(url).status_code == 401
    assert httpx.get(url, headers={"Authorization": f"Bearer {make_tenant().admin_token}"}).content.decode(
        "utf-8-sig").strip().count("\n") == 0


def test_the_purchase_order_csv_says_shipped_received_and_damaged_per_point(gql, tenant, make_customer, owner_db):  # type: ignore[no-untyped-def]
    closed = closed_batch(gql, owner_db, tenant, make_customer, ["2.00", "1.00"], [[(0, 3), (1, 2)], [(0, 4)]])
    world = closed.world
    po = gql.data("query($b: ID) { purchaseOrders(batchId: $b) { edges { node { id csvUrl } } } }",
                  {"b": closed.batch["id"]}, token=tenant.admin_token)["purchaseOrders"]["edges"][0]["node"]

    def rows() -> dict[str, tuple[str, ...]]:
        response = httpx.get(po["csvUrl"])
        assert response.status_code == 200
        found = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"), newline="")))
        return {r["product"]: (r["quantity"], r["shipped"], r["received"], r["damaged"]) for r in found}

    assert rows() == {"Product 0": ("7", "", "", ""), "Product 1": ("2", "", "", "")}
    shipped = gql.data(SHIP, {"id": po["id"], "lines": [{"productId": world.product_gid(0), "quantity": 6}]},
                       token=tenant.admin_token)["purchaseOrderShip"]
    assert shipped["errors"] == []
    assert rows() == {"Product 0": ("7", "6", "", ""), "Product 1": ("2", "2", "", "")}
    confirmed = gql.data(CONFIRM, {"b": closed.batch["id"], "p": world.point_gid, "lines": [
        {"productId": world.product_gid(0), "received": 5, "damaged": 2}]}, token=world.leader_token)
    assert confirmed["deliveryConfirm"]["errors"] == []
    assert rows() == {"Product 0": ("7", "6", "5", "2"), "Product 1": ("2", "2", "2", "0")}
