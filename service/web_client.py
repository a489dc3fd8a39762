"""/app/: the leader's and supplier's client, static files from service/web.

- /app/<tenant-slug>/ is the client for that tenant: the link a brand gives its leaders, so
  nobody types the tenant's slug. The page reads the slug from its own address.
- index.html preloads every module the first screen needs (modulepreload): one round of
  requests instead of one per level of imports.
- Every file is compressed (gzip) when the browser accepts it and carries its ETag. Scripts and
  styles are used at once and revalidated behind (stale-while-revalidate): a slow network does
  not wait for a round trip per file; a new release shows on the next visit. The vendored
  libraries, which change only with their version, are kept a week. The service worker (sw.js)
  keeps the shell for offline use and is always revalidated.
"""

from __future__ import annotations

import hashlib
import re
from functools import cached_property
from pathlib import Path

from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_TENANT_PAGE = re.compile(r"^/([a-z0-9-]{3,40})(/?)$")
_IMPORT = re.compile(r"^import\s[^;]*?from\s+'([^']+)'|^import\s+'([^']+)'", re.MULTILINE)
_DYNAMIC_IMPORT = re.compile(r"\bimport\('(\.{1,2}/[^']+)'\)")
VENDOR_MAX_AGE = 7 * 24 * 3600


def static_imports(directory: Path, entry: str = "app.js", dynamic: bool = False) -> list[str]:
    """Every module the entry imports statically (with `dynamic`, also with import()), directly or
    not, in the order first met."""
    seen: list[str] = []

    def walk(name: str) -> None:
        if name in seen or not (directory / name).is_file():
            return
        seen.append(name)
        text = (directory / name).read_text(encoding="utf-8")
        found = [m.group(1) or m.group(2) for m in _IMPORT.finditer(text)]
        if dynamic:
            found += [m.group(1) for m in _DYNAMIC_IMPORT.finditer(text)]
        for relative in found:
            target = (Path(name).parent / relative).as_posix()
            parts: list[str] = []
            for part in target.split("/"):
                if part == "..":
                    parts.pop()
                elif part not in ("", "."):
                    parts.append(part)
            walk("/".join(parts))

    walk(entry)
    return seen


class WebClient:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.static = StaticFiles(directory=directory, html=True)
        self.names = {p.name for p in directory.iterdir()}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.static(scope, receive, send)
            return
        root = scope.get("root_path", "")
        path = scope["path"][len(root):] if scope["path"].startswith(root) else scope["path"]
        tenant = _TENANT_PAGE.match(path)
        if tenant and tenant.group(1) not in self.names and not tenant.group(2):
            await RedirectResponse(f"{root}/{tenant.group(1)}/")(scope, receive, send)
            return
        if path in ("/", "/index.html") or (tenant and tenant.group(1) not in self.names):
            await self.index(Request(scope))(scope, receive, send)
            return
        # The worker itself is always revalidated; the rest is used at once and revalidated behind
        # (a new release shows on the next visit), the vendored libraries kept a week.
        cache = ("no-cache" if path == "/sw.js" else f"public, max-age={VENDOR_MAX_AGE}" if path.startswith("/vendor/")
                 else "public, max-age=0, stale-while-revalidate=604800")

        async def with_caching(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (b"cache-control", cache.encode())]
            await send(message)

        await self.static(scope, receive, with_caching)


    @cached_property
    def page(self) -> tuple[bytes, str]:
        """index.html with a modulepreload link per module the client imports at start: the
        browser fetches them all at once instead of one level of imports per round trip."""
        first = static_imports(self.directory)
        links = "\n".join(f'<link rel="modulepreload" href="/app/{name}">' for name in first[1:])
        # The other screens' modules, for the service worker to keep (sw.js): loaded when opened.
        later = [name for name in static_imports(self.directory, dynamic=True) if name not in first]
        links += f'\n<meta name="groupbuy-modules" content="{" ".join(later)}">'
        html = (self.directory / "index.html").read_text(encoding="utf-8").replace("<!-- modulepreload -->", links)
        body = html.encode()
        return body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"'

    def index(self, request: Request) -> Response:
        body, etag = self.page
        headers = {"etag": etag, "cache-control": "no-cache"}
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers=headers)
        return Response(body, media_type="text/html; charset=utf-8", headers=headers)


def web_client(directory: Path) -> ASGIApp:
    return GZipMiddleware(WebClient(directory), minimum_size=512)
