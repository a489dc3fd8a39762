"""拼团 through the public API: offers that form groups, starting, joining, paying, the end of a
group's window (REFUND or SUCCEED_ANYWAY), the close, events, the report, and isolation."""

from __future__ import annotations

import threading
import uuid

from service import global_id
from tests.group_buy_fixtures import (
    GROUP_JOIN,
    GROUP_QUERY,
    end_window,
    expire_groups,
    group_batch,
    group_order,
    lapse_holds,
    pay,
    uuid_of,
)
from tests.ordering_fixtures import (
    ORDER_PLACE,
    bulk_customers,
    make_world,
    offer_input,
    place_input,
    run_domain,
)

OFFER_UPDATE = """
mutation($id: ID!, $input: OfferUpdateInput!) {
  offerUpdate(id: $id, input: $input) { offer { id groupSize groupWindowMinutes groupExpiry } errors { code field } }
}"""
BATCH_CREATE = """
mutation($input: BatchCreateInput!) {
  batchCreate(input: $input) { batch { offers { id groupSize groupWindowMinutes groupExpiry } }
                               errors { code field message } }
}"""
REPORT = """
query($b: ID) { groupBuyReport(batchId: $b) {
  rows { offer { id } groupSize opened open succeeded succeededVirtually failed paidOrders conversion } csv } }"""


def _customers(owner_db, tenant, n):  # type: ignore[no-untyped-def]
    return [token for _, token in bulk_customers(owner_db, tenant, n)]


def _events(owner_db, tenant, event):  # type: ignore[no-untyped-def]
    return [r[0] for r in owner_db.execute(
        "SELECT payload FROM outbox_event WHERE tenant_id = %s AND event = %s ORDER BY created_at",
        (tenant.uuid, event)).fetchall()]


def test_offers_take_a_group_rule_checked_and_editable(gql, tenant, owner_db):  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime, timedelta

    world = make_world(owner_db, tenant)
    now = datetime.now(UTC)
    base = {"title": "b", "opensAt": (now + timedelta(hours=1)).isoformat(),
            "closesAt": (now + timedelta(hours=5)).isoformat(), "pickupDate": (now + timedelta(days=2)).date().isoformat()}
    bad = gql.data(BATCH_CREATE, {"input": {**base, "offers": [
        offer_input(world, 0, groupSize=1), offer_input(world, 1, groupSize=51),
        offer_input(world, 2, groupSize=3, groupWindowMinutes=0)]}}, token=tenant.admin_token)["batchCreate"]
    assert sorted((e["code"], tuple(e["field"])) for e in bad["errors"]) == [
        ("INVALID", ("input", "offers", "0", "groupSize")), ("INVALID", ("input", "offers", "1", "groupSize")),
        ("INVALID", ("input", "offers", "2", "groupWindowMinutes"))]
    made = gql.data(BATCH_CREATE, {"input": {**base, "offers": [
        offer_input(world, 0, groupSize=3), offer_input(world, 1)]}}, token=tenant.admin_token)["batchCreate"]
    assert made["errors"] == []
    group_offer, plain = made["batch"]["offers"]
    assert (group_offer["groupSize"], group_offer["groupWindowMinutes"], group_offer["groupExpiry"]) == (
        3, 1440, "REFUND")
    assert (plain["groupSize"], plain["groupExpiry"]) == (None, None)
    changed = gql.data(OFFER_UPDATE, {"id": plain["id"], "input": {"groupSize": 2, "groupExpiry": "SUCCEED_ANYWAY"}},
                       token=tenant.admin_token)["offerUpdate"]
    assert changed["errors"] == [] and changed["offer"]["groupSize"] == 2
    assert changed["offer"]["groupExpiry"] == "SUCCEED_ANYWAY"
    refused = gql.data(OFFER_UPDATE, {"id": plain["id"], "input": {"groupSize": 99}},
                       token=tenant.admin_token)["offerUpdate"]
    assert [e["code"] for e in refused["errors"]] == ["INVALID"]


