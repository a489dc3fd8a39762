"""What `groupbuy scheduler` runs: importing these modules registers their jobs."""

from service.batches import opening  # noqa: F401
from service.notify import retention  # noqa: F401
from service.orders import expiry  # noqa: F401
from service.procurement import scheduling  # noqa: F401
from service.tasks import (
    broker,  # noqa: F401  (the scheduler sends messages too)
    notify,  # noqa: F401
)
