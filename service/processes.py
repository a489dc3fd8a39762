"""Processes that must not outlive the one that started them."""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time


def stop_with_parent(parent: int) -> None:
    """SIGTERM (a graceful stop) to this process, once, when its parent is gone: otherwise it goes
    on (serving the port, consuming the queues) with nobody to restart or stop it, beside the next
    parent's own. Call from the main thread.

    Linux tells of the death with PR_SET_PDEATHSIG, but for each thread of the parent that the
    process is handed to as it dies (dramatiq's master has several): a second SIGTERM makes
    dramatiq's worker give up its graceful stop and hang. So the death signal is a private one,
    whose handler checks that the parent process really is gone and stops this process once.
    (Across an exec the handler is lost and SIGUSR2 ends the new program at once: `groupbuy worker`
    execs dramatiq's master, which holds no work; its worker processes stop gracefully on their
    own.) Elsewhere the parent is polled."""
    stopping = False

    def stop() -> None:
        nonlocal stopping
        if not stopping and os.getppid() != parent:
            stopping = True
            os.kill(os.getpid(), signal.SIGTERM)

    if sys.platform.startswith("linux"):
        signal.signal(signal.SIGUSR2, lambda _signum, _frame: stop())
        pr_set_pdeathsig = 1
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(pr_set_pdeathsig, int(signal.SIGUSR2), 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    else:
        def watch() -> None:
            while os.getppid() == parent:
                time.sleep(1.0)
            stop()

        threading.Thread(target=watch, name="parent-watch", daemon=True).start()
    stop()  # gone before the above took effect
