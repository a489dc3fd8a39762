"""Tenant A's coupons cannot be claimed, seen or used in tenant B; the coupon tables obey RLS."""

from __future__ import annotations

import psycopg
from psycopg import sql

from tests.coupon_fixtures import AVAILABLE, TEMPLATES, make_shop, uid

NODE = "query($id: ID!) { node(id: $id) { id } }"
COUPON_TABLES = ("coupon_template", "coupon_holding", "coupon")


def test_coupons_of_one_tenant_are_nothing_in_another(gql, make_tenant, owner_db, app_db_url):  # type: ignore[no-untyped-def]
    a, b = make_tenant(), make_tenant()
    shop_a, shop_b = make_shop(gql, owner_db, a), make_shop(gql, owner_db, b)
    template = shop_a.template()
    ((_, alice),) = shop_a.customers(owner_db, 1)
    ((_, bob),) = shop_b.customers(owner_db, 1)
    coupon = shop_a.claim(alice, template["id"])["coupon"]

    assert [e["code"] for e in shop_b.claim(bob, template["id"])["errors"]] == ["NOT_FOUND"]
    assert gql.data(TEMPLATES, {}, token=b.admin_token)["couponTemplates"]["edges"] == []
    assert gql.data(AVAILABLE, {}, token=bob)["availableCoupons"] == []
    for gid in (template["id"], coupon["id"]):
        assert gql.data(NODE, {"id": gid}, token=b.admin_token)["node"] is None
    assert gql.data(NODE, {"id": coupon["id"]}, token=alice)["node"] == {"id": coupon["id"]}
    used = shop_b.place(bob, [(0, 1)], coupon["id"])
    assert [(e["code"], e["field"]) for e in used["errors"]] == [("NOT_FOUND", ["input", "couponId"])]
    assert owner_db.execute("SELECT count(*) FROM customer_order WHERE tenant_id = %s", (b.uuid,)).fetchone()[0] == 0
    # Within A, another customer's coupon is not theirs to use.
    ((_, carol),) = shop_a.customers(owner_db, 1)
    assert [e["code"] for e in shop_a.place(carol, [(0, 1)], coupon["id"])["errors"]] == ["NOT_FOUND"]
    assert gql.data(NODE, {"id": coupon["id"]}, token=carol)["node"] is None

    # The database itself: acting for B, A's rows are invisible and untouchable.
    with psycopg.connect(app_db_url) as conn:
        conn.execute("SELECT set_config('app.tenant_id', %s, true)", (str(b.uuid),))
        for table in COUPON_TABLES:
            seen = conn.execute(sql.SQL("SELECT count(*) FROM {} WHERE tenant_id = %s").format(
                sql.Identifier(table)), (a.uuid,)).fetchone()[0]
            assert seen == 0, table
            touched = conn.execute(sql.SQL("UPDATE {} SET tenant_id = tenant_id WHERE tenant_id = %s").format(
                sql.Identifier(table)), (a.uuid,)).rowcount
            assert touched == 0, table
        conn.rollback()
    flags = dict((r[0], (r[1], r[2])) for r in owner_db.execute(
        "SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class WHERE relname = ANY(%s)",
        (list(COUPON_TABLES),)).fetchall())
    assert flags == {t: (True, True) for t in COUPON_TABLES}
    assert owner_db.execute("SELECT tenant_id FROM coupon WHERE id = %s", (uid(coupon["id"]),)).fetchone()[0] == a.uuid
