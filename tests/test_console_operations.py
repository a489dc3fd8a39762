"""The brand's console operations over HTTP: tenant settings, API keys, password change and
reset, supplier and product archiving, batch and offer edits, leader reinstatement and pickup
point deactivation. Each: success, its payload errors (code and field), nothing half-written,
and another tenant's ID answered exactly like one that does not exist."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from service import global_id
from tests.conftest import TOKEN_CREATE, sign_in
from tests.ordering_fixtures import (
    BATCH_PUBLISH,
    ORDER_PLACE,
    create_batch,
    iso,
    make_world,
    offer_input,
    open_batch_now,
    place_input,
    run_domain,
)

ERR = "errors { code field message }"
TENANT_FIELDS = """id name timezone defaultCommissionRate paymentWindowMinutes pickupWindowDays
  commissionFreezeDays afterSalesWindowHours shortagePolicy withdrawalMinimum { amount currency }
  withdrawalFeeRate frontEndUrlTemplate distributionEnabled distributionLevel1Rate distributionLevel2Rate
  referralBinding attributionWindowDays"""
TENANT_UPDATE = f"""mutation($input: TenantUpdateInput!) {{
  tenantUpdate(input: $input) {{ tenant {{ {TENANT_FIELDS} }} {ERR} }} }}"""
TENANT = f"{{ tenant {{ {TENANT_FIELDS} }} }}"
API_KEYS = """query($first: Int, $after: String) { apiKeys(first: $first, after: $after) {
  edges { cursor node { id name createdAt lastUsedAt revokedAt } } pageInfo { hasNextPage endCursor } } }"""
API_KEY_CREATE = "mutation($n: String!) { apiKeyCreate(name: $n) { apiKey errors { code field } } }"
API_KEY_REVOKE = f"""mutation($id: ID!) {{ apiKeyRevoke(id: $id) {{
  apiKey {{ id name revokedAt }} {ERR} }} }}"""
PASSWORD_CHANGE = f"""mutation($c: String!, $n: String!) {{ passwordChange(currentPassword: $c, newPassword: $n) {{
  token viewer {{ userId }} {ERR} }} }}"""
RESET_ISSUE = f"mutation($u: ID!) {{ passwordResetIssue(userId: $u) {{ code expiresAt {ERR} }} }}"
RESET = f"""mutation($l: String!, $c: String!, $n: String!) {{
  passwordReset(login: $l, code: $c, newPassword: $n) {{ token viewer {{ userId }} {ERR} }} }}"""
ME = "{ me { userId roles } }"
SUPPLIER_CREATE = f"""mutation($input: SupplierInput!) {{ supplierCreate(input: $input) {{
  supplier {{ id name contactEmail archivedAt }} {ERR} }} }}"""
SUPPLIER_UPDATE = f"""mutation($id: ID!, $input: SupplierInput!) {{ supplierUpdate(id: $id, input: $input) {{
  supplier {{ id name contactEmail archivedAt }} {ERR} }} }}"""
SUPPLIER_ARCHIVE = f"""mutation($id: ID!) {{ supplierArchive(id: $id) {{
  supplier {{ id name archivedAt }} {ERR} }} }}"""
PRODUCT_CREATE = f"""mutation($input: ProductInput!) {{ productCreate(input: $input) {{
  product {{ id active archivedAt }} {ERR} }} }}"""
PRODUCT_UPDATE = f"""mutation($id: ID!, $input: ProductInput!) {{ productUpdate(id: $id, input: $input) {{
  product {{ id active archivedAt }} {ERR} }} }}"""
PRODUCT_ARCHIVE = f"""mutation($id: ID!) {{ productArchive(id: $id) {{
  product {{ id name active archivedAt }} {ERR} }} }}"""
OFFER_ADD = f"""mutation($b: ID!, $input: OfferInput!) {{ batchOfferAdd(batchId: $b, input: $input) {{
  offer {{ id }} {ERR} }} }}"""
BATCH_UPDATE = f"""mutation($id: ID!, $input: BatchUpdateInput!) {{ batchUpdate(id: $id, input: $input) {{
  batch {{ id title status opensAt closesAt pickupDate }} {ERR} }} }}"""
OFFER_UPDATE = f"""mutation($id: ID!, $input: OfferUpdateInput!) {{ offerUpdate(id: $id, input: $input) {{
  offer {{ id price {{ amount }} stockLimit perCustomerLimit minGroupQuantity soldQuantity remainingStock }}
  {ERR} }} }}"""
LEADER_SUSPEND = f"""mutation($id: ID!) {{ leaderSuspend(id: $id, reason: "audit") {{
  leader {{ id status }} {ERR} }} }}"""
LEADER_REINSTATE = f"""mutation($id: ID!) {{ leaderReinstate(id: $id) {{
  leader {{ id status statusReason commissionRate }} {ERR} }} }}"""
POINT_DEACTIVATE = f"""mutation($id: ID!) {{ pickupPointDeactivate(id: $id) {{
  pickupPoint {{ id active }} {ERR} }} }}"""
NODE = "query($id: ID!) { node(id: $id) { id } }"
PRODUCTS = """query($all: Boolean) { products(first: 100, includeArchived: $all) { edges { node { id } } } }"""
SUPPLIERS = """query($all: Boolean) { suppliers(first: 100, includeArchived: $all) { edges { node { id } } } }"""


def _listed(gql, tenant, query, key, everything=None) -> set[str]:  # type: ignore[no-untyped-def]
    edges = gql.data(query, {"all": everything}, token=tenant.admin_token)[key]["edges"]
    return {e["node"]["id"] for e in edges}


def codes(payload: dict) -> set[tuple[str, tuple[str, ...] | None]]:
    return {(e["code"], tuple(e["field"]) if e["field"] else None) for e in payload["errors"]}


def _tenant_row(owner_db, tenant) -> tuple:  # type: ignore[no-untyped-def]
    return owner_db.execute("SELECT * FROM tenant WHERE id = %s", (tenant.uuid,)).fetchone()


# -- tenant settings ----------------------------------------------------------------------------
def test_tenant_update_changes_the_given_settings_and_reads_them_back(gql, tenant):  # type: ignore[no-untyped-def]
    before = gql.data(TENANT, tenant=tenant.slug)["tenant"]
    assert before["shortagePolicy"] == "LAST_ORDERED_FIRST" and before["commissionFreezeDays"] == 7
    assert before["referralBinding"] == "FIRST" and before["distributionEnabled"] is False
    changes = {
        "name": "鲜果团", "timezone": "Europe/Berlin", "defaultCommissionRate": "0.08",
        "paymentWindowMinutes": 30, "pickupWindowDays": 5, "commissionFreezeDays": 10,
        "afterSalesWindowHours": 72, "shortagePolicy": "PRO_RATA", "withdrawalMinimum": "50.00",
        "withdrawalFeeRate": "0.006", "frontEndUrlTemplate": "https://shop.example/{tenant}/b/{batchId}",
        "distributionEnabled": True, "distributionLevel1Rate": "0.05", "distributionLevel2Rate": "0.02",
        "referralBinding": "LATEST", "attributionWindowDays": 14,
    }
    payload = gql.data(TENANT_UPDATE, {"input": changes}, token=tenant.admin_token)["tenantUpdate"]
    assert payload["errors"] == []
    expected = {
        **changes, "withdrawalMinimum": {"amount": "50.00", "currency": "CNY"}, "defaultCommissionRate": "0.08",
        "withdrawalFeeRate": "0.006", "distributionLevel1Rate": "0.05", "distributionLevel2Rate": "0.02",
    }
    got = {k: v for k, v in payload["tenant"].items() if k != "id"}
    assert got == expected
    # The next request reads the new settings (the tenant cache of this process was told).
    assert {k: v for k, v in gql.data(TENANT, tenant=tenant.slug)["tenant"].items() if k != "id"} == got
    # Only the given fields change; "" clears the template.
    payload = gql.data(TENANT_UPDATE, {"input": {"pickupWindowDays": 2, "frontEndUrlTemplate": ""}},
                       token=tenant.admin_token)["tenantUpdate"]
    assert payload["errors"] == []
    assert payload["tenant"]["pickupWindowDays"] == 2 and payload["tenant"]["frontEndUrlTemplate"] is None
    assert payload["tenant"]["name"] == "鲜果团" and payload["tenant"]["attributionWindowDays"] == 14


def test_tenant_update_errors_name_their_fields_and_change_nothing(gql, tenant, owner_db):  # type: ignore[no-untyped-def]
    before = _tenant_row(owner_db, tenant)
    bad = {
        "name": " ", "timezone": "Mars/Olympus", "defaultCommissionRate": "0.9", "paymentWindowMinutes": 0,
        "pickupWindowDays": 0, "commissionFreezeDays": -1, "afterSalesWindowHours": 100000,
        "withdrawalMinimum": "1.234", "withdrawalFeeRate": "NaN", "frontEndUrlTemplate": "http://shop.example/x",
        "distributionLevel1Rate": "0.31", "attributionWindowDays": 0,
    }
    payload = gql.data(TENANT_UPDATE, {"input": bad}, token=tenant.admin_token)["tenantUpdate"]
    assert payload["tenant"] is None
    assert codes(payload) == {("INVALID", ("input", f)) for f in bad}, payload["errors"]
    assert _tenant_row(owner_db, tenant) == before


@pytest.mark.parametrize(("template", "ok"), [
    ("https://shop.example/b/{batchId}?o={offerId}", True),
    ("https://shop.example/{tenant}/g/{groupCode}", True),
    ("https://shop.example/{userId}", False),  # not a documented placeholder
    ("javascript:alert(1)", False),
    ("https:///{batchId}", False),
    ("https://shop.example/{batchId", False),
    ("https://shop example/x", False),
])
def test_front_end_url_template_is_an_https_url_with_documented_placeholders(  # type: ignore[no-untyped-def]
        gql, tenant, template, ok):
    payload = gql.data(TENANT_UPDATE, {"input": {"frontEndUrlTemplate": template}},
                       token=tenant.admin_token)["tenantUpdate"]
    assert (payload["errors"] == []) is ok, payload
    if not ok:
        assert codes(payload) == {("INVALID", ("input", "frontEndUrlTemplate",))}


def test_distribution_rates_together_stay_under_the_cap(gql, tenant, owner_db):  # type: ignore[no-untyped-def]
    ok = gql.data(TENANT_UPDATE, {"input": {"distributionLevel1Rate": "0.2"}}, token=tenant.admin_token)
    assert ok["tenantUpdate"]["errors"] == []
    # 0.2 stored + 0.15 asked > 0.3: refused on the field given, the stored rate kept.
    payload = gql.data(TENANT_UPDATE, {"input": {"distributionLevel2Rate": "0.15"}},
                       token=tenant.admin_token)["tenantUpdate"]
    assert codes(payload) == {("INVALID", ("input", "distributionLevel2Rate",))}
    assert owner_db.execute("SELECT distribution_level2_rate FROM tenant WHERE id = %s",
                            (tenant.uuid,)).fetchone()[0] == 0


def test_tenant_update_is_for_admins_and_api_keys(gql, tenant, make_customer):  # type: ignore[no-untyped-def]
    customer = make_customer(tenant)
    refused = gql.data(TENANT_UPDATE, {"input": {"name": "x"}}, token=customer.token)["tenantUpdate"]
    assert codes(refused) == {("FORBIDDEN", None)}
    by_key = gql.data(TENANT_UPDATE, {"input": {"name": "By key"}}, token=tenant.api_key)["tenantUpdate"]
    assert by_key["errors"] == [] and by_key["tenant"]["name"] == "By key"


# -- API keys -----------------------------------------------------------------------------------
def _keys(gql, token) -> list[dict]:  # type: ignore[no-untyped-def]
    return [e["node"] for e in gql.data(API_KEYS, {"first": 100}, token=token)["apiKeys"]["edges"]]


def test_api_keys_list_never_shows_a_secret_and_records_use(gql, tenant):  # type: ignore[no-untyped-def]
    fields = gql.data('{ __type(name: "ApiKey") { fields { name } } }')["__type"]["fields"]
    assert {f["name"] for f in fields} == {"id", "name", "createdAt", "lastUsedAt", "revokedAt"}
    secret = gql.data(API_KEY_CREATE, {"n": "erp"}, token=tenant.admin_token)["apiKeyCreate"]["apiKey"]
    keys = _keys(gql, tenant.admin_token)
    assert [k["name"] for k in keys] == ["default", "erp"]
    assert all(k["lastUsedAt"] is None and k["revokedAt"] is None for k in keys)
    assert gql.data(ME, token=secret)["me"]["roles"] == ["TENANT_ADMIN"]
    erp = next(k for k in _keys(gql, tenant.admin_token) if k["name"] == "erp")
    assert erp["lastUsedAt"] is not None
    assert secret not in str(gql(API_KEYS, {"first": 100}, token=tenant.admin_token))
    page = gql.data(API_KEYS, {"first": 1}, token=tenant.admin_token)["apiKeys"]
    assert page["pageInfo"]["hasNextPage"] is True
    rest = gql.data(API_KEYS, {"first": 1, "after": page["pageInfo"]["endCursor"]}, token=tenant.admin_token)
    assert [e["node"]["name"] for e in rest["apiKeys"]["edges"]] == ["erp"]


def test_last_used_is_written_at_most_once_a_minute_per_key(gql, tenant, owner_db):  # type: ignore[no-untyped-def]
    secret = gql.data(API_KEY_CREATE, {"n": "hot"}, token=tenant.admin_token)["apiKeyCreate"]["apiKey"]
    gql.data(ME, token=secret)
    row = owner_db.execute("SELECT id, last_used_at, xmin::text FROM api_key WHERE name = 'hot' AND tenant_id = %s",
                           (tenant.uuid,)).fetchone()
    for _ in range(5):
        gql.data(ME, token=secret)
    again = owner_db.execute("SELECT id, last_used_at, xmin::text FROM api_key WHERE id = %s", (row[0],)).fetchone()
    assert again == row  # not rewritten: same value, same row version


def test_a_revoked_key_is_refused_on_its_next_request(gql, tenant):  # type: ignore[no-untyped-def]
    secret = gql.data(API_KEY_CREATE, {"n": "pos"}, token=tenant.admin_token)["apiKeyCreate"]["apiKey"]
    assert gql.data(ME, token=secret)["me"]["roles"] == ["TENANT_ADMIN"]
    key = next(k for k in _keys(gql, tenant.admin_token) if k["name"] == "pos")
    revoked = gql.data(API_KEY_REVOKE, {"id": key["id"]}, token=tenant.admin_token)["apiKeyRevoke"]
    assert revoked["errors"] == [] and revoked["apiKey"]["revokedAt"] is not None
    response = gql.post(ME, token=secret)
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "API_KEY_REVOKED"
    again = gql.data(API_KEY_REVOKE, {"id": key["id"]}, token=tenant.admin_token)["apiKeyRevoke"]
    assert again["errors"] == [] and again["apiKey"]["revokedAt"] == revoked["apiKey"]["revokedAt"]
    listed = next(k for k in _keys(gql, tenant.admin_token) if k["name"] == "pos")
    assert listed["revokedAt"] == revoked["apiKey"]["revokedAt"]


def test_api_key_queries_are_for_admins(gql, tenant, make_customer):  # type: ignore[no-untyped-def]
    customer = make_customer(tenant)
    body = gql(API_KEYS, {}, token=customer.token)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    key = _keys(gql, tenant.admin_token)[0]
    assert codes(gql.data(API_KEY_REVOKE, {"id": key["id"]}, token=customer.token)["apiKeyRevoke"]) == {
        ("FORBIDDEN", None)
    }
    assert gql.data(NODE, {"id": key["id"]}, token=customer.token)["node"] is None
    assert gql.data(NODE, {"id": key["id"]}, token=tenant.admin_token)["node"] == {"id": key["id"]}


# -- passwords ----------------------------------------------------------------------------------
def test_password_change_ends_the_older_tokens(gql, tenant, make_customer):  # type: ignore[no-untyped-def]
    customer = make_customer(tenant)
    other = sign_in(gql, tenant.slug, customer.phone, customer.password)  # a second device
    wrong = gql.data(PASSWORD_CHANGE, {"c": "not-it-at-all", "n": "new-password-1"},
                     token=customer.token)["passwordChange"]
    assert codes(wrong) == {("INVALID_CREDENTIALS", ("currentPassword",))} and wrong["token"] is None
    short = gql.data(PASSWORD_CHANGE, {"c": customer.password, "n": "short"}, token=customer.token)["passwordChange"]
    assert codes(short) == {("INVALID", ("newPassword",))}
    assert gql.data(ME, token=customer.token)["me"]["userId"] == customer.user_id  # nothing changed yet
    changed = gql.data(PASSWORD_CHANGE, {"c": customer.password, "n": "new-password-1"},
                       token=customer.token)["passwordChange"]
    assert changed["errors"] == [] and changed["viewer"]["userId"] == customer.user_id
    for old in (customer.token, other):
        response = gql.post(ME, token=old)
        assert response.status_code == 401
        assert response.json()["errors"][0]["extensions"]["code"] == "TOKEN_EXPIRED"
    assert gql.data(ME, token=changed["token"])["me"]["userId"] == customer.user_id
    assert sign_in(gql, tenant.slug, customer.phone, "new-password-1")
    old_password = gql.data(TOKEN_CREATE, {"input": {"login": customer.phone, "password": customer.password}},
                            tenant=tenant.slug)["tokenCreate"]
    assert codes(old_password) == {("INVALID_CREDENTIALS", None)}


def test_password_change_is_for_signed_in_users(gql, tenant):  # type: ignore[no-untyped-def]
    for token in (tenant.api_key, None):
        payload = gql.data(PASSWORD_CHANGE, {"c": "a", "n": "new-password-1"}, token=token,
                           tenant=tenant.slug)["passwordChange"]
        assert codes(payload) == {("FORBIDDEN", None)}


@pytest.fixture
def few_attempts(monkeypatch):  # type: ignore[no-untyped-def]
    from service.config import get_settings

    monkeypatch.setattr(get_settings(), "login_attempts_per_login", 3)
    return 3


def test_password_change_counts_toward_the_sign_in_limit(gql, tenant, make_customer, few_attempts):  # type: ignore[no-untyped-def]
    customer = make_customer(tenant)
    for _ in range(few_attempts):
        payload = gql.data(PASSWORD_CHANGE, {"c": "guess-guess", "n": "new-password-1"},
                           token=customer.token)["passwordChange"]
        assert codes(payload) == {("INVALID_CREDENTIALS", ("currentPassword",))}
    payload = gql.data(PASSWORD_CHANGE, {"c": customer.password, "n": "new-password-1"},
                       token=customer.token)["passwordChange"]
    assert codes(payload) == {("RATE_LIMITED", None)}
    signed = gql.data(TOKEN_CREATE, {"input": {"login": customer.phone, "password": customer.password}},
                      tenant=tenant.slug)["tokenCreate"]
    assert codes(signed) == {("RATE_LIMITED", None)}  # the same counter as sign-in


def _issue(gql, tenant, user_id) -> dict:  # type: ignore[no-untyped-def]
    payload = gql.data(RESET_ISSUE, {"u": user_id}, token=tenant.admin_token)["passwordResetIssue"]
    assert payload["errors"] == [], payload
    return payload  # type: ignore[no-any-return]


def test_password_reset_code_works_once(gql, tenant, make_customer, owner_db):  # type: ignore[no-untyped-def]
    customer = make_customer(tenant)
    issued = _issue(gql, tenant, customer.user_id)
    expires = datetime.fromisoformat(issued["expiresAt"])
    assert timedelta(minutes=29) < expires - datetime.now(UTC) <= timedelta(minutes=30)
    stored = owner_db.execute("SELECT code_hash FROM password_reset WHERE tenant_id = %s",
                              (tenant.uuid,)).fetchone()[0]
    assert issued["code"] not in stored  # kept hashed
    wrong = gql.data(RESET, {"l": customer.phone, "c": "WRONGCODE2", "n": "reset-password-1"},
                     tenant=tenant.slug)["passwordReset"]
    unknown = gql.data(RESET, {"l": "+8613000000000", "c": issued["code"], "n": "reset-password-1"},
                       tenant=tenant.slug)["passwordReset"]
    assert wrong == unknown  # the same answer: no login is revealed
    assert codes(wrong) == {("INVALID_CREDENTIALS", ("code",))}
    done = gql.data(RESET, {"l": customer.phone, "c": issued["code"].lower(), "n": "reset-password-1"},
                    tenant=tenant.slug)["passwordReset"]
    assert done["errors"] == [] and done["viewer"]["userId"] == customer.user_id
    assert gql.post(ME, token=customer.token).status_code == 401  # the older token ends
    assert gql.data(ME, token=done["token"])["me"]["userId"] == customer.user_id
    again = gql.data(RESET, {"l": customer.phone, "c": issued["code"], "n": "reset-password-2"},
                     tenant=tenant.slug)["passwordReset"]
    assert again == wrong
    assert sign_in(gql, tenant.slug, customer.phone, "reset-password-1")


def test_a_newer_code_replaces_the_older_one(gql, tenant, make_customer):  # type: ignore[no-untyped-def]
    customer = make_customer(tenant)
    first = _issue(gql, tenant, customer.user_id)["code"]
    second = _issue(gql, tenant, customer.user_id)["code"]
    old = gql.data(RESET, {"l": customer.phone, "c": first, "n": "reset-password-1"},
                   tenant=tenant.slug)["passwordReset"]
    assert codes(old) == {("INVALID_CREDENTIALS", ("code",))}
    ok = gql.data(RESET, {"l": customer.phone, "c": second, "n": "reset-password-1"},
                  tenant=tenant.slug)["passwordReset"]
    assert ok["errors"] == []


def test_password_reset_code_expires(gql, tenant, make_customer, monkeypatch):  # type: ignore[no-untyped-def]
    from service.config import get_settings

    monkeypatch.setattr(get_settings(), "password_reset_ttl_seconds", 1)
    customer = make_customer(tenant)
    issued = _issue(gql, tenant, customer.user_id)
    time.sleep(1.5)
    late = gql.data(RESET, {"l": customer.phone, "c": issued["code"], "n": "reset-password-1"},
                    tenant=tenant.slug)["passwordReset"]
    assert codes(late) == {("INVALID_CREDENTIALS", ("code",))}
    assert sign_in(gql, tenant.slug, customer.phone, customer.password)  # unchanged
    fresh = _issue(gql, tenant, customer.user_id)  # within its second it works
    ok = gql.data(RESET, {"l": customer.phone, "c": fresh["code"], "n": "reset-password-1"},
                  tenant=tenant.slug)["passwordReset"]
    assert ok["errors"] == []


def test_password_reset_is_rate_limited_like_sign_in(gql, tenant, make_customer, few_attempts):  # type: ignore[no-untyped-def]
    customer = make_customer(tenant)
    code = _issue(gql, tenant, customer.user_id)["code"]
    for _ in range(few_attempts):
        wrong = gql.data(RESET, {"l": customer.phone, "c": "WRONGCODE2", "n": "reset-password-1"},
                         tenant=tenant.slug)["passwordReset"]
        assert codes(wrong) == {("INVALID_CREDENTIALS", ("code",))}
    limited = gql.data(RESET, {"l": customer.phone, "c": code, "n": "reset-password-1"},
                       tenant=tenant.slug)["passwordReset"]
    assert codes(limited) == {("RATE_LIMITED", None)}
    assert sign_in is not None and gql.data(ME, token=customer.token)["me"]["userId"] == customer.user_id


def test_password_reset_issue_errors(gql, tenant, make_customer):  # type: ignore[no-untyped-def]
    customer = make_customer(tenant)
    refused = gql.data(RESET_ISSUE, {"u": customer.user_id}, token=customer.token)["passwordResetIssue"]
    assert codes(refused) == {("FORBIDDEN", None)} and refused["code"] is None
    missing = gql.data(RESET_ISSUE, {"u": global_id.encode("User", uuid.uuid4())},
                       token=tenant.admin_token)["passwordResetIssue"]
    assert codes(missing) == {("NOT_FOUND", ("userId",))} and missing["code"] is None


# -- catalog ------------------------------------------------------------------------------------
def _supplier(gql, tenant, name="Farm") -> dict:  # type: ignore[no-untyped-def]
    payload = gql.data(SUPPLIER_CREATE, {"input": {"name": name, "contactEmail": "farm@example.com"}},
                       token=tenant.admin_token)["supplierCreate"]
    assert payload["errors"] == []
    return payload["supplier"]  # type: ignore[no-any-return]


def _product(gql, tenant, supplier_id) -> dict:  # type: ignore[no-untyped-def]
    payload = gql.data(PRODUCT_CREATE, {"input": {"supplierId": supplier_id, "name": "Apples", "unit": "kg",
                                                  "cost": "5.00"}}, token=tenant.admin_token)["productCreate"]
    assert payload["errors"] == [], payload
    return payload["product"]  # type: ignore[no-any-return]


def test_supplier_update(gql, tenant, owner_db):  # type: ignore[no-untyped-def]
    supplier = _supplier(gql, tenant)
    updated = gql.data(SUPPLIER_UPDATE, {"id": supplier["id"], "input": {"name": "Orchard", "contactEmail": None}},
                       token=tenant.admin_token)["supplierUpdate"]
    assert updated["errors"] == []
    assert updated["supplier"] == {**supplier, "name": "Orchard", "contactEmail": None}
    bad = gql.data(SUPPLIER_UPDATE, {"id": supplier["id"], "input": {"name": "", "contactEmail": "nope"}},
                   token=tenant.admin_token)["supplierUpdate"]
    assert codes(bad) == {("INVALID", ("input", "name",)), ("INVALID", ("input", "contactEmail",))} and bad["supplier"] is None
    assert owner_db.execute("SELECT name, contact_email FROM supplier WHERE id = %s",
                            (global_id.decode_as(supplier["id"], "Supplier"),)).fetchone() == ("Orchard", None)


def test_an_archived_supplier_gets_no_new_products_or_offers(gql, tenant, owner_db):  # type: ignore[no-untyped-def]
    supplier = _supplier(gql, tenant)
    product = _product(gql, tenant, supplier["id"])
    world = make_world(owner_db, tenant)
    batch = create_batch(gql, world, [{"productId": product["id"], "price": "9.90"}], opens_in=3600,
                         closes_in=7200)
    archived = gql.data(SUPPLIER_ARCHIVE, {"id": supplier["id"]}, token=tenant.admin_token)["supplierArchive"]
    assert archived["errors"] == [] and archived["supplier"]["archivedAt"] is not None
    again = gql.data(SUPPLIER_ARCHIVE, {"id": supplier["id"]}, token=tenant.admin_token)["supplierArchive"]
    assert again["supplier"]["archivedAt"] == archived["supplier"]["archivedAt"]
    new_product = gql.data(PRODUCT_CREATE, {"input": {"supplierId": supplier["id"], "name": "Pears", "unit": "kg",
                                                      "cost": "5.00"}}, token=tenant.admin_token)["productCreate"]
    assert codes(new_product) == {("INVALID", ("input", "supplierId",))}
    assert supplier["id"] not in _listed(gql, tenant, SUPPLIERS, "suppliers")
    assert supplier["id"] in _listed(gql, tenant, SUPPLIERS, "suppliers", everything=True)
    other_batch = create_batch(gql, world, [offer_input(world, 0)], opens_in=3600, closes_in=7200)
    offer = gql.data(OFFER_ADD, {"b": other_batch["id"], "input": {"productId": product["id"], "price": "1"}},
                     token=tenant.admin_token)["batchOfferAdd"]
    assert codes(offer) == {("INVALID", ("input", "productId",))}
    # What exists stays: the product, its offer, and the product can still be edited.
    kept = owner_db.execute("SELECT count(*) FROM offer WHERE batch_id = %s",
                            (global_id.decode_as(batch["id"], "Batch"),)).fetchone()[0]
    assert kept == 1
    edit = gql.data(PRODUCT_UPDATE, {"id": product["id"], "input": {
        "supplierId": supplier["id"], "name": "Apples", "unit": "kg", "cost": "6.00"}},
        token=tenant.admin_token)["productUpdate"]
    assert edit["errors"] == []


def test_an_archived_product_is_offered_no_more_but_orders_keep_it(gql, tenant, owner_db):  # type: ignore[no-untyped-def]
    world = make_world(owner_db, tenant)
    batch = create_batch(gql, world, [offer_input(world, 0)])
    gql.data(BATCH_PUBLISH, {"id": batch["id"]}, token=tenant.admin_token)
    assert open_batch_now(batch["id"], tenant)
    placed = gql.data(ORDER_PLACE, place_input(batch, world, [(0, 1)]), token=world.leader_token)["orderPlace"]
    assert placed["errors"] == []
    product = world.product_gid(0)
    archived = gql.data(PRODUCT_ARCHIVE, {"id": product}, token=tenant.admin_token)["productArchive"]
    assert archived["errors"] == []
    assert archived["product"]["active"] is False and archived["product"]["archivedAt"] is not None
    assert product not in _listed(gql, tenant, PRODUCTS, "products")
    assert product in _listed(gql, tenant, PRODUCTS, "products", everything=True)
    assert world.product_gid(1) in _listed(gql, tenant, PRODUCTS, "products")
    later = create_batch(gql, world, [offer_input(world, 1)], opens_in=3600, closes_in=7200)
    refused = gql.data(OFFER_ADD, {"b": later["id"], "input": {"productId": product, "price": "1"}},
                       token=tenant.admin_token)["batchOfferAdd"]
    assert codes(refused) == {("INVALID", ("input", "productId",))}
    # Archiving is for good: an update cannot make it active again.
    again = gql.data(PRODUCT_UPDATE, {"id": product, "input": {
        "supplierId": global_id.encode("Supplier", world.supplier_id), "name": "P", "unit": "box",
        "cost": "5.00", "active": True}}, token=tenant.admin_token)["productUpdate"]
    assert again["product"]["active"] is False
    order = owner_db.execute("SELECT product_name FROM order_line WHERE order_id = %s",
                             (global_id.decode_as(placed["order"]["id"], "Order"),)).fetchone()
    assert order == ("Product 0",)


# -- batches and offers -------------------------------------------------------------------------
def _draft(gql, world) -> dict:  # type: ignore[no-untyped-def]
    return create_batch(gql, world, [offer_input(world, 0, stockLimit=10)], opens_in=3600, closes_in=7200)


def test_batch_update_rechecks_the_window(gql, tenant, owner_db):  # type: ignore[no-untyped-def]
    world = make_world(owner_db, tenant)
    batch = _draft(gql, world)
    before = owner_db.execute("SELECT title, opens_at, closes_at, pickup_date FROM batch WHERE id = %s",
                              (global_id.decode_as(batch["id"], "Batch"),)).fetchone()
    now = datetime.now(UTC)
    bad = gql.data(BATCH_UPDATE, {"id": batch["id"], "input": {
        "title": "", "closesAt": iso(now + timedelta(minutes=30))}}, token=tenant.admin_token)["batchUpdate"]
    assert codes(bad) == {("INVALID", ("input", "title",)), ("INVALID", ("input", "closesAt",))} and bad["batch"] is None
    early = gql.data(BATCH_UPDATE, {"id": batch["id"], "input": {"pickupDate": now.date().isoformat(),
                                                                   "closesAt": iso(now + timedelta(days=3))}},
                     token=tenant.admin_token)["batchUpdate"]
    assert codes(early) == {("INVALID", ("input", "pickupDate",))}
    assert owner_db.execute("SELECT title, opens_at, closes_at, pickup_date FROM batch WHERE id = %s",
                            (global_id.decode_as(batch["id"], "Batch"),)).fetchone() == before
    ok = gql.data(BATCH_UPDATE, {"id": batch["id"], "input": {"title": "Fruit week",
                                                                "closesAt": iso(now + timedelta(hours=3))}},
                  token=tenant.admin_token)["batchUpdate"]
    assert ok["errors"] == [] and ok["batch"]["title"] == "Fruit week" and ok["batch"]["status"] == "DRAFT"


def _open_due() -> int:
    from service.batches.opening import open_due_batches

    return run_domain(lambda engine: open_due_batches(engine=engine))


def _status(owner_db, batch) -> str:  # type: ignore[no-untyped-def]
    return owner_db.execute("SELECT status FROM batch WHERE id = %s",  # type: ignore[no-any-return]
                            (global_id.decode_as(batch["id"], "Batch"),)).fetchone()[0]


def test_a_scheduled_batch_opens_at_its_new_time(gql, tenant, owner_db):  # type: ignore[no-untyped-def]
    world = make_world(owner_db, tenant)
    later = _draft(gql, world)  # opens in an hour
    assert gql.data(BATCH_PUBLISH, {"id": later["id"]}, token=tenant.admin_token)["batchPublish"]["errors"] == []
    now = datetime.now(UTC)
    sooner = gql.data(BATCH_UPDATE, {"id": later["id"], "input": {"opensAt": iso(now - timedelta(seconds=1))}},
                      token=tenant.admin_token)["batchUpdate"]
    assert sooner["errors"] == [] and sooner["batch"]["status"] == "SCHEDULED"
    # Moved the other way: due now, then pushed an hour out, it stays scheduled.
    due = create_batch(gql, world, [offer_input(world, 1)], opens_in=-1, closes_in=7200)
    moved = gql.data(BATCH_UPDATE, {"id": due["id"], "input": {"opensAt": iso(now + timedelta(hours=1))}},
                     token=tenant.admin_token)["batchUpdate"]
    assert moved["errors"] == []
    assert gql.data(BATCH_PUBLISH, {"id": due["id"]}, token=tenant.admin_token)["batchPublish"]["errors"] == []
    _open_due()
    assert _status(owner_db, later) == "OPEN"
    assert _status(owner_db, due) == "SCHEDULED"
    refused = gql.data(BATCH_UPDATE, {"id": later["id"], "input": {"title": "x"}},
                       token=tenant.admin_token)["batchUpdate"]
    assert codes(refused) == {("CONFLICT", ("id",))}


def _slots(owner_db, offer_gid) -> list[tuple]:  # type: ignore[no-untyped-def]
    return owner_db.execute(  # type: ignore[no-any-return]
        "SELECT quota, sold FROM offer_stock_slot WHERE offer_id = %s ORDER BY slot",
        (global_id.decode_as(offer_gid, "Offer"),)).fetchall()


def test_offer_update_respreads_the_stock_slots(gql, tenant, owner_db):  # type: ignore[no-untyped-def]
    world = make_world(owner_db, tenant)
    offer = _draft(gql, world)["offers"][0]
    assert sum(q for q, _ in _slots(owner_db, offer["id"])) == 10
    ok = gql.data(OFFER_UPDATE, {"id": offer["id"], "input": {"price": "12.50", "stockLimit": 21,
                                                                "perCustomerLimit": 3, "minGroupQuantity": 2}},
                  token=tenant.admin_token)["offerUpdate"]
    assert ok["errors"] == []
    assert ok["offer"] == {"id": offer["id"], "price": {"amount": "12.50"}, "stockLimit": 21, "perCustomerLimit": 3,
                           "minGroupQuantity": 2, "soldQuantity": 0, "remainingStock": 21}
    slots = _slots(owner_db, offer["id"])
    assert sum(q for q, _ in slots) == 21 and max(q for q, _ in slots) - min(q for q, _ in slots) <= 1
    bad = gql.data(OFFER_UPDATE, {"id": offer["id"], "input": {"price": "0", "stockLimit": 0,
                                                                 "perCustomerLimit": 0}},
                   token=tenant.admin_token)["offerUpdate"]
    assert codes(bad) == {("INVALID", ("input", "price",)), ("INVALID", ("input", "stockLimit",)), ("INVALID", ("input", "perCustomerLimit",))}
    over = gql.data(OFFER_UPDATE, {"id": offer["id"], "input": {"minGroupQuantity": 30}},
                    token=tenant.admin_token)["offerUpdate"]
    assert codes(over) == {("INVALID", ("input", "minGroupQuantity",))}
    assert sum(q for q, _ in _slots(owner_db, offer["id"])) == 21


def test_offer_stock_cannot_go_below_what_is_sold(gql, tenant, owner_db):  # type: ignore[no-untyped-def]
    world = make_world(owner_db, tenant)
    batch = create_batch(gql, world, [offer_input(world, 0, stockLimit=10)])
    gql.data(BATCH_PUBLISH, {"id": batch["id"]}, token=tenant.admin_token)
    assert open_batch_now(batch["id"], tenant)
    placed = gql.data(ORDER_PLACE, place_input(batch, world, [(0, 4)]), token=world.leader_token)["orderPlace"]
    assert placed["errors"] == []
    offer = batch["offers"][0]
    open_now = gql.data(OFFER_UPDATE, {"id": offer["id"], "input": {"stockLimit": 20}},
                        token=tenant.admin_token)["offerUpdate"]
    assert codes(open_now) == {("CONFLICT", ("id",))}
    # An edit window with sales in it (the guard holds whatever the status rules allow).
    owner_db.execute("UPDATE batch SET status = 'SCHEDULED' WHERE id = %s",
                     (global_id.decode_as(batch["id"], "Batch"),))
    before = _slots(owner_db, offer["id"])
    below = gql.data(OFFER_UPDATE, {"id": offer["id"], "input": {"stockLimit": 3}},
                     token=tenant.admin_token)["offerUpdate"]
    assert codes(below) == {("INVALID", ("input", "stockLimit",))} and "4" in below["errors"][0]["message"]
    assert _slots(owner_db, offer["id"]) == before
    exact = gql.data(OFFER_UPDATE, {"id": offer["id"], "input": {"stockLimit": 4}},
                     token=tenant.admin_token)["offerUpdate"]
    assert exact["errors"] == [] and exact["offer"]["remainingStock"] == 0 and exact["offer"]["soldQuantity"] == 4
    slots = _slots(owner_db, offer["id"])
    assert sum(q for q, _ in slots) == 4 and sum(s for _, s in slots) == 4 and all(q >= s for q, s in slots)


# -- leaders and pickup points ------------------------------------------------------------------
def test_leader_reinstate(gql, tenant, owner_db):  # type: ignore[no-untyped-def]
    world = make_world(owner_db, tenant)
    leader = global_id.encode("Leader", world.leader_id)
    not_suspended = gql.data(LEADER_REINSTATE, {"id": leader}, token=tenant.admin_token)["leaderReinstate"]
    assert codes(not_suspended) == {("CONFLICT", ("id",))}
    assert gql.data(LEADER_SUSPEND, {"id": leader}, token=tenant.admin_token)["leaderSuspend"]["errors"] == []
    assert gql.post(ME, token=world.leader_token).json()["data"]["me"]["roles"] == ["CUSTOMER"]
    back = gql.data(LEADER_REINSTATE, {"id": leader}, token=tenant.admin_token)["leaderReinstate"]
    assert back["errors"] == []
    assert back["leader"] == {"id": leader, "status": "APPROVED", "statusReason": None, "commissionRate": "0.10"}
    assert sorted(gql.data(ME, token=world.leader_token)["me"]["roles"]) == ["CUSTOMER", "LEADER"]


def test_pickup_point_deactivate(gql, tenant, owner_db):  # type: ignore[no-untyped-def]
    from tests.ordering_fixtures import add_leader, add_pickup_point

    world = make_world(owner_db, tenant)
    point = world.point_gid
    _, other_leader, other_token = add_leader(owner_db, tenant)
    add_pickup_point(owner_db, tenant, other_leader)
    refused = gql.data(POINT_DEACTIVATE, {"id": point}, token=other_token)["pickupPointDeactivate"]
    assert codes(refused) == {("FORBIDDEN", None)}
    own = gql.data(POINT_DEACTIVATE, {"id": point}, token=world.leader_token)["pickupPointDeactivate"]
    assert own["errors"] == [] and own["pickupPoint"] == {"id": point, "active": False}
    again = gql.data(POINT_DEACTIVATE, {"id": point}, token=tenant.admin_token)["pickupPointDeactivate"]
    assert again["errors"] == [] and again["pickupPoint"]["active"] is False
    batch = create_batch(gql, world, [offer_input(world, 0)])
    gql.data(BATCH_PUBLISH, {"id": batch["id"]}, token=tenant.admin_token)
    assert open_batch_now(batch["id"], tenant)
    order = gql.data(ORDER_PLACE, place_input(batch, world, [(0, 1)]), token=world.leader_token)["orderPlace"]
    assert order["order"] is None and order["errors"][0]["field"] == ["input", "pickupPointId"]


# -- another tenant's IDs -----------------------------------------------------------------------
def _objects(gql, tenant, owner_db) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """One object of each kind the console's mutations name, in `tenant`."""
    world = make_world(owner_db, tenant)
    batch = _draft(gql, world)
    owner_db.execute("UPDATE leader SET status = 'SUSPENDED' WHERE id = %s", (world.leader_id,))
    user = gql.data(ME, token=tenant.admin_token)["me"]["userId"]
    key = _keys(gql, tenant.admin_token)[0]["id"]
    return {
        "ApiKey": key, "User": user, "Supplier": global_id.encode("Supplier", world.supplier_id),
        "Product": world.product_gid(0), "Batch": batch["id"], "Offer": batch["offers"][0]["id"],
        "Leader": global_id.encode("Leader", world.leader_id), "PickupPoint": world.point_gid,
    }


