"""A sharer's distribution commissions in the ledger: pending at the close, frozen at pickup,
available after the freeze (the release job, once), reversed or clawed back by refunds; the
sharer sees their own balance and entries (myBalance, myLedgerEntries) and nobody else's."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import psycopg
import pytest

from service import global_id
from tests.ledger_world import age, buckets, earn, kinds, money_world, refund, release, write_again
from tests.ordering_fixtures import _token
from tests.reliability.invariants import check_ledger

MY_BALANCE = """{ myBalance { pending { amount currency } frozen { amount } available { amount }
  withdrawn { amount } inWithdrawal { amount } owed { amount } } }"""
MY_ENTRIES = """query($m: String) { myLedgerEntries(month: $m, first: 50) { totalCount
  edges { node { id kind amount { amount } order { id } } } } }"""


def _mine(gql, token) -> dict:  # type: ignore[no-untyped-def]
    return {k: v["amount"] for k, v in gql.data(MY_BALANCE, token=token)["myBalance"].items()}


def test_a_sharers_commission_goes_pending_frozen_available_and_refunds_reverse_or_claw_back(  # type: ignore[no-untyped-def]
        gql, tenant, owner_db, app_db_url):
    # 3 orders of 20.00: level 1 earns 5 % = 1.00, level 2 earns 2 % = 0.40 on each.
    world = money_world(owner_db, tenant.uuid, orders=3, price=2000, sharers=("0.05", "0.02"))
    s1, s2 = world.sharer_ids
    t1, t2 = _token(tenant.uuid, s1), _token(tenant.uuid, s2)
    assert _mine(gql, t1) == {"pending": "3.00", "frozen": "0.00", "available": "0.00", "withdrawn": "0.00",
                              "inWithdrawal": "0.00", "owed": "0.00"}
    assert _mine(gql, t2)["pending"] == "1.20"
    earn(tenant.uuid, world.order_ids)
    earn(tenant.uuid, world.order_ids)  # a second pickup confirmation earns nothing more
    assert _mine(gql, t1)["frozen"] == "3.00" and _mine(gql, t1)["pending"] == "0.00"
    refund(tenant.uuid, world.order_ids[0])  # frozen: a reversal
    assert release(app_db_url, tenant.uuid) == 0, "nothing is due before the freeze ends"
    age(owner_db, tenant.uuid, days=8)
    # 3 leader commissions + 3 per level (the reversed ones are released with nothing to move).
    assert release(app_db_url, tenant.uuid) == 9
    assert release(app_db_url, tenant.uuid) == 0
    assert _mine(gql, t1) == {"pending": "0.00", "frozen": "0.00", "available": "2.00", "withdrawn": "0.00",
                              "inWithdrawal": "0.00", "owed": "2.00"}
    assert _mine(gql, t2)["available"] == "0.80"
    refund(tenant.uuid, world.order_ids[1])  # available already: a clawback
    assert _mine(gql, t1)["available"] == "1.00" and _mine(gql, t2)["available"] == "0.40"
    assert kinds(owner_db, tenant.uuid, s1) == [
        ("DISTRIBUTION_EARNED", 100), ("DISTRIBUTION_EARNED", 100), ("DISTRIBUTION_EARNED", 100),
        ("DISTRIBUTION_REVERSED", -100), ("DISTRIBUTION_RELEASED", 100), ("DISTRIBUTION_RELEASED", 100),
        ("DISTRIBUTION_CLAWBACK", -100)]
    assert buckets(owner_db, tenant.uuid, s2) == {"frozen": 0, "available": 40, "in_withdrawal": 0, "withdrawn": 0}
    # The leader's money is the leader's alone.
    assert buckets(owner_db, tenant.uuid, world.leader_user_id) == {
        "frozen": 0, "available": 200, "in_withdrawal": 0, "withdrawn": 0}
    entries = gql.data(MY_ENTRIES, {}, token=t1)["myLedgerEntries"]
    assert entries["totalCount"] == 7
    assert [e["node"]["kind"] for e in entries["edges"]][0] == "DISTRIBUTION_CLAWBACK"  # newest first
    assert {e["node"]["amount"]["amount"] for e in entries["edges"]} == {"1.00", "-1.00"}
    # Every entry is the sharer's and resolves for them only.
    node = "query($id: ID!) { node(id: $id) { id } }"
    first = entries["edges"][0]["node"]["id"]
    assert gql.data(node, {"id": first}, token=t1)["node"] == {"id": first}
    assert gql.data(node, {"id": first}, token=t2)["node"] is None
    assert gql.data(node, {"id": first}, token=world.leader_token)["node"] is None
    assert gql.data(MY_ENTRIES, {}, token=world.leader_token)["myLedgerEntries"]["totalCount"] == 7  # own kinds
    refused = gql(MY_BALANCE, token=tenant.admin_token)
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    body = gql("{ leaderBalance { available { amount } } }", token=t1)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    # The brand's accounts: what every sharer is owed on a date (the leader is in leadersOwed).
    on = owner_db.execute("SELECT (now() AT TIME ZONE timezone)::date FROM tenant WHERE id = %s",
                          (tenant.uuid,)).fetchone()[0]
    owed = gql.data("query($on: Date!) { sharersOwed(on: $on) { sharerId name owed { amount } frozen { amount } } }",
                    {"on": on.isoformat()}, token=tenant.admin_token)["sharersOwed"]
    assert sorted((r["sharerId"], r["owed"]["amount"], r["frozen"]["amount"]) for r in owed) == sorted(
        [(global_id.encode("User", s1), "1.00", "0.00"), (global_id.encode("User", s2), "0.40", "0.00")])
    # A sharer whose application to lead was turned down is still owed (and withdraws) as a sharer.
    owner_db.execute("INSERT INTO leader (tenant_id, id, user_id, display_name, phone, status) "
                     "VALUES (%s, gen_random_uuid(), %s, 'Applicant', '+8613800000000', 'REJECTED')", (tenant.uuid, s2))
    owed_again = gql.data("query($on: Date!) { sharersOwed(on: $on) { sharerId owed { amount } } "
                          "leadersOwed(on: $on) { leader { id } } }", {"on": on.isoformat()}, token=tenant.admin_token)
    assert sorted((r["sharerId"], r["owed"]["amount"]) for r in owed_again["sharersOwed"]) == sorted(
        [(global_id.encode("User", s1), "1.00"), (global_id.encode("User", s2), "0.40")])
    assert [r["leader"]["id"] for r in owed_again["leadersOwed"]] == [global_id.encode("Leader", world.leader_id)]
    before = gql.data("query($on: Date!) { sharersOwed(on: $on) { owed { amount } } }",
                      {"on": (on - timedelta(days=30)).isoformat()}, token=tenant.admin_token)["sharersOwed"]
    assert before == []
    assert gql(f'{{ sharersOwed(on: "{on.isoformat()}") {{ name }} }}',
               token=t1)["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    check_ledger(owner_db, [tenant.uuid])


def test_the_distribution_release_runs_concurrently_and_repeatedly_and_releases_each_once(  # type: ignore[no-untyped-def]
        tenant, owner_db, app_db_url):
    world = money_world(owner_db, tenant.uuid, orders=120, price=2000, sharers=("0.05", "0.02"))
    earn(tenant.uuid, world.order_ids)
    age(owner_db, tenant.uuid, days=8)
    released: list[int] = []
    lock = threading.Lock()
    start = threading.Barrier(6)

    def run() -> None:
        with psycopg.connect(app_db_url, autocommit=True) as conn:
            start.wait()
            for _ in range(4):
                while True:
                    n = int(conn.execute("SELECT coalesce(sum(commissions), 0) FROM release_frozen_distribution(7)")
                            .fetchone()[0])
                    with lock:
                        released.append(n)
                    if n == 0:
                        break

    with ThreadPoolExecutor(6) as pool:
        for f in [pool.submit(run) for _ in range(6)]:
            f.result()
    assert sum(released) == 240
    count = owner_db.execute("SELECT count(*), count(DISTINCT commission_id) FROM ledger_entry "
                             "WHERE tenant_id = %s AND kind = 'DISTRIBUTION_RELEASED'", (tenant.uuid,)).fetchone()
    assert count == (240, 240)
    assert buckets(owner_db, tenant.uuid, world.sharer_ids[0]) == {
        "frozen": 0, "available": 12000, "in_withdrawal": 0, "withdrawn": 0}
    assert buckets(owner_db, tenant.uuid, world.sharer_ids[1]) == {
        "frozen": 0, "available": 4800, "in_withdrawal": 0, "withdrawn": 0}
    with pytest.raises(psycopg.errors.UniqueViolation):
        write_again(owner_db, tenant.uuid, "DISTRIBUTION_RELEASED")
    check_ledger(owner_db, [tenant.uuid])


OWED = """query($on: Date!) { leadersOwed(on: $on) { owed { amount } available { amount } leader { id } } }"""


def test_a_leader_who_shares_has_one_balance_and_is_owed_both_kinds(  # type: ignore[no-untyped-def]
        gql, tenant, owner_db, app_db_url):
    a = money_world(owner_db, tenant.uuid, orders=1, price=3000)  # A's own commission: 3.00
    # B's two orders of 20.00 were shared by A's leader (level 1, 5 %: 1.00 each).
    b = money_world(owner_db, tenant.uuid, orders=2, price=2000, sharers=("0.05", "0.02"),
                    sharer_users=[a.leader_user_id, None])
    earn(tenant.uuid, a.order_ids + b.order_ids)
    age(owner_db, tenant.uuid, days=8)
    assert release(app_db_url, tenant.uuid) == 1 + 2 + 2 * 2
    balance = gql.data("{ leaderBalance { available { amount } pending { amount } } }",
                       token=a.leader_token)["leaderBalance"]
    assert balance == {"available": {"amount": "5.00"}, "pending": {"amount": "0.00"}}
    assert _mine(gql, a.leader_token)["available"] == "5.00"
    on = owner_db.execute("SELECT (now() AT TIME ZONE timezone)::date FROM tenant WHERE id = %s",
                          (tenant.uuid,)).fetchone()[0]
    owed = {r["leader"]["id"]: r["owed"]["amount"]
            for r in gql.data(OWED, {"on": on.isoformat()}, token=tenant.admin_token)["leadersOwed"]}
    assert owed == {a.leader_gid: "5.00", b.leader_gid: "4.00"}
    check_ledger(owner_db, [tenant.uuid])


def test_the_migration_backfills_earned_distribution_commissions_and_goes_both_ways(services):  # type: ignore[no-untyped-def]
    """A database at 0019 with an earned distribution commission (and a pending one), taken up to
    0028: the earned one is in its sharer's ledger, frozen; down to 0019 and up again: the same."""
    import uuid
    from decimal import Decimal

    from tests.close_fixtures import BatchSpec, OrderSpec, build_batch
    from tests.test_close_derived import _migrate, scratch_database

    with scratch_database(services, "ledger0028") as (url, conn, tenant_id):
        _migrate(url, "0019", down=True)
        spec = BatchSpec(suppliers=1, products=[(0, 100)], points=1, offers=[(0, 2000, 1)], customers=2,
                         orders=[OrderSpec(i, 0, "PAID", [(0, 1)]) for i in range(2)],
                         commission_rates=[Decimal("0.1")])
        built = build_batch(conn, tenant_id, spec)
        sharer = uuid.uuid4()
        conn.execute("INSERT INTO app_user (tenant_id, id, kind, display_name, phone, password_hash) "
                     "VALUES (%s, %s, 'CUSTOMER', 's', '+8630000000001', 'x')", (tenant_id, sharer))
        for n, (order, customer) in enumerate(zip(built.order_ids, built.customer_ids, strict=True)):
            conn.execute("INSERT INTO distribution_commission (tenant_id, id, order_id, batch_id, level, "
                         "beneficiary_id, customer_id, currency, amount_minor, status, earned_at) "
                         "VALUES (%s, %s, %s, %s, 1, %s, %s, 'CNY', %s, %s, %s)",
                         (tenant_id, uuid.uuid4(), order, built.batch_id, sharer, customer, 100 + n,
                          "EARNED" if n == 0 else "PENDING", "2026-11-01T00:00:00Z" if n == 0 else None))

        def entries() -> list:
            return conn.execute("SELECT kind, amount_minor, frozen_minor, available_minor FROM ledger_entry "
                                "WHERE beneficiary_id = %s ORDER BY seq", (sharer,)).fetchall()

        _migrate(url, "head")
        assert entries() == [("DISTRIBUTION_EARNED", 100, 100, 0)]
        _migrate(url, "0019", down=True)
        assert entries() == []
        _migrate(url, "head")
        assert entries() == [("DISTRIBUTION_EARNED", 100, 100, 0)]
        # The release function exists again and releases it (the freeze of 7 days is long over).
        released = conn.execute("SELECT coalesce(sum(commissions), 0) FROM release_frozen_distribution(10)").fetchone()
        assert released == (1,) and entries()[-1] == ("DISTRIBUTION_RELEASED", 100, -100, 100)
