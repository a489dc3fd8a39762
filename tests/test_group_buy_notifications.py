"""GROUP_OPENED, GROUP_SUCCEEDED and GROUP_FAILED reach the members and their leader in the app, in
their language, and the tenant's webhook subscribers; a group nobody paid for tells no one."""

from __future__ import annotations

from tests.group_buy_fixtures import end_window, expire_groups, group_batch, group_order, pay
from tests.ordering_fixtures import bulk_customers, make_world
from tests.test_notify import NOTIFICATIONS, relay, subscribe

EVENTS = ["GROUP_OPENED", "GROUP_SUCCEEDED", "GROUP_FAILED"]


def test_group_events_reach_members_the_leader_and_webhooks(gql, tenant, owner_db):  # type: ignore[no-untyped-def]
    world = make_world(owner_db, tenant)
    batch = group_batch(gql, world, size=2)
    subscribe(gql, tenant, "https://hooks.example/groups", EVENTS)
    (a, a_token), (b, b_token), (c, c_token), (_, d_token) = bulk_customers(owner_db, tenant, 4)
    filled = group_order(gql, batch, world, a_token, start=True)["order"]
    pay(gql, world, filled["id"])
    pay(gql, world, group_order(gql, batch, world, b_token, group=filled["groupBuy"]["id"])["order"]["id"])
    short = group_order(gql, batch, world, c_token, start=True)["order"]
    pay(gql, world, short["id"])
    never = group_order(gql, batch, world, d_token, start=True)["order"]  # nobody pays: never opened
    end_window(owner_db, [short["groupBuy"]["id"], never["groupBuy"]["id"]])
    assert expire_groups(tenant.uuid) == 2
    relay(tenant.uuid)

    told = {(r[0], r[1]) for r in owner_db.execute(
        "SELECT event, user_id FROM notification WHERE tenant_id = %s AND event LIKE 'GROUP%%'",
        (tenant.uuid,)).fetchall()}
    leader = world.leader_user_id
    assert told == {("GROUP_OPENED", a), ("GROUP_OPENED", c), ("GROUP_OPENED", leader),
                    ("GROUP_SUCCEEDED", a), ("GROUP_SUCCEEDED", b), ("GROUP_SUCCEEDED", leader),
                    ("GROUP_FAILED", c), ("GROUP_FAILED", leader)}
    # The leader of both groups hears of each opening ...
    assert owner_db.execute("SELECT count(*) FROM notification WHERE tenant_id = %s AND user_id = %s "
                            "AND event = 'GROUP_OPENED'", (tenant.uuid, leader)).fetchone()[0] == 2
    # ... and one webhook delivery per event: two opened, one succeeded, one failed.
    hooks = owner_db.execute(
        "SELECT e.event, count(*) FROM delivery d JOIN outbox_event e ON e.tenant_id = d.tenant_id AND e.id = d.outbox_event_id "
        "WHERE d.tenant_id = %s AND d.channel = 'WEBHOOK' GROUP BY e.event", (tenant.uuid,)).fetchall()
    assert dict(hooks) == {"GROUP_OPENED": 2, "GROUP_SUCCEEDED": 1, "GROUP_FAILED": 1}
    # In the member's language.
    body = gql.post(NOTIFICATIONS, {"first": 10}, token=c_token, headers={"Accept-Language": "zh-CN"}).json()
    titles = {e["node"]["event"]: e["node"]["title"] for e in body["data"]["notifications"]["edges"]}
    assert titles["GROUP_FAILED"] == "拼团失败" and titles["GROUP_OPENED"] == "拼团已开团"
    english = gql.data(NOTIFICATIONS, {"first": 10}, token=b_token)["notifications"]["edges"]
    assert {e["node"]["event"]: e["node"]["title"] for e in english}["GROUP_SUCCEEDED"] == "Group succeeded"
