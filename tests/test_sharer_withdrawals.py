"""A sharer (a customer who is not a leader) is paid their distribution commissions: the leaders'
withdrawal rules, state machine and ledger entries, as a SharerWithdrawal (a leader's Withdrawal
has a non-null leader), with events of its own."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from service import global_id
from tests.ledger_world import age, buckets, earn, kinds, money_world, release
from tests.ordering_fixtures import _token
from tests.reliability.invariants import check_ledger
from tests.test_ledger_processes import Steps, race

ERR = "errors { code field message }"
SW = ("sharerWithdrawal { id status amount { amount } fee { amount } payout { amount } accountMasked accountName "
      "payoutReference reason sharer { id displayName } }")
REQUEST = f"mutation($i: WithdrawalRequestInput!) {{ sharerWithdrawalRequest(input: $i) {{ {ERR} {SW} }} }}"
APPROVE = f"mutation($id: ID!) {{ sharerWithdrawalApprove(id: $id) {{ {ERR} {SW} }} }}"
REJECT = f"mutation($id: ID!, $r: String!) {{ sharerWithdrawalReject(id: $id, reason: $r) {{ {ERR} {SW} }} }}"
PAID = (f"mutation($id: ID!, $ref: String!) {{ sharerWithdrawalMarkPaid(id: $id, payoutReference: $ref) "
        f"{{ {ERR} {SW} }} }}")
FAILED = f"mutation($id: ID!, $r: String!) {{ sharerWithdrawalMarkFailed(id: $id, reason: $r) {{ {ERR} {SW} }} }}"
LIST = """query($s: WithdrawalStatus, $u: ID) { sharerWithdrawals(status: $s, sharerId: $u, first: 100) {
  totalCount edges { node { id status sharer { id displayName } amount { amount } } } } }"""
BALANCE = "{ myBalance { frozen { amount } available { amount } withdrawn { amount } inWithdrawal { amount } } }"


def _request(amount: str, account: str = "6222020200112233") -> dict:
    return {"i": {"amount": amount, "method": "ALIPAY", "account": account, "accountName": "李分享"}}


def _codes(payload: dict) -> list:
    return [(e["code"], e["field"]) for e in payload["errors"]]


def _mine(gql, token) -> dict:  # type: ignore[no-untyped-def]
    return {k: v["amount"] for k, v in gql.data(BALANCE, token=token)["myBalance"].items()}


def _sharers_with(owner_db, tenant, app_db_url, orders: int = 10):  # type: ignore[no-untyped-def]
    """`orders` orders of 200.00 shared by two sharers, picked up and released: level 1 (5 %) has
    orders x 10.00 available, level 2 (2 %) orders x 4.00."""
    world = money_world(owner_db, tenant.uuid, orders=orders, price=20000, sharers=("0.05", "0.02"))
    earn(tenant.uuid, world.order_ids)
    age(owner_db, tenant.uuid)
    release(app_db_url, tenant.uuid)
    return world


def test_sharer_withdrawal_rules_and_state_machine(gql, tenant, owner_db, app_db_url):  # type: ignore[no-untyped-def]
    world = _sharers_with(owner_db, tenant, app_db_url)
    s1, s2 = world.sharer_ids
    token, other = _token(tenant.uuid, s1), _token(tenant.uuid, s2)
    admin, key = tenant.admin_token, {"Authorization": f"Bearer {tenant.api_key}"}
    owner_db.execute("UPDATE tenant SET withdrawal_minimum_minor = 2000, withdrawal_fee_rate = 0.006, "
                     "withdrawal_fee_fixed_minor = 100, withdrawal_daily_limit = 2 WHERE id = %s", (tenant.uuid,))
    assert _mine(gql, token) == {"frozen": "0.00", "available": "100.00", "withdrawn": "0.00", "inWithdrawal": "0.00"}

    assert _codes(gql.data(REQUEST, _request("19.99"), token=token)["sharerWithdrawalRequest"]) == [
        ("INVALID", ["input", "amount"])]
    assert _codes(gql.data(REQUEST, _request("100.01"), token=token)["sharerWithdrawalRequest"]) == [
        ("INSUFFICIENT_BALANCE", ["input", "amount"])]
    # A leader withdraws as a leader (their balance holds what they earned sharing too).
    assert _codes(gql.data(REQUEST, _request("20.00"), token=world.leader_token)["sharerWithdrawalRequest"]) == [
        ("CONFLICT", None)]
    # 60.00: fee 0.6 % = 0.36 plus 1.00 fixed; payout 58.64.
    w = gql.data(REQUEST, _request("60.00"), token=token)["sharerWithdrawalRequest"]
    assert w["errors"] == []
    sw = w["sharerWithdrawal"]
    assert (sw["status"], sw["fee"]["amount"], sw["payout"]["amount"], sw["accountMasked"]) == (
        "REQUESTED", "1.36", "58.64", "************2233")
    assert sw["sharer"] == {"id": global_id.encode("User", s1), "displayName": "分享者 1"}
    wid = sw["id"]
    assert _mine(gql, token) == {"frozen": "0.00", "available": "40.00", "withdrawn": "0.00", "inWithdrawal": "60.00"}
    assert _codes(gql.data(REQUEST, _request("20.00"), token=token)["sharerWithdrawalRequest"]) == [
        ("CONFLICT", None)], "one open request at a time"
    # The two kinds never mix: a sharer's is no Withdrawal, and the leaders' list and steps skip it.
    assert gql.data("{ withdrawals(first: 100) { totalCount edges { node { id leader { id } } } } }",
                    token=admin)["withdrawals"] == {"totalCount": 0, "edges": []}
    as_leaders = global_id.encode("Withdrawal", global_id.decode_as(wid, "SharerWithdrawal"))
    step = gql.data("mutation($id: ID!) { withdrawalApprove(id: $id) { errors { code field } } }",
                    {"id": as_leaders}, token=admin)["withdrawalApprove"]
    assert _codes(step) == [("NOT_FOUND", ["id"])]
    # Illegal transitions: CONFLICT, nothing changed; who may do what.
    for q, v in ((PAID, {"id": wid, "ref": "P-1"}), (FAILED, {"id": wid, "r": "x"})):
        assert _codes(next(iter(gql(q, v, headers=key)["data"].values()))) == [("CONFLICT", ["id"])]
    assert _codes(gql.data(APPROVE, {"id": wid}, token=token)["sharerWithdrawalApprove"]) == [("FORBIDDEN", None)]
    assert _codes(gql.data(PAID, {"id": wid, "ref": "P"}, token=admin)["sharerWithdrawalMarkPaid"]) == [
        ("FORBIDDEN", None)]
    # Lists and node(): the sharer their own, admins all; the whole account for the back end only.
    assert gql.data(LIST, {}, token=other)["sharerWithdrawals"]["totalCount"] == 0
    assert [e["node"]["id"] for e in gql.data(LIST, {}, token=token)["sharerWithdrawals"]["edges"]] == [wid]
    listed = gql.data(LIST, {"s": "REQUESTED", "u": global_id.encode("User", s1)}, token=admin)["sharerWithdrawals"]
    assert listed["totalCount"] == 1 and listed["edges"][0]["node"]["sharer"]["displayName"] == "分享者 1"
    node = "query($id: ID!) { node(id: $id) { ... on SharerWithdrawal { id account accountMasked } } }"
    assert gql.data(node, {"id": wid}, token=other)["node"] is None
    assert gql.data(node, {"id": wid}, token=token)["node"] == {"id": wid, "account": None,
                                                               "accountMasked": "************2233"}
    assert gql.data(node, {"id": wid}, token=admin)["node"]["account"] is None
    assert gql.data(node, {"id": wid}, headers=key)["node"]["account"] == "6222020200112233"

    rejected = gql.data(REJECT, {"id": wid, "r": "wrong account"}, token=admin)["sharerWithdrawalReject"]
    assert (rejected["sharerWithdrawal"]["status"], rejected["sharerWithdrawal"]["reason"]) == (
        "REJECTED", "wrong account")
    assert _codes(gql.data(APPROVE, {"id": wid}, token=admin)["sharerWithdrawalApprove"]) == [("CONFLICT", ["id"])]
    assert _mine(gql, token)["available"] == "100.00"
    # The second of the day (limit 2), approved then paid (idempotent on the reference); the third refused.
    w2 = gql.data(REQUEST, _request("30.00"), token=token)["sharerWithdrawalRequest"]["sharerWithdrawal"]["id"]
    assert gql.data(APPROVE, {"id": w2}, token=admin)["sharerWithdrawalApprove"]["sharerWithdrawal"][
        "status"] == "APPROVED"
    paid = gql.data(PAID, {"id": w2, "ref": "ALI-778"}, headers=key)["sharerWithdrawalMarkPaid"]
    assert paid["errors"] == [] and paid["sharerWithdrawal"]["payoutReference"] == "ALI-778"
    assert gql.data(PAID, {"id": w2, "ref": "ALI-778"}, headers=key)["sharerWithdrawalMarkPaid"] == paid
    assert _codes(gql.data(PAID, {"id": w2, "ref": "ALI-779"}, headers=key)["sharerWithdrawalMarkPaid"]) == [
        ("CONFLICT", ["id"])]
    assert _codes(gql.data(REQUEST, _request("20.00"), token=token)["sharerWithdrawalRequest"]) == [
        ("LIMIT_EXCEEDED", None)]
    assert _mine(gql, token) == {"frozen": "0.00", "available": "70.00", "withdrawn": "28.82", "inWithdrawal": "0.00"}
    # A failed payment returns the amount.
    owner_db.execute("UPDATE tenant SET withdrawal_daily_limit = 5 WHERE id = %s", (tenant.uuid,))
    w3 = gql.data(REQUEST, _request("25.00"), token=token)["sharerWithdrawalRequest"]["sharerWithdrawal"]["id"]
    gql.data(APPROVE, {"id": w3}, token=admin)
    failed = gql.data(FAILED, {"id": w3, "r": "account closed"}, headers=key)["sharerWithdrawalMarkFailed"]
    assert failed["sharerWithdrawal"]["status"] == "FAILED"
    assert _mine(gql, token)["available"] == "70.00"
    assert kinds(owner_db, tenant.uuid, s1)[-7:] == [
        ("WITHDRAWAL", -6000), ("WITHDRAWAL_RETURNED", 6000), ("WITHDRAWAL", -3000), ("FEE", -118),
        ("WITHDRAWAL_PAID", -2882), ("WITHDRAWAL", -2500), ("WITHDRAWAL_RETURNED", 2500)]
    assert buckets(owner_db, tenant.uuid, s1) == {"frozen": 0, "available": 7000, "in_withdrawal": 0,
                                                  "withdrawn": 2882}
    # The entries name the sharer's withdrawal (and no leader's).
    entries = gql.data("{ myLedgerEntries(first: 3) { edges { node { kind withdrawal { id } "
                       "sharerWithdrawal { id status } } } } }", token=token)["myLedgerEntries"]["edges"]
    assert [(e["node"]["kind"], e["node"]["withdrawal"], e["node"]["sharerWithdrawal"]) for e in entries][0] == (
        "WITHDRAWAL_RETURNED", None, {"id": w3, "status": "FAILED"})
    events = owner_db.execute(
        "SELECT event, subject_type, payload->>'sharerId', payload ? 'withdrawalId' FROM outbox_event "
        "WHERE tenant_id = %s AND event LIKE '%%WITHDRAWAL%%' ORDER BY created_at", (tenant.uuid,)).fetchall()
    assert [e[0] for e in events] == [
        "SHARER_WITHDRAWAL_REQUESTED", "SHARER_WITHDRAWAL_REJECTED", "SHARER_WITHDRAWAL_REQUESTED",
        "SHARER_WITHDRAWAL_APPROVED", "SHARER_WITHDRAWAL_PAID", "SHARER_WITHDRAWAL_REQUESTED",
        "SHARER_WITHDRAWAL_APPROVED", "SHARER_WITHDRAWAL_FAILED"]
    assert {(e[1], e[2], e[3]) for e in events} == {("sharer_withdrawal", str(s1), False)}
    check_ledger(owner_db, [tenant.uuid])


def test_kinds_of_entries_of_a_paid_sharer_withdrawal_add_up(gql, tenant, owner_db, app_db_url):  # type: ignore[no-untyped-def]
    world = _sharers_with(owner_db, tenant, app_db_url, orders=2)  # level 1: 20.00 available
    s1 = world.sharer_ids[0]
    token, key = _token(tenant.uuid, s1), {"Authorization": f"Bearer {tenant.api_key}"}
    owner_db.execute("UPDATE tenant SET withdrawal_minimum_minor = 100, withdrawal_fee_rate = 0.01, "
                     "withdrawal_fee_fixed_minor = 0 WHERE id = %s", (tenant.uuid,))
    wid = gql.data(REQUEST, _request("12.34"), token=token)["sharerWithdrawalRequest"]["sharerWithdrawal"]["id"]
    gql.data(APPROVE, {"id": wid}, token=tenant.admin_token)
    start = threading.Barrier(10)

    def call() -> dict:
        start.wait()
        return gql.data(PAID, {"id": wid, "ref": "TX-10"}, headers=key)["sharerWithdrawalMarkPaid"]

    with ThreadPoolExecutor(10) as pool:
        answers = [f.result() for f in [pool.submit(call) for _ in range(10)]]
    assert all(a["errors"] == [] and a["sharerWithdrawal"]["status"] == "PAID" for a in answers)
    # 12.34: fee 1 % = 0.1234 -> 0.12 (half-up once); 12.22 paid out.
    assert kinds(owner_db, tenant.uuid, s1)[-3:] == [("WITHDRAWAL", -1234), ("FEE", -12), ("WITHDRAWAL_PAID", -1222)]
    assert buckets(owner_db, tenant.uuid, s1) == {"frozen": 0, "available": 766, "in_withdrawal": 0,
                                                  "withdrawn": 1222}
    assert owner_db.execute("SELECT count(*) FROM outbox_event WHERE tenant_id = %s AND event = "
                            "'SHARER_WITHDRAWAL_PAID'", (tenant.uuid,)).fetchone()[0] == 1
    # sharersOwed counts what is in withdrawal and left available, not what was paid.
    on = owner_db.execute("SELECT (now() AT TIME ZONE timezone)::date FROM tenant WHERE id = %s",
                          (tenant.uuid,)).fetchone()[0]
    owed = gql.data("query($on: Date!) { sharersOwed(on: $on) { sharerId owed { amount } } }",
                    {"on": on.isoformat()}, token=tenant.admin_token)["sharersOwed"]
    assert {r["sharerId"]: r["owed"]["amount"] for r in owed}[global_id.encode("User", s1)] == "7.66"
    check_ledger(owner_db, [tenant.uuid])


def test_a_sharers_daily_limit_ends_at_the_tenants_midnight(gql, tenant, owner_db, app_db_url):  # type: ignore[no-untyped-def]
    world = _sharers_with(owner_db, tenant, app_db_url, orders=2)
    owner_db.execute("UPDATE tenant SET withdrawal_daily_limit = 1 WHERE id = %s", (tenant.uuid,))
    token = _token(tenant.uuid, world.sharer_ids[0])
    wid = gql.data(REQUEST, _request("5.00"), token=token)["sharerWithdrawalRequest"]["sharerWithdrawal"]["id"]
    assert gql.data(REJECT, {"id": wid, "r": "typo"}, token=tenant.admin_token)["sharerWithdrawalReject"][
        "errors"] == []
    assert _codes(gql.data(REQUEST, _request("5.00"), token=token)["sharerWithdrawalRequest"]) == [
        ("LIMIT_EXCEEDED", None)]
    midnight = "(date_trunc('day', clock_timestamp() AT TIME ZONE t.timezone) AT TIME ZONE t.timezone)"

    def requested(at_sql: str) -> None:  # the request, moved (as the owner) relative to midnight
        at = owner_db.execute(f"SELECT {at_sql} FROM tenant t WHERE t.id = %s", (tenant.uuid,)).fetchone()[0]
        owner_db.execute("UPDATE withdrawal SET requested_at = %s WHERE tenant_id = %s", (at, tenant.uuid))

    requested(midnight)  # today's first instant in the tenant's zone: still today
    assert _codes(gql.data(REQUEST, _request("5.00"), token=token)["sharerWithdrawalRequest"]) == [
        ("LIMIT_EXCEEDED", None)]
    requested(f"{midnight} - interval '1 second'")  # yesterday's
    ok = gql.data(REQUEST, _request("5.00"), token=token)["sharerWithdrawalRequest"]
    assert ok["errors"] == [] and ok["sharerWithdrawal"]["status"] == "REQUESTED"


def test_sharer_errors_are_in_the_callers_language(gql, tenant, owner_db, app_db_url):  # type: ignore[no-untyped-def]
    world = _sharers_with(owner_db, tenant, app_db_url, orders=1)  # 10.00 available
    zh = {"Accept-Language": "zh-CN"}
    token = _token(tenant.uuid, world.sharer_ids[0])
    out = gql.data(REQUEST, _request("10.01"), token=token, headers=zh)["sharerWithdrawalRequest"]
    assert [(e["code"], e["message"]) for e in out["errors"]] == [("INSUFFICIENT_BALANCE", "超过可提现余额 10.00 CNY。")]
    out = gql.data(REQUEST, _request("1.00"), token=world.leader_token, headers=zh)["sharerWithdrawalRequest"]
    assert [(e["code"], e["message"]) for e in out["errors"]] == [
        ("CONFLICT", "团长请在团长端申请提现（withdrawalRequest）。")]


OPEN = "{ sharerWithdrawals(status: REQUESTED, first: 100) { edges { node { id } } } }"
SHARERS = Steps(REQUEST, APPROVE, PAID, OPEN, "sharerWithdrawalRequest", "sharerWithdrawals")


def test_forty_concurrent_sharer_requests_over_two_processes_never_overdraw(  # type: ignore[no-untyped-def]
        services, tenant, owner_db, app_db_url):
    world = _sharers_with(owner_db, tenant, app_db_url)  # level 1: 100.00 available
    sharer = world.sharer_ids[0]
    owner_db.execute("UPDATE tenant SET withdrawal_daily_limit = 100, withdrawal_minimum_minor = 100, "
                     "withdrawal_fee_rate = 0, withdrawal_fee_fixed_minor = 0 WHERE id = %s", (tenant.uuid,))
    outcomes = race(tenant, SHARERS, _token(tenant.uuid, sharer), 40, _request("7.00"))
    rows = owner_db.execute("SELECT status, count(*), sum(amount_minor) FROM withdrawal WHERE tenant_id = %s "
                            "GROUP BY status", (tenant.uuid,)).fetchall()
    taken = sum(int(total) for status, _, total in rows if status in ("REQUESTED", "APPROVED", "PAID"))
    assert taken <= 10000, rows
    assert outcomes["OK"] == 14 and taken == 9800, (outcomes, rows)  # 14 x 7.00 fit in 100.00
    b = buckets(owner_db, tenant.uuid, sharer)
    assert b["available"] == 10000 - taken and b["available"] + b["in_withdrawal"] + b["withdrawn"] == 10000
    check_ledger(owner_db, [tenant.uuid])
    print(f"\nsharer requests over 2 processes: {dict(outcomes)}; withdrawals by status: {rows}")


def test_the_sharer_is_notified_in_app_in_both_languages(gql, tenant, owner_db, app_db_url):  # type: ignore[no-untyped-def]
    from service.notify.relay import relay_tenant
    from tests.conftest import run_db

    world = _sharers_with(owner_db, tenant, app_db_url, orders=1)
    token = _token(tenant.uuid, world.sharer_ids[0])
    wid = gql.data(REQUEST, _request("5.00"), token=token)["sharerWithdrawalRequest"]["sharerWithdrawal"]["id"]
    gql.data(REJECT, {"id": wid, "r": "账号有误"}, token=tenant.admin_token)
    run_db(lambda engine: relay_tenant(tenant.uuid, engine=engine))
    query = "{ notifications(first: 10) { edges { node { event title body } } } }"
    notes = {n["node"]["event"]: n["node"] for n in gql.data(query, token=token)["notifications"]["edges"]}
    assert {"SHARER_WITHDRAWAL_REQUESTED", "SHARER_WITHDRAWAL_REJECTED"} <= set(notes)
    assert notes["SHARER_WITHDRAWAL_REJECTED"]["title"] == "Withdrawal rejected"
    assert "5.00 CNY" in notes["SHARER_WITHDRAWAL_REJECTED"]["body"] and "账号有误" in notes[
        "SHARER_WITHDRAWAL_REJECTED"]["body"]
    zh = gql.data(query, token=token, headers={"Accept-Language": "zh-CN"})["notifications"]["edges"]
    assert {n["node"]["title"] for n in zh if n["node"]["event"] == "SHARER_WITHDRAWAL_REJECTED"} == {"提现被驳回"}
    # The other sharer hears nothing of it.
    other = gql.data(query, token=_token(tenant.uuid, world.sharer_ids[1]))["notifications"]["edges"]
    assert not [n for n in other if "WITHDRAWAL" in n["node"]["event"]]
