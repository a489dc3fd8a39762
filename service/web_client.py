"""/app/: the leader's and supplier's client, static files from service/web.

- /app/<tenant-slug>/ is the client for that tenant: the link a brand gives its leaders, so
  nobody types the tenant's slug. The page reads the slug from its own address.
- The first screen's modules are answered as one (service/web_bundle.py, joined when a file
  changes, no build step): one request instead of ten, which over HTTP/1.1's six connections per
  host is one round trip instead of two. When the modules use a form the joiner does not read,
  index.html preloads them instead (modulepreload): one round of requests per six files.
- index.html starts the first screen's one GraphQL request itself (a small inline script,
  allowed by its hash in the page's CSP), so the data and the code arrive in the same round trip.
- Every file is compressed (gzip) when the browser accepts it and carries its ETag. Scripts and
  styles are used at once and revalidated behind (stale-while-revalidate): a slow network does
  not wait for a round trip per file; a new release shows on the next visit. The vendored
  libraries, which change only with their version, are kept a week. The service worker (sw.js)
  keeps the shell for offline use and is always revalidated.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re
import time
from dataclasses import dataclass
from pathlib import Path

from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.web_bundle import Bundle, BundleError, bundle

log = logging.getLogger("service.web_client")

_TENANT_PAGE = re.compile(r"^/([a-z0-9-]{3,40})(/?)$")
_IMPORT = re.compile(r"^import\s[^;]*?from\s+'([^']+)'|^import\s+'([^']+)'", re.MULTILINE)
_DYNAMIC_IMPORT = re.compile(r"\bimport\('(\.{1,2}/[^']+)'\)")
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)
VENDOR_MAX_AGE = 7 * 24 * 3600
SCRIPT_CACHE = "public, max-age=0, stale-while-revalidate=604800"


def _etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


@dataclass(frozen=True)
class _Built:
    """What is made from the client's files: the page, its CSP, the joined first screen."""

    page: bytes
    csp: str
    bundle: Bundle | None
    files: dict[str, tuple[bytes, str]]  # path -> (body, etag): the joined module and its parts' re-exports


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
    def __init__(self, directory: Path, csp: str = "") -> None:
        self.directory = directory
        self.csp = csp
        self.static = StaticFiles(directory=directory, html=True)
        self.names = {p.name for p in directory.iterdir()}
        self._built: tuple[tuple[tuple[str, int], ...], _Built] | None = None
        self._looked = 0.0

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
        if path.endswith(".js") and scope["method"] in ("GET", "HEAD"):
            made = self.built().files.get(path)
            if made:
                await self.script(Request(scope), *made)(scope, receive, send)
                return
        # The worker itself is always revalidated; the rest is used at once and revalidated behind
        # (a new release shows on the next visit), the vendored libraries kept a week.
        cache = ("no-cache" if path == "/sw.js" else f"public, max-age={VENDOR_MAX_AGE}" if path.startswith("/vendor/")
                 else SCRIPT_CACHE)

        async def with_caching(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (b"cache-control", cache.encode())]
            await send(message)

        await self.static(scope, receive, with_caching)

    def built(self) -> _Built:
        """Made again when a file of the client changes (a developer's edit shows on the next
        reload); the files are looked at once a second at most (a look costs a few ms)."""
        now = time.monotonic()
        if self._built is not None and now - self._looked < 1.0:
            return self._built[1]
        self._looked = now
        files = sorted(p for p in self.directory.rglob("*") if p.suffix in (".js", ".html") and "vendor" not in p.parts)
        signature = tuple((p.as_posix(), p.stat().st_mtime_ns) for p in files)
        if self._built is None or self._built[0] != signature:
            self._built = (signature, self.build())
        return self._built[1]

    def build(self) -> _Built:
        try:
            joined: Bundle | None = bundle(self.directory)
        except BundleError as e:
            log.warning("the first screen is served as separate modules: %s", e)
            joined = None
        files: dict[str, tuple[bytes, str]] = {}
        if joined:
            first = joined.order
            links = ""
            body = joined.text.encode()
            files[f"/{joined.entry}"] = (body, _etag(body))
            for name in first:
                if name != joined.entry:
                    shim = joined.shim(name).encode()
                    files[f"/{name}"] = (shim, _etag(shim))
        else:
            first = static_imports(self.directory)
            links = "\n".join(f'<link rel="modulepreload" href="/app/{name}">' for name in first[1:])
        # The other screens' modules (and, joined, the first screen's parts they import), for the
        # service worker to keep (sw.js): loaded when opened.
        later = [name for name in static_imports(self.directory, dynamic=True) if name not in first]
        if joined:
            later += [name for name in first if name != joined.entry]
        links += f'\n<meta name="groupbuy-modules" content="{" ".join(later)}">'
        html = (self.directory / "index.html").read_text(encoding="utf-8").replace("<!-- modulepreload -->", links)
        hashes = " ".join("'sha256-" + base64.b64encode(hashlib.sha256(m.group(1).encode()).digest()).decode() + "'"
                          for m in _INLINE_SCRIPT.finditer(html))
        csp = self.csp.replace("script-src 'self'", f"script-src 'self' {hashes}") if hashes else self.csp
        return _Built(html.encode(), csp, joined, files)

    def index(self, request: Request) -> Response:
        made = self.built()
        body, etag = made.page, _etag(made.page)
        headers = {"etag": etag, "cache-control": "no-cache"}
        if made.csp:
            headers["content-security-policy"] = made.csp
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers=headers)
        return Response(body, media_type="text/html; charset=utf-8", headers=headers)

    @staticmethod
    def script(request: Request, body: bytes, etag: str) -> Response:
        headers = {"etag": etag, "cache-control": SCRIPT_CACHE}
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers=headers)
        return Response(body, media_type="text/javascript; charset=utf-8",
                        headers=headers)


def web_client(directory: Path, csp: str = "") -> ASGIApp:
    """`csp`: the page's Content-Security-Policy, to which the hashes of its inline scripts are added."""
    return GZipMiddleware(WebClient(directory, csp), minimum_size=512)
