"""The QR scanner in WebKit (the engine of iOS Safari and WeChat's browser on iOS): Debian's
WebKitGTK MiniBrowser driven over WebDriver (webkit2gtk-driver) on a virtual display (Xvfb). WebKit
has no BarcodeDetector, so the pickup screen decodes the camera stream with the vendored jsQR.
WebKitGTK's own mock camera draws a test pattern, so the camera here is a stream of a canvas that
shows a real QR code (made by the client's vendored QR generator); the order is real."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.scenario import build_shop, close_batch, open_batch, place_order

DRIVER = "/usr/bin/WebKitWebDriver"
MINIBROWSER = "/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser"
DELIVERY_RECEIVE = "mutation($b: ID!, $p: ID!) { deliveryReceive(batchId: $b, pickupPointId: $p) { receivedAt } }"
ORDER_STATUS = "query($id: ID!) { order(id: $id) { status } }"

# The camera: getUserMedia answers a canvas's stream, the canvas redrawn with the QR code.
CAMERA = """
const [text, done] = [arguments[0], arguments[arguments.length - 1]];
import('/app/vendor/qrcode.js').then(({ default: qrcode }) => {
  const qr = qrcode(0, 'M');
  qr.addData(text);
  qr.make();
  const n = qr.getModuleCount(), scale = 8, quiet = 4 * scale, size = n * scale + 2 * quiet;
  const canvas = document.createElement('canvas');
  canvas.width = canvas.height = size;
  const g = canvas.getContext('2d');
  const draw = () => {
    g.fillStyle = '#fff'; g.fillRect(0, 0, size, size); g.fillStyle = '#000';
    for (let r = 0; r < n; r += 1) for (let c = 0; c < n; c += 1) {
      if (qr.isDark(r, c)) g.fillRect(quiet + c * scale, quiet + r * scale, scale, scale);
    }
  };
  draw();
  setInterval(draw, 100);
  const stream = canvas.captureStream(10);
  navigator.mediaDevices.getUserMedia = async () => stream;
  done(['BarcodeDetector' in window, !!navigator.mediaDevices]);
}, (e) => done(String(e)));
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def webkit() -> Iterator[Any]:
    """A WebDriver session on WebKitGTK's MiniBrowser: (httpx client, session URL)."""
    for path in (DRIVER, MINIBROWSER):
        if not os.path.exists(path):
            pytest.fail(f"{path} is missing: `make test` installs webkit2gtk-driver (tests/system_deps.py)")
    if shutil.which("Xvfb") is None:
        pytest.fail("Xvfb is missing: `make test` installs xvfb (tests/system_deps.py)")
    read, write = os.pipe()
    xvfb = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-screen", "0", "1024x768x24", "-nolisten", "tcp"],
                            pass_fds=(write,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write)
    with os.fdopen(read) as pipe:
        display = pipe.readline().strip()
    port = _free_port()
    driver = subprocess.Popen([DRIVER, f"--port={port}"], env={**os.environ, "DISPLAY": f":{display}"},
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    http = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120)
    try:
        for _ in range(100):
            try:
                http.get("/status")
                break
            except httpx.TransportError:
                time.sleep(0.1)
        options = {"binary": MINIBROWSER, "args": ["--automation", "--enable-media-stream=true"]}
        answer = http.post("/session", json={"capabilities": {"alwaysMatch": {"webkitgtk:browserOptions": options}}})
        assert answer.status_code == 200, answer.text
        session = f"/session/{answer.json()['value']['sessionId']}"
        yield http, session
        http.delete(session)
    finally:
        http.close()
        driver.terminate()
        driver.wait(10)
        xvfb.terminate()
        xvfb.wait(10)


def _run(http: httpx.Client, session: str, script: str, *args: Any, wait: bool = False) -> Any:
    answer = http.post(f"{session}/execute/{'async' if wait else 'sync'}", json={"script": script, "args": list(args)})
    assert answer.status_code == 200, answer.text
    return answer.json()["value"]


def _wait_for(http: httpx.Client, session: str, condition: str, seconds: float = 30) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = _run(http, session, f"return ({condition});")
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"not true within {seconds} s: {condition}")


def test_a_qr_code_shown_to_the_camera_in_webkit_confirms_the_pickup(webkit, api_url, gql, make_tenant, make_customer):  # type: ignore[no-untyped-def]
    tenant = make_tenant(timezone="Asia/Shanghai", paymentMode="PAY_AT_PICKUP")
    shop = build_shop(gql, tenant, make_customer)
    open_batch(gql, shop)
    order = place_order(gql, shop, make_customer(tenant, "王阿姨"), [(0, 1)])
    close_batch(gql, shop)
    gql.data(DELIVERY_RECEIVE, {"b": shop.batch_id, "p": shop.point_id}, token=shop.leader_token)

    http, session = webkit
    http.post(f"{session}/url", json={"url": f"{api_url}/app/#/schema"})
    _run(http, session, "localStorage.setItem('groupbuy.session', JSON.stringify({token: arguments[0], slug: arguments[1]}));",
         shop.leader_token, shop.tenant.slug)
    http.post(f"{session}/url", json={"url": f"{api_url}/app/{shop.tenant.slug}/#/pickup"})
    _wait_for(http, session, "!!document.querySelector('#scan')")
    has_detector, has_camera = _run(http, session, CAMERA, f"https://shop.example/pickup?code={order['pickupCode']}",
                                    wait=True)
    assert has_detector is False and has_camera is True  # WebKit: the vendored decoder does the work
    _run(http, session, "document.querySelector('#scan').click();")
    shown = _wait_for(http, session, "(document.querySelector('#pickup-feedback .result.ok') || {}).textContent", 60)
    assert order["number"] in shown
    status = gql.data(ORDER_STATUS, {"id": order["id"]}, token=shop.tenant.admin_token)["order"]["status"]
    assert status == "PICKED_UP"
