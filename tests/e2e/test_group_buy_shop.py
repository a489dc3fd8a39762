"""拼团 in the reference storefront (Debian's chromium, the real service): a shared group's page
shows its state; a friend picks a point, signs in, joins from the page and pays; the group
succeeds; the shop shows the 拼团 offer's size and start button."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from service import global_id
from service.shop_web import save_dev_key
from tests.group_buy_fixtures import group_batch, group_order, pay
from tests.ordering_fixtures import bulk_customers, make_world


def test_a_friend_joins_a_shared_group_from_its_page(web, gql, api_url, make_tenant, make_customer, owner_db):  # type: ignore[no-untyped-def]
    tenant = make_tenant(paymentMode="PREPAID")
    world = make_world(owner_db, tenant)
    # Another thread: Playwright's sync API keeps an event loop running in this one.
    with ThreadPoolExecutor(1) as pool:
        batch = pool.submit(group_batch, gql, world, 2).result()
    ((_, starter),) = bulk_customers(owner_db, tenant, 1)
    first = group_order(gql, batch, world, starter, start=True)["order"]
    pay(gql, world, first["id"])
    group_id = first["groupBuy"]["id"]
    friend = make_customer(tenant, "小周")
    save_dev_key(tenant.slug, tenant.api_key)

    tab = web(locale="zh-CN")
    page = tab.page
    page.goto(f"{api_url}/shop/{tenant.slug}/")
    page.wait_for_selector("main[data-screen='points']")
    page.click(f"button[data-point='{world.point_gid}']")
    page.wait_for_selector("main[data-screen='shop']")
    assert page.locator(f"[data-start-group='{batch['offers'][0]['id']}']").count() == 1
    assert "2人团" in page.locator("main").inner_text()

    page.goto(f"{api_url}/shop/{tenant.slug}/#/group/{group_id}")
    page.wait_for_selector("main[data-screen='group']")
    assert page.locator("#group-status").inner_text() == "拼团中"
    assert page.locator("#group-members").inner_text() == "已付款 1/2 人"
    page.click("#join-group")
    page.wait_for_selector("main[data-screen='account']")
    page.fill("#login-phone", friend.phone)
    page.fill("#login-password", friend.password)
    page.click("#sign-in button[type=submit]")
    page.wait_for_selector("main[data-screen='group']")
    page.click("#join-group")
    page.wait_for_selector("main[data-screen='order']")
    page.wait_for_selector("#order-group")
    page.click("#dev-pay")
    page.wait_for_selector("#order-status:text-is('已支付')")
    page.goto(f"{api_url}/shop/{tenant.slug}/#/group/{group_id}")
    page.wait_for_selector("#group-status:text-is('拼团成功')")
    assert page.locator("#join-group").count() == 0
    assert not tab.has_horizontal_overflow()


def test_a_friend_late_for_a_full_group_starts_a_new_one_from_its_page(  # type: ignore[no-untyped-def]
        web, gql, api_url, make_tenant, make_customer, owner_db):
    tenant = make_tenant(paymentMode="PREPAID")
    world = make_world(owner_db, tenant)
    with ThreadPoolExecutor(1) as pool:
        batch = pool.submit(group_batch, gql, world, 2).result()
    (_, starter), (_, second) = bulk_customers(owner_db, tenant, 2)
    first = group_order(gql, batch, world, starter, start=True)["order"]
    pay(gql, world, first["id"])
    group_id = first["groupBuy"]["id"]
    pay(gql, world, group_order(gql, batch, world, second, group=group_id)["order"]["id"])
    late = make_customer(tenant, "小李")

    tab = web(locale="en")
    page = tab.page
    page.goto(f"{api_url}/shop/{tenant.slug}/")
    page.evaluate("([k, v]) => { localStorage.setItem(k, v); localStorage.setItem('shop.lang', 'en'); }",
                  [f"shop.{tenant.slug}.token", late.token])
    page.reload()
    page.click(f"button[data-point='{world.point_gid}']")
    page.wait_for_selector("main[data-screen='shop']")
    page.goto(f"{api_url}/shop/{tenant.slug}/#/group/{group_id}")
    page.wait_for_selector("#group-status:text-is('Succeeded')")
    assert page.locator("#join-group").count() == 0
    assert page.locator("#start-new-group").inner_text() == "Start a new group of your own"
    page.click("#start-new-group")
    page.wait_for_selector("main[data-screen='order']")
    page.wait_for_selector("#order-group")
    late_uuid = global_id.decode_as(late.user_id, "User")
    assert owner_db.execute("SELECT count(*) FROM group_buy WHERE starter_id = %s AND id <> %s",
                            (late_uuid, global_id.decode_as(group_id, "GroupBuy"))).fetchone()[0] == 1
    assert not tab.has_horizontal_overflow()
