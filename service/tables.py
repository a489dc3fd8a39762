"""Every table of the service, so the metadata is complete for migrations and checks."""

from sqlmodel import SQLModel

from service.accounts import models as _accounts  # noqa: F401
from service.aftersales import models as _aftersales  # noqa: F401
from service.batches import models as _batches  # noqa: F401
from service.catalog import models as _catalog  # noqa: F401
from service.groupbuys import models as _groupbuys  # noqa: F401
from service.growth import models as _growth  # noqa: F401
from service.leaders import models as _leaders  # noqa: F401
from service.ledger import models as _ledger  # noqa: F401
from service.notify import models as _notify  # noqa: F401
from service.orders import models as _orders  # noqa: F401
from service.procurement import models as _procurement  # noqa: F401

metadata = SQLModel.metadata

# Tables shared by all tenants (Citus reference tables); every other table is tenant-owned.
PLATFORM_TABLES = frozenset({"tenant"})


def tenant_tables() -> list[str]:
    return sorted(t.name for t in metadata.sorted_tables if "tenant_id" in t.columns)
