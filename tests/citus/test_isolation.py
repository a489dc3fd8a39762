"""Invariant 6 on the cluster: the single node's metadata-driven isolation tests, unchanged,
through the coordinator as the app role (the shards enforce the policies)."""

from tests.test_tenant_isolation import (  # noqa: F401 - collected here, against the cluster
    test_app_role_owns_nothing_and_cannot_bypass_rls,
    test_every_table_is_tenant_owned_or_declared_platform,
    test_every_view_applies_the_callers_row_level_security,
    test_every_view_reads_with_the_callers_row_level_security,
    test_no_row_of_another_tenant_is_visible_or_writable,
    test_rls_is_forced_on_every_tenant_table,
    test_tenant_setting_does_not_leak_past_the_transaction,
    test_without_a_tenant_the_app_role_sees_nothing,
)
