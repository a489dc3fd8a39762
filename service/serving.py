"""`groupbuy serve --workers N`: N uvicorn processes, each with its own listening socket on the
same port (SO_REUSEPORT), so the kernel spreads new connections evenly over them.

`serve` without --workers runs one such process. Every process serves the public port and, when
GROUPBUY_METRICS_PORT is set, the internal metrics port (127.0.0.1 unless GROUPBUY_METRICS_HOST
says otherwise), with `GuardedHttpProtocol`, which times out request headers.

uvicorn's own multi-worker mode shares one socket, and the first worker to wake accepts every
connection waiting: with keep-alive clients (a proxy's pool, a load test) one worker could hold
all of them while the others idled — measured: 274 orders/s with all eight connections on one
worker against 505/s spread over two. The supervisor restarts a worker that dies and stops all
of them on SIGINT/SIGTERM.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import resource
import signal
import socket
import time
from asyncio import TimerHandle
from collections import Counter, OrderedDict
from typing import Any
from weakref import WeakKeyDictionary

import uvicorn
from prometheus_client import multiprocess
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from service.config import get_settings
from service.processes import stop_with_parent

log = logging.getLogger("service.serving")
_STOP_GRACE = 20.0
PROTOCOL = "service.serving:GuardedHttpProtocol"


class _Waiting:
    """The connections of one server still waiting for their request headers, oldest first."""

    def __init__(self) -> None:
        self.connections: OrderedDict[GuardedHttpProtocol, None] = OrderedDict()
        self.by_address: Counter[str] = Counter()


_waiting: WeakKeyDictionary[ServerState, _Waiting] = WeakKeyDictionary()


class GuardedHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a deadline on request headers, which uvicorn lacks: a
    connection that has not sent a complete request head within GROUPBUY_HEADER_TIMEOUT_SECONDS of
    connecting (or of the first byte of its next request on a kept-alive connection) is closed.
    Connections waiting for their headers are also capped: per client address
    (GROUPBUY_MAX_PENDING_CONNECTIONS_PER_ADDRESS; a new one over it is closed at once) and in all
    (GROUPBUY_MAX_PENDING_CONNECTIONS; the oldest is closed to make room), so connections that
    never finish their headers cannot hold the server's descriptors or crowd out requests. A proxy
    in front sends each request head whole, so it never counts for long."""

    def __init__(self, config: Config, server_state: ServerState, app_state: dict[str, Any],
                 _loop: asyncio.AbstractEventLoop | None = None) -> None:
        super().__init__(config, server_state, app_state, _loop)
        s = get_settings()
        self._header_timeout = s.header_timeout_seconds
        self._per_address = s.max_pending_connections_per_address
        self._max_waiting = s.max_pending_connections
        waiting = _waiting.get(server_state)
        if waiting is None:
            waiting = _waiting[server_state] = _Waiting()
        self._waiting = waiting
        self._header_timer: TimerHandle | None = None
        self._address = ""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]  # the base's signature differs; we are called as the base is
        super().connection_made(transport)
        self._address = self.client[0] if self.client else ""
        self._await_headers()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._header_timer is None:
            self._await_headers()

    def on_headers_complete(self) -> None:
        self._headers_done()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._headers_done()
        super().connection_lost(exc)

    def _await_headers(self) -> None:
        if self._header_timeout <= 0 or self.transport.is_closing():
            return
        waiting = self._waiting
        if waiting.by_address[self._address] >= self._per_address:
            self.transport.close()
            return
        while len(waiting.connections) >= self._max_waiting:
            oldest = next(iter(waiting.connections))
            oldest._time_out()
        waiting.connections[self] = None
        waiting.by_address[self._address] += 1
        self._header_timer = self.loop.call_later(self._header_timeout, self._time_out)

    def _headers_done(self) -> None:
        if self._header_timer is None:
            return
        self._header_timer.cancel()
        self._header_timer = None
        waiting = self._waiting
        waiting.connections.pop(self, None)
        waiting.by_address[self._address] -= 1
        if waiting.by_address[self._address] <= 0:
            del waiting.by_address[self._address]

    def _time_out(self) -> None:
        # Closed without an answer, as nginx does: nothing is written for a client that may not read.
        self._headers_done()
        if not self.transport.is_closing():
            self.transport.close()


def raise_open_files_limit() -> None:
    """Every connection is a descriptor: the soft limit (often 1,024) is raised to the hard one."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except (ValueError, OSError) as e:
            log.warning("could not raise the open files limit from %s: %s", soft, e)


def listening_socket(host: str, port: int, *, reuse_port: bool) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    return sock


def serve_one(host: str, port: int, options: dict[str, Any], *, reuse_port: bool = False) -> None:
    """One uvicorn server on the public port and, when configured, the internal metrics port."""
    s = get_settings()
    sockets = [listening_socket(host, port, reuse_port=reuse_port)]
    if s.metrics_port:
        sockets.append(listening_socket(s.metrics_host, s.metrics_port, reuse_port=reuse_port))
    config = uvicorn.Config("service.app:create_app", factory=True, host=host, port=port, **options)
    uvicorn.Server(config).run(sockets=sockets)


def _worker(host: str, port: int, options: dict[str, Any], supervisor: int) -> None:
    stop_with_parent(supervisor)
    serve_one(host, port, options, reuse_port=True)


def serve_workers(host: str, port: int, workers: int, options: dict[str, Any]) -> None:
    """Runs until SIGINT/SIGTERM; returns once every worker has stopped."""
    context = multiprocessing.get_context("spawn")
    stopping = False

    def start() -> multiprocessing.process.BaseProcess:
        process = context.Process(target=_worker, args=(host, port, options, os.getpid()), daemon=False)
        process.start()
        return process

    def stop(signum: int, _frame: Any) -> None:
        nonlocal stopping
        stopping = True

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    processes = [start() for _ in range(workers)]
    try:
        while not stopping:
            for i, process in enumerate(processes):
                if not process.is_alive() and not stopping:
                    log.warning("API worker %s exited with %s; starting another", process.pid, process.exitcode)
                    _mark_dead(process.pid)
                    processes[i] = start()
            time.sleep(0.2)
    finally:
        for process in processes:
            if process.is_alive() and process.pid:
                os.kill(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + _STOP_GRACE
        for process in processes:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
                process.join()
            _mark_dead(process.pid)
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _mark_dead(pid: int | None) -> None:
    """Its live gauges leave the metrics (prometheus multiprocess mode)."""
    if pid and os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(pid)
