"""Work the domain asks for, by name and ids; service.tasks says how it is done.

The domain never imports the task layer: it calls `enqueue("close_batch", tenant_id=..., batch_id=...)`
(now) or `enqueue_after_commit(session, ...)` (once its transaction has committed, never for one
rolled back), and the process that runs it has registered a handler for each name
(`service.tasks.registry.install()`: a dramatiq actor's send). Ids travel as strings.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from uuid import UUID

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession

log = logging.getLogger(__name__)

Id = UUID | str | int
# handler(delay_ms, **ids): sends the work; raises when it cannot (the broker is down).
Handler = Callable[..., None]
_handlers: dict[str, Handler] = {}


class NoHandler(LookupError):
    """Nothing in this process does that work: service.tasks.registry.install() was not called."""


def register(name: str, handler: Handler) -> None:
    _handlers[name] = handler


def registered() -> frozenset[str]:
    return frozenset(_handlers)


def enqueue(name: str, *, delay_ms: int | None = None, **ids: Id) -> None:
    """Sends the work now; raises when it cannot be sent (the caller decides what then)."""
    try:
        handler = _handlers[name]
    except KeyError:
        raise NoHandler(name) from None
    handler(delay_ms, **{key: str(value) for key, value in ids.items()})


def enqueue_after_commit(session: AsyncSession, name: str, *, delay_ms: int | None = None, **ids: Id) -> None:
    """Sends the work once `session`'s transaction has committed. A failure to send is logged, not
    raised: the commit has happened, so whatever asks for work this way has a scheduled job that
    catches up (the caller's comment says which). A process without handlers (`groupbuy seed`)
    leaves it to that job."""

    def send(_session: object) -> None:
        try:
            enqueue(name, delay_ms=delay_ms, **ids)
        except NoHandler:
            log.info("no handler for %s in this process; its scheduled job will do it", name)
        except Exception:  # noqa: BLE001 - after the commit: log it, the scheduler catches up
            log.warning("could not enqueue %s %s after commit", name, ids, exc_info=True)

    event.listen(session.sync_session, "after_commit", send, once=True)
