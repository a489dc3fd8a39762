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
# seeding now gets through orders, cancellations and their refunds' events, the close, receiving,
# shortages, after-sales requests, 拼团 payment (migration 0040), the outbox relay and password
# resets, and stops at coupons: the demo template's and a claim's INSERT ... SELECT (the claim's
# with clock_timestamp(), service/coupons/claims.py), which Citus does not push down and copies
# into the shards instead, which row-level security refuses. Strict: they fail the run once it passes.
SEEDING = ("seeding stops at coupons: the template's and a claim's INSERT ... SELECT (clock_timestamp() in "
           "the claim's), which Citus copies into the shards, and COPY refuses row-level security")


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
