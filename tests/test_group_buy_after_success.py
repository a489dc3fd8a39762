"""A 拼团 group that formed stays formed, and an unpaid joiner's hold ends with its window.

The rule (service/groupbuys/cancellation.py): a paid member of a SUCCEEDED group cannot cancel
(CONFLICT); the close puts exactly the succeeded groups' orders into the purchase orders and pick
lists; what goes wrong later is after-sales, which refunds lines and leaves the group SUCCEEDED
with the members it formed with. Members of an OPEN group, and unpaid members, may cancel: the
place is free again. A cancellation racing the payment that fills the group never leaves a
succeeded group short."""

from __future__ import annotations

import threading
import time

from tests.group_buy_fixtures import GROUP_QUERY, end_window, expire_groups, group_batch, group_order, pay, uuid_of
from tests.ordering_fixtures import ORDER_CANCEL, bulk_customers, make_world, run_domain

REPORT = """
query($b: ID) { groupBuyReport(batchId: $b) { rows { opened succeeded failed paidOrders conversion } } }"""
ORDER_LINES = "query($id: ID!) { order(id: $id) { status lines { id } } }"
ORDER_REFUND = """
mutation($id: ID!, $lines: [ID!]!) { orderRefund(id: $id, lineIds: $lines, reason: "damaged") {
  order { id status } errors { code field message } } }"""


def _customers(owner_db, tenant, n):  # type: ignore[no-untyped-def]
    return [token for _, token in bulk_customers(owner_db, tenant, n)]


def _cancel(gql, token: str, order_id: str, lang: str = "en") -> dict:  # type: ignore[no-untyped-def]
    body = gql.post(ORDER_CANCEL, {"id": order_id}, token=token, headers={"Accept-Language": lang}).json()
    assert not body.get("errors"), body
    return body["data"]["orderCancel"]  # type: ignore[no-any-return]


def _group(gql, tenant, group_id: str) -> dict:  # type: ignore[no-untyped-def]
    return gql.data(GROUP_QUERY, {"id": group_id}, token=tenant.admin_token)["groupBuy"]  # type: ignore[no-any-return]


def _order_row(owner_db, order_gid: str) -> tuple:  # type: ignore[no-untyped-def]
    return owner_db.execute("SELECT o.status, o.refunded_minor, (SELECT count(*) FROM refund r WHERE r.tenant_id = o.tenant_id AND r.order_id = o.id) "
                            "FROM customer_order o WHERE o.id = %s", (uuid_of(order_gid),)).fetchone()


def test_a_paid_member_cannot_cancel_once_the_group_formed(gql, tenant, owner_db):  # type: ignore[no-untyped-def]
    world = make_world(owner_db, tenant)
    batch = group_batch(gql, world, size=2)
    a, b = _customers(owner_db, tenant, 2)
    first = group_order(gql, batch, world, a, start=True)["order"]
    pay(gql, world, first["id"])
    second = group_order(gql, batch, world, b, group=first["groupBuy"]["id"])["order"]
    assert pay(gql, world, second["id"])["order"]["groupBuy"]["status"] == "SUCCEEDED"
    for token, order, lang in ((a, first, "en"), (b, second, "zh-CN")):
        refused = _cancel(gql, token, order["id"], lang)
        assert refused["order"] is None and [(e["code"], e["field"]) for e in refused["errors"]] == [
            ("CONFLICT", ["id"])]
        assert ("after-sales" in refused["errors"][0]["message"]) if lang == "en" else (
            "已成团" in refused["errors"][0]["message"])
        assert _order_row(owner_db, order["id"]) == ("PAID", 0, 0)
    group = _group(gql, tenant, first["groupBuy"]["id"])
    assert (group["status"], group["paidMembers"]) == ("SUCCEEDED", 2)


