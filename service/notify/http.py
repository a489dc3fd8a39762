"""A small HTTP/1.1 client for webhook POSTs: keep-alive connections per origin, a connect timeout
and a timeout for the whole exchange, no redirects, no proxies, the response body discarded.

Each new connection resolves the host, checks every address against the network policy
(service/notify/netpolicy.py) and connects to a checked address, with the original name for TLS
(SNI, certificate) and in the Host header: the name is never resolved a second time.

Why not httpx: in the fan-out benchmark its per-request CPU in the worker (request and response
models, the anyio/httpcore layers) was larger than the rest of a delivery, and a webhook needs
only a status code. One client per event loop; connections are reused while the receiver keeps
them open.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from service.notify import netpolicy

# A response body beyond this is not read: the connection is closed instead of being reused.
MAX_DRAINED_BODY = 64 * 1024
# An idle connection older than this is closed rather than reused: receivers' keep-alive timeouts
# are often 5 s (uvicorn) and a request racing the server's close would fail.
IDLE_SECONDS = 4.0
MAX_IDLE_PER_ORIGIN = 64
_URL_CACHE_SIZE = 1024
_PATH_SAFE = "/:@!$&'()*+,;=%-._~"
_QUERY_SAFE = _PATH_SAFE + "?"


class HTTPError(Exception):
    """Any failure to get a status code."""


class ConnectError(HTTPError):
    pass


class ConnectTimeout(HTTPError):
    pass


class ReadTimeout(HTTPError):
    pass


class ProtocolError(HTTPError):
    """The connection broke, or the answer was not HTTP/1.x."""


class Refused(HTTPError):
    """The network policy refuses the host or an address it resolves to: nothing was sent."""


# host, port -> the addresses the name resolves to (as getaddrinfo gives them).
Resolver = Callable[[str, int], Awaitable[list[str]]]


async def system_resolver(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


@dataclass(frozen=True)
class _Target:
    origin: tuple[str, str, int]  # scheme, host, port
    head: bytes  # request line and Host header


@dataclass
class _Conn:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    idle_since: float = 0.0

    def usable(self, now: float) -> bool:
        return (
            now - self.idle_since < IDLE_SECONDS
            and not self.reader.at_eof()
            and not self.writer.transport.is_closing()
        )

    def close(self) -> None:
        self.writer.close()


def _ssl_context() -> ssl.SSLContext:
    try:  # the CA bundle httpx used, when present; the system's otherwise
        import certifi

        return ssl.create_default_context(cafile=certifi.where())
    except ImportError:
        return ssl.create_default_context()


class WebhookClient:
    def __init__(self, *, resolver: Resolver | None = None, policy: netpolicy.Policy | None = None) -> None:
        """`policy` None: the configured one (GROUPBUY_WEBHOOK_ALLOWED_NETWORKS), read per connection."""
        self._resolver = resolver or system_resolver
        self._policy = policy
        self._idle: dict[tuple[str, str, int], list[_Conn]] = {}
        self._targets: OrderedDict[str, _Target] = OrderedDict()
        self._ssl: ssl.SSLContext | None = None
        self.closed = False

    async def post(self, url: str, body: bytes, headers: dict[str, str], *, timeout: float,  # noqa: ASYNC109
                   connect_timeout: float) -> int:
        """POSTs `body`; returns the status code (redirects are answers like any other)."""
        target = self._target(url)
        request = b"".join((
            target.head,
            b"content-length: %d\r\n" % len(body),
            "".join(f"{k}: {v}\r\n" for k, v in headers.items()).encode("latin-1"),
            b"\r\n",
            body,
        ))
        conn, reused = self._take(target.origin), True
        if conn is None:
            conn, reused = await self._connect(target.origin, connect_timeout), False
        while True:
            got_bytes = [False]
            try:
                async with asyncio.timeout(timeout):
                    status, keep = await self._exchange(conn, request, got_bytes)
            except TimeoutError:
                conn.close()
                raise ReadTimeout(f"no answer within {timeout:g} s") from None
            except (OSError, EOFError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as e:
                conn.close()
                if reused and not got_bytes[0]:  # the receiver closed an idle connection: a fresh one
                    conn, reused = await self._connect(target.origin, connect_timeout), False
                    continue
                raise ProtocolError(f"{type(e).__name__}: {e}" if str(e) else type(e).__name__) from None
            except BaseException:
                conn.close()
                raise
            if keep:
                self._put(target.origin, conn)
            else:
                conn.close()
            return status

    async def aclose(self) -> None:
        self.closed = True
        for conns in self._idle.values():
            for conn in conns:
                conn.close()
        self._idle.clear()

    # -- connections -------------------------------------------------------------------------

    def _take(self, origin: tuple[str, str, int]) -> _Conn | None:
        conns = self._idle.get(origin)
        now = time.monotonic()
        while conns:
            conn = conns.pop()
            if conn.usable(now):
                return conn
            conn.close()
        return None

    def _put(self, origin: tuple[str, str, int], conn: _Conn) -> None:
        conns = self._idle.setdefault(origin, [])
        if len(conns) >= MAX_IDLE_PER_ORIGIN or self.closed:
            conn.close()
            return
        conn.idle_since = time.monotonic()
        conns.append(conn)

    async def _connect(self, origin: tuple[str, str, int], connect_timeout: float) -> _Conn:
        scheme, host, port = origin
        tls = None
        if scheme == "https":
            if self._ssl is None:
                self._ssl = _ssl_context()
            tls = self._ssl
        failure: BaseException | None = None
        try:
            async with asyncio.timeout(connect_timeout):
                for address in await self._checked_addresses(scheme, host, port):
                    try:
                        reader, writer = await asyncio.open_connection(
                            str(address), port, ssl=tls, server_hostname=host if tls else None, limit=2**16)
                        return _Conn(reader, writer)
                    except (OSError, ssl.SSLError) as e:
                        failure = e
        except TimeoutError:
            raise ConnectTimeout(f"could not connect to {host}:{port} within {connect_timeout:g} s") from None
        raise ConnectError(f"{host}:{port}: {failure}") from None

    async def _checked_addresses(self, scheme: str, host: str, port: int) -> list[netpolicy.IPAddress]:
        """The addresses to connect to, every one allowed by the policy; Refused otherwise."""
        policy = self._policy if self._policy is not None else netpolicy.current_policy()
        plain_http = scheme == "http"
        try:
            name = netpolicy.normalise_host(host)
            literal = policy.check_host(name, plain_http=plain_http)
            if literal is not None:
                return literal
        except (ValueError, netpolicy.Refused):
            raise Refused(host) from None
        try:
            found = await self._resolver(name, port)
        except OSError as e:
            raise ConnectError(f"{host}: {e}") from None
        try:
            addresses = list(dict.fromkeys(ipaddress.ip_address(a) for a in found))
            policy.check_addresses(addresses, plain_http=plain_http)
        except (ValueError, netpolicy.Refused):
            raise Refused(host) from None
        return addresses

    # -- one exchange ------------------------------------------------------------------------

    @staticmethod
    async def _exchange(conn: _Conn, request: bytes, got_bytes: list[bool]) -> tuple[int, bool]:
        conn.writer.write(request)
        await conn.writer.drain()
        reader = conn.reader
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            got_bytes[0] = True
            lines = head.split(b"\r\n")
            version, _, rest = lines[0].partition(b" ")
            if not version.startswith(b"HTTP/1."):
                raise ValueError(f"not an HTTP/1.x answer: {lines[0][:80]!r}")
            status = int(rest[:3])
            if 100 <= status < 200:  # interim answers (100 Continue, 103 Early Hints) precede the real one
                continue
            break
        length: int | None = None
        chunked = False
        keep = version == b"HTTP/1.1"
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value.strip())
            elif name == b"transfer-encoding":
                chunked = b"chunked" in value.lower()
            elif name == b"connection":
                v = value.strip().lower()
                if v == b"close":
                    keep = False
                elif v == b"keep-alive":
                    keep = True
        if status in (204, 304):
            return status, keep
        if chunked:
            drained = 0
            while True:
                size = int((await reader.readuntil(b"\r\n")).split(b";")[0].strip(), 16)
                drained += size
                if drained > MAX_DRAINED_BODY:
                    return status, False
                if size == 0:
                    while (await reader.readuntil(b"\r\n")) != b"\r\n":  # trailers
                        pass
                    return status, keep
                await reader.readexactly(size + 2)
        if length is None:  # the body runs until the receiver closes: not worth waiting for
            return status, False
        if length > MAX_DRAINED_BODY:
            return status, False
        if length:
            await reader.readexactly(length)
        return status, keep

    def _target(self, url: str) -> _Target:
        target = self._targets.get(url)
        if target is not None:
            return target
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https") or not parts.hostname:
            raise ConnectError(f"not an http(s) URL: {url[:200]}")
        host = parts.hostname
        if not host.isascii():
            host = host.encode("idna").decode("ascii")
        try:
            port = parts.port or (443 if scheme == "https" else 80)
        except ValueError as e:
            raise ConnectError(str(e)) from None
        host_header = f"[{host}]" if ":" in host else host
        if port != (443 if scheme == "https" else 80):
            host_header += f":{port}"
        path = quote(parts.path or "/", safe=_PATH_SAFE)
        if parts.query:
            path += "?" + quote(parts.query, safe=_QUERY_SAFE)
        head = f"POST {path} HTTP/1.1\r\nhost: {host_header}\r\n".encode("ascii")
        target = _Target((scheme, host, port), head)
        self._targets[url] = target
        if len(self._targets) > _URL_CACHE_SIZE:
            self._targets.popitem(last=False)
        return target
