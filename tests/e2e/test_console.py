"""The brand's console in a real Chromium against the real service, in zh-CN and English: an operator
signs in, approves a leader, creates a supplier and product, creates and publishes a batch, watches
orders arrive (placed through the API), closes it, opens the purchase order and refunds an order; then
revokes an API key and finds each action in the activity log (when the served schema has them).

    GROUPBUY_SCREENSHOTS=1 ... -k console   also saves every console screen to docs/screenshots/."""

from __future__ import annotations

import os
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.e2e.scenario import LEADER_APPLY, ORDER_PLACE, ORDER_STATUS, POINT_CREATE, _run_opening_job, ok

SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
LAPTOP = {"width": 1280, "height": 900}
ZONE = ZoneInfo("Asia/Shanghai")
FIELDS = '{ q: __type(name: "Query") { fields { name } } m: __type(name: "Mutation") { fields { name } } }'
BATCH_OFFERS = "query($id: ID!) { batch(id: $id) { offers { id } } }"
AUDIT = """query($f: AuditLogFilter) { auditLog(filter: $f, first: 100) {
  edges { node { operation objectId actorKind } } } }"""

# The page the address names is shown and nothing on it is loading.
_SETTLED = """() => {
  const main = document.querySelector('main');
  const name = decodeURIComponent(location.hash.replace(/^#\\/?/, '')).split('?')[0].split('/')[0];
  return !!main && (!name || main.classList.contains('page-' + name))
    && !document.querySelector('main [aria-busy=true]') && !document.querySelector('main .loading');
}"""

WORDS = {
    "zh-CN": {"approved": "已通过申请", "supplier": "已创建供应商", "product": "已创建商品", "published": "已发布",
              "closed": "已截单", "refunded": "已退款", "revoked": "密钥已吊销", "orders2": "2 单"},
    "en": {"approved": "Application approved", "supplier": "Supplier", "product": "Product", "published": "Published",
           "closed": "Closed", "refunded": "Refunded", "revoked": "Key revoked", "orders2": "2 orders"},
}


def served_fields(gql: Any, token: str) -> set[str]:
    data = gql.data(FIELDS, token=token)
    return {f["name"] for f in data["q"]["fields"] + data["m"]["fields"]}


def settle(page: Any) -> None:
    page.wait_for_function(_SETTLED)


def shot(page: Any, name: str, lang: str) -> None:
    if not os.environ.get("GROUPBUY_SCREENSHOTS"):
        return
    settle(page)
    page.wait_for_timeout(150)
    page.screenshot(path=str(SHOTS / f"console-{name}{'' if lang == 'zh-CN' else '-en'}.png"), full_page=True)


def go(page: Any, screen: str) -> None:
    page.click(f"nav.menu a[href='#/console/{screen}']")
    settle(page)


def confirm(page: Any, reason: str | None = None) -> None:
    dialog = page.locator("dialog.confirm")
    dialog.wait_for()
    if reason is not None:
        page.fill("#confirm-reason", reason)
    page.click("#confirm-yes")


def local(dt: datetime) -> str:
    return dt.astimezone(ZONE).strftime("%Y-%m-%dT%H:%M")


@dataclass
class Cycle:
    tenant: Any
    page: Any
    lang: str
    leader_id: str
    supplier_name: str
    batch_id: str
    order_id: str
    order_number: str