def test_a_group_opens_at_its_first_payment_and_succeeds_at_its_size(gql, tenant, owner_db):  # type: ignore[no-untyped-def]
    world = make_world(owner_db, tenant)
    batch = group_batch(gql, world, size=3)
    a, b, c, d = _customers(owner_db, tenant, 4)
    started = group_order(gql, batch, world, a, start=True)
    assert started["errors"] == []
    group = started["order"]["groupBuy"]
    assert (group["status"], group["size"], group["paidMembers"], group["openedAt"]) == ("OPEN", 3, 0, None)
    assert len(group["shareCode"]) >= 22  # 128 bits of a uuid, 122 of them random
    # Not joinable until its first order is paid.
    early = gql.data(GROUP_JOIN, {"id": group["id"]}, token=b)["groupBuyJoin"]
    assert [e["code"] for e in early["errors"]] == ["INVALID"]
    paid = pay(gql, world, started["order"]["id"])
    assert paid["errors"] == [] and paid["order"]["groupBuy"]["paidMembers"] == 1
    assert len(_events(owner_db, tenant, "GROUP_OPENED")) == 1
    ready = gql.data(GROUP_JOIN, {"id": group["id"]}, token=b)["groupBuyJoin"]
    assert ready["errors"] == [] and ready["groupBuy"]["openedAt"] is not None
    joined_b = group_order(gql, batch, world, b, group=group["id"])
    joined_c = group_order(gql, batch, world, c, group=group["id"])
    assert joined_b["errors"] == [] == joined_c["errors"]
    # One paid and two unpaid holding their places: full.
    full = group_order(gql, batch, world, d, group=group["id"])
    assert [(e["code"], e["field"]) for e in full["errors"]] == [("GROUP_FULL", ["input", "groupBuyId"])]
    assert [e["code"] for e in gql.data(GROUP_JOIN, {"id": group["id"]}, token=d)["groupBuyJoin"]["errors"]] == [
        "GROUP_FULL"]
    # Nothing of the refused order stayed.
    assert owner_db.execute("SELECT count(*) FROM customer_order WHERE tenant_id = %s", (tenant.uuid,)
                            ).fetchone()[0] == 3
    pay(gql, world, joined_b["order"]["id"])
    done = pay(gql, world, joined_c["order"]["id"])
    assert done["order"]["groupBuy"]["status"] == "SUCCEEDED" and done["order"]["groupBuy"]["paidMembers"] == 3
    (event,) = _events(owner_db, tenant, "GROUP_SUCCEEDED")
    assert event["price"] == {"amount": "9.90", "currency": "CNY"}
    assert event["paidMembers"] == 3 and len(event["customerIds"]) == 3
    assert str(world.leader_id) in event["leaderIds"] and str(world.leader_user_id) in event["userIds"]
    # The relay sends ids as global IDs that node() resolves.
    node = gql.data("query($id: ID!) { node(id: $id) { ... on GroupBuy { status } } }",
                    {"id": global_id.encode("GroupBuy", uuid.UUID(event["groupBuyId"]))}, token=a)["node"]
    assert node == {"status": "SUCCEEDED"}
    # The group is found by its share code, and by id for anyone in the tenant.
    found = gql.data("query($c: String!) { groupBuyByShareCode(code: $c) { id } }", {"c": group["shareCode"]},
                     tenant=tenant.slug)["groupBuyByShareCode"]
    assert found == {"id": group["id"]}
    assert gql.data(GROUP_QUERY, {"id": group["id"]}, tenant=tenant.slug)["groupBuy"]["paidMembers"] == 3


