"""The worker of the fan-out benchmark: every actor of `groupbuy worker`, plus a no-op actor on
the same broker for the baseline."""

import dramatiq

from service.tasks import worker  # noqa: F401  (the broker and every real actor)


@dramatiq.actor(queue_name="bench-noop", max_retries=0)
def noop(i: int) -> None:
    return None
