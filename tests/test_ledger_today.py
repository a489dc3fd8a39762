""""Today at my point": a leader's orders placed today at their pickup points, goods value and
expected commission, through the API."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from service import global_id
from tests.ledger_world import earn, money_world, refund

TODAY = """query($l: ID, $on: Date) { leaderToday(leaderId: $l, on: $on) { date orders
  goodsValue { amount currency } expectedCommission { amount currency }
  points { orders goodsValue { amount } expectedCommission { amount } pickupPoint { id name } } } }"""


def test_today_at_my_point_counts_orders_goods_and_expected_commission(gql, tenant, owner_db):  # type: ignore[no-untyped-def]
    # 10 % of 12.34, 9.99 and 25.05: 1.234 -> 1.23, 0.999 -> 1.00, 2.505 -> 2.51 (half-up per line).
    world = money_world(owner_db, tenant.uuid, orders=3, prices=[1234, 999, 2505])
    other = money_world(owner_db, tenant.uuid, orders=1, price=50000)
    point = owner_db.execute("SELECT id FROM pickup_point WHERE tenant_id = %s AND leader_id = %s",
                             (tenant.uuid, world.leader_id)).fetchone()[0]
    tz = owner_db.execute("SELECT timezone FROM tenant WHERE id = %s", (tenant.uuid,)).fetchone()[0]
    local_today = datetime.now(ZoneInfo(tz)).date()

    def today(token: str | None = None, **v) -> dict:  # type: ignore[no-untyped-def]
        return gql.data(TODAY, v, token=token or world.leader_token)["leaderToday"]

    derived = today()  # closed, not picked up: the commission as the close derives it
    assert derived["date"] == local_today.isoformat()
    assert (derived["orders"], derived["goodsValue"], derived["expectedCommission"]) == (
        3, {"amount": "47.38", "currency": "CNY"}, {"amount": "4.74", "currency": "CNY"})
    assert derived["points"] == [{"orders": 3, "goodsValue": {"amount": "47.38"},
                                  "expectedCommission": {"amount": "4.74"},
                                  "pickupPoint": {"id": global_id.encode("PickupPoint", point),
                                                  "name": derived["points"][0]["pickupPoint"]["name"]}}]
    earn(tenant.uuid, world.order_ids[:1])  # written down: the same figures
    assert today()["expectedCommission"]["amount"] == "4.74"
    refund(tenant.uuid, world.order_ids[2])  # 25.05 refunded: its goods and commission are gone
    after = today()
    assert (after["goodsValue"]["amount"], after["expectedCommission"]["amount"]) == ("22.33", "2.23")
    # Another day has none; another leader sees their own point only; an admin names the leader.
    assert today(on=(local_today - timedelta(days=1)).isoformat())["orders"] == 0
    theirs = today(token=other.leader_token)
    assert (theirs["orders"], theirs["expectedCommission"]["amount"]) == (1, "50.00")
    body = gql(TODAY, {"l": world.leader_gid}, token=other.leader_token)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert today(token=tenant.admin_token, l=world.leader_gid)["goodsValue"]["amount"] == "22.33"
