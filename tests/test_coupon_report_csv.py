"""The coupon report as CSV (/exports/coupon-report.csv): the same figures as couponReport, per
template, for admins and the API key only, and only the caller's tenant's templates."""

from __future__ import annotations

import csv
import io

import httpx

from tests.coupon_fixtures import REPORT, make_shop, uid
from tests.ordering_fixtures import ORDER_MARK_PAID


def _rows(response: httpx.Response) -> list[dict]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))


def test_the_csv_gives_claimed_used_expired_and_discount_against_budget(  # type: ignore[no-untyped-def]
        gql, api_url, tenant, make_tenant, owner_db):
    shop = make_shop(gql, owner_db, tenant)
    template = shop.template(name="满10减2", amountOff="2.00", threshold="10.00", budget="50.00", totalQuantity=10)
    (_, alice), (_, bob), (_, carol) = shop.customers(owner_db, 3)
    used = shop.claim(alice, template["id"])["coupon"]
    paid = shop.place(alice, [(0, 2)], used["id"])["order"]
    assert gql.data(ORDER_MARK_PAID, {"id": paid["id"], "ref": "r1"}, token=tenant.api_key)["orderMarkPaid"][
        "errors"] == []
    held = shop.claim(bob, template["id"])["coupon"]
    assert shop.place(bob, [(2, 1)], held["id"])["errors"] == []
    late = shop.claim(carol, template["id"])["coupon"]
    owner_db.execute("UPDATE coupon SET valid_until = statement_timestamp() WHERE id = %s", (uid(late["id"]),))

    url = f"{api_url}/exports/coupon-report.csv"
    (row,) = _rows(httpx.get(url, headers={"Authorization": f"Bearer {tenant.admin_token}"}))
    assert row == {"template_id": template["id"], "name": "满10减2", "kind": "AMOUNT_OFF", "total_quantity": "10",
                   "claimed": "3", "reserved": "1", "used": "1", "expired": "1", "discount_given": "4.00",
                   "discount_used": "2.00", "budget": "50.00", "currency": "CNY", "ended": "no"}
    (same,) = gql.data(REPORT, token=tenant.admin_token)["couponReport"]
    assert (same["claimed"], same["reserved"], same["used"], same["expired"], same["discountGiven"]["amount"],
            same["discountUsed"]["amount"], same["budget"]["amount"]) == (3, 1, 1, 1, "4.00", "2.00", "50.00")
    assert _rows(httpx.get(url, headers={"Authorization": f"Bearer {tenant.api_key}"})) == [row]
    # Customers and leaders may not read it; another tenant's admin reads only their own (none).
    assert httpx.get(url, headers={"Authorization": f"Bearer {alice}"}).status_code == 403
    assert httpx.get(url, headers={"Authorization": f"Bearer {shop.world.leader_token}"}).status_code == 403
    assert _rows(httpx.get(url, headers={"Authorization": f"Bearer {make_tenant().admin_token}"})) == []
    assert httpx.get(url).status_code == 401