def operator_cycle(web: Any, gql: Any, make_tenant: Any, make_customer: Any, lang: str) -> Cycle:
    words = WORDS[lang]
    tenant = make_tenant(timezone="Asia/Shanghai", paymentMode="PAY_AT_PICKUP")
    applicant = make_customer(tenant, "陈姐")
    leader = ok(gql.data(LEADER_APPLY, {"i": {"displayName": "陈姐", "phone": applicant.phone}},
                         token=applicant.token)["leaderApply"], "leader")

    tab = web(viewport=LAPTOP)
    page = tab.open("signin", f"?tenant={tenant.slug}")
    page.select_option("#lang", lang)
    page.fill("#login", tenant.admin_email)
    page.fill("#password", tenant.admin_password)
    page.press("#password", "Enter")
    page.wait_for_selector("#sign-out")
    page.wait_for_url("**#/console/today")
    settle(page)
    assert page.locator("html").get_attribute("lang") == lang
    assert page.locator("#today-applications li", has_text="陈姐").count() == 1
    shot(page, "01-today-empty", lang)

    # Leaders: approve the application with a rate.
    go(page, "leaders")
    card = page.locator(f"li.leader[data-id='{leader['id']}']")
    card.locator("input.rate").fill("0.12")
    shot(page, "02-leaders-application", lang)
    card.locator("button.approve").click()
    page.locator("#leaders-feedback .notice.success", has_text=words["approved"]).wait_for()
    page.locator(f"li.leader[data-id='{leader['id']}'][data-status='APPROVED']").wait_for()
    assert "12.0%" in page.locator(f"li.leader[data-id='{leader['id']}']").inner_text()
    point = ok(gql.data(POINT_CREATE, {"i": {"name": "幸福里 3 号门便利店", "address": "幸福路 88 号",
                                              "latitude": 31.2, "longitude": 121.44}},
                        token=applicant.token)["pickupPointCreate"], "pickupPoint")

    # Catalog: a supplier, then its product.
    go(page, "catalog")
    supplier_name = f"丹东绿源果业 {uuid.uuid4().hex[:4]}"
    page.fill("#supplier-name", supplier_name)
    page.fill("#supplier-email", "farm@example.com")
    page.click("#supplier-form button[type=submit]")
    page.locator("#catalog-feedback .notice.success", has_text=words["supplier"]).wait_for()
    settle(page)
    page.locator("#suppliers", has_text=supplier_name).wait_for()
    if not page.locator("#product-name").is_visible():
        page.click("#product-new")
    page.select_option("#product-supplier", label=supplier_name)
    page.fill("#product-name", "丹东草莓")
    page.fill("#product-unit", "500g 盒")
    page.fill("#product-cost", "21.00")
    page.click("#product-form button[type=submit]")
    page.locator("#catalog-feedback .notice.success", has_text=words["product"]).wait_for()
    settle(page)
    page.locator("#products", has_text="丹东草莓").wait_for()
    shot(page, "03-catalog", lang)

    # Batches: create with an offer, publish; the scheduler's opening job opens it.
    go(page, "batches")
    page.click("#batch-new")
    settle(page)
    now = datetime.now(UTC)
    page.fill("#batch-title", "周五鲜果团")
    page.fill("#batch-opens", local(now - timedelta(minutes=1)))
    page.fill("#batch-closes", local(now + timedelta(hours=5)))
    page.fill("#batch-pickup", (now + timedelta(days=1)).astimezone(ZONE).date().isoformat())
    page.select_option("#offer-0-product", label="丹东草莓 · 500g 盒 · " + supplier_name)
    page.fill("#offer-0-price", "29.90")
    page.fill("#offer-0-stock", "50")
    page.fill("#offer-0-limit", "5")
    shot(page, "04-batch-new", lang)
    page.click("#batch-create")
    page.wait_for_url("**#/console/batches/*")
    settle(page)
    batch_id = page.evaluate("() => decodeURIComponent(location.hash.split('/')[3])")
    page.click("#batch-publish")
    confirm(page)
    page.locator("#batch-action-feedback .notice.success", has_text=words["published"]).wait_for()
    _run_opening_job(tenant, batch_id)
    page.reload()
    settle(page)
    page.locator(".countdown").wait_for()

    # Orders arrive through the API; the open batch's page shows them without a reload.
    offer_id = gql.data(BATCH_OFFERS, {"id": batch_id}, token=tenant.admin_token)["batch"]["offers"][0]["id"]
    placed = []
    for name, qty in [("王阿姨", 2), ("李先生", 1)]:
        customer = make_customer(tenant, name)
        placed.append(ok(gql.data(ORDER_PLACE, {"i": {
            "batchId": batch_id, "pickupPointId": point["id"], "idempotencyKey": uuid.uuid4().hex,
            "lines": [{"offerId": offer_id, "quantity": qty}]}}, token=customer.token)["orderPlace"], "order"))
    page.locator("#batch-sales", has_text=words["orders2"]).wait_for(timeout=30000)
    page.locator("#offers .sold-qty", has_text="3").wait_for()
    shot(page, "05-batch-open", lang)
    go(page, "today")
    page.locator(f"#today-batches li[data-id='{batch_id}'] .orders-count", has_text=words["orders2"]).wait_for()
    shot(page, "05-today-open", lang)
    page.go_back()
    settle(page)

    # Close now: then its purchase order and pick list.
    page.click("#batch-close")
    confirm(page)
    page.locator("#batch-action-feedback .notice.success", has_text=words["closed"]).wait_for()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        statuses = {gql.data(ORDER_STATUS, {"id": o["id"]}, token=tenant.admin_token)["order"]["status"]
                    for o in placed}
        if statuses == {"CONFIRMED"}:
            break
        time.sleep(0.3)
    page.reload()
    settle(page)
    page.locator("#batch-picklists li", has_text="幸福里").wait_for()
    po_link = page.locator("#batch-pos li a").first
    po_number = po_link.inner_text()
    shot(page, "06-batch-closed", lang)
    po_link.click()
    settle(page)
    assert po_number in page.locator("main").inner_text()

    # Orders: find the order by its number, refund its line.
    page.goto(page.url.split("#")[0] + "#/console/orders")
    settle(page)
    first = placed[0]
    page.fill("#order-search", first["number"])
    assert page.locator("#orders tbody tr").count() == 1
    shot(page, "07-orders", lang)
    page.click(f"#orders a:text-is('{first['number']}')")
    settle(page)
    page.locator("#order-timeline li[data-step='placedAt']").wait_for()
    page.click("#refund-submit")
    page.locator("#refund-feedback .notice.error").wait_for()  # no line chosen: told so, nothing sent
    page.check("#refund-form input[name=line]")
    page.click("#refund-submit")
    confirm(page, "坏果 / damaged")
    page.locator("#refund-feedback .notice.success", has_text=words["refunded"]).wait_for()
    page.locator("#order-lines .status-line_cancelled").wait_for()  # the line, reloaded, is refunded
    assert page.locator("#refund-form").count() == 0
    settle(page)
    shot(page, "08-order", lang)
    return Cycle(tenant=tenant, page=page, lang=lang, leader_id=leader["id"], supplier_name=supplier_name,
                 batch_id=batch_id, order_id=first["id"], order_number=first["number"])


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_operator_runs_a_batch_cycle_in_the_console(web, gql, make_tenant, make_customer, lang):  # type: ignore[no-untyped-def]
    cycle = operator_cycle(web, gql, make_tenant, make_customer, lang)
    page = cycle.page
    fields = served_fields(gql, cycle.tenant.admin_token)
    # Every screen renders in the one language, including those whose API may be missing.
    for n, screen in enumerate(["today", "leaders", "catalog", "batches", "orders", "reports", "integrations",
                                "settings", "activity"]):
        go(page, screen)
        text = page.locator("main").inner_text()
        assert not page.locator("main .notice.error").count(), (screen, text)
        page.evaluate("() => document.querySelectorAll('main details').forEach((d) => { d.open = true; })")
        unlabelled = page.evaluate("""() => [...document.querySelectorAll('main input, main select, main button, main textarea')]
            .filter((el) => el.type !== 'hidden' && !(el.labels && el.labels.length) && !el.getAttribute('aria-label'))
            .filter((el) => !el.textContent.trim()).map((el) => el.outerHTML)""")
        assert unlabelled == [], (screen, unlabelled)
        gated = {"reports": ["salesReport"], "activity": ["auditLog"],
                 "settings": ["tenantUpdate", "passwordChange"]}.get(screen, [])
        # A part whose API this server lacks says so plainly; one whose API is there never does.
        assert page.locator("main .unavailable").count() == len([f for f in gated if f not in fields]), screen
        if lang == "en":  # no Chinese words except the data's own
            stray = [c for c in text if "\u4e00" <= c <= "\u9fff" and c not in "周五鲜果团丹东绿源果业草莓盒陈姐幸福里号门便利店路王阿姨李先生坏"]
            assert not stray, (screen, "".join(stray))
        if screen == "reports" and "salesReport" in fields:
            # The refund cancelled the first order's line: the day still has the second order's GMV.
            assert page.locator("#report-chart rect.chart-bar").count() >= 1
            total = page.locator("#report-table tbody tr").last.inner_text()
            assert "29.90" in total, total
            with page.expect_download() as download:
                page.click("#report-csv")
            body = Path(download.value.path()).read_bytes()
            assert body.startswith(b"\xef\xbb\xbf") and b"29.90" in body
        if screen in ("today", "reports", "integrations", "settings", "activity", "leaders", "batches"):
            shot(page, f"{10 + n:02d}-{screen}", lang)
    # Targets and text sizes on a phone.
    page.set_viewport_size({"width": 360, "height": 740})
    go(page, "today")
    small = page.evaluate("""() => [...document.querySelectorAll('main button, main a, main input, main select, main summary, nav a')]
      .filter((e) => e.offsetParent !== null).filter((e) => e.getBoundingClientRect().height < 43.5)
      .map((e) => e.outerHTML.slice(0, 80))""")
    assert small == [], small
    tiny = page.evaluate("""() => [...document.querySelectorAll('main *')].filter((e) => e.childNodes.length
      && [...e.childNodes].some((c) => c.nodeType === 3 && c.textContent.trim()))
      .filter((e) => parseFloat(getComputedStyle(e).fontSize) < 14).map((e) => e.outerHTML.slice(0, 80))""")
    assert tiny == [], tiny
    shot(page, "09-today-phone", lang)


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_operator_revokes_a_key_and_finds_every_action_in_activity(web, gql, make_tenant, make_customer, lang, tenant):  # type: ignore[no-untyped-def]
    missing = {"apiKeys", "apiKeyRevoke", "auditLog"} - served_fields(gql, tenant.admin_token)
    if missing:
        pytest.skip(f"not in the served schema yet: {sorted(missing)}")
    words = WORDS[lang]
    cycle = operator_cycle(web, gql, make_tenant, make_customer, lang)
    page = cycle.page
    go(page, "integrations")
    page.fill("#key-name", "erp-sync")
    page.click("#key-form button[type=submit]")
    assert page.locator("#new-key").inner_text().strip()
    settle(page)
    row = page.locator("#api-keys tbody tr", has_text="erp-sync")
    row.locator("button.revoke").click()
    confirm(page)
    page.locator("#key-feedback .notice.success", has_text=words["revoked"]).wait_for()
    page.locator("#api-keys tbody tr", has_text="erp-sync").locator(".badge.status-cancelled").wait_for()
    assert page.locator("#api-keys tbody tr", has_text="erp-sync").locator("button.revoke").count() == 0
    shot(page, "20-integrations-revoked", lang)

    go(page, "activity")
    page.locator("#activity tbody tr").first.wait_for()
    text = page.locator("#activity").inner_text()
    for operation in ["leaderApprove", "supplierCreate", "productCreate", "batchCreate", "batchPublish",
                      "batchClose", "orderLinesRefund", "apiKeyCreate", "apiKeyRevoke"]:
        assert operation in text, (operation, text[:2000])
    # Filtering narrows to one operation.
    page.fill("#activity-operation", "orderLinesRefund")
    page.click("#activity-form button[type=submit]")
    # The filtered list replaces the whole one after its own request: wait for it (or time out).
    page.wait_for_function("() => [...document.querySelectorAll('#activity .operation')]"
                           ".every((o) => o.textContent === 'orderLinesRefund')")
    settle(page)
    ops = page.locator("#activity .operation").all_inner_texts()
    assert ops and set(ops) == {"orderLinesRefund"}
    shot(page, "21-activity", lang)


