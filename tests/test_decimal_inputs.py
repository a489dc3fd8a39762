"""Every decimal input goes through one validator (service/validation.py): NaN, infinities, huge
exponents, hundreds of digits, out-of-range values and too many places are INVALID payload errors
at the field's path, and nothing is written. Valid values come back exactly."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service import global_id
from service.errors import Collector
from service.money import _EXPONENT, exponent, from_minor
from service.orders.placement import MAX_LINE_QUANTITY, MAX_LINES
from service.validation import MAX_COMMISSION_RATE, MAX_MONEY, money_value, rate_value
from tests.conftest import TENANT_CREATE, unique
from tests.ordering_fixtures import ORDER_PLACE, make_world, offer_input, open_batch_with_offers, place_input
from tests.test_batches import OFFER_ADD, _create
from tests.test_catalog import PRODUCT_CREATE, PRODUCT_UPDATE, create_product, create_supplier
from tests.test_leaders import LEADER_APPROVE, apply

BIGINT_MAX = 2**63 - 1

# Bad for every decimal input.
ALWAYS_BAD = ["NaN", "-NaN", "sNaN", "Infinity", "-Infinity", "inf", "-1", "1e-30", "1e30", "1E+1000000",
              "1E-1000000", "9" * 400, "0." + "1" * 400, "-0.01"]
RATE_BAD = [*ALWAYS_BAD, "5", "1", "0.50001", "0.12345", "1.5"]
MONEY_BAD = [*ALWAYS_BAD, "1000000.01", "3.505", "12345678901234567890"]


def _codes(payload: dict) -> list[tuple[str, list[str]]]:
    return [(e["code"], e["field"]) for e in payload["errors"]]


# -- the validator itself ------------------------------------------------------------------------


@pytest.mark.parametrize("value", RATE_BAD)
def test_rate_validator_refuses(value: str) -> None:
    errors = Collector()
    assert rate_value(errors, value, ["rate"]) is None
    assert [(e.code.value, e.field) for e in errors.errors] == [("INVALID", ["rate"])]


@pytest.mark.parametrize("value", [*MONEY_BAD, "0"])
def test_money_validator_refuses(value: str) -> None:
    errors = Collector()
    assert money_value(errors, value, ["price"], currency="CNY", positive=True) is None
    assert [(e.code.value, e.field) for e in errors.errors] == [("INVALID", ["price"])]


def test_order_totals_fit_bigint_for_every_currency() -> None:
    """The caps make an order's total provably a bigint: the most lines, each of the most units, at
    the highest price, in the currency with the most minor units."""
    for currency in [*_EXPONENT, "CNY"]:
        errors = Collector()
        top = money_value(errors, str(MAX_MONEY), ["p"], currency=currency)
        assert errors.errors == [] and top == int(MAX_MONEY) * 10 ** exponent(currency)
        assert MAX_LINES * MAX_LINE_QUANTITY * top < BIGINT_MAX // 1000, currency


@settings(max_examples=500, deadline=None)
@given(st.decimals(min_value=0, max_value=MAX_MONEY, places=2, allow_nan=False, allow_infinity=False))
def test_valid_money_round_trips_in_the_validator(amount: Decimal) -> None:
    errors = Collector()
    minor = money_value(errors, str(amount), ["p"], currency="CNY")
    assert errors.errors == [] and minor is not None and from_minor(minor, "CNY") == amount


@settings(max_examples=500, deadline=None)
@given(st.decimals(min_value=0, max_value=MAX_COMMISSION_RATE, places=4, allow_nan=False, allow_infinity=False))
def test_valid_rates_round_trip_in_the_validator(rate: Decimal) -> None:
    errors = Collector()
    assert rate_value(errors, str(rate), ["r"]) == rate and errors.errors == []


# -- each mutation with a decimal input, over HTTP ---------------------------------------------


@pytest.mark.parametrize("value", RATE_BAD)
def test_tenant_create_refuses_bad_default_rate(gql, platform_token, owner_db, value: str) -> None:  # type: ignore[no-untyped-def]
    slug = unique("rate")
    body = gql(TENANT_CREATE, {"input": {"slug": slug, "name": "T", "adminEmail": f"a@{slug}.example",
                                         "adminPassword": "admin-password-1", "defaultCommissionRate": value}},
               token=platform_token)
    assert "errors" not in body, body
    payload = body["data"]["tenantCreate"]
    assert payload["tenant"] is None and payload["apiKey"] is None
    assert _codes(payload) == [("INVALID", ["input", "defaultCommissionRate"])]
    assert owner_db.execute("SELECT count(*) FROM tenant WHERE slug = %s", (slug,)).fetchone()[0] == 0


def test_tenant_create_keeps_a_valid_rate(gql, make_tenant, owner_db) -> None:  # type: ignore[no-untyped-def]
    tenant = make_tenant(defaultCommissionRate="0.1234")
    rate = owner_db.execute("SELECT default_commission_rate FROM tenant WHERE id = %s", (tenant.uuid,)).fetchone()[0]
    assert rate == Decimal("0.1234")


@pytest.mark.parametrize("value", MONEY_BAD)
def test_product_create_and_update_refuse_bad_cost(gql, tenant, owner_db, value: str) -> None:  # type: ignore[no-untyped-def]
    supplier = create_supplier(gql, tenant)
    base = {"supplierId": supplier, "name": "Spinach", "unit": "bag"}
    created = gql.data(PRODUCT_CREATE, {"input": {**base, "cost": value}}, token=tenant.admin_token)
    assert _codes(created["productCreate"]) == [("INVALID", ["input", "cost"])]
    assert created["productCreate"]["product"] is None
    assert owner_db.execute("SELECT count(*) FROM product WHERE tenant_id = %s", (tenant.uuid,)).fetchone()[0] == 0
    product = create_product(gql, tenant, supplier, cost="3.50")
    updated = gql.data(PRODUCT_UPDATE, {"id": product["id"], "input": {**base, "name": "Changed", "cost": value}},
                       token=tenant.admin_token)["productUpdate"]
    assert _codes(updated) == [("INVALID", ["input", "cost"])] and updated["product"] is None
    row = owner_db.execute("SELECT name, cost_minor FROM product WHERE tenant_id = %s", (tenant.uuid,)).fetchone()
    assert row == ("有机菠菜", 350), "nothing changed"


@pytest.mark.parametrize("value", [*MONEY_BAD, "0"])
def test_batch_create_and_offer_add_refuse_bad_price(gql, tenant, owner_db, value: str) -> None:  # type: ignore[no-untyped-def]
    world = make_world(owner_db, tenant)
    bad = _create(gql, world, offers=[offer_input(world, 0), offer_input(world, 1, price=value)])
    assert _codes(bad) == [("INVALID", ["input", "offers", "1", "price"])] and bad["batch"] is None
    assert owner_db.execute("SELECT count(*) FROM batch WHERE tenant_id = %s", (tenant.uuid,)).fetchone()[0] == 0
    batch = _create(gql, world)["batch"]
    added = gql.data(OFFER_ADD, {"b": batch["id"], "input": offer_input(world, 0, price=value)},
                     token=tenant.admin_token)["batchOfferAdd"]
    assert _codes(added) == [("INVALID", ["input", "price"])] and added["offer"] is None
    assert owner_db.execute("SELECT count(*) FROM offer WHERE tenant_id = %s", (tenant.uuid,)).fetchone()[0] == 0


@pytest.mark.parametrize("value", RATE_BAD)
def test_leader_approve_refuses_bad_rate(gql, tenant, make_customer, owner_db, value: str) -> None:  # type: ignore[no-untyped-def]
    customer = make_customer(tenant)
    leader_id = apply(gql, tenant, customer, "王阿姨", phone=customer.phone)
    payload = gql.data(LEADER_APPROVE, {"id": leader_id, "rate": value}, token=tenant.admin_token)["leaderApprove"]
    assert _codes(payload) == [("INVALID", ["commissionRate"])] and payload["leader"] is None
    row = owner_db.execute("SELECT status, commission_rate FROM leader WHERE id = %s",
                           (global_id.decode(leader_id)[1],)).fetchone()
    assert row == ("PENDING", None)


def test_a_decimal_given_as_a_json_number(gql, tenant, owner_db) -> None:  # type: ignore[no-untyped-def]
    supplier = create_supplier(gql, tenant)
    payload = gql.data(PRODUCT_CREATE, {"input": {"supplierId": supplier, "name": "x", "unit": "bag", "cost": 1e300}},
                       token=tenant.admin_token)["productCreate"]
    assert _codes(payload) == [("INVALID", ["input", "cost"])]


# -- order totals ----------------------------------------------------------------------------------


def test_the_largest_order_at_the_highest_price_fits(gql, tenant, make_customer, owner_db) -> None:  # type: ignore[no-untyped-def]
    world = make_world(owner_db, tenant, products=10)
    top = str(MAX_MONEY)
    batch = open_batch_with_offers(gql, world, [offer_input(world, i, price=top) for i in range(10)])
    customer = make_customer(tenant)
    placed = gql.data(ORDER_PLACE, place_input(batch, world, [(i, MAX_LINE_QUANTITY) for i in range(10)]),
                      token=customer.token)["orderPlace"]
    assert placed["errors"] == [], placed
    assert Decimal(placed["order"]["total"]["amount"]) == MAX_MONEY * MAX_LINE_QUANTITY * 10


def test_an_order_beyond_bigint_is_a_payload_error(gql, tenant, make_customer, owner_db) -> None:  # type: ignore[no-untyped-def]
    """An offer priced before the cap (written here straight to the table) cannot make an order's
    total overflow into an internal error."""
    world = make_world(owner_db, tenant, products=10)
    batch = open_batch_with_offers(gql, world, [offer_input(world, i) for i in range(10)])
    owner_db.execute("UPDATE offer SET price_minor = %s WHERE tenant_id = %s", (10**15, tenant.uuid))
    customer = make_customer(tenant)
    key = uuid.uuid4().hex
    body = gql(ORDER_PLACE, place_input(batch, world, [(i, MAX_LINE_QUANTITY) for i in range(10)], key=key),
               token=customer.token)
    assert "errors" not in body, body
    payload = body["data"]["orderPlace"]
    assert _codes(payload) == [("INVALID", ["input", "lines"])] and payload["order"] is None
    assert owner_db.execute("SELECT count(*) FROM customer_order WHERE tenant_id = %s",
                            (tenant.uuid,)).fetchone()[0] == 0


# -- valid values round-trip through the API ------------------------------------------------------


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cost=st.decimals(min_value=0, max_value=MAX_MONEY, places=2, allow_nan=False, allow_infinity=False),
       rate=st.decimals(min_value=0, max_value=MAX_COMMISSION_RATE, places=4, allow_nan=False,
                        allow_infinity=False))
def test_valid_values_round_trip_through_the_api(gql, tenant, make_customer, cost: Decimal, rate: Decimal) -> None:  # type: ignore[no-untyped-def]
    supplier = create_supplier(gql, tenant)
    product = create_product(gql, tenant, supplier, cost=str(cost))
    assert Decimal(product["cost"]["amount"]) == cost
    customer = make_customer(tenant)
    leader_id = apply(gql, tenant, customer, "王阿姨", phone=customer.phone)
    approved = gql.data(LEADER_APPROVE, {"id": leader_id, "rate": str(rate)},
                        token=tenant.admin_token)["leaderApprove"]
    assert approved["errors"] == [] and Decimal(approved["leader"]["commissionRate"]) == rate
