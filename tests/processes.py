"""Helpers for tests that start and stop processes."""

from __future__ import annotations

import time

import psutil


def gone(process: psutil.Process) -> bool:
    """Exited (a zombie nobody has reaped yet counts: it runs nothing)."""
    try:
        return not process.is_running() or process.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def wait_gone(processes: list[psutil.Process], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not all(gone(p) for p in processes):
        assert time.monotonic() < deadline, f"{what}: {[p.pid for p in processes if not gone(p)]}"
        time.sleep(0.2)