def test_an_open_groups_member_may_cancel_and_the_place_is_free_again(gql, tenant, owner_db):  # type: ignore[no-untyped-def]
    world = make_world(owner_db, tenant)
    batch = group_batch(gql, world, size=3)
    a, b, c, d = _customers(owner_db, tenant, 4)
    first = group_order(gql, batch, world, a, start=True)["order"]
    pay(gql, world, first["id"])
    group_id = first["groupBuy"]["id"]
    joined = [group_order(gql, batch, world, t, group=group_id)["order"] for t in (b, c)]
    pay(gql, world, joined[0]["id"])
    assert group_order(gql, batch, world, d, group=group_id)["errors"][0]["code"] == "GROUP_FULL"
    # b paid, the group is still OPEN: b may leave, and is refunded once.
    left = _cancel(gql, b, joined[0]["id"])
    assert left["errors"] == [] and left["order"]["status"] == "CANCELLED"
    assert _order_row(owner_db, joined[0]["id"]) == ("CANCELLED", 990, 1)
    assert _group(gql, tenant, group_id)["paidMembers"] == 1
    # The place is d's now; the group forms with a, c and d.
    taken = group_order(gql, batch, world, d, group=group_id)
    assert taken["errors"] == []
    pay(gql, world, joined[1]["id"])
    done = pay(gql, world, taken["order"]["id"])["order"]["groupBuy"]
    assert (done["status"], done["paidMembers"]) == ("SUCCEEDED", 3)


def test_after_sales_refunds_leave_a_succeeded_group_succeeded(gql, tenant, owner_db):  # type: ignore[no-untyped-def]
    from service.procurement.scheduling import close_now

    world = make_world(owner_db, tenant)
    batch = group_batch(gql, world, size=2)
    a, b = _customers(owner_db, tenant, 2)
    first = group_order(gql, batch, world, a, start=True)["order"]
    pay(gql, world, first["id"])
    group_id = first["groupBuy"]["id"]
    second = group_order(gql, batch, world, b, group=group_id)["order"]
    pay(gql, world, second["id"])
    batch_id = uuid_of(batch["id"])
    assert run_domain(lambda engine: close_now(tenant.uuid, batch_id)) is not None
    # Both members' orders are in the purchase order and the pick list.
    assert owner_db.execute("SELECT sum(revenue_minor) FROM purchase_order WHERE batch_id = %s",
                            (batch_id,)).fetchone()[0] == 2 * 990
    assert owner_db.execute("SELECT sum(cardinality(order_ids)) FROM pick_list WHERE batch_id = %s",
                            (batch_id,)).fetchone()[0] == 2
    # After the close the customer's own cancellation is refused as for any order ...
    assert [e["code"] for e in _cancel(gql, a, first["id"])["errors"]] == ["CONFLICT"]
    # ... and a refund is after-sales: the line is refunded, the group stays as it formed.
    lines = gql.data(ORDER_LINES, {"id": first["id"]}, token=tenant.admin_token)["order"]["lines"]
    refunded = gql.data(ORDER_REFUND, {"id": first["id"], "lines": [ln["id"] for ln in lines]},
                        token=tenant.admin_token)["orderRefund"]
    assert refunded["errors"] == [], refunded
    assert _order_row(owner_db, first["id"])[1:] == (990, 1)
    group = _group(gql, tenant, group_id)
    assert (group["status"], group["paidMembers"], group["succeededVirtually"]) == ("SUCCEEDED", 2, False)
    (row,) = gql.data(REPORT, {"b": batch["id"]}, token=tenant.admin_token)["groupBuyReport"]["rows"]
    assert row == {"opened": 1, "succeeded": 1, "failed": 0, "paidOrders": 2, "conversion": 1.0}
    # The purchase order stays what the close bought.
    assert owner_db.execute("SELECT sum(revenue_minor) FROM purchase_order WHERE batch_id = %s",
                            (batch_id,)).fetchone()[0] == 2 * 990


