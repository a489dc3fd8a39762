"""`groupbuy serve --workers N`: N uvicorn processes, each with its own listening socket on the
same port (SO_REUSEPORT), so the kernel spreads new connections evenly over them.

uvicorn's own multi-worker mode shares one socket, and the first worker to wake accepts every
connection waiting: with keep-alive clients (a proxy's pool, a load test) one worker could hold
all of them while the others idled — measured: 274 orders/s with all eight connections on one
worker against 505/s spread over two. The supervisor restarts a worker that dies and stops all
of them on SIGINT/SIGTERM.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import socket
import time
from typing import Any

import uvicorn
from prometheus_client import multiprocess

from service.processes import stop_with_parent

log = logging.getLogger("service.serving")
_STOP_GRACE = 20.0


def _listening_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    return sock


def _worker(host: str, port: int, options: dict[str, Any], supervisor: int) -> None:
    stop_with_parent(supervisor)
    sock = _listening_socket(host, port)
    config = uvicorn.Config("service.app:create_app", factory=True, host=host, port=port, **options)
    uvicorn.Server(config).run(sockets=[sock])


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
