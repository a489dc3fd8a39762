"""Leader money: the ledger fed by commission changes, the freeze's release exactly once,
withdrawals and their state machine, through the public API where there is one."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest

from service import global_id
from service.db import citus_set_tenant
from service.ledger.release import release_commissions
from tests.conftest import run_db
from tests.ledger_world import age, buckets, earn, kinds, money_world, refund, release, write_again

ERR = "errors { code field message }"
BALANCE = """query($l: ID) { leaderBalance(leaderId: $l) {
  pending { amount currency } frozen { amount } available { amount } withdrawn { amount } inWithdrawal { amount } } }"""
ENTRIES = """query($l: ID, $m: String) { ledgerEntries(leaderId: $l, month: $m, first: 50) {
  edges { node { id kind amount { amount currency } reason order { id } withdrawal { id status } } } } }"""
W = "withdrawal { id status amount { amount } fee { amount } payout { amount } accountMasked payoutReference reason }"
REQUEST = f"""mutation($i: WithdrawalRequestInput!) {{ withdrawalRequest(input: $i) {{ {ERR} {W} }} }}"""
APPROVE = f"""mutation($id: ID!) {{ withdrawalApprove(id: $id) {{ {ERR} {W} }} }}"""
REJECT = f"""mutation($id: ID!, $r: String!) {{ withdrawalReject(id: $id, reason: $r) {{ {ERR} {W} }} }}"""
PAID = f"""mutation($id: ID!, $ref: String!) {{ withdrawalMarkPaid(id: $id, payoutReference: $ref) {{ {ERR} {W} }} }}"""
FAILED = f"""mutation($id: ID!, $r: String!) {{ withdrawalMarkFailed(id: $id, reason: $r) {{ {ERR} {W} }} }}"""
ADJUST = f"""mutation($l: ID!, $a: Decimal!, $r: String!) {{ ledgerAdjust(leaderId: $l, amount: $a, reason: $r) {{
  {ERR} entry {{ id kind amount {{ amount }} reason }} }} }}"""


def _request(amount: str, account: str = "6222020200112233") -> dict:
    return {"i": {"amount": amount, "method": "BANK", "account": account, "accountName": "王团长"}}


def _balance(gql, token, leader=None) -> dict:  # type: ignore[no-untyped-def]
    b = gql.data(BALANCE, {"l": leader}, token=token)["leaderBalance"]
    return {k: v["amount"] for k, v in b.items()}


def test_the_app_role_appends_entries_and_never_changes_them(tenant, owner_db, app_db_url):  # type: ignore[no-untyped-def]
    world = money_world(owner_db, tenant.uuid, orders=1)
    with psycopg.connect(app_db_url) as conn:
        conn.execute(citus_set_tenant(tenant.uuid))  # SET LOCAL: on Citus the workers' shards see it too
        conn.execute("INSERT INTO ledger_entry (tenant_id, beneficiary_id, leader_id, kind, currency, amount_minor, "
                     "available_minor, reason) VALUES (%s, %s, %s, 'ADJUSTMENT', 'CNY', 100, 100, 'test')",
                     (tenant.uuid, world.leader_user_id, world.leader_id))
        assert conn.execute("SELECT count(*) FROM ledger_entry").fetchone()[0] == 1
        conn.commit()
    for statement in ("UPDATE ledger_entry SET amount_minor = 1", "DELETE FROM ledger_entry",
                      "TRUNCATE ledger_entry"):
        with psycopg.connect(app_db_url) as conn:
            conn.execute(citus_set_tenant(tenant.uuid))  # SET LOCAL: on Citus the workers' shards see it too
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)
    assert kinds(owner_db, tenant.uuid, world.leader_user_id) == [("ADJUSTMENT", 100)]


def test_a_commission_goes_pending_frozen_available_and_refunds_reverse_or_claw_back(  # type: ignore[no-untyped-def]
        gql, tenant, owner_db, app_db_url):
    world = money_world(owner_db, tenant.uuid, orders=3, price=1000)  # 1.00 commission per order
    token, user = world.leader_token, world.leader_user_id
    assert _balance(gql, token) == {"pending": "3.00", "frozen": "0.00", "available": "0.00",
                                    "withdrawn": "0.00", "inWithdrawal": "0.00"}
    earn(tenant.uuid, world.order_ids)
    earn(tenant.uuid, world.order_ids)  # a second pickup confirmation earns nothing more
    assert _balance(gql, token)["frozen"] == "3.00" and _balance(gql, token)["pending"] == "0.00"
    refund(tenant.uuid, world.order_ids[0])  # still frozen: a reversal
    assert release(app_db_url, tenant.uuid) == 0, "nothing is due before the freeze ends"
    age(owner_db, tenant.uuid, days=8)  # the default freeze is 7 days
    assert release(app_db_url, tenant.uuid) == 3  # the fully reversed one is released with nothing to move
    assert release(app_db_url, tenant.uuid) == 0
    assert _balance(gql, token) == {"pending": "0.00", "frozen": "0.00", "available": "2.00",
                                    "withdrawn": "0.00", "inWithdrawal": "0.00"}
    refund(tenant.uuid, world.order_ids[1])  # available already: a clawback
    assert _balance(gql, token)["available"] == "1.00"
    assert kinds(owner_db, tenant.uuid, user) == [
        ("EARNED", 100), ("EARNED", 100), ("EARNED", 100), ("REVERSED", -100),
        ("RELEASED", 100), ("RELEASED", 100), ("CLAWBACK", -100)]
    events = [r[0] for r in owner_db.execute(
        "SELECT event FROM outbox_event WHERE tenant_id = %s AND event LIKE 'COMMISSION%%' ORDER BY created_at",
        (tenant.uuid,)).fetchall()]
    assert events == ["COMMISSION_AVAILABLE", "COMMISSION_CLAWED_BACK"]
    payload = owner_db.execute("SELECT payload FROM outbox_event WHERE tenant_id = %s "
                               "AND event = 'COMMISSION_AVAILABLE'", (tenant.uuid,)).fetchone()[0]
    assert payload["amount"] == {"amount": "2.00", "currency": "CNY"} and payload["commissions"] == 3
    entries = gql.data(ENTRIES, {}, token=token)["ledgerEntries"]["edges"]
    assert [e["node"]["kind"] for e in entries][0] == "CLAWBACK"  # newest first
    assert entries[0]["node"]["order"]["id"] == global_id.encode("Order", world.order_ids[1])


def test_the_release_runs_concurrently_and_repeatedly_and_releases_each_commission_once(  # type: ignore[no-untyped-def]
        tenant, owner_db, app_db_url):
    world = money_world(owner_db, tenant.uuid, orders=300, price=1000)
    earn(tenant.uuid, world.order_ids)
    age(owner_db, tenant.uuid, days=8)
    released: list[int] = []
    lock = threading.Lock()
    start = threading.Barrier(8)

    def run() -> None:
        with psycopg.connect(app_db_url, autocommit=True) as conn:
            start.wait()
            for _ in range(5):  # repeatedly, in small chunks, so the runs interleave
                while True:
                    n = int(conn.execute("SELECT coalesce(sum(commissions), 0) FROM release_frozen_commissions(17)")
                            .fetchone()[0])
                    with lock:
                        released.append(n)
                    if n == 0:
                        break

    with ThreadPoolExecutor(8) as pool:
        for f in [pool.submit(run) for _ in range(8)]:
            f.result()
    assert sum(released) == 300
    assert sum(1 for n in released if n) > 8, "the runs shared the work"
    count = owner_db.execute("SELECT count(*), count(DISTINCT commission_id) FROM ledger_entry "
                             "WHERE tenant_id = %s AND kind = 'RELEASED'", (tenant.uuid,)).fetchone()
    assert count == (300, 300)
    assert buckets(owner_db, tenant.uuid, world.leader_user_id) == {
        "frozen": 0, "available": 30000, "in_withdrawal": 0, "withdrawn": 0}
    # The unique index refuses a second RELEASED entry whatever writes it.
    with pytest.raises(psycopg.errors.UniqueViolation):
        write_again(owner_db, tenant.uuid, "RELEASED")


def _setup_available(gql, tenant, owner_db, app_db_url, *, amount_orders: int = 10):  # type: ignore[no-untyped-def]
    world = money_world(owner_db, tenant.uuid, orders=amount_orders, price=10000)  # 10.00 commission each
    earn(tenant.uuid, world.order_ids)
    age(owner_db, tenant.uuid)
    release(app_db_url)
    return world


def test_withdrawal_rules_and_state_machine(gql, tenant, owner_db, app_db_url):  # type: ignore[no-untyped-def]
    world = _setup_available(gql, tenant, owner_db, app_db_url)  # 100.00 available
    owner_db.execute("UPDATE tenant SET withdrawal_minimum_minor = 2000, withdrawal_fee_rate = 0.006, "
                     "withdrawal_fee_fixed_minor = 100, withdrawal_daily_limit = 2 WHERE id = %s", (tenant.uuid,))
    token, admin, key = world.leader_token, tenant.admin_token, {"Authorization": f"Bearer {tenant.api_key}"}

    def codes(payload):  # type: ignore[no-untyped-def]
        return [(e["code"], e["field"]) for e in payload["errors"]]

    low = gql.data(REQUEST, _request("19.99"), token=token)["withdrawalRequest"]
    assert codes(low) == [("INVALID", ["input", "amount"])]
    too_much = gql.data(REQUEST, _request("100.01"), token=token)["withdrawalRequest"]
    assert codes(too_much) == [("INSUFFICIENT_BALANCE", ["input", "amount"])]
    bad = gql.data(REQUEST, {"i": {"amount": "30.001", "method": "BANK", "account": "12", "accountName": ""}},
                   token=token)["withdrawalRequest"]
    assert sorted(codes(bad)) == [("INVALID", ["input", "account"]), ("INVALID", ["input", "accountName"]),
                                  ("INVALID", ["input", "amount"])]
    # 60.00: fee 0.6 % = 0.36, plus 1.00 fixed; payout 58.64.
    w = gql.data(REQUEST, _request("60.00"), token=token)["withdrawalRequest"]
    assert w["errors"] == [] and w["withdrawal"]["fee"]["amount"] == "1.36"
    assert w["withdrawal"]["payout"]["amount"] == "58.64" and w["withdrawal"]["accountMasked"] == "************2233"
    wid = w["withdrawal"]["id"]
    assert _balance(gql, token) == {"pending": "0.00", "frozen": "0.00", "available": "40.00",
                                    "withdrawn": "0.00", "inWithdrawal": "60.00"}
    second = gql.data(REQUEST, _request("20.00"), token=token)["withdrawalRequest"]
    assert codes(second) == [("CONFLICT", None)], "one open request at a time"
    # Illegal transitions: CONFLICT, nothing changed.
    for q, v, h in ((PAID, {"id": wid, "ref": "P-1"}, key), (FAILED, {"id": wid, "r": "x"}, key)):
        out = gql(q, v, headers=h)["data"]
        assert codes(next(iter(out.values()))) == [("CONFLICT", ["id"])]
    # Who may: a leader does not approve, an admin user does not mark paid.
    assert codes(gql.data(APPROVE, {"id": wid}, token=token)["withdrawalApprove"]) == [("FORBIDDEN", None)]
    assert codes(gql.data(PAID, {"id": wid, "ref": "P-1"}, token=admin)["withdrawalMarkPaid"]) == [("FORBIDDEN", None)]
    rejected = gql.data(REJECT, {"id": wid, "r": "wrong account"}, token=admin)["withdrawalReject"]
    assert rejected["withdrawal"]["status"] == "REJECTED" and rejected["withdrawal"]["reason"] == "wrong account"
    assert codes(gql.data(APPROVE, {"id": wid}, token=admin)["withdrawalApprove"]) == [("CONFLICT", ["id"])]
    assert _balance(gql, token)["available"] == "100.00"
    # The second of the day (limit 2), approved then paid; the third is refused.
    w2 = gql.data(REQUEST, _request("30.00"), token=token)["withdrawalRequest"]["withdrawal"]["id"]
    assert gql.data(APPROVE, {"id": w2}, token=admin)["withdrawalApprove"]["withdrawal"]["status"] == "APPROVED"
    paid = gql.data(PAID, {"id": w2, "ref": "BANK-778"}, headers=key)["withdrawalMarkPaid"]
    assert paid["errors"] == [] and paid["withdrawal"]["payoutReference"] == "BANK-778"
    again = gql.data(PAID, {"id": w2, "ref": "BANK-778"}, headers=key)["withdrawalMarkPaid"]
    assert again == paid, "the same reference again: the same answer, nothing more recorded"
    other = gql.data(PAID, {"id": w2, "ref": "BANK-779"}, headers=key)["withdrawalMarkPaid"]
    assert codes(other) == [("CONFLICT", ["id"])]
    third = gql.data(REQUEST, _request("20.00"), token=token)["withdrawalRequest"]
    assert codes(third) == [("LIMIT_EXCEEDED", None)]
    # 30.00 paid: fee 0.18 + 1.00 kept, 28.82 withdrawn.
    assert _balance(gql, token) == {"pending": "0.00", "frozen": "0.00", "available": "70.00",
                                    "withdrawn": "28.82", "inWithdrawal": "0.00"}
    tail = kinds(owner_db, tenant.uuid, world.leader_user_id)[-5:]
    assert tail == [("WITHDRAWAL", -6000), ("WITHDRAWAL_RETURNED", 6000), ("WITHDRAWAL", -3000), ("FEE", -118),
                    ("WITHDRAWAL_PAID", -2882)]
    # A failed payment returns the amount (a new day's quota: the limit is raised here).
    owner_db.execute("UPDATE tenant SET withdrawal_daily_limit = 5 WHERE id = %s", (tenant.uuid,))
    w3 = gql.data(REQUEST, _request("25.00"), token=token)["withdrawalRequest"]["withdrawal"]["id"]
    gql.data(APPROVE, {"id": w3}, token=admin)
    failed = gql.data(FAILED, {"id": w3, "r": "account closed"}, headers=key)["withdrawalMarkFailed"]
    assert failed["withdrawal"]["status"] == "FAILED"
    assert _balance(gql, token)["available"] == "70.00"
    notices = [r[0] for r in owner_db.execute(
        "SELECT event FROM outbox_event WHERE tenant_id = %s AND event LIKE 'WITHDRAWAL%%' ORDER BY created_at",
        (tenant.uuid,)).fetchall()]
    assert notices == ["WITHDRAWAL_REQUESTED", "WITHDRAWAL_REJECTED", "WITHDRAWAL_REQUESTED", "WITHDRAWAL_APPROVED",
                       "WITHDRAWAL_PAID", "WITHDRAWAL_REQUESTED", "WITHDRAWAL_APPROVED", "WITHDRAWAL_FAILED"]


def test_a_negative_balance_blocks_withdrawals_until_earnings_recover_it(  # type: ignore[no-untyped-def]
        gql, tenant, owner_db, app_db_url):
    world = _setup_available(gql, tenant, owner_db, app_db_url, amount_orders=2)  # 20.00 available
    admin = tenant.admin_token
    adj = gql.data(ADJUST, {"l": world.leader_gid, "a": "-25.00", "r": "overpaid last month"},
                   token=admin)["ledgerAdjust"]
    assert adj["errors"] == [] and adj["entry"]["amount"]["amount"] == "-25.00"
    assert _balance(gql, world.leader_token)["available"] == "-5.00"
    refused = gql.data(REQUEST, _request("1.00"), token=world.leader_token)["withdrawalRequest"]
    assert [e["code"] for e in refused["errors"]] == ["INSUFFICIENT_BALANCE"]
    zero = gql.data(ADJUST, {"l": world.leader_gid, "a": "0", "r": "x"}, token=admin)["ledgerAdjust"]
    assert [e["code"] for e in zero["errors"]] == ["INVALID"]
    gql.data(ADJUST, {"l": world.leader_gid, "a": "6.00", "r": "bonus"}, token=admin)
    ok = gql.data(REQUEST, _request("1.00"), token=world.leader_token)["withdrawalRequest"]
    assert ok["errors"] == []


def test_a_paid_callback_repeated_20_times_at_once_records_one_payout(  # type: ignore[no-untyped-def]
        gql, tenant, owner_db, app_db_url):
    world = _setup_available(gql, tenant, owner_db, app_db_url, amount_orders=2)
    wid = gql.data(REQUEST, _request("15.00"), token=world.leader_token)["withdrawalRequest"]["withdrawal"]["id"]
    gql.data(APPROVE, {"id": wid}, token=tenant.admin_token)
    start = threading.Barrier(20)

    def call() -> dict:
        start.wait()
        return gql.data(PAID, {"id": wid, "ref": "TX-20"}, headers={"Authorization": f"Bearer {tenant.api_key}"})

    with ThreadPoolExecutor(20) as pool:
        answers = [f.result()["withdrawalMarkPaid"] for f in [pool.submit(call) for _ in range(20)]]
    assert all(a["errors"] == [] and a["withdrawal"]["status"] == "PAID" for a in answers)
    paid = owner_db.execute("SELECT count(*) FROM ledger_entry WHERE tenant_id = %s AND kind = 'WITHDRAWAL_PAID'",
                            (tenant.uuid,)).fetchone()[0]
    events = owner_db.execute("SELECT count(*) FROM outbox_event WHERE tenant_id = %s AND event = 'WITHDRAWAL_PAID'",
                              (tenant.uuid,)).fetchone()[0]
    assert (paid, events) == (1, 1)
    assert buckets(owner_db, tenant.uuid, world.leader_user_id) == {
        "frozen": 0, "available": 500, "in_withdrawal": 0, "withdrawn": 1500}


def test_a_leader_sees_only_their_own_money_and_admins_only_their_tenants(  # type: ignore[no-untyped-def]
        gql, make_tenant, owner_db, app_db_url):
    a, b = make_tenant(), make_tenant()
    wa = _setup_available(gql, a, owner_db, app_db_url, amount_orders=1)
    wb = _setup_available(gql, b, owner_db, app_db_url, amount_orders=1)
    other = money_world(owner_db, a.uuid, orders=1)  # a second leader in tenant A
    wid = gql.data(REQUEST, _request("5.00"), token=wa.leader_token)["withdrawalRequest"]["withdrawal"]["id"]
    # Another leader: refused for A's leader's money, sees none of A's withdrawals.
    body = gql(BALANCE, {"l": wa.leader_gid}, token=other.leader_token)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    mine = gql.data("{ withdrawals { edges { node { id } } } }", token=other.leader_token)["withdrawals"]["edges"]
    assert mine == []
    node = gql.data("query($id: ID!) { node(id: $id) { id } }", {"id": wid}, token=other.leader_token)["node"]
    assert node is None
    # Tenant B's admin: A's withdrawal is not found; A's leader is no leader of B.
    refused = gql.data(APPROVE, {"id": wid}, token=b.admin_token)["withdrawalApprove"]
    assert [(e["code"], e["field"]) for e in refused["errors"]] == [("NOT_FOUND", ["id"])]
    body = gql(BALANCE, {"l": wa.leader_gid}, token=b.admin_token)
    assert body["errors"][0]["extensions"]["code"] == "INVALID"
    assert _balance(gql, b.admin_token, wb.leader_gid)["available"] == "10.00"
    listed = gql.data("{ withdrawals { edges { node { id leader { id } } } } }", token=a.admin_token)
    assert [e["node"]["id"] for e in listed["withdrawals"]["edges"]] == [wid]
    assert owner_db.execute("SELECT status FROM withdrawal WHERE id = %s",
                            (uuid.UUID(str(global_id.decode(wid)[1])),)).fetchone()[0] == "REQUESTED"


STATEMENT = """query($m: String!, $l: ID) { leaderStatement(month: $m, leaderId: $l) {
  month opening { amount } closing { amount } csvUrl lines { balance { amount } entry { kind amount { amount } } } } }"""


def test_monthly_statement_csv_quote_and_what_is_owed_on_a_date(gql, tenant, owner_db, app_db_url):  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime, timedelta

    import httpx

    world = _setup_available(gql, tenant, owner_db, app_db_url, amount_orders=3)  # 30.00 available
    owner_db.execute("UPDATE tenant SET withdrawal_fee_rate = 0.01, withdrawal_fee_fixed_minor = 50 WHERE id = %s",
                     (tenant.uuid,))
    quote = gql.data("{ withdrawalQuote(amount: \"12.34\") { fee { amount } payout { amount } } }",
                     token=world.leader_token)["withdrawalQuote"]
    assert quote == {"fee": {"amount": "0.62"}, "payout": {"amount": "11.72"}}  # 0.1234 -> 0.12, + 0.50
    wid = gql.data(REQUEST, _request("12.34"), token=world.leader_token)["withdrawalRequest"]["withdrawal"]["id"]
    gql.data(APPROVE, {"id": wid}, token=tenant.admin_token)
    gql.data(PAID, {"id": wid, "ref": "S-1"}, headers={"Authorization": f"Bearer {tenant.api_key}"})
    # Last month's entries: the earnings were written 40 days ago (as the owner, for the test).
    owner_db.execute("UPDATE ledger_entry SET at = (at AT TIME ZONE 'UTC' - interval '40 days') AT TIME ZONE 'UTC' "
                     "WHERE tenant_id = %s AND kind = 'EARNED'", (tenant.uuid,))
    now = datetime.now(UTC).astimezone()
    month = owner_db.execute("SELECT to_char(now() AT TIME ZONE timezone, 'YYYY-MM') FROM tenant WHERE id = %s",
                             (tenant.uuid,)).fetchone()[0]  # this month in the tenant's time zone
    st = gql.data(STATEMENT, {"m": month}, token=world.leader_token)["leaderStatement"]
    assert st["opening"]["amount"] == "30.00"  # earned last month: owed at this month's start
    assert [(ln["entry"]["kind"], ln["balance"]["amount"]) for ln in st["lines"]] == [
        ("RELEASED", "30.00"), ("RELEASED", "30.00"), ("RELEASED", "30.00"), ("WITHDRAWAL", "30.00"),
        ("FEE", "29.38"), ("WITHDRAWAL_PAID", "17.66")]
    assert st["closing"]["amount"] == "17.66"
    csv = httpx.get(st["csvUrl"], headers={"Authorization": f"Bearer {world.leader_token}"})
    assert csv.status_code == 200 and csv.content.startswith("\ufeff".encode())
    rows = csv.content.decode("utf-8-sig").splitlines()
    assert rows[1].split(",")[1] == "OPENING" and rows[-1].split(",")[1:4] == ["CLOSING", "", "17.66"]
    other = money_world(owner_db, tenant.uuid, orders=1)
    assert httpx.get(st["csvUrl"], headers={"Authorization": f"Bearer {other.leader_token}"}).status_code == 404
    owed = gql.data("query($d: Date!) { leadersOwed(on: $d) { owed { amount } available { amount } leader { id } } }",
                    {"d": (now + timedelta(days=1)).date().isoformat()}, token=tenant.admin_token)["leadersOwed"]
    assert owed == [{"owed": {"amount": "17.66"}, "available": {"amount": "17.66"}, "leader": {"id": world.leader_gid}}]
    before = gql.data("query($d: Date!) { leadersOwed(on: $d) { owed { amount } } }",
                      {"d": (now - timedelta(days=60)).date().isoformat()}, token=tenant.admin_token)["leadersOwed"]
    assert before == []


def test_the_leader_is_notified_in_app_in_both_languages(gql, tenant, owner_db, app_db_url):  # type: ignore[no-untyped-def]
    from service.notify.relay import relay_tenant

    world = _setup_available(gql, tenant, owner_db, app_db_url, amount_orders=1)
    wid = gql.data(REQUEST, _request("5.00"), token=world.leader_token)["withdrawalRequest"]["withdrawal"]["id"]
    gql.data(REJECT, {"id": wid, "r": "账号有误"}, token=tenant.admin_token)
    run_db(lambda engine: relay_tenant(tenant.uuid, engine=engine))
    notes = gql.data("{ notifications(first: 10) { edges { node { event title body } } } }",
                     token=world.leader_token)["notifications"]["edges"]
    by_event = {n["node"]["event"]: n["node"] for n in notes}
    assert set(by_event) - {"PICK_LIST_READY"} == {"COMMISSION_AVAILABLE", "WITHDRAWAL_REQUESTED", "WITHDRAWAL_REJECTED"}
    assert "10.00 CNY" in by_event["COMMISSION_AVAILABLE"]["body"]
    rejected = by_event["WITHDRAWAL_REJECTED"]
    assert rejected["title"] == "Withdrawal rejected"  # the reader's language: English without Accept-Language
    assert "5.00 CNY" in rejected["body"] and "账号有误" in rejected["body"]


def test_tenant_update_sets_the_fixed_fee_and_the_daily_limit(gql, tenant, owner_db):  # type: ignore[no-untyped-def]
    update = """mutation($i: TenantUpdateInput!) { tenantUpdate(input: $i) { errors { code field } } }"""
    bad = gql.data(update, {"i": {"withdrawalFeeFixed": "-1", "withdrawalDailyLimit": 0}},
                   token=tenant.admin_token)["tenantUpdate"]
    assert sorted(e["field"][1] for e in bad["errors"]) == ["withdrawalDailyLimit", "withdrawalFeeFixed"]
    ok = gql.data(update, {"i": {"withdrawalFeeFixed": "1.50", "withdrawalDailyLimit": 3}},
                  token=tenant.admin_token)["tenantUpdate"]
    assert ok["errors"] == []
    row = owner_db.execute("SELECT withdrawal_fee_fixed_minor, withdrawal_daily_limit FROM tenant WHERE id = %s",
                           (tenant.uuid,)).fetchone()
    assert tuple(row) == (150, 3)


def test_one_payout_reference_on_two_withdrawals_is_a_conflict_also_at_once(  # type: ignore[no-untyped-def]
        gql, tenant, owner_db, app_db_url):
    owner_db.execute("UPDATE tenant SET withdrawal_daily_limit = 100 WHERE id = %s", (tenant.uuid,))
    a = _setup_available(gql, tenant, owner_db, app_db_url, amount_orders=2)
    b = _setup_available(gql, tenant, owner_db, app_db_url, amount_orders=2)
    admin, key = tenant.admin_token, {"Authorization": f"Bearer {tenant.api_key}"}

    def approved(world) -> str:  # type: ignore[no-untyped-def]
        wid = gql.data(REQUEST, _request("1.00"), token=world.leader_token)["withdrawalRequest"]["withdrawal"]["id"]
        assert gql.data(APPROVE, {"id": wid}, token=admin)["withdrawalApprove"]["errors"] == []
        return str(wid)

    def state() -> tuple:
        return owner_db.execute(
            "SELECT (SELECT count(*) FROM ledger_entry WHERE tenant_id = %s), "
            "(SELECT count(*) FROM outbox_event WHERE tenant_id = %s AND event = 'WITHDRAWAL_PAID')",
            (tenant.uuid, tenant.uuid)).fetchone()

    # One after the other: the second withdrawal keeps its status, nothing is written.
    wa, wb = approved(a), approved(b)
    assert gql.data(PAID, {"id": wa, "ref": "SEQ-1"}, headers=key)["withdrawalMarkPaid"]["errors"] == []
    before = state()
    body = gql(PAID, {"id": wb, "ref": "SEQ-1"}, headers=key)
    assert "errors" not in body, body
    out = body["data"]["withdrawalMarkPaid"]
    assert [(e["code"], e["field"]) for e in out["errors"]] == [("CONFLICT", ["payoutReference"])]
    assert out["withdrawal"] is None and state() == before
    assert owner_db.execute("SELECT status, payout_reference FROM withdrawal WHERE id = %s",
                            (uuid.UUID(str(global_id.decode(wb)[1])),)).fetchone() == ("APPROVED", None)
    # At once over HTTP, a few rounds: one PAID, one CONFLICT, never an internal error.
    wa = approved(a)
    for n in range(6):
        ref = f"AT-ONCE-{n}"
        start = threading.Barrier(2)

        def call(wid: str, ref: str = ref, start: threading.Barrier = start) -> dict:
            start.wait()
            return gql(PAID, {"id": wid, "ref": ref}, headers=key)

        with ThreadPoolExecutor(2) as pool:
            bodies = [f.result() for f in [pool.submit(call, wa), pool.submit(call, wb)]]
        assert all("errors" not in x for x in bodies), bodies
        answers = [x["data"]["withdrawalMarkPaid"] for x in bodies]
        won = [x for x in answers if x["errors"] == []]
        lost = [x for x in answers if x["errors"]]
        assert len(won) == 1 and won[0]["withdrawal"]["status"] == "PAID", answers
        assert [(e["code"], e["field"]) for e in lost[0]["errors"]] == [("CONFLICT", ["payoutReference"])]
        # The winner's leader asks again; the loser's withdrawal is still APPROVED and tries again.
        if answers[0] is won[0]:
            wa = approved(a)
        else:
            wb = approved(b)
    paid = owner_db.execute("SELECT count(*), count(DISTINCT payout_reference) FROM withdrawal "
                            "WHERE tenant_id = %s AND status = 'PAID'", (tenant.uuid,)).fetchone()
    assert paid == (7, 7)
    entries = owner_db.execute("SELECT count(*) FROM ledger_entry WHERE tenant_id = %s AND kind = 'WITHDRAWAL_PAID'",
                               (tenant.uuid,)).fetchone()[0]
    assert entries == 7


def test_only_the_brands_back_end_reads_the_whole_account_it_pays_to(  # type: ignore[no-untyped-def]
        gql, tenant, owner_db, app_db_url):
    world = _setup_available(gql, tenant, owner_db, app_db_url, amount_orders=1)
    wid = gql.data(REQUEST, _request("5.00", account="6222020200112233"),
                   token=world.leader_token)["withdrawalRequest"]["withdrawal"]["id"]
    gql.data(APPROVE, {"id": wid}, token=tenant.admin_token)
    q = "query($id: ID!) { node(id: $id) { ... on Withdrawal { method account accountName accountMasked } } }"
    key = {"Authorization": f"Bearer {tenant.api_key}"}
    assert gql.data(q, {"id": wid}, headers=key)["node"] == {
        "method": "BANK", "account": "6222020200112233", "accountName": "王团长", "accountMasked": "************2233"}
    for token in (tenant.admin_token, world.leader_token):
        seen = gql.data(q, {"id": wid}, token=token)["node"]
        assert seen["account"] is None and seen["accountMasked"] == "************2233"


def test_the_daily_limit_ends_at_the_tenants_midnight(gql, tenant, owner_db, app_db_url):  # type: ignore[no-untyped-def]
    world = _setup_available(gql, tenant, owner_db, app_db_url, amount_orders=2)
    owner_db.execute("UPDATE tenant SET withdrawal_daily_limit = 1 WHERE id = %s", (tenant.uuid,))
    token = world.leader_token
    wid = gql.data(REQUEST, _request("5.00"), token=token)["withdrawalRequest"]["withdrawal"]["id"]
    assert gql.data(REJECT, {"id": wid, "r": "typo"}, token=tenant.admin_token)["withdrawalReject"]["errors"] == []
    refused = gql.data(REQUEST, _request("5.00"), token=token)["withdrawalRequest"]
    assert [e["code"] for e in refused["errors"]] == ["LIMIT_EXCEEDED"]

    def requested(at_sql: str) -> None:  # the one request of the day, moved (as the owner) relative to midnight
        at = owner_db.execute(f"SELECT {at_sql} FROM tenant t WHERE t.id = %s", (tenant.uuid,)).fetchone()[0]
        owner_db.execute("UPDATE withdrawal SET requested_at = %s WHERE tenant_id = %s", (at, tenant.uuid))

    midnight = "(date_trunc('day', clock_timestamp() AT TIME ZONE t.timezone) AT TIME ZONE t.timezone)"
    requested(midnight)  # today's first instant in the tenant's zone (Asia/Shanghai, not UTC): still today
    again = gql.data(REQUEST, _request("5.00"), token=token)["withdrawalRequest"]
    assert [e["code"] for e in again["errors"]] == ["LIMIT_EXCEEDED"]
    requested(f"{midnight} - interval '1 second'")  # yesterday's: today's quota is free again
    ok = gql.data(REQUEST, _request("5.00"), token=token)["withdrawalRequest"]
    assert ok["errors"] == [] and ok["withdrawal"]["status"] == "REQUESTED"


def test_the_freeze_ends_after_the_tenants_commission_freeze_days(  # type: ignore[no-untyped-def]
        gql, tenant, owner_db, app_db_url):
    world = money_world(owner_db, tenant.uuid, orders=1, price=1000)
    update = "mutation($i: TenantUpdateInput!) { tenantUpdate(input: $i) { errors { code } } }"
    assert gql.data(update, {"i": {"commissionFreezeDays": 3}}, token=tenant.admin_token)["tenantUpdate"]["errors"] == []
    earn(tenant.uuid, world.order_ids)

    def earned(ago: str) -> None:
        at = owner_db.execute(f"SELECT clock_timestamp() - interval '{ago}'").fetchone()[0]
        owner_db.execute("UPDATE commission_entry SET earned_at = %s WHERE tenant_id = %s", (at, tenant.uuid))

    earned("2 days 23 hours 59 minutes")
    assert release(app_db_url, tenant.uuid) == 0, "a minute of the 3-day freeze is left"
    assert _balance(gql, world.leader_token)["frozen"] == "1.00"
    earned("3 days 1 minute")
    assert release(app_db_url, tenant.uuid) == 1
    assert _balance(gql, world.leader_token) == {"pending": "0.00", "frozen": "0.00", "available": "1.00",
                                                 "withdrawn": "0.00", "inWithdrawal": "0.00"}


def test_withdrawal_errors_say_what_is_wrong_in_the_callers_language(  # type: ignore[no-untyped-def]
        gql, tenant, owner_db, app_db_url):
    world = _setup_available(gql, tenant, owner_db, app_db_url, amount_orders=1)  # 10.00 available
    owner_db.execute("UPDATE tenant SET withdrawal_minimum_minor = 200, withdrawal_daily_limit = 1 WHERE id = %s",
                     (tenant.uuid,))
    zh = {"Accept-Language": "zh-CN"}

    def errors(amount: str, **kw) -> list:  # type: ignore[no-untyped-def]
        out = gql.data(REQUEST, _request(amount), token=world.leader_token, **kw)["withdrawalRequest"]
        return [(e["code"], e["message"]) for e in out["errors"]]

    assert errors("1.00", headers=zh) == [("INVALID", "低于最低提现金额 2.00 CNY。")]
    assert errors("1.00") == [("INVALID", "Below the minimum withdrawal of 2.00 CNY.")]
    assert errors("10.01", headers=zh) == [("INSUFFICIENT_BALANCE", "超过可提现余额 10.00 CNY。")]
    wid = gql.data(REQUEST, _request("3.00"), token=world.leader_token)["withdrawalRequest"]["withdrawal"]["id"]
    assert errors("3.00", headers=zh) == [("CONFLICT", "已有一笔提现在处理中，请等它打款或被驳回后再申请。")]
    gql.data(REJECT, {"id": wid, "r": "x"}, token=tenant.admin_token)
    assert errors("3.00", headers=zh) == [("LIMIT_EXCEEDED", "每天最多申请提现 1 次，请明天再试。")]
    assert errors("3.00") == [("LIMIT_EXCEEDED", "At most 1 withdrawal request(s) a day.")]
    again = gql.data(APPROVE, {"id": wid}, token=tenant.admin_token, headers=zh)["withdrawalApprove"]["errors"]
    assert [(e["code"], e["message"]) for e in again] == [("CONFLICT", "这笔提现当前的状态（已驳回）不能审核通过。")]


def test_the_scheduler_job_releases_every_due_commission_chunk_by_chunk_once(  # type: ignore[no-untyped-def]
        tenant, owner_db, app_db_url):
    world = money_world(owner_db, tenant.uuid, orders=25, price=1000)
    earn(tenant.uuid, world.order_ids)
    age(owner_db, tenant.uuid)

    def released() -> int:
        return int(owner_db.execute("SELECT count(*) FROM ledger_entry WHERE tenant_id = %s AND kind = 'RELEASED'",
                                    (tenant.uuid,)).fetchone()[0])

    # What the scheduler's release-commissions job runs, 10 rows a transaction: 3 chunks here.
    assert run_db(lambda engine: release_commissions(chunk=10, engine=engine)) >= 25
    assert released() == 25
    run_db(lambda engine: release_commissions(chunk=10, engine=engine))
    assert released() == 25
    assert buckets(owner_db, tenant.uuid, world.leader_user_id)["available"] == 2500
