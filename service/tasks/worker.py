"""What `groupbuy worker` loads: the broker and every actor module."""

from service.tasks import (
    batches,  # noqa: F401
    broker,  # noqa: F401  (sets the broker before actors are declared)
    close,  # noqa: F401
    notify,  # noqa: F401
)