def test_a_customer_is_in_one_open_group_per_offer_and_plain_orders_buy_alone(gql, tenant, owner_db):  # type: ignore[no-untyped-def]
    world = make_world(owner_db, tenant)
    batch = group_batch(gql, world, size=2)
    a, b = _customers(owner_db, tenant, 2)
    first = group_order(gql, batch, world, a, start=True)
    pay(gql, world, first["order"]["id"])
    again = group_order(gql, batch, world, a, start=True)
    assert [e["code"] for e in again["errors"]] == ["CONFLICT"]
    own = gql.data(GROUP_JOIN, {"id": first["order"]["groupBuy"]["id"]}, token=a)["groupBuyJoin"]
    assert [e["code"] for e in own["errors"]] == ["CONFLICT"]
    # Without groupBuyId or startGroupBuy the offer sells alone, on the plain path.
    alone = gql.data(ORDER_PLACE, place_input(batch, world, [(0, 1)]), token=b)["orderPlace"]
    assert alone["errors"] == []
    assert gql.data("query($id: ID!) { order(id: $id) { groupBuy { id } } }", {"id": alone["order"]["id"]},
                    token=b)["order"] == {"groupBuy": None}
    # A 拼团 order has one line, of a 拼团 offer.
    mixed = gql.data(ORDER_PLACE, {"input": {**place_input(batch, world, [(0, 1), (1, 1)])["input"],
                                             "startGroupBuy": True}}, token=b)["orderPlace"]
    assert [(e["code"], e["field"]) for e in mixed["errors"]] == [("INVALID", ["input", "startGroupBuy"])]
    plain = gql.data(ORDER_PLACE, {"input": {**place_input(batch, world, [(1, 1)])["input"],
                                             "startGroupBuy": True}}, token=b)["orderPlace"]
    assert [e["code"] for e in plain["errors"]] == ["INVALID"]
    # Once the customer's group ended, they may start another.
    group_order_b = group_order(gql, batch, world, b, group=first["order"]["groupBuy"]["id"])
    pay(gql, world, group_order_b["order"]["id"])
    assert group_order(gql, batch, world, a, start=True)["errors"] == []


def test_a_lapsed_hold_loses_the_last_place_to_a_payment_and_is_refunded(gql, tenant, owner_db):  # type: ignore[no-untyped-def]
    world = make_world(owner_db, tenant)
    batch = group_batch(gql, world, size=2)
    a, b, c = _customers(owner_db, tenant, 3)
    first = group_order(gql, batch, world, a, start=True)
    pay(gql, world, first["order"]["id"])
    group_id = first["order"]["groupBuy"]["id"]
    late = group_order(gql, batch, world, b, group=group_id)
    assert [e["code"] for e in group_order(gql, batch, world, c, group=group_id)["errors"]] == ["GROUP_FULL"]
    lapse_holds(owner_db, group_id)
    quick = group_order(gql, batch, world, c, group=group_id)
    assert quick["errors"] == []
    assert pay(gql, world, quick["order"]["id"])["order"]["groupBuy"]["status"] == "SUCCEEDED"
    lost = pay(gql, world, late["order"]["id"], "late-ref")
    assert lost["errors"] == []
    assert lost["order"]["status"] == "CANCELLED" and lost["order"]["refunded"]["amount"] == "9.90"
    refunds = owner_db.execute("SELECT count(*), sum(amount_minor) FROM refund WHERE order_id = %s",
                               (uuid_of(late["order"]["id"]),)).fetchone()
    assert refunds == (1, 990)
    assert gql.data(GROUP_QUERY, {"id": group_id}, tenant=tenant.slug)["groupBuy"]["paidMembers"] == 2
    # The same payment reported again changes nothing.
    again = pay(gql, world, late["order"]["id"], "late-ref")
    assert again["errors"] == [] and owner_db.execute(
        "SELECT count(*) FROM refund WHERE order_id = %s", (uuid_of(late["order"]["id"]),)).fetchone()[0] == 1


def _group_of(gql, batch, world, tokens, paid):  # type: ignore[no-untyped-def]
    """A group started by tokens[0], joined by the others; the first `paid` of them paid."""
    orders = [group_order(gql, batch, world, tokens[0], start=True)["order"]]
    pay(gql, world, orders[0]["id"])
    group_id = orders[0]["groupBuy"]["id"]
    for token in tokens[1:]:
        placed = group_order(gql, batch, world, token, group=group_id)
        assert placed["errors"] == [], placed
        orders.append(placed["order"])
    for order in orders[1:paid]:
        pay(gql, world, order["id"])
    return group_id, orders


