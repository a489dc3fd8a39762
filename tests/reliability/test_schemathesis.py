"""Schemathesis against the served GraphQL schema: generated queries and mutations for every
field, as a tenant admin, never get a 500 nor a leaked internal error (a stack trace, a driver
message, an INTERNAL_SERVER_ERROR). Bounded: a few examples per operation, well under a minute."""

from __future__ import annotations

import json
import time

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.graphql import nodes

from tests.reliability.conftest import SOAK, record

EXAMPLES = 25 if SOAK else 8
LEAK_MARKERS = ("Traceback", "psycopg", "sqlalchemy", "asyncpg", 'File "', "INTERNAL_SERVER_ERROR")

schemathesis.graphql.scalar(
    "Decimal",
    st.decimals(min_value=-1000, max_value=1000, places=2, allow_nan=False).map(
        lambda d: nodes.String(str(d))
    ),
)
schemathesis.graphql.scalar("Date", st.dates().map(lambda d: nodes.String(d.isoformat())))
schemathesis.graphql.scalar(
    "DateTime", st.datetimes(timezones=st.just(None)).map(lambda d: nodes.String(d.isoformat() + "Z"))
)

STATS: dict = {
    "calls": 0,
    "status": {},
    "with_errors": 0,
    "operations": set(),
}


def _check(case, headers: dict) -> None:  # type: ignore[no-untyped-def]
    response = case.call(headers=headers, timeout=30)
    STATS["calls"] += 1
    STATS["status"][response.status_code] = STATS["status"].get(response.status_code, 0) + 1
    text = response.text
    assert response.status_code < 500, (case.body, text[:500])
    leaked = [m for m in LEAK_MARKERS if m in text]
    assert not leaked, (leaked, case.body, text[:500])
    if json.loads(text).get("errors"):
        STATS["with_errors"] += 1


def test_generated_graphql_gets_no_500_and_no_leaked_internal_error(api_url, tenant) -> None:  # type: ignore[no-untyped-def]
    # Operations driven one by one with Hypothesis (schemathesis' own pytest plugin does not run
    # under this pytest): every Query and Mutation field, EXAMPLES generated documents each.
    schema = schemathesis.graphql.from_url(f"{api_url}/graphql")
    headers = {"Authorization": f"Bearer {tenant.admin_token}"}
    started = time.monotonic()
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 30, "every Query and Mutation field"
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def run(case) -> None:  # type: ignore[no-untyped-def]
            _check(case, headers)

        run()
        STATS["operations"].add(operation.label)
    record(
        "schemathesis",
        {
            "calls": STATS["calls"],
            "operations": len(STATS["operations"]),
            "status": STATS["status"],
            "answers_with_graphql_errors": STATS["with_errors"],
            "examples_per_operation": EXAMPLES,
            "seconds": round(time.monotonic() - started, 1),
        },
    )
