"""What `groupbuy worker` loads: the broker and every actor module."""

from service.tasks import broker  # noqa: F401  (sets the broker before actors are declared)
from service.tasks import actors  # noqa: F401
from service.tasks import notify  # noqa: F401
from service.tasks import close  # noqa: F401
