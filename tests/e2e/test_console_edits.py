"""Console actions on existing objects, in a real Chromium against the real service: retrying a
failed webhook delivery from the Integrations delivery log; editing and archiving a supplier;
reinstating a suspended leader; editing a batch and its offer before it opens."""

from __future__ import annotations

from typing import Any

import pytest

from service import global_id
from tests.e2e.test_console import LAPTOP, confirm, settle

WEBHOOK_CREATE = """mutation($i: WebhookSubscriptionInput!) {
  webhookSubscriptionCreate(input: $i) { webhookSubscription { id } errors { code } } }"""
FAILED_DELIVERY = """
WITH e AS (INSERT INTO outbox_event (tenant_id, id, event, subject_type, subject_id, payload)
           VALUES (%(t)s, gen_random_uuid(), 'ORDER_PAID', 'order', gen_random_uuid(), '{}') RETURNING id)
INSERT INTO delivery (tenant_id, id, outbox_event_id, channel, target, subscription_id, status, attempts,
                      last_status_code, last_error)
SELECT %(t)s, gen_random_uuid(), e.id, 'WEBHOOK', %(s)s::text, %(s)s, 'FAILED', 8, 500, 'HTTP 500'
  FROM e RETURNING id"""
WORDS = {"zh-CN": ("重试", "已安排重试"), "en": ("Retry", "Retry scheduled")}


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_operator_retries_a_failed_webhook_delivery(web, gql, make_tenant, owner_db, lang):  # type: ignore[no-untyped-def]
    tenant = make_tenant(timezone="Asia/Shanghai")
    created = gql.data(WEBHOOK_CREATE, {"i": {"url": "https://hooks.example.com/erp", "events": ["ORDER_PAID"]}},
                       token=tenant.admin_token)["webhookSubscriptionCreate"]
    assert created["errors"] == []
    sub = global_id.decode_as(created["webhookSubscription"]["id"], "WebhookSubscription")
    (delivery,) = owner_db.execute(FAILED_DELIVERY, {"t": tenant.uuid, "s": sub}).fetchone()

    tab = web(viewport=LAPTOP)
    tab.set_session(tenant.admin_token, tenant.slug, lang)
    page: Any = tab.open("console/integrations")
    page.wait_for_selector("#sign-out")
    settle(page)
    card = page.locator("#webhooks li.card", has_text="hooks.example.com/erp")
    button = card.locator("button.retry")
    assert button.inner_text().strip() == WORDS[lang][0]
    assert card.locator("details").get_attribute("open") is not None, "a failed delivery opens the log"
    button.click()
    page.locator("#hook-feedback .notice.success", has_text=WORDS[lang][1]).wait_for()
    status, attempts = owner_db.execute("SELECT status, attempts FROM delivery WHERE id = %s",
                                        (delivery,)).fetchone()
    assert status != "FAILED" or attempts > 8, "the delivery was not re-queued"
    settle(page)
    page.wait_for_timeout(1000)  # the list reloads after the notice
    settle(page)
    if status == "PENDING":
        assert card.locator("button.retry").count() == 0, "a pending delivery offers no retry"


SUPPLIER_CREATE = """mutation($i: SupplierInput!) { supplierCreate(input: $i) { supplier { id } errors { code } } }"""
SUPPLIER = """query($id: ID!) { node(id: $id) { ... on Supplier { name contactEmail archivedAt } } }"""
SAVED = {"zh-CN": ("已保存", "已归档"), "en": ("Saved", "Archived")}


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_operator_edits_then_archives_a_supplier(web, gql, make_tenant, lang):  # type: ignore[no-untyped-def]
    tenant = make_tenant(timezone="Asia/Shanghai")
    created = gql.data(SUPPLIER_CREATE, {"i": {"name": "Old Farm"}}, token=tenant.admin_token)["supplierCreate"]
    assert created["errors"] == []
    sid = created["supplier"]["id"]
    tab = web(viewport=LAPTOP)
    tab.set_session(tenant.admin_token, tenant.slug, lang)
    page: Any = tab.open("console/catalog")
    page.wait_for_selector("#sign-out")
    settle(page)
    row = page.locator("#suppliers tbody tr", has_text="Old Farm")
    row.locator("details.edit summary").click()
    prefix = "supplier-" + "".join(c for c in sid if c.isalnum() or c == "_")
    page.fill(f"#{prefix}-name", "New Farm")
    page.fill(f"#{prefix}-email", "farm@example.com")
    page.click(f"#{prefix}-form button[type=submit]")
    page.locator("#catalog-feedback .notice.success", has_text=SAVED[lang][0]).wait_for()
    assert gql.data(SUPPLIER, {"id": sid}, token=tenant.admin_token)["node"] == {
        "name": "New Farm", "contactEmail": "farm@example.com", "archivedAt": None}
    page.wait_for_timeout(800)
    settle(page)

    row = page.locator("#suppliers tbody tr", has_text="New Farm")
    row.locator("button.archive").click()
    confirm(page)
    page.locator("#catalog-feedback .notice.success", has_text=SAVED[lang][1]).wait_for()
    archived = gql.data(SUPPLIER, {"id": sid}, token=tenant.admin_token)["node"]
    assert archived["name"] == "New Farm" and archived["archivedAt"] is not None
    page.wait_for_timeout(800)
    settle(page)
    assert page.locator("#suppliers tbody tr", has_text="New Farm").count() == 0, "an archived supplier leaves the list"


