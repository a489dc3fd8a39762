"""Money adds up (invariant 7, extended to leader money): random sequences of orders, pickups,
refunds, releases, withdrawals, rejections, payments and failed payments; after every step the balances
the API derives from the entries equal an independent model, and
available + frozen + pending + in withdrawal + withdrawn = commissions − reversed − clawed back − fees.
Every order also pays two sharers (levels 1 and 2) a distribution commission: their balances
(myBalance) follow the same model, and add up the same way."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.ledger_world import age, another_order, earn, money_world, refund, release
from tests.ordering_fixtures import _token
from tests.reliability.invariants import check_ledger
from tests.test_ledger import APPROVE, BALANCE, FAILED, PAID, REJECT, REQUEST, _request

PRICES = [1234, 999, 2505, 1500, 777, 3015]  # one order each, 10 % commission, rounded half-up
FEE_RATE, FEE_FIXED = Decimal("0.01"), 10
SHARER_RATES = ("0.05", "0.02")  # levels 1 and 2, of each order's goods, rounded half-up
MY_BALANCE = "{ myBalance { pending { amount } frozen { amount } available { amount } withdrawn { amount } " \
             "inWithdrawal { amount } } }"
EXAMPLES = 30


def _half_up(value: Decimal) -> int:
    return int(value.to_integral_value(rounding=ROUND_HALF_UP))


@dataclass
class Model:
    commissions: list[int]
    state: list[str] = field(default_factory=list)  # pending, frozen, available, gone
    available: int = 0
    in_withdrawal: int = 0
    withdrawn: int = 0
    reversed: int = 0
    clawed_back: int = 0
    fees: int = 0
    open: tuple[int, int] | None = None  # (amount, fee) of the REQUESTED withdrawal

    def total(self, state: str) -> int:
        return sum(c for c, s in zip(self.commissions, self.state, strict=True) if s == state)


@dataclass
class SharerModel:
    """A sharer's commissions follow their orders' states (kept by the leader's Model)."""
    commissions: list[int]
    available: int = 0
    reversed: int = 0
    clawed_back: int = 0

    def total(self, states: list[str], state: str) -> int:
        return sum(c for c, s in zip(self.commissions, states, strict=True) if s == state)


# pickup and refund name an order by its index modulo the orders there are by then.
step = st.one_of(
    st.tuples(st.just("order"), st.integers(0, len(PRICES) - 1)),
    st.tuples(st.just("pickup"), st.integers(0, 2 * len(PRICES) - 1)),
    st.tuples(st.just("refund"), st.integers(0, 2 * len(PRICES) - 1)),
    st.tuples(st.just("release"), st.just(0)),
    st.tuples(st.just("withdraw"), st.integers(1, 1200)),
    st.tuples(st.just("reject"), st.just(0)),
    st.tuples(st.just("pay"), st.just(0)),
    st.tuples(st.just("fail"), st.just(0)),
)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(step, min_size=1, max_size=14))
def test_leader_money_adds_up_against_a_model(gql, tenant, owner_db, app_db_url, steps) -> None:  # type: ignore[no-untyped-def]
    owner_db.execute("UPDATE tenant SET withdrawal_fee_rate = %s, withdrawal_fee_fixed_minor = %s, "
                     "withdrawal_daily_limit = 100 WHERE id = %s", (FEE_RATE, FEE_FIXED, tenant.uuid))
    world = money_world(owner_db, tenant.uuid, orders=len(PRICES), prices=PRICES, sharers=SHARER_RATES)
    model = Model(commissions=[_half_up(Decimal(p) * Decimal("0.1")) for p in PRICES])
    model.state = ["pending"] * len(PRICES)
    sharers = [SharerModel(commissions=[_half_up(Decimal(p) * Decimal(r)) for p in PRICES]) for r in SHARER_RATES]
    sharer_tokens = [_token(tenant.uuid, u) for u in world.sharer_ids]
    token, admin = world.leader_token, tenant.admin_token
    key = {"Authorization": f"Bearer {tenant.api_key}"}
    open_id: str | None = None
    for n, (op, arg) in enumerate(steps):
        if op in ("pickup", "refund"):
            arg %= len(world.order_ids)
        if op == "order":  # one more order of the leader's, closed: its commissions are pending
            another_order(owner_db, world, price=PRICES[arg])
            model.commissions.append(_half_up(Decimal(PRICES[arg]) * Decimal("0.1")))
            model.state.append("pending")
            for sm, r in zip(sharers, SHARER_RATES, strict=True):
                sm.commissions.append(_half_up(Decimal(PRICES[arg]) * Decimal(r)))
        elif op == "pickup":
            earn(tenant.uuid, [world.order_ids[arg]])
            if model.state[arg] == "pending":
                model.state[arg] = "frozen"
        elif op == "refund":
            if model.state[arg] == "gone":
                continue  # its line is refunded already: nothing left to refund
            refund(tenant.uuid, world.order_ids[arg])
            for m in (model, *sharers):
                c = m.commissions[arg]
                if model.state[arg] == "available":
                    m.available -= c
                    m.clawed_back += c
                else:
                    m.reversed += c
            model.state[arg] = "gone"
        elif op == "release":
            age(owner_db, tenant.uuid)
            release(app_db_url)
            model.available += model.total("frozen")
            for sm in sharers:
                sm.available += sm.total(model.state, "frozen")
            model.state = ["available" if s == "frozen" else s for s in model.state]
        elif op == "withdraw":
            amount = arg
            payload = gql.data(REQUEST, _request(f"{Decimal(amount) / 100:.2f}"), token=token)["withdrawalRequest"]
            fee = _half_up(Decimal(amount) * FEE_RATE) + FEE_FIXED
            expected = ("CONFLICT" if model.open else "INVALID" if amount - fee <= 0
                        else "INSUFFICIENT_BALANCE" if amount > model.available else None)
            got = payload["errors"][0]["code"] if payload["errors"] else None
            assert got == expected, (n, op, arg, payload, model)
            if expected is None:
                open_id = payload["withdrawal"]["id"]
                model.open = (amount, fee)
                model.available -= amount
                model.in_withdrawal += amount
        elif model.open is None:
            continue
        elif op == "reject":
            assert gql.data(REJECT, {"id": open_id, "r": "no"}, token=admin)["withdrawalReject"]["errors"] == []
            model.available += model.open[0]
            model.in_withdrawal -= model.open[0]
            model.open = None
        else:
            assert gql.data(APPROVE, {"id": open_id}, token=admin)["withdrawalApprove"]["errors"] == []
            amount, fee = model.open
            if op == "pay":
                out = gql.data(PAID, {"id": open_id, "ref": f"P-{open_id}"}, headers=key)["withdrawalMarkPaid"]
                model.withdrawn += amount - fee
                model.fees += fee
            else:
                out = gql.data(FAILED, {"id": open_id, "r": "bank"}, headers=key)["withdrawalMarkFailed"]
                model.available += amount
            assert out["errors"] == []
            model.in_withdrawal -= amount
            model.open = None
        b = gql.data(BALANCE, {}, token=token)["leaderBalance"]
        got_minor = {k: int(Decimal(v["amount"]) * 100) for k, v in b.items()}
        want = {"pending": model.total("pending"), "frozen": model.total("frozen"), "available": model.available,
                "withdrawn": model.withdrawn, "inWithdrawal": model.in_withdrawal}
        assert got_minor == want, (n, op, arg, got_minor, want)
        # Money adds up, from the database's own records.
        reversed_db, fees_db = owner_db.execute(
            "SELECT (SELECT coalesce(sum(reversed_minor), 0) FROM commission WHERE tenant_id = %s AND leader_id = %s), "
            "(SELECT coalesce(-sum(amount_minor), 0) FROM ledger_entry WHERE tenant_id = %s AND leader_id = %s "
            "AND kind = 'FEE')", (tenant.uuid, world.leader_id, tenant.uuid, world.leader_id)).fetchone()
        assert sum(got_minor.values()) == sum(model.commissions) - int(reversed_db) - int(fees_db)
        assert int(reversed_db) == model.reversed + model.clawed_back and int(fees_db) == model.fees
        for level, (sm, sharer_token, user) in enumerate(zip(sharers, sharer_tokens, world.sharer_ids, strict=True),
                                                         start=1):
            got = {k: int(Decimal(v["amount"]) * 100)
                   for k, v in gql.data(MY_BALANCE, {}, token=sharer_token)["myBalance"].items()}
            want = {"pending": sm.total(model.state, "pending"), "frozen": sm.total(model.state, "frozen"),
                    "available": sm.available, "withdrawn": 0, "inWithdrawal": 0}
            assert got == want, (n, op, arg, level, got, want)
            reversed_db = int(owner_db.execute(
                "SELECT coalesce(sum(reversed_minor), 0) FROM distribution_commission WHERE tenant_id = %s "
                "AND beneficiary_id = %s", (tenant.uuid, user)).fetchone()[0])
            assert sum(got.values()) == sum(sm.commissions) - reversed_db
            assert reversed_db == sm.reversed + sm.clawed_back
        check_ledger(owner_db, [tenant.uuid])
