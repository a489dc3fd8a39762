"""The one place where work is registered: every actor module, every scheduled job (in the order a
tick runs them), and the handler of each job name the domain enqueues (service.jobs).

`groupbuy worker` and `groupbuy scheduler` call install(); a process that never calls it cannot
send work by name (service.jobs.NoHandler), which a test would see at once.
"""

from __future__ import annotations

from service import jobs
from service.batches.opening import open_due_batches
from service.groupbuys.resolution import expire_group_buys
from service.ledger.release import release_commissions
from service.notify.retention import prune_hourly
from service.orders.expiry import expire_unpaid_orders
from service.procurement.scheduling import close_due_batches, complete_batches
from service.tasks import (
    broker,  # noqa: F401  (the broker before any actor is declared)
    notify,
)
from service.tasks.batches import open_batch
from service.tasks.close import close_batch_actor
from service.tasks.scheduler import Job

JOBS: list[tuple[str, Job]] = [
    ("open-due-batches", open_due_batches),
    ("prune-notifications", prune_hourly),
    ("expire-unpaid-orders", expire_unpaid_orders),
    ("close-due-batches", close_due_batches),
    ("complete-batches", complete_batches),
    ("relay-outbox", notify.relay_outbox),
    ("retry-deliveries", notify.retry_deliveries),
    ("expire-group-buys", expire_group_buys),
    ("release-commissions", release_commissions),
]


def _close_batch(delay_ms: int | None, *, tenant_id: str, batch_id: str) -> None:
    close_batch_actor.send_with_options(args=(tenant_id, batch_id), delay=delay_ms)


def _open_batch(delay_ms: int | None, *, tenant_id: str, batch_id: str) -> None:
    open_batch.send_with_options(args=(tenant_id, batch_id), delay=delay_ms)


def install() -> None:
    """Registers the handler of every job name the domain enqueues."""
    jobs.register("close_batch", _close_batch)
    jobs.register("open_batch", _open_batch)
