"""Rules that hold across the whole schema (issue 28): times in the tenant's time zone with its
offset, and one form for every rate."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

from graphql import GraphQLObjectType, get_named_type

from service.schema import build_schema
from service.schema.common import rate_text
from service.schema.times import DATETIME
from tests.ordering_fixtures import (
    BATCH_PUBLISH,
    ORDER_MARK_PAID,
    ORDER_PLACE,
    make_world,
    offer_input,
    open_batch_with_offers,
    place_input,
)

TENANT_UPDATE = """
mutation($input: TenantUpdateInput!) { tenantUpdate(input: $input) { errors { code field } } }"""
BATCH_CREATE = """
mutation($input: BatchCreateInput!) {
  batchCreate(input: $input) { batch { id opensAt closesAt } errors { code field } }
}"""
BATCH_READ = "query($id: ID!) { node(id: $id) { ... on Batch { opensAt closesAt } } }"
RATE = re.compile(r"^\d+\.\d\d\d*$")


def _offset(text: str) -> timedelta | None:
    return datetime.fromisoformat(text).utcoffset()


def test_every_datetime_of_the_schema_goes_through_the_tenant_zone_scalar() -> None:
    schema = build_schema(introspection=True)._schema
    scalar = schema.type_map["DateTime"]
    assert scalar.serialize is DATETIME.serialize  # type: ignore[attr-defined]
    assert "time zone" in (scalar.description or "")


def test_times_are_in_the_tenant_zone_whether_echoed_or_read_back(gql, make_tenant, owner_db) -> None:  # type: ignore[no-untyped-def]
    tenant = make_tenant()
    world = make_world(owner_db, tenant)
    for zone, offset in (("Asia/Shanghai", timedelta(hours=8)), ("America/Sao_Paulo", timedelta(hours=-3))):
        changed = gql.data(TENANT_UPDATE, {"input": {"timezone": zone}}, token=tenant.admin_token)["tenantUpdate"]
        assert changed["errors"] == []
        now = datetime.now(UTC)
        # Given in UTC and in +05:30: answered in the tenant's zone both times.
        created = gql.data(BATCH_CREATE, {"input": {
            "title": f"Times {zone}", "opensAt": (now + timedelta(hours=1)).isoformat(),
            "closesAt": (now + timedelta(hours=5)).astimezone(timezone(timedelta(hours=5, minutes=30))).isoformat(),
            "pickupDate": (now + timedelta(days=2)).date().isoformat(),
            "offers": [offer_input(world, 0)]}}, token=tenant.admin_token)["batchCreate"]
        assert created["errors"] == [], created
        echoed = created["batch"]
        read = gql.data(BATCH_READ, {"id": echoed["id"]}, token=tenant.admin_token)["node"]
        for key in ("opensAt", "closesAt"):
            assert _offset(echoed[key]) == offset, (zone, key, echoed[key])
            assert _offset(read[key]) == offset, (zone, key, read[key])
            assert datetime.fromisoformat(echoed[key]) == datetime.fromisoformat(read[key])
        assert gql.data(BATCH_PUBLISH, {"id": echoed["id"]}, token=tenant.admin_token)["batchPublish"]["errors"] == []


def test_rate_form() -> None:
    assert [str(rate_text(Decimal(v))) for v in ("0.1000", "0.1", "0.10", "0.1250", "0", "0.1200")] == [
        "0.10", "0.10", "0.10", "0.125", "0.00", "0.12"]


# Every rate the schema returns, and where the test below reads it.
RATE_FIELDS = {("Tenant", "defaultCommissionRate"), ("Tenant", "withdrawalFeeRate"),
               ("Tenant", "distributionLevel1Rate"), ("Tenant", "distributionLevel2Rate"),
               ("Leader", "commissionRate"), ("Commission", "rate")}


def test_every_rate_field_is_checked_below() -> None:
    schema = build_schema(introspection=True)._schema
    found = set()
    for type_ in schema.type_map.values():
        if isinstance(type_, GraphQLObjectType) and not type_.name.startswith("__"):
            for name, field in type_.fields.items():
                if (name == "rate" or name.endswith("Rate")) and get_named_type(field.type).name == "Decimal":
                    found.add((type_.name, name))
    assert found == RATE_FIELDS, "a new rate field: read it in the test below"


def test_every_rate_comes_back_in_one_form(gql, make_tenant, make_customer, owner_db) -> None:  # type: ignore[no-untyped-def]
    tenant = make_tenant()
    world = make_world(owner_db, tenant)
    changed = gql.data(TENANT_UPDATE, {"input": {
        "defaultCommissionRate": "0.1000", "withdrawalFeeRate": "0.0500",
        "distributionLevel1Rate": "0.1", "distributionLevel2Rate": "0.0250"}}, token=tenant.admin_token)
    assert changed["tenantUpdate"]["errors"] == []
    owner_db.execute("UPDATE leader SET commission_rate = 0.1200 WHERE tenant_id = %s", (tenant.uuid,))
    batch = open_batch_with_offers(gql, world, [offer_input(world, 0)])
    buyer = make_customer(tenant)
    placed = gql.data(ORDER_PLACE, place_input(batch, world, [(0, 1)]), token=buyer.token)["orderPlace"]
    assert placed["errors"] == []
    paid = gql.data(ORDER_MARK_PAID, {"id": placed["order"]["id"], "ref": "r-1"}, token=tenant.api_key)
    assert paid["orderMarkPaid"]["errors"] == []
    closed = gql.data("mutation($id: ID!) { batchClose(id: $id) { errors { code } } }", {"id": batch["id"]},
                      token=tenant.admin_token)["batchClose"]
    assert closed["errors"] == []
    data = gql.data("""{
      me { tenant { defaultCommissionRate withdrawalFeeRate distributionLevel1Rate distributionLevel2Rate } }
      leaders(first: 5) { edges { node { commissionRate } } }
      commissions(first: 5) { edges { node { rate } } }
    }""", token=tenant.admin_token)
    rates = [*data["me"]["tenant"].values(), *(e["node"]["commissionRate"] for e in data["leaders"]["edges"]),
             *(e["node"]["rate"] for e in data["commissions"]["edges"])]
    assert len(rates) >= 6 and data["commissions"]["edges"]
    assert all(RATE.match(r) and (len(r) <= 4 or not r.endswith("0")) for r in rates), rates
    assert data["me"]["tenant"]["defaultCommissionRate"] == "0.10"
    assert data["commissions"]["edges"][0]["node"]["rate"] == "0.12"
