"""Invariant 6 on the cluster: the single node's metadata-driven isolation tests, run unchanged
through the coordinator as the app role (the shards enforce the policies themselves)."""

from tests import test_tenant_isolation as single_node
from tests.test_tenant_isolation import (  # noqa: F401 - collected here, against the cluster
    test_app_role_owns_nothing_and_cannot_bypass_rls,
    test_every_table_is_tenant_owned_or_declared_platform,
    test_every_view_applies_the_callers_row_level_security,
    test_rls_is_forced_on_every_tenant_table,
)

# The tests below seed a tenant with demo data in every domain through the service (orders,
# cancellations, the close, receiving, shortages, after-sales, 拼团, the outbox relay, password
# resets, coupons, the ledger), as on one node.


def test_no_row_of_another_tenant_is_visible_or_writable(seeded_tenant, owner_db, app_db_url):  # type: ignore[no-untyped-def]
    single_node.test_no_row_of_another_tenant_is_visible_or_writable(seeded_tenant, owner_db, app_db_url)


def test_every_view_reads_with_the_callers_row_level_security(seeded_tenant, owner_db, app_db_url):  # type: ignore[no-untyped-def]
    single_node.test_every_view_reads_with_the_callers_row_level_security(seeded_tenant, owner_db, app_db_url)


def test_without_a_tenant_the_app_role_sees_nothing(seeded_tenant, app_db_url):  # type: ignore[no-untyped-def]
    single_node.test_without_a_tenant_the_app_role_sees_nothing(seeded_tenant, app_db_url)


def test_tenant_setting_does_not_leak_past_the_transaction(seeded_tenant, app_db_url):  # type: ignore[no-untyped-def]
    single_node.test_tenant_setting_does_not_leak_past_the_transaction(seeded_tenant, app_db_url)