CROSS = [
    ("apiKeyRevoke", API_KEY_REVOKE, "ApiKey", {}, "id"),
    ("passwordResetIssue", RESET_ISSUE.replace("$u", "$id").replace("userId: $id", "userId: $id"), "User", {},
     "userId"),
    ("supplierUpdate", SUPPLIER_UPDATE, "Supplier", {"input": {"name": "Taken"}}, "id"),
    ("supplierArchive", SUPPLIER_ARCHIVE, "Supplier", {}, "id"),
    ("productArchive", PRODUCT_ARCHIVE, "Product", {}, "id"),
    ("batchUpdate", BATCH_UPDATE, "Batch", {"input": {"title": "Taken"}}, "id"),
    ("offerUpdate", OFFER_UPDATE, "Offer", {"input": {"stockLimit": 99}}, "id"),
    ("leaderReinstate", LEADER_REINSTATE, "Leader", {}, "id"),
    ("pickupPointDeactivate", POINT_DEACTIVATE, "PickupPoint", {}, "id"),
]


def test_another_tenants_ids_are_not_found_and_untouched(gql, make_tenant, owner_db):  # type: ignore[no-untyped-def]
    mine, theirs = make_tenant(), make_tenant()
    _objects(gql, mine, owner_db)
    foreign = _objects(gql, theirs, owner_db)
    snapshot = "SELECT to_jsonb(t) FROM {} t WHERE tenant_id = %s ORDER BY to_jsonb(t)::text"
    tables = ["api_key", "app_user", "supplier", "product", "batch", "offer", "offer_stock_slot", "leader",
              "pickup_point", "password_reset"]

    def state() -> list[Any]:
        return [owner_db.execute(snapshot.format(t), (theirs.uuid,)).fetchall() for t in tables]

    before = state()
    for name, query, type_name, extra, argument in CROSS:
        query = query.replace("$u:", "$id:").replace("userId: $u", "userId: $id")
        answers = []
        for value in (foreign[type_name], global_id.encode(type_name, uuid.uuid4())):
            for token in (mine.admin_token, mine.api_key):
                answers.append(gql.data(query, {"id": value, **extra}, token=token)[name])
        assert all(a == answers[0] for a in answers), (name, answers)
        assert codes(answers[0]) == {("NOT_FOUND", (argument,))}, (name, answers[0])
    assert state() == before
    # The other tenant's key still works.
    assert gql.data(ME, token=theirs.api_key)["me"]["roles"] == ["TENANT_ADMIN"]