def test_graphiql_works_with_no_other_host(web, api_url):  # type: ignore[no-untyped-def]
    """GET /graphql is GraphiQL from this service's files: with every other host unreachable it
    loads, reads the schema and runs a query."""
    tab = web(viewport=LAPTOP)
    page = tab.page
    own = api_url.split("//", 1)[1]
    elsewhere: list[str] = []

    def only_ours(route):  # type: ignore[no-untyped-def]
        if route.request.url.split("//", 1)[1].startswith(own):
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    page.route("**/*", only_ours)
    page.goto(f"{api_url}/graphql?q=%7B__typename%7D")
    page.locator(".graphiql-container").wait_for(timeout=30000)
    page.locator(".graphiql-execute-button").click()
    page.locator(".result-window", has_text='"__typename": "Query"').wait_for()
    assert elsewhere == []
    assert page.locator("text=Loading").count() == 0


SUPPLIERS = "{ suppliers(first: 50) { edges { node { name } } } }"


def test_console_feedback_is_localised_confirmed_and_sent_once(web, gql, make_tenant):  # type: ignore[no-untyped-def]
    """A payload error is shown in the page's language by its code (never the server's English), a
    double click creates one supplier, and a webhook subscription shows its secret once and is paused
    only after a confirmation."""
    tenant = make_tenant(timezone="Asia/Shanghai")
    tab = web(viewport=LAPTOP)
    tab.set_session(tenant.admin_token, tenant.slug, "zh-CN")
    page = tab.open("console/catalog")
    page.wait_for_selector("#sign-out")
    settle(page)
    page.fill("#supplier-name", "   ")
    page.click("#supplier-form button[type=submit]")
    error = page.locator("#catalog-feedback .notice.error")
    error.wait_for()
    assert "输入有误" in error.inner_text() and not any("a" <= c.lower() <= "z" for c in error.inner_text())

    page.fill("#supplier-name", "丹东绿源果业")
    page.dblclick("#supplier-form button[type=submit]")
    page.locator("#catalog-feedback .notice.success").wait_for()
    settle(page)
    names = [e["node"]["name"] for e in gql.data(SUPPLIERS, token=tenant.admin_token)["suppliers"]["edges"]]
    assert names == ["丹东绿源果业"]

    go(page, "integrations")
    page.click("details.create summary")
    page.fill("#hook-url", "http://127.0.0.1:9/hook")
    page.click("#hook-form button[type=submit]")
    secret = page.locator("#hook-feedback .secret code")
    assert secret.inner_text().startswith("whsec_")
    settle(page)
    card = page.locator("#webhooks li.card", has_text="127.0.0.1:9/hook")
    card.locator("button.danger").click()
    page.click("#confirm-no")  # asked first; "no" changes nothing
    page.locator("dialog.confirm").wait_for(state="detached")  # removed once closed, not at the click
    assert card.locator(".badge.status-open").count() == 1
    card.locator("button.danger").click()
    confirm(page)
    page.locator("#hook-feedback .notice.success").wait_for()
    page.locator("#webhooks li.card .badge.status-cancelled").wait_for()
    page.reload()
    settle(page)
    assert page.locator("#hook-feedback .secret").count() == 0


