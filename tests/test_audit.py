"""The audit log: who changed what, in the change's transaction, append-only and hash-chained."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest

from service import global_id
from service.config import get_settings
from service.db import citus_set_tenant
from tests.ordering_fixtures import (
    ORDER_MARK_PAID,
    ORDER_PLACE,
    make_world,
    offer_input,
    open_batch_with_offers,
    place_input,
)

AUDIT_LOG = """
query($filter: AuditLogFilter, $first: Int, $after: String) {
  auditLog(filter: $filter, first: $first, after: $after) {
    edges { cursor node { id at actorKind actorId operation objectId changes requestId sequence } }
    pageInfo { hasNextPage endCursor }
  }
}"""
SUPPLIER_CREATE = """
mutation($input: SupplierInput!) {
  supplierCreate(input: $input) { supplier { id name } errors { code field message } }
}"""
SUPPLIER_ACCOUNT_CREATE = """
mutation($input: SupplierAccountInput!) {
  supplierAccountCreate(input: $input) { supplier { id } errors { code field message } }
}"""
NODE = "query($id: ID!) { node(id: $id) { id ... on AuditEntry { operation } } }"


def entries(gql, tenant, token=None, **filter):  # type: ignore[no-untyped-def]
    data = gql.data(AUDIT_LOG, {"filter": filter or None, "first": 100}, token=token or tenant.admin_token)
    return [e["node"] for e in data["auditLog"]["edges"]]


def verify(slug: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "service.cli", "audit", "verify", "--tenant", slug],
                          capture_output=True, text=True, env=os.environ.copy(), timeout=120)


def test_an_api_keys_mark_paid_is_recorded_and_the_customers_order_is_not(  # type: ignore[no-untyped-def]
        gql, tenant, owner_db, make_customer):
    world = make_world(owner_db, tenant)
    batch = open_batch_with_offers(gql, world, [offer_input(world, 0, price="5.00")])
    customer = make_customer(tenant)
    order = gql.data(ORDER_PLACE, place_input(batch, world, [(0, 1)]), token=customer.token)["orderPlace"]["order"]
    response = gql.post(ORDER_MARK_PAID, {"id": order["id"], "ref": "pay-77"}, token=tenant.api_key,
                        headers={"X-Request-Id": "req-audit-1"})
    assert response.json()["data"]["orderMarkPaid"]["errors"] == []

    log = entries(gql, tenant)
    operations = [e["operation"] for e in log]
    assert "orderPlace" not in operations and "customerRegister" not in operations
    assert operations[0] == "orderMarkPaid"  # newest first
    (paid,) = entries(gql, tenant, operation="orderMarkPaid")
    key_id = owner_db.execute("SELECT id FROM api_key WHERE tenant_id = %s", (tenant.uuid,)).fetchone()[0]
    assert paid["actorKind"] == "api_key"
    assert paid["actorId"] == global_id.encode("ApiKey", key_id)
    assert paid["objectId"] == order["id"]
    assert paid["requestId"] == response.headers["x-request-id"]
    assert json.loads(paid["changes"])["input"] == {"id": order["id"], "payment_reference": "pay-77"}
    # the filters, and node()
    assert [e["id"] for e in entries(gql, tenant, objectId=order["id"])] == [paid["id"]]
    assert [e["id"] for e in entries(gql, tenant, actorId=paid["actorId"], operation="orderMarkPaid")] == [paid["id"]]
    assert entries(gql, tenant, since="2999-01-01T00:00:00Z") == []
    assert gql.data(NODE, {"id": paid["id"]}, token=tenant.admin_token)["node"]["operation"] == "orderMarkPaid"
    assert gql.data(NODE, {"id": paid["id"]}, token=customer.token)["node"] is None


def test_a_tenant_starts_its_chain_with_its_creation_by_the_platform(gql, tenant):  # type: ignore[no-untyped-def]
    (created,) = entries(gql, tenant, operation="tenantCreate")
    assert created["sequence"] == 1 and created["actorKind"] == "platform" and created["actorId"] is None
    assert created["objectId"] == tenant.id
    assert tenant.admin_password not in created["changes"]
    assert json.loads(created["changes"])["input"]["input"]["admin_password"] == "[redacted]"


def test_the_diff_names_rows_changed_without_secrets(gql, tenant):  # type: ignore[no-untyped-def]
    supplier = gql.data(SUPPLIER_CREATE, {"input": {"name": "Green Farm", "contactEmail": "g@farm.example"}},
                        token=tenant.admin_token)["supplierCreate"]["supplier"]
    secret = "supplier-secret-pw-9"
    payload = gql.data(SUPPLIER_ACCOUNT_CREATE, {"input": {"supplierId": supplier["id"], "email": "s@farm.example",
                                                           "password": secret}},
                       token=tenant.admin_token)["supplierAccountCreate"]
    assert payload["errors"] == []
    (created,) = entries(gql, tenant, operation="supplierCreate")
    changes = json.loads(created["changes"])
    assert created["actorKind"] == "admin" and created["objectId"] == supplier["id"]
    (row,) = [r for r in changes["rows"] if r["table"] == "supplier"]
    assert row["op"] == "insert" and row["fields"]["name"] == "Green Farm"
    (account,) = entries(gql, tenant, operation="supplierAccountCreate")
    assert secret not in account["changes"] and "argon2" not in account["changes"]
    users = [r for r in json.loads(account["changes"])["rows"] if r["table"] == "app_user"]
    assert users and users[0]["fields"]["password_hash"] == "[redacted]"


def test_a_refused_or_invalid_mutation_writes_nothing(gql, tenant, make_customer):  # type: ignore[no-untyped-def]
    before = len(entries(gql, tenant))
    invalid = gql.data(SUPPLIER_CREATE, {"input": {"name": ""}}, token=tenant.admin_token)["supplierCreate"]
    assert invalid["errors"]
    customer = make_customer(tenant)
    refused = gql.data(SUPPLIER_CREATE, {"input": {"name": "X"}}, token=customer.token)["supplierCreate"]
    assert refused["errors"][0]["code"] == "FORBIDDEN"
    assert len(entries(gql, tenant)) == before


def test_only_admins_read_the_log_and_only_their_tenants(gql, make_tenant, make_customer):  # type: ignore[no-untyped-def]
    a, b = make_tenant(), make_tenant()
    body = gql(AUDIT_LOG, {"first": 5}, token=make_customer(a).token)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    (a_created,) = entries(gql, a, operation="tenantCreate")
    assert all(e["objectId"] == b.id for e in entries(gql, b, operation="tenantCreate"))
    assert gql.data(NODE, {"id": a_created["id"]}, token=b.admin_token)["node"] is None


def test_pages_go_newest_first_without_overlap(gql, tenant):  # type: ignore[no-untyped-def]
    for i in range(5):
        gql.data(SUPPLIER_CREATE, {"input": {"name": f"S{i}"}}, token=tenant.admin_token)
    seen, after = [], None
    while True:
        data = gql.data(AUDIT_LOG, {"first": 2, "after": after}, token=tenant.admin_token)["auditLog"]
        seen += [e["node"]["sequence"] for e in data["edges"]]
        if not data["pageInfo"]["hasNextPage"]:
            break
        after = data["pageInfo"]["endCursor"]
    assert seen == sorted(seen, reverse=True) and seen[-1] == 1 and len(set(seen)) == len(seen) >= 6


def test_the_app_role_may_insert_and_select_but_never_update_or_delete(  # type: ignore[no-untyped-def]
        gql, tenant, app_db_url):
    assert entries(gql, tenant)
    def as_tenant(conn: psycopg.Connection) -> None:
        conn.execute("SELECT set_config('app.tenant_id', %s, false)", (str(tenant.uuid),))
        if get_settings().citus:  # set_config() stays on the coordinator; SET LOCAL reaches the shards
            conn.execute(citus_set_tenant(tenant.uuid))

    with psycopg.connect(app_db_url) as conn:
        as_tenant(conn)
        assert conn.execute("SELECT count(*) FROM audit_entry").fetchone()[0] >= 1
        conn.commit()
        for statement in ("UPDATE audit_entry SET operation = 'x'", "DELETE FROM audit_entry",
                          "TRUNCATE audit_entry"):
            as_tenant(conn)
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)
            conn.rollback()


def test_verify_names_an_edited_entry_and_a_gap(gql, make_tenant, owner_db):  # type: ignore[no-untyped-def]
    tenant = make_tenant()
    for i in range(3):
        gql.data(SUPPLIER_CREATE, {"input": {"name": f"Farm {i}"}}, token=tenant.admin_token)
    ok = verify(tenant.slug)
    assert ok.returncode == 0, ok.stderr
    assert "4 entries, intact" in ok.stdout

    entry_id = owner_db.execute("SELECT id FROM audit_entry WHERE tenant_id = %s AND seq = 3",
                                (tenant.uuid,)).fetchone()[0]
    owner_db.execute("UPDATE audit_entry SET changes = replace(changes, 'Farm 1', 'Farm X') "
                     "WHERE tenant_id = %s AND seq = 3", (tenant.uuid,))
    edited = verify(tenant.slug)
    assert edited.returncode == 1
    assert f"entry 3 (id {entry_id})" in edited.stderr and "edited" in edited.stderr

    gap = make_tenant()
    for i in range(3):
        gql.data(SUPPLIER_CREATE, {"input": {"name": f"Farm {i}"}}, token=gap.admin_token)
    owner_db.execute("DELETE FROM audit_entry WHERE tenant_id = %s AND seq = 2", (gap.uuid,))
    gapped = verify(gap.slug)
    assert gapped.returncode == 1 and "entry 3" in gapped.stderr and "missing" in gapped.stderr
    # renumbering to hide the gap breaks the link instead
    owner_db.execute("UPDATE audit_entry SET seq = seq - 1 WHERE tenant_id = %s AND seq > 2", (gap.uuid,))
    relinked = verify(gap.slug)
    assert relinked.returncode == 1 and "entry 2" in relinked.stderr and "prev_hash" in relinked.stderr

    # the last entries deleted: the chain's head still counts them
    tail = make_tenant()
    for i in range(2):
        gql.data(SUPPLIER_CREATE, {"input": {"name": f"Farm {i}"}}, token=tail.admin_token)
    owner_db.execute("DELETE FROM audit_entry WHERE tenant_id = %s AND seq >= 2", (tail.uuid,))
    cut = verify(tail.slug)
    assert cut.returncode == 1 and "entry 2" in cut.stderr and "deleted at the end" in cut.stderr

    assert verify("no-such-tenant-" + uuid.uuid4().hex[:6]).returncode == 2


def test_concurrent_mutations_of_one_tenant_chain_linearly(gql, tenant, owner_db):  # type: ignore[no-untyped-def]
    def create(i: int) -> None:
        payload = gql.data(SUPPLIER_CREATE, {"input": {"name": f"Parallel {i}"}},
                           token=tenant.admin_token)["supplierCreate"]
        assert payload["errors"] == []

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(create, range(24)))
    seqs = [r[0] for r in owner_db.execute(
        "SELECT seq FROM audit_entry WHERE tenant_id = %s ORDER BY seq", (tenant.uuid,))]
    assert seqs == list(range(1, 26))
    result = verify(tenant.slug)
    assert result.returncode == 0, result.stderr


def test_csv_export_has_a_bom_filters_and_needs_an_admin(gql, tenant, make_customer):  # type: ignore[no-untyped-def]
    gql.data(SUPPLIER_CREATE, {"input": {"name": "=HYPERLINK(\"x\")"}}, token=tenant.admin_token)
    http = gql.http
    response = http.get("/exports/audit-log.csv", params={"operation": "supplierCreate"},
                        headers={"Authorization": f"Bearer {tenant.admin_token}"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert response.content.startswith("\ufeff".encode())
    lines = response.content.decode("utf-8-sig").splitlines()
    assert lines[0] == "sequence,at,actor_kind,actor_id,operation,object_id,request_id,changes"
    assert len(lines) == 2 and ",supplierCreate," in lines[1]
    by_key = http.get("/exports/audit-log.csv", headers={"Authorization": f"Bearer {tenant.api_key}"})
    assert by_key.status_code == 200 and "tenantCreate" in by_key.text
    denied = http.get("/exports/audit-log.csv", headers={"Authorization": f"Bearer {make_customer(tenant).token}"})
    assert denied.status_code == 403
    assert http.get("/exports/audit-log.csv").status_code == 401


def test_the_entry_and_the_change_commit_or_roll_back_together(gql, tenant, owner_db):  # type: ignore[no-untyped-def]
    # The head made to point at an entry that exists: the next append collides on (tenant_id, seq).
    owner_db.execute("UPDATE audit_chain_head SET seq = seq - 1 WHERE tenant_id = %s", (tenant.uuid,))
    body = gql(SUPPLIER_CREATE, {"input": {"name": "Never Farm"}}, token=tenant.admin_token)
    assert body["errors"][0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert owner_db.execute("SELECT count(*) FROM supplier WHERE tenant_id = %s AND name = 'Never Farm'",
                            (tenant.uuid,)).fetchone()[0] == 0
    owner_db.execute("UPDATE audit_chain_head SET seq = seq + 1 WHERE tenant_id = %s", (tenant.uuid,))
    created = gql.data(SUPPLIER_CREATE, {"input": {"name": "Later Farm"}}, token=tenant.admin_token)
    assert created["supplierCreate"]["errors"] == []
    assert verify(tenant.slug).returncode == 0
