"""Every request's own lookups go to one shard: the role check, the viewer, an API key's check, the
message language, a customer's coupons, the storefront's offers (with what each has sold) and orders
(with their status as read). A query that finds its tenant through row-level security
alone runs on every shard (32 tasks here, and as many round trips per request); the coordinator logs
each such query while `citus.multi_task_query_log_level` is set, and this reads its log."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from service.config import get_settings
from tests.conftest import sign_in
from tests.coupon_fixtures import MY_COUPONS, make_shop
from tests.test_orders_statements import BATCHES, ORDERS

MULTI = "multi-task query about to be executed"


@pytest.fixture
def fan_out_log(citus_cluster: Any) -> Iterator[Any]:
    """() -> the statements the app role ran on more than one shard since the fixture began."""
    log = Path(citus_cluster.coordinator.pgdata) / "server.log"
    app = f"] {get_settings().app_db_role}: "
    with psycopg.connect(citus_cluster.url(), autocommit=True) as conn:
        conn.execute("ALTER SYSTEM SET log_line_prefix = '%m [%p] %u: '")
        conn.execute("ALTER SYSTEM SET citus.multi_task_query_log_level = 'log'")
        conn.execute("SELECT pg_reload_conf()")
    start = log.stat().st_size

    def statements() -> list[str]:
        with log.open(errors="replace") as f:
            f.seek(start)
            lines = f.read().splitlines()
        found = []
        for i, line in enumerate(lines):
            if MULTI in line and app in line:
                following = [x for x in lines[i + 1:i + 4] if "STATEMENT:" in x]
                found.append(following[0].split("STATEMENT:", 1)[1].strip() if following else line)
        return found

    yield statements
    with psycopg.connect(citus_cluster.url(), autocommit=True) as conn:
        conn.execute("ALTER SYSTEM RESET citus.multi_task_query_log_level")
        conn.execute("ALTER SYSTEM RESET log_line_prefix")
        conn.execute("SELECT pg_reload_conf()")


ME = "{ me { userId displayName roles messageLanguage } }"
LANGUAGE_SET = "mutation { messageLanguageSet(language: \"en\") { errors { code } } }"


def test_a_requests_own_lookups_run_on_one_shard(gql, tenant, make_customer, owner_db, fan_out_log):  # type: ignore[no-untyped-def]
    shop = make_shop(gql, owner_db, tenant)
    template = shop.template(name="满10减1", kind="AMOUNT_OFF", amountOff="1.00", threshold="10.00")
    customer = make_customer(tenant)
    before = len(fan_out_log())
    token = sign_in(gql, tenant.slug, tenant.admin_email, tenant.admin_password)
    assert "TENANT_ADMIN" in gql.data(ME, token=token)["me"]["roles"]
    assert gql.data(LANGUAGE_SET, token=token)["messageLanguageSet"]["errors"] == []
    assert gql.data("{ tenant { slug } }", token=tenant.api_key)["tenant"]["slug"] == tenant.slug
    assert gql.data(ME, token=customer.token)["me"]["roles"] == ["CUSTOMER"]
    claimed = shop.claim(customer.token, template["id"])
    assert claimed["errors"] == [], claimed
    mine = gql.data(MY_COUPONS, {"usable": True}, token=customer.token)["myCoupons"]["edges"]
    assert [e["node"]["template"]["id"] for e in mine] == [template["id"]]
    placed = shop.place(customer.token, [(0, 2), (1, 1)], coupon=mine[0]["node"]["id"])
    assert placed["errors"] == [], placed
    offers = gql.data(BATCHES, {"first": 5}, token=customer.token)["batches"]["edges"][0]["node"]["offers"]
    assert len(offers) == 3 and all(o["remainingStock"] is None for o in offers)
    orders = gql.data(ORDERS, {"first": 5}, token=tenant.admin_token)["orders"]["edges"]
    assert [o["node"]["id"] for o in orders] == [placed["order"]["id"]]
    assert sorted(ln["offer"]["soldQuantity"] for ln in orders[0]["node"]["lines"]) == [1, 2]
    statements = fan_out_log()[before:]
    assert statements == [], "\n".join(statements)
