"""Observability: Prometheus metrics (`metrics`), OpenTelemetry tracing (`tracing`), the hooks that
feed both and the request context of the JSON logs — an ASGI middleware (`http`), a strawberry
extension (`graphql`) and a dramatiq middleware (`actors`). Logging itself is `service.logs`.

This module imports neither prometheus_client nor OpenTelemetry: `setup_process` must run before
either is imported, because prometheus_client picks its multiprocess mode at import time.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
from pathlib import Path

from service.config import get_settings
from service.observability.tracing import setup_tracing

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
# Commands whose processes record metrics (and `run`, whose children inherit the directory).
_METRIC_COMMANDS = {"run", "serve", "worker", "scheduler"}
_PID_FILE = re.compile(r"_(\d+)\.db$")

log = logging.getLogger(__name__)


def default_metrics_dir(data_dir: Path) -> Path:
    return data_dir / "prometheus"


def prepare_metrics_dir(data_dir: Path) -> Path | None:
    """Points PROMETHEUS_MULTIPROC_DIR at <data dir>/prometheus unless it is set already (by the
    operator, or inherited from `groupbuy run`), creates it, and removes the files of processes
    that no longer run — so restarts do not add up dead processes' values forever. Falls back to
    a directory under the system's temporary directory when the data dir is not writable."""
    given = os.environ.get(MULTIPROC_ENV)
    candidates = [Path(given)] if given else [
        default_metrics_dir(data_dir),
        # a read-only root file system (the Kubernetes manifests) still has a writable /tmp
        Path(tempfile.gettempdir()) / f"groupbuy-prometheus-{os.getuid()}",
    ]
    for path in candidates:
        try:
            path.mkdir(parents=True, exist_ok=True)
            probe = path / f".probe-{os.getpid()}"
            probe.touch()
            probe.unlink()
            break
        except OSError as e:
            log.warning("metrics directory %s is not writable (%s)", path, e)
    else:
        os.environ.pop(MULTIPROC_ENV, None)
        log.warning("metrics: no writable directory; each process reports only its own metrics")
        return None
    os.environ[MULTIPROC_ENV] = str(path.resolve())
    for file in path.glob("*.db"):
        match = _PID_FILE.search(file.name)
        if match and not _alive(int(match.group(1))):
            file.unlink(missing_ok=True)
    return path


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def setup_process(command: str | None) -> None:
    """Per-process set-up for a `groupbuy` command: the metrics directory for the commands that
    record metrics, tracing for those that serve requests or run jobs in this process (dramatiq
    worker processes set theirs up in `service.observability.actors`)."""
    if command in _METRIC_COMMANDS:
        prepare_metrics_dir(get_settings().data_dir)
    if command in ("serve", "scheduler"):
        setup_tracing(f"groupbuy-{command}")
