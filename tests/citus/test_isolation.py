"""Invariant 6 on the cluster: the single node's metadata-driven isolation tests, run unchanged
through the coordinator as the app role (the shards enforce the policies themselves)."""

import pytest

from tests import test_tenant_isolation as single_node
from tests.test_tenant_isolation import (  # noqa: F401 - collected here, against the cluster
    test_app_role_owns_nothing_and_cannot_bypass_rls,
    test_every_table_is_tenant_owned_or_declared_platform,
    test_every_view_applies_the_callers_row_level_security,
    test_rls_is_forced_on_every_tenant_table,
)

# The tests below seed a tenant with demo data in every domain through the service. On Citus the
# seeding now gets through its orders (place_order delegated even inside a transaction) and stops
# at after-sales refunds: an INSERT ... SELECT that Citus copies into the shards, which row-level
# security refuses. Strict: they fail the run once that passes.
SEEDING = ("seeding stops at after-sales refunds' `INSERT INTO outbox_event ... SELECT ... FROM refund`: "
           "Citus copies an INSERT ... SELECT it cannot push down into the shards, and COPY refuses "
           "row-level security (service code to port to VALUES or a pushed-down form)")


@pytest.mark.xfail(strict=True, reason=SEEDING)
def test_no_row_of_another_tenant_is_visible_or_writable(seeded_tenant, owner_db, app_db_url):  # type: ignore[no-untyped-def]
    single_node.test_no_row_of_another_tenant_is_visible_or_writable(seeded_tenant, owner_db, app_db_url)


@pytest.mark.xfail(strict=True, reason=SEEDING)
def test_every_view_reads_with_the_callers_row_level_security(seeded_tenant, owner_db, app_db_url):  # type: ignore[no-untyped-def]
    single_node.test_every_view_reads_with_the_callers_row_level_security(seeded_tenant, owner_db, app_db_url)


@pytest.mark.xfail(strict=True, reason=SEEDING)
def test_without_a_tenant_the_app_role_sees_nothing(seeded_tenant, app_db_url):  # type: ignore[no-untyped-def]
    single_node.test_without_a_tenant_the_app_role_sees_nothing(seeded_tenant, app_db_url)


@pytest.mark.xfail(strict=True, reason=SEEDING)
def test_tenant_setting_does_not_leak_past_the_transaction(seeded_tenant, app_db_url):  # type: ignore[no-untyped-def]
    single_node.test_tenant_setting_does_not_leak_past_the_transaction(seeded_tenant, app_db_url)
