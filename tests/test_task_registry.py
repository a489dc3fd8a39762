"""Every scheduler job and every actor is loaded by the processes that run them (service.tasks.registry)."""

from __future__ import annotations

import re
from pathlib import Path

SERVICE = Path(__file__).resolve().parent.parent / "service"


def _declared(pattern: str) -> set[str]:
    found = set()
    for path in SERVICE.rglob("*.py"):
        for match in re.finditer(pattern, path.read_text()):
            found.add(match.group(1))
    return found


def test_the_scheduler_runs_the_registry_s_jobs(services):  # type: ignore[no-untyped-def]
    import inspect

    from service.tasks.registry import JOBS

    names = [name for name, _ in JOBS]
    assert len(set(names)) == len(names) >= 7
    for name, fn in JOBS:
        assert inspect.iscoroutinefunction(fn), name
        inspect.signature(fn).bind()  # a tick calls it without arguments
    cli = (SERVICE / "cli.py").read_text()
    assert "registry.install()" in cli and "run_scheduler(registry.JOBS" in cli


def test_the_worker_and_the_scheduler_can_send_every_job_the_domain_enqueues(services):  # type: ignore[no-untyped-def]
    from service import jobs
    from service.tasks import registry

    registry.install()
    enqueued = _declared(r'enqueue(?:_after_commit)?\((?:[a-z_]+, )?"(\w+)"')
    assert "close_batch" in enqueued, "the pattern is stale"
    assert enqueued <= jobs.registered(), enqueued - jobs.registered()


def test_the_worker_loads_every_actor(services):  # type: ignore[no-untyped-def]
    import dramatiq

    from service.tasks import worker  # noqa: F401

    declared = _declared(r"@dramatiq\.actor\([^)]*\)\s*\n(?:async )?def (\w+)")
    loaded = set(dramatiq.get_broker().actors)
    assert declared and declared <= loaded, declared - loaded


def test_the_worker_polls_an_idle_queue_at_most_every_100_ms(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """`groupbuy worker` caps dramatiq's idle backoff (1 s by default, so a close or a webhook sent
    to an idle worker could wait a second), unless the operator set it; and dramatiq reads it."""
    import subprocess
    import sys

    from service.cli import worker_environment

    monkeypatch.delenv("dramatiq_worker_timeout", raising=False)
    env = worker_environment()
    assert env["dramatiq_worker_timeout"] == "100"
    monkeypatch.setenv("dramatiq_worker_timeout", "250")
    assert worker_environment()["dramatiq_worker_timeout"] == "250"
    read = subprocess.run([sys.executable, "-c", "import dramatiq.worker as w; print(w.WORKER_TIMEOUT)"],
                          env=env, capture_output=True, text=True, check=True)
    assert read.stdout.strip() == "100"
