"""`groupbuy worker --processes 2`: killed outright, the dramatiq master takes its worker
processes with it instead of leaving them consuming the queues with nobody to stop them."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from urllib.parse import urlsplit, urlunsplit

import psutil

from tests.processes import wait_gone


def _talks_to(process: psutil.Process, port: int) -> bool:
    try:
        return any(c.raddr and c.raddr.port == port for c in process.net_connections(kind="tcp"))
    except psutil.NoSuchProcess:
        return False


def test_worker_processes_stop_when_the_master_is_killed(services) -> None:  # type: ignore[no-untyped-def]
    url = urlsplit(os.environ["REDIS_URL"])
    # A Redis database of its own: these processes must not take other tests' messages.
    env = {**os.environ, "REDIS_URL": urlunsplit(url._replace(path="/9"))}
    master = subprocess.Popen(
        [sys.executable, "-m", "service.cli", "worker", "--processes", "2", "--threads", "1"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    children: list[psutil.Process] = []
    try:
        deadline = time.monotonic() + 60
        while True:  # both booted: consuming, so connected to Redis
            children = psutil.Process(master.pid).children()
            if len(children) == 2 and all(_talks_to(c, url.port) for c in children):
                break
            assert master.poll() is None and time.monotonic() < deadline, "the worker processes did not start"
            time.sleep(0.2)
        master.kill()
        master.wait()
        wait_gone(children, "worker processes outlived their master")
    finally:
        if master.poll() is None:
            master.kill()
            master.wait()
        for child in children:
            if child.is_running():
                child.kill()