LEADER = """query($id: ID!) { node(id: $id) { ... on Leader { status statusReason } } }"""
LEADER_SUSPEND = """mutation($id: ID!) { leaderSuspend(id: $id, reason: "暂停营业") { errors { code } } }"""
REINSTATED = {"zh-CN": "已恢复该团长", "en": "Leader reinstated"}


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_operator_reinstates_a_suspended_leader(web, gql, make_tenant, owner_db, lang):  # type: ignore[no-untyped-def]
    from tests.ordering_fixtures import add_leader

    tenant = make_tenant(timezone="Asia/Shanghai")
    _, leader, _ = add_leader(owner_db, tenant)
    gid = global_id.encode("Leader", leader)
    assert gql.data(LEADER_SUSPEND, {"id": gid}, token=tenant.admin_token)["leaderSuspend"]["errors"] == []
    tab = web(viewport=LAPTOP)
    tab.set_session(tenant.admin_token, tenant.slug, lang)
    page: Any = tab.open("console/leaders?status=SUSPENDED")
    page.wait_for_selector("#sign-out")
    settle(page)
    card = page.locator(f"li.card.leader[data-id='{gid}']")
    assert card.get_attribute("data-status") == "SUSPENDED"
    card.locator("button.reinstate").click()
    confirm(page)
    page.locator("#leaders-feedback .notice.success", has_text=REINSTATED[lang]).wait_for()
    assert gql.data(LEADER, {"id": gid}, token=tenant.admin_token)["node"]["status"] == "APPROVED"


BATCH = """query($id: ID!) { node(id: $id) { ... on Batch { title status
  offers { id price { amount } stockLimit perCustomerLimit } } } }"""


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_operator_edits_a_batch_and_its_offer_before_it_opens(web, gql, make_tenant, owner_db, lang):  # type: ignore[no-untyped-def]
    from tests.ordering_fixtures import create_batch, make_world, offer_input

    tenant = make_tenant(timezone="Asia/Shanghai")
    world = make_world(owner_db, tenant)
    batch = create_batch(gql, world, [offer_input(world, 0, stockLimit=20)], opens_in=7200, closes_in=10800,
                         title="Weekend fruit")
    tab = web(viewport=LAPTOP)
    tab.set_session(tenant.admin_token, tenant.slug, lang)
    page: Any = tab.open(f"console/batches/{batch['id']}")
    page.wait_for_selector("#sign-out")
    settle(page)
    page.fill("#edit-title", "Weekend fruit, second round")
    page.click("#batch-edit button[type=submit]")
    page.locator("#batch-action-feedback .notice.success", has_text=SAVED[lang][0]).wait_for()
    read = gql.data(BATCH, {"id": batch["id"]}, token=tenant.admin_token)["node"]
    assert read["title"] == "Weekend fruit, second round" and read["status"] == "DRAFT"
    page.wait_for_timeout(800)
    settle(page)

    (offer,) = read["offers"]
    prefix = "oe-" + "".join(c for c in offer["id"] if c.isalnum() or c == "_")
    page.locator("#offers tbody tr").first.locator("details.edit summary").click()
    page.fill(f"#{prefix}-price", "12.50")
    page.fill(f"#{prefix}-stock", "50")
    page.fill(f"#{prefix}-limit", "3")
    page.locator(f"#{prefix}-price").evaluate("el => el.form.requestSubmit()")
    page.locator("#batch-action-feedback .notice.success", has_text=SAVED[lang][0]).wait_for()
    (edited,) = gql.data(BATCH, {"id": batch["id"]}, token=tenant.admin_token)["node"]["offers"]
    assert edited == {"id": offer["id"], "price": {"amount": "12.50"}, "stockLimit": 50, "perCustomerLimit": 3}
