"""/app/ serves the leader's client: at /app/<tenant-slug>/ too (the brand's link), the first
screen's modules joined into one (their own addresses re-exporting the joined instances), the first
screen's data asked for by the page itself (its inline script allowed by hash), gzip, ETags answered
304, and caching headers by kind of file."""

from __future__ import annotations

import base64
import hashlib
import re
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

from service.web_bundle import BundleError, bundle
from service.web_client import WebClient

WEB = Path(__file__).resolve().parent.parent / "service" / "web"


def test_the_client_at_the_brands_link_compressed_and_revalidated(api_url: str) -> None:
    with httpx.Client(base_url=api_url, timeout=30) as http:
        page = http.get("/app/fresh-mart/", headers={"Accept-Encoding": "gzip"})
        assert page.status_code == 200 and page.headers["content-encoding"] == "gzip"
        assert page.headers["cache-control"] == "no-cache"
        assert "modulepreload" not in page.text  # the first screen is one module
        kept = page.text.split('name="groupbuy-modules"')[1]  # kept by the service worker
        assert "views/pickup.js" in kept and "views/today.js" in kept
        csp = page.headers["content-security-policy"]
        inline = re.search(r"<script>(.*?)</script>", page.text, re.DOTALL)
        assert inline
        digest = base64.b64encode(hashlib.sha256(inline.group(1).encode()).digest()).decode()
        assert f"script-src 'self' 'sha256-{digest}';" in csp and "unsafe-inline" not in csp
        assert http.get("/app/").text == page.text
        again = http.get("/app/fresh-mart/", headers={"If-None-Match": page.headers["etag"]})
        assert again.status_code == 304 and again.content == b""
        redirect = http.get("/app/fresh-mart", follow_redirects=False)
        assert redirect.status_code in (307, 308) and redirect.headers["location"] == "/app/fresh-mart/"

        script = http.get("/app/app.js", headers={"Accept-Encoding": "gzip"})
        assert script.headers["content-encoding"] == "gzip"
        assert script.headers["content-type"].startswith("text/javascript")
        assert '__groupbuyModules["views/today.js"] = (() => {' in script.text  # joined
        part = http.get("/app/views/today.js")
        assert part.text.splitlines()[1:] == [
            'import { __groupbuyModules } from "../app.js";',
            'export const { prefetch, render } = __groupbuyModules["views/today.js"];']
        assert http.get("/app/views/today.js", headers={"If-None-Match": part.headers["etag"]}).status_code == 304
        assert "import { h, fill } from '../dom.js';" in http.get("/app/views/pickup.js").text  # as written
        assert "stale-while-revalidate" in script.headers["cache-control"]
        assert http.get("/app/app.js", headers={"If-None-Match": script.headers["etag"]}).status_code == 304
        assert http.get("/app/sw.js").headers["cache-control"] == "no-cache"
        assert "max-age=604800" in http.get("/app/vendor/jsqr/jsQR.js").headers["cache-control"]
        # A directory of the client is not a tenant: /app/views/ is not the page.
        assert http.get("/app/views/").status_code == 404


def _normal(text: str) -> str:
    return " ".join(text.split())


def test_the_pages_first_request_asks_for_what_the_first_screen_shows() -> None:
    """index.html's query holds app.js's Me and every part of today.js's TodayScreen."""
    page = _normal((WEB / "index.html").read_text(encoding="utf-8"))
    today = (WEB / "views" / "today.js").read_text(encoding="utf-8")
    parts = re.findall(r"const \w+_PART = `(.*?)`;", today, re.DOTALL)
    assert len(parts) == 4
    me = re.search(r"const ME = `query Me \{(.*)\}`;", (WEB / "app.js").read_text(encoding="utf-8"))
    assert me
    for part in [me.group(1), *parts]:
        assert _normal(part) in page


def test_modules_joined_in_import_order_and_re_exported(tmp_path: Path) -> None:
    (tmp_path / "views").mkdir()
    (tmp_path / "app.js").write_text("import { a, b as bee } from './x.js';\nimport * as v from './views/v.js';\n"
                                     "export function go() { return a() + bee + v.name + import('./views/later.js'); }\n")
    (tmp_path / "x.js").write_text("export function a() { return 1; }\nconst b = 2;\nexport { b };\n")
    (tmp_path / "views" / "v.js").write_text("import { a } from '../x.js';\nexport const name = 'v' + a();\n"
                                             "export async function later() { return import('../y.js'); }\n")
    joined = bundle(tmp_path)
    assert joined.order == ["x.js", "views/v.js", "app.js"]
    assert joined.exports == {"x.js": ["a", "b"], "views/v.js": ["name", "later"], "app.js": ["go"]}
    assert 'import("./y.js")' in joined.text and 'import("./views/later.js")' in joined.text
    assert "export { go };" in joined.text
    assert joined.shim("views/v.js").endswith(
        'import { __groupbuyModules } from "../app.js";\nexport const { name, later } = __groupbuyModules["views/v.js"];\n')
    if shutil.which("node"):
        (tmp_path / "joined.mjs").write_text(joined.text)
        assert subprocess.run(["node", "--check", str(tmp_path / "joined.mjs")]).returncode == 0


@pytest.mark.parametrize("source", [
    "export default function f() {}\n",
    "export let changing = 1;\n",
    "export * from './y.js';\n",
    "import thing from './y.js';\n",
    "console.log(import.meta.url);\n",
    "import { a } from './app.js';\nexport const b = a;\n",  # a cycle
])
def test_a_form_not_joined_leaves_the_modules_separate(tmp_path: Path, source: str) -> None:
    (tmp_path / "app.js").write_text("import { b } from './x.js';\nexport const a = 1;\nconsole.log(b);\n")
    (tmp_path / "x.js").write_text(source)
    (tmp_path / "y.js").write_text("export const y = 1;\n")
    (tmp_path / "index.html").write_text("<html><head><!-- modulepreload --></head></html>")
    with pytest.raises(BundleError):
        bundle(tmp_path)
    made = WebClient(tmp_path, "script-src 'self'").build()
    assert made.bundle is None and made.files == {}
    assert b'<link rel="modulepreload" href="/app/x.js">' in made.page