def test_a_cancellation_racing_the_filling_payment_never_leaves_a_succeeded_group_short(  # type: ignore[no-untyped-def]
        gql, tenant, owner_db):
    world = make_world(owner_db, tenant)
    batch = group_batch(gql, world, size=2)
    rounds = 12
    tokens = _customers(owner_db, tenant, 2 * rounds)
    pairs = []
    for k in range(rounds):
        first = group_order(gql, batch, world, tokens[2 * k], start=True)["order"]
        pay(gql, world, first["id"])
        second = group_order(gql, batch, world, tokens[2 * k + 1], group=first["groupBuy"]["id"])["order"]
        pairs.append((first, second))
    outcomes: dict[int, list[str]] = {}

    def cancel(k: int) -> None:
        outcomes[k] = [e["code"] for e in _cancel(gql, tokens[2 * k], pairs[k][0]["id"])["errors"]]

    def fill(k: int) -> None:
        assert pay(gql, world, pairs[k][1]["id"])["errors"] == []

    threads = [threading.Thread(target=f, args=(k,)) for k in range(rounds) for f in (cancel, fill)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for k, (first, second) in enumerate(pairs):
        group = _group(gql, tenant, first["groupBuy"]["id"])
        starter, joiner = _order_row(owner_db, first["id"]), _order_row(owner_db, second["id"])
        if group["status"] == "SUCCEEDED":  # the payment came first: the cancellation was refused
            assert outcomes[k] == ["CONFLICT"] and starter == ("PAID", 0, 0) and joiner == ("PAID", 0, 0)
            assert group["paidMembers"] == 2
        else:  # the cancellation came first: the group waits for another member
            assert outcomes[k] == [] and starter == ("CANCELLED", 990, 1) and joiner == ("PAID", 0, 0)
            assert (group["status"], group["paidMembers"]) == ("OPEN", 1)


def test_an_unpaid_joiner_holds_a_place_only_until_its_payment_window_ends(gql, tenant, owner_db):  # type: ignore[no-untyped-def]
    world = make_world(owner_db, tenant)
    batch = group_batch(gql, world, size=2)
    a, b, c = _customers(owner_db, tenant, 3)
    first = group_order(gql, batch, world, a, start=True)["order"]
    pay(gql, world, first["id"])
    group_id = first["groupBuy"]["id"]
    held = group_order(gql, batch, world, b, group=group_id)["order"]
    # The hold is the tenant's payment window from the join.
    window = owner_db.execute("SELECT payment_window_minutes FROM tenant WHERE id = %s", (tenant.uuid,)).fetchone()[0]
    hold = owner_db.execute("SELECT extract(epoch FROM m.hold_until - o.created_at) FROM group_buy_member m "
                            "JOIN customer_order o ON o.tenant_id = m.tenant_id AND o.id = m.order_id WHERE m.order_id = %s",
                            (uuid_of(held["id"]),)).fetchone()[0]
    assert abs(float(hold) - window * 60) < 5
    assert group_order(gql, batch, world, c, group=group_id)["errors"][0]["code"] == "GROUP_FULL"
    # A short window in the test: b's hold ends two seconds from now.
    owner_db.execute("UPDATE group_buy_member SET hold_until = statement_timestamp() + interval '2 seconds' "
                     "WHERE order_id = %s", (uuid_of(held["id"]),))
    ends = time.monotonic() + 2
    assert group_order(gql, batch, world, c, group=group_id)["errors"][0]["code"] == "GROUP_FULL"
    time.sleep(max(0.0, ends + 0.3 - time.monotonic()))
    taken = group_order(gql, batch, world, c, group=group_id)
    assert taken["errors"] == []
    done = pay(gql, world, taken["order"]["id"])["order"]["groupBuy"]
    assert (done["status"], done["paidMembers"]) == ("SUCCEEDED", 2)
    # b's payment, too late, is not counted: b is cancelled and refunded, the group stays at its size.
    late = pay(gql, world, held["id"])["order"]
    assert late["status"] == "CANCELLED" and late["refunded"]["amount"] == "9.90"
    assert _group(gql, tenant, group_id)["paidMembers"] == 2


def test_a_payment_after_the_window_is_not_counted_whenever_the_job_runs(gql, tenant, owner_db):  # type: ignore[no-untyped-def]
    world = make_world(owner_db, tenant)
    batch = group_batch(gql, world, size=2)
    a, b = _customers(owner_db, tenant, 2)
    first = group_order(gql, batch, world, a, start=True)["order"]
    pay(gql, world, first["id"])
    group_id = first["groupBuy"]["id"]
    late = group_order(gql, batch, world, b, group=group_id)["order"]
    end_window(owner_db, [group_id])  # the window ended; the expiry job has not run yet
    paid = pay(gql, world, late["id"])
    assert paid["errors"] == [] and paid["order"]["status"] == "CANCELLED"
    assert paid["order"]["refunded"]["amount"] == "9.90" and _order_row(owner_db, late["id"]) == ("CANCELLED", 990, 1)
    assert _group(gql, tenant, group_id)["status"] == "OPEN"  # until the job resolves it, by its rule
    assert expire_groups(tenant.uuid) == 1
    group = _group(gql, tenant, group_id)
    assert (group["status"], group["paidMembers"]) == ("FAILED", 1)
    assert _order_row(owner_db, first["id"]) == ("CANCELLED", 990, 1)
    assert owner_db.execute("SELECT count(*) FROM refund WHERE order_id = ANY(%s)",
                            ([uuid_of(first["id"]), uuid_of(late["id"])],)).fetchone()[0] == 2


def test_succeed_anyway_counts_only_payments_within_the_window(gql, tenant, owner_db):  # type: ignore[no-untyped-def]
    world = make_world(owner_db, tenant)
    batch = group_batch(gql, world, size=3, expiry="SUCCEED_ANYWAY")
    a, b = _customers(owner_db, tenant, 2)
    first = group_order(gql, batch, world, a, start=True)["order"]
    pay(gql, world, first["id"])
    group_id = first["groupBuy"]["id"]
    late = group_order(gql, batch, world, b, group=group_id)["order"]
    end_window(owner_db, [group_id])
    assert pay(gql, world, late["id"])["order"]["status"] == "CANCELLED"
    assert expire_groups(tenant.uuid) == 1
    group = _group(gql, tenant, group_id)
    assert (group["status"], group["succeededVirtually"], group["paidMembers"]) == ("SUCCEEDED", True, 1)
    assert _order_row(owner_db, first["id"]) == ("PAID", 0, 0)


def test_a_batch_cancellation_fails_its_open_groups_and_refunds_once(gql, tenant, owner_db):  # type: ignore[no-untyped-def]
    world = make_world(owner_db, tenant)
    batch = group_batch(gql, world, size=2)
    a, b, c = _customers(owner_db, tenant, 3)
    done = group_order(gql, batch, world, a, start=True)["order"]
    pay(gql, world, done["id"])
    pay(gql, world, group_order(gql, batch, world, b, group=done["groupBuy"]["id"])["order"]["id"])
    short = group_order(gql, batch, world, c, start=True)["order"]
    pay(gql, world, short["id"])
    cancelled = gql.data('mutation($id: ID!) { batchCancel(id: $id, reason: "暴雨停运") { errors { code } } }',
                         {"id": batch["id"]}, token=tenant.admin_token)["batchCancel"]
    assert cancelled["errors"] == []
    # The open group ends now (not at its window), told to its member and leader; every order refunded once.
    assert _group(gql, tenant, short["groupBuy"]["id"])["status"] == "FAILED"
    assert _group(gql, tenant, done["groupBuy"]["id"])["status"] == "SUCCEEDED"
    assert owner_db.execute("SELECT count(*), sum(amount_minor) FROM refund WHERE tenant_id = %s",
                            (tenant.uuid,)).fetchone() == (3, 3 * 990)
    assert owner_db.execute("SELECT count(*) FROM outbox_event WHERE tenant_id = %s AND event = 'GROUP_FAILED'",
                            (tenant.uuid,)).fetchone()[0] == 1
    assert expire_groups(tenant.uuid) == 0