def test_expiry_refunds_every_member_of_a_failed_group_once_run_concurrently_and_again(gql, tenant, owner_db):  # type: ignore[no-untyped-def]
    world = make_world(owner_db, tenant)
    batch = group_batch(gql, world, size=4)
    tokens = _customers(owner_db, tenant, 4 * 4)
    groups = [_group_of(gql, batch, world, tokens[4 * k:4 * k + 3], paid=2) for k in range(3)]
    succeeded, _ = _group_of(gql, batch, world, tokens[12:16], paid=4)
    end_window(owner_db, [g for g, _ in groups] + [succeeded])
    results: list[int] = []
    threads = [threading.Thread(target=lambda: results.append(expire_groups(tenant.uuid))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(results) == 3
    assert expire_groups(tenant.uuid) == 0 and expire_groups() == 0
    for group_id, orders in groups:
        assert gql.data(GROUP_QUERY, {"id": group_id}, tenant=tenant.slug)["groupBuy"]["status"] == "FAILED"
        for k, order in enumerate(orders):
            status, refunded, refunds = owner_db.execute(
                "SELECT o.status, o.refunded_minor, (SELECT count(*) FROM refund r WHERE r.tenant_id = o.tenant_id "
                "AND r.order_id = o.id) FROM customer_order o WHERE o.tenant_id = %s AND o.id = %s",
                (tenant.uuid, uuid_of(order["id"]))).fetchone()
            # Every member's own order: the two paid refunded once, the unpaid one just cancelled.
            assert (status, refunded, refunds) == (("CANCELLED", 990, 1) if k < 2 else ("CANCELLED", 0, 0))
    assert owner_db.execute(
        "SELECT count(*) FROM refund r JOIN group_buy_member m ON m.tenant_id = r.tenant_id AND m.order_id = r.order_id "
        "WHERE m.tenant_id = %s AND m.group_buy_id = %s", (tenant.uuid, uuid_of(succeeded))).fetchone()[0] == 0
    failed_events = _events(owner_db, tenant, "GROUP_FAILED")
    assert len(failed_events) == 3 and all(len(e["customerIds"]) == 3 for e in failed_events)
    # Stock came back: only the succeeded group's four units are sold.
    sold = owner_db.execute("SELECT sum(sold) FROM offer_stock_slot WHERE offer_id = %s",
                            (uuid_of(batch["offers"][0]["id"]),)).fetchone()[0]
    assert sold == 4


def test_succeed_anyway_marks_the_group_and_the_report_counts_it(gql, tenant, owner_db):  # type: ignore[no-untyped-def]
    world = make_world(owner_db, tenant)
    batch = group_batch(gql, world, size=3, expiry="SUCCEED_ANYWAY")
    tokens = _customers(owner_db, tenant, 7)
    virtual, orders = _group_of(gql, batch, world, tokens[:3], paid=2)
    full, _ = _group_of(gql, batch, world, tokens[3:6], paid=3)
    never = group_order(gql, batch, world, tokens[6], start=True)["order"]["groupBuy"]["id"]  # never paid
    end_window(owner_db, [virtual, never])
    assert expire_groups(tenant.uuid) == 2
    got = gql.data(GROUP_QUERY, {"id": virtual}, tenant=tenant.slug)["groupBuy"]
    assert (got["status"], got["succeededVirtually"], got["paidMembers"]) == ("SUCCEEDED", True, 2)
    # The unpaid member's order ends with the group; a group nobody paid for fails.
    assert owner_db.execute("SELECT status FROM customer_order WHERE id = %s", (uuid_of(orders[2]["id"]),)
                            ).fetchone()[0] == "CANCELLED"
    assert gql.data(GROUP_QUERY, {"id": never}, tenant=tenant.slug)["groupBuy"]["status"] == "FAILED"
    report = gql.data(REPORT, {"b": batch["id"]}, token=tenant.admin_token)["groupBuyReport"]
    (row,) = report["rows"]
    assert {k: row[k] for k in ("opened", "open", "succeeded", "succeededVirtually", "failed", "paidOrders")} == {
        "opened": 2, "open": 0, "succeeded": 2, "succeededVirtually": 1, "failed": 0, "paidOrders": 5}
    assert row["conversion"] == 1.0
    lines = report["csv"].splitlines()
    assert lines[0].startswith("\ufeffoffer_id,product,group_size,opened") and len(lines) == 2
    assert lines[1].split(",")[2:9] == ["3", "2", "0", "2", "1", "0", "5"]


def test_the_close_resolves_open_groups_and_only_succeeded_groups_reach_purchase_orders(  # type: ignore[no-untyped-def]
        gql, tenant, owner_db):
    from service.procurement.scheduling import close_now

    world = make_world(owner_db, tenant)
    batch = group_batch(gql, world, size=2)
    tokens = _customers(owner_db, tenant, 5)
    done, _ = _group_of(gql, batch, world, tokens[:2], paid=2)
    short, _ = _group_of(gql, batch, world, tokens[2:3], paid=1)
    plain = gql.data(ORDER_PLACE, place_input(batch, world, [(1, 2)]), token=tokens[4])["orderPlace"]["order"]
    pay(gql, world, plain["id"])
    batch_id = uuid_of(batch["id"])

    async def close(engine):  # type: ignore[no-untyped-def]
        return await close_now(tenant.uuid, batch_id)

    assert run_domain(close) is not None
    assert gql.data(GROUP_QUERY, {"id": short}, tenant=tenant.slug)["groupBuy"]["status"] == "FAILED"
    assert gql.data(GROUP_QUERY, {"id": done}, tenant=tenant.slug)["groupBuy"]["status"] == "SUCCEEDED"
    revenue = owner_db.execute("SELECT sum(revenue_minor) FROM purchase_order WHERE batch_id = %s",
                               (batch_id,)).fetchone()[0]
    assert revenue == 2 * 990 + 2 * 500
    # Money adds up: what was paid = purchase-order revenue + refunds (the failed group's).
    paid_total, refunded = owner_db.execute(
        "SELECT sum(o.total_minor) FILTER (WHERE o.paid_at IS NOT NULL), "
        "(SELECT sum(amount_minor) FROM refund r WHERE r.tenant_id = %s) "
        "FROM customer_order o WHERE o.tenant_id = %s AND o.batch_id = %s", (tenant.uuid, tenant.uuid, batch_id)
    ).fetchone()
    assert refunded == 990 and paid_total == revenue + refunded
    picked = owner_db.execute("SELECT sum(cardinality(order_ids)) FROM pick_list WHERE batch_id = %s",
                              (batch_id,)).fetchone()[0]
    assert picked == 3


def test_pay_at_pickup_orders_count_when_placed(gql, make_tenant, owner_db):  # type: ignore[no-untyped-def]
    tenant = make_tenant(paymentMode="PAY_AT_PICKUP")
    world = make_world(owner_db, tenant)
    batch = group_batch(gql, world, size=2)
    a, b = _customers(owner_db, tenant, 2)
    first = group_order(gql, batch, world, a, start=True)["order"]
    assert first["status"] == "PLACED" and first["groupBuy"]["openedAt"] is not None
    second = group_order(gql, batch, world, b, group=first["groupBuy"]["id"])["order"]
    assert second["groupBuy"]["status"] == "SUCCEEDED"


def test_groups_of_one_tenant_are_invisible_and_useless_in_another(gql, make_tenant, owner_db):  # type: ignore[no-untyped-def]
    tenant_a, tenant_b = make_tenant(), make_tenant()
    world_a, world_b = make_world(owner_db, tenant_a), make_world(owner_db, tenant_b)
    batch_a, batch_b = group_batch(gql, world_a, size=2), group_batch(gql, world_b, size=2)
    (a,) = _customers(owner_db, tenant_a, 1)
    (b,) = _customers(owner_db, tenant_b, 1)
    started = group_order(gql, batch_a, world_a, a, start=True)["order"]
    pay(gql, world_a, started["id"])
    group = started["groupBuy"]
    assert gql.data(GROUP_QUERY, {"id": group["id"]}, token=b)["groupBuy"] is None
    assert gql.data("query($id: ID!) { node(id: $id) { id } }", {"id": group["id"]}, token=b)["node"] is None
    assert gql.data("query($c: String!) { groupBuyByShareCode(code: $c) { id } }", {"c": group["shareCode"]},
                    token=b)["groupBuyByShareCode"] is None
    assert [e["code"] for e in gql.data(GROUP_JOIN, {"id": group["id"]}, token=b)["groupBuyJoin"]["errors"]] == [
        "NOT_FOUND"]
    joined = group_order(gql, batch_b, world_b, b, group=group["id"])
    assert [(e["code"], e["field"]) for e in joined["errors"]] == [("NOT_FOUND", ["input", "groupBuyId"])]
    assert gql.data(GROUP_QUERY, {"id": group["id"]}, token=a)["groupBuy"]["paidMembers"] == 1