def test_operator_updates_settings_and_changes_password(web, gql, tenant):  # type: ignore[no-untyped-def]
    missing = {"tenantUpdate", "passwordChange"} - served_fields(gql, tenant.admin_token)
    if missing:
        pytest.skip(f"not in the served schema yet: {sorted(missing)}")
    tab = web(viewport=LAPTOP)
    tab.set_session(tenant.admin_token, tenant.slug, "en")
    page = tab.open("console/settings")
    page.wait_for_selector("#sign-out")
    settle(page)
    page.fill("#tenant-name", "Fresh Mart")
    assert page.input_value("#tenant-language") == "zh-CN"
    page.select_option("#tenant-language", "en")  # messages sent out to users who chose no language
    page.click("#tenant-form button[type=submit]")
    page.locator("#tenant-feedback .notice.success").wait_for()
    assert page.locator(".brand-name").inner_text() == "Fresh Mart"
    assert gql.data("{ tenant { defaultLanguage } }", token=tenant.admin_token)["tenant"]["defaultLanguage"] == "en"

    page.fill("#password-current", "not-the-password")
    page.fill("#password-new", "a-new-password-2")
    page.fill("#password-repeat", "a-new-password-2")
    page.click("#password-form button[type=submit]")
    wrong = page.locator("#password-feedback .notice.error")
    wrong.wait_for()
    assert wrong.inner_text() == "Current password: Wrong password."  # by code, in English words of ours
    assert page.input_value("#password-new") == "a-new-password-2"  # what was typed is kept
    page.fill("#password-current", tenant.admin_password)
    page.click("#password-form button[type=submit]")
    page.locator("#password-feedback .notice.success").wait_for()
    page.reload()  # still signed in (the new token was kept), and the new password works
    page.wait_for_selector("#sign-out")
    assert gql.data("mutation($i: TokenCreateInput!) { tokenCreate(input: $i) { token } }",
                    {"i": {"login": tenant.admin_email, "password": "a-new-password-2"}},
                    tenant=tenant.slug)["tokenCreate"]["token"]
