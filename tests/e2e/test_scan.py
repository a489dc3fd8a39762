"""The QR scanner without BarcodeDetector: Debian's Chromium has none, so the pickup screen decodes
the camera stream with the vendored jsQR. The camera is Chromium's fake device fed a real QR code
(made by the client's own vendored QR generator, written into a Y4M video here), the order is real."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, PHONE
from tests.e2e.scenario import build_shop, close_batch, open_batch, place_order

DELIVERY_RECEIVE = "mutation($b: ID!, $p: ID!) { deliveryReceive(batchId: $b, pickupPointId: $p) { receivedAt } }"
ORDER_STATUS = "query($id: ID!) { order(id: $id) { status } }"
WIDTH, HEIGHT, SCALE = 640, 480, 8


def qr_modules(browser: Any, base_url: str, text: str) -> list[list[bool]]:
    page = browser.new_page()
    page.goto(f"{base_url}/app/#/schema")
    modules = page.evaluate("""async (text) => {
        const { default: qrcode } = await import('/app/vendor/qrcode.js');
        const qr = qrcode(0, 'M');
        qr.addData(text);
        qr.make();
        const n = qr.getModuleCount();
        return Array.from({ length: n }, (_, r) => Array.from({ length: n }, (_, c) => qr.isDark(r, c)));
    }""", text)
    page.close()
    return json.loads(json.dumps(modules))


def write_y4m(path: Path, modules: list[list[bool]], frames: int = 10) -> None:
    """A grey-scale 4:2:0 video of the code, black on white, centred, with its quiet zone."""
    n = len(modules)
    size = n * SCALE
    left, top = (WIDTH - size) // 2, (HEIGHT - size) // 2
    luma = bytearray([235]) * (WIDTH * HEIGHT)
    for r in range(n):
        for c in range(n):
            if modules[r][c]:
                for y in range(top + r * SCALE, top + (r + 1) * SCALE):
                    start = y * WIDTH + left + c * SCALE
                    luma[start:start + SCALE] = bytes([16]) * SCALE
    chroma = bytes([128]) * (WIDTH * HEIGHT // 4)
    frame = b"FRAME\n" + bytes(luma) + chroma + chroma
    path.write_bytes(f"YUV4MPEG2 W{WIDTH} H{HEIGHT} F10:1 Ip A1:1 C420jpeg\n".encode() + frame * frames)


def test_a_qr_code_shown_to_the_camera_confirms_the_pickup(api_url, gql, make_tenant, make_customer, tmp_path):  # type: ignore[no-untyped-def]
    from playwright.sync_api import sync_playwright

    tenant = make_tenant(timezone="Asia/Shanghai", paymentMode="PAY_AT_PICKUP")
    shop = build_shop(gql, tenant, make_customer)
    open_batch(gql, shop)
    order = place_order(gql, shop, make_customer(tenant, "王阿姨"), [(0, 1)])
    close_batch(gql, shop)
    gql.data(DELIVERY_RECEIVE, {"b": shop.batch_id, "p": shop.point_id}, token=shop.leader_token)

    video = tmp_path / "qr.y4m"
    errors: list[str] = []
    with sync_playwright() as p:
        plain = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        write_y4m(video, qr_modules(plain, api_url, f"https://shop.example/pickup?code={order['pickupCode']}"))
        plain.close()
        camera = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            *CHROMIUM_ARGS, "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-video-capture={video}"])
        try:
            context = camera.new_context(viewport=PHONE, locale="zh-CN", service_workers="block")
            context.grant_permissions(["camera"], origin=api_url)
            page = context.new_page()
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.set_default_timeout(20000)
            page.goto(f"{api_url}/app/#/schema")
            page.evaluate("([t, s]) => localStorage.setItem('groupbuy.session', JSON.stringify({token: t, slug: s}))",
                          [shop.leader_token, shop.tenant.slug])
            page.goto(f"{api_url}/app/{shop.tenant.slug}/#/pickup")
            page.wait_for_selector("#scan")
            assert page.evaluate("'BarcodeDetector' in window") is False  # the vendored decoder does the work
            page.click("#scan")
            ok = page.locator("#pickup-feedback .result.ok")
            ok.wait_for()
            assert order["number"] in ok.inner_text()
        finally:
            camera.close()
    assert errors == []
    status = gql.data(ORDER_STATUS, {"id": order["id"]}, token=shop.tenant.admin_token)["order"]["status"]
    assert status == "PICKED_UP"
