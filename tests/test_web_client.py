"""/app/ serves the leader's client: at /app/<tenant-slug>/ too (the brand's link), with every
first-screen module preloaded, gzip, ETags answered 304, and caching headers by kind of file."""

from __future__ import annotations

import httpx


def test_the_client_at_the_brands_link_compressed_and_revalidated(api_url: str) -> None:
    with httpx.Client(base_url=api_url, timeout=30) as http:
        page = http.get("/app/fresh-mart/", headers={"Accept-Encoding": "gzip"})
        assert page.status_code == 200 and page.headers["content-encoding"] == "gzip"
        assert page.headers["cache-control"] == "no-cache"
        assert '<link rel="modulepreload" href="/app/views/today.js">' in page.text
        assert '<link rel="modulepreload" href="/app/views/pickup.js">' not in page.text  # loaded when opened
        assert "views/pickup.js" in page.text.split('name="groupbuy-modules"')[1]  # kept by the service worker
        assert http.get("/app/").text == page.text
        again = http.get("/app/fresh-mart/", headers={"If-None-Match": page.headers["etag"]})
        assert again.status_code == 304 and again.content == b""
        redirect = http.get("/app/fresh-mart", follow_redirects=False)
        assert redirect.status_code in (307, 308) and redirect.headers["location"] == "/app/fresh-mart/"

        script = http.get("/app/app.js", headers={"Accept-Encoding": "gzip"})
        assert script.headers["content-encoding"] == "gzip"
        assert "stale-while-revalidate" in script.headers["cache-control"]
        assert http.get("/app/app.js", headers={"If-None-Match": script.headers["etag"]}).status_code == 304
        assert http.get("/app/sw.js").headers["cache-control"] == "no-cache"
        assert "max-age=604800" in http.get("/app/vendor/jsqr/jsQR.js").headers["cache-control"]
        # A directory of the client is not a tenant: /app/views/ is not the page.
        assert http.get("/app/views/").status_code == 404
