"""The webhook HTTP client (service.notify.http) against small raw servers on loopback: keep-alive
reuse, receivers that close, chunked and long bodies, interim answers, timeouts, refused connections."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from service.notify import http

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter, int], Awaitable[bool]]


async def _read_request(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return head, await reader.readexactly(length)


class Server:
    """Answers each request with what `answer(n)` returns (n counts requests on the server);
    keeps the connection unless the answer says `connection: close` or is HTTP/1.0."""

    def __init__(self, answer: Callable[[int], bytes | None], *, drop_after_answer: bool = False) -> None:
        self.answer = answer
        self.drop_after_answer = drop_after_answer  # close the connection whatever the answer said
        self.connections = 0
        self.requests: list[tuple[bytes, bytes]] = []
        self.server: asyncio.Server | None = None

    async def __aenter__(self) -> Server:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/a b?x=1"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                try:
                    request = await _read_request(reader)
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                self.requests.append(request)
                answer = self.answer(len(self.requests))
                if answer is None:  # never answer
                    await asyncio.sleep(3600)
                writer.write(answer)
                await writer.drain()
                if answer.startswith(b"HTTP/1.0") or b"connection: close" in answer.lower():
                    return
                if self.drop_after_answer:
                    return
        finally:
            writer.close()


async def _post(client: http.WebhookClient, url: str, body: bytes = b'{"a":1}', timeout: float = 5) -> int:  # noqa: ASYNC109
    return await client.post(url, body, {"content-type": "application/json", "webhook-id": "msg_1"},
                             timeout=timeout, connect_timeout=timeout)


def test_keep_alive_connections_are_reused_and_the_request_is_well_formed() -> None:
    async def main() -> None:
        async with Server(lambda n: b"HTTP/1.1 204 No Content\r\n\r\n") as server:
            client = http.WebhookClient()
            statuses = [await _post(client, server.url, b'{"n":%d}' % i) for i in range(5)]
            # and concurrently: more connections, each reused afterwards
            statuses += await asyncio.gather(*(_post(client, server.url) for _ in range(3)))
            await client.aclose()
        assert statuses == [204] * 8
        assert server.connections == 3
        head, body = server.requests[0]
        assert head.startswith(b"POST /hooks/a%20b?x=1 HTTP/1.1\r\n")
        assert f"host: 127.0.0.1:{server.port}\r\n".encode() in head
        assert b"webhook-id: msg_1\r\n" in head and body == b'{"n":0}'

    asyncio.run(main())


def test_bodies_are_drained_or_the_connection_dropped() -> None:
    answers = {
        1: b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello",
        2: b"HTTP/1.1 202 Accepted\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        3: b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\ncontent-length: 0\r\n\r\n",
        4: b"HTTP/1.1 500 Oops\r\ncontent-length: 2\r\n\r\nno",
        5: b"HTTP/1.1 301 Moved\r\nlocation: https://elsewhere.example/\r\ncontent-length: 0\r\n\r\n",
        6: b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n" % (http.MAX_DRAINED_BODY + 1),
    }

    async def main() -> None:
        async with Server(lambda n: answers[n]) as server:
            client = http.WebhookClient()
            statuses = [await _post(client, server.url) for _ in range(6)]
            await client.aclose()
        assert statuses == [200, 202, 201, 500, 301, 200]  # redirects are not followed
        # One connection for the first five; the sixth's body is too long to read: dropped.
        assert server.connections == 1

    asyncio.run(main())


def test_receivers_that_close_connections() -> None:
    async def main() -> None:
        http10 = Server(lambda n: b"HTTP/1.0 200 OK\r\ncontent-length: 0\r\n\r\n")
        close = Server(lambda n: b"HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n")
        async with http10, close:
            client = http.WebhookClient()
            assert [await _post(client, http10.url) for _ in range(3)] == [200] * 3
            assert [await _post(client, close.url) for _ in range(3)] == [204] * 3
            await client.aclose()
        assert http10.connections == 3 and close.connections == 3

    asyncio.run(main())


def test_an_idle_connection_closed_by_the_receiver_is_replaced(monkeypatch: pytest.MonkeyPatch) -> None:
    async def main() -> None:
        # The receiver closes each connection after answering although it said keep-alive (a
        # restart, its keep-alive timeout), and the client has not noticed when it sends again.
        async with Server(lambda n: b"HTTP/1.1 204 No Content\r\n\r\n", drop_after_answer=True) as server:
            client = http.WebhookClient()
            assert await _post(client, server.url) == 204
            await asyncio.sleep(0.05)  # the receiver's close reaches the client's socket
            monkeypatch.setattr(http._Conn, "usable", lambda self, now: True)
            assert await _post(client, server.url) == 204  # sent again on a new connection
            await client.aclose()
        assert len(server.requests) == 2 and server.connections == 2

    asyncio.run(main())


def test_timeouts_and_refused_connections_are_errors() -> None:
    async def main() -> None:
        async with Server(lambda n: None) as server:
            client = http.WebhookClient()
            with pytest.raises(http.ReadTimeout):
                await _post(client, server.url, timeout=0.2)
            url = server.url
        with pytest.raises(http.ConnectError):  # nobody listens there any more
            await _post(client, url)
        with pytest.raises(http.ConnectError):
            await _post(client, "ftp://127.0.0.1/x")
        # A garbled answer
        async with Server(lambda n: b"SMTP ready\r\n\r\n") as garbled:
            with pytest.raises(http.ProtocolError):
                await _post(client, garbled.url)
        await client.aclose()

    asyncio.run(main())
