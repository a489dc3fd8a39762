"""Unexpected errors are masked (a generic message with the request id) and logged with it.

Reported: a disabled user's token asking `{ me{roles} orders{…} }` was answered "Can't reconnect
until invalid transaction is rolled back… sqlalche.me/…", with no request id and no log line; so
was a correctly signed token whose tenant is another. `me` failed (the account is refused), so
graphql-core cancelled its sibling `orders` mid-statement; the cancelled statement left the
transaction unusable, the commit that followed raised, and that error escaped every mask."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import strawberry
from graphql import GraphQLError

from service import global_id

ME_AND_ORDERS = "{ me { roles } orders { edges { node { id } } } }"


def _refused_cleanly(response: Any) -> None:
    body = response.json()
    text = response.text
    assert "sqlalche" not in text and "transaction" not in text, body
    assert response.headers.get("x-request-id")
    assert body["errors"] and {e["extensions"]["code"] for e in body["errors"]} == {"INVALID_TOKEN"}, body


def test_a_disabled_users_token_is_refused_cleanly(gql, tenant, make_customer, owner_db) -> None:  # type: ignore[no-untyped-def]
    customer = make_customer(tenant)
    owner_db.execute("UPDATE app_user SET disabled_at = now() WHERE id = %s", (global_id.decode(customer.user_id)[1],))
    for _ in range(5):  # the cancelled sibling is timing-dependent: several tries
        _refused_cleanly(gql.post(ME_AND_ORDERS, token=customer.token))


def test_a_signed_token_of_another_tenants_user_is_refused_cleanly(gql, make_tenant, make_customer) -> None:  # type: ignore[no-untyped-def]
    from service.accounts.credentials import issue_user_token

    first, second = make_tenant(), make_tenant()
    stranger = make_customer(second)
    token = issue_user_token(tenant_id=first.uuid, user_id=global_id.decode(stranger.user_id)[1])
    for _ in range(5):
        _refused_cleanly(gql.post(ME_AND_ORDERS, token=token))


class _Context:
    request_id = "req-42"

    def __init__(self, fail: bool) -> None:
        self.fail = fail
        self.finished: list[bool] = []

    async def finish(self, *, commit: bool) -> None:
        self.finished.append(commit)
        if self.fail:
            raise RuntimeError("Can't reconnect until invalid transaction is rolled back (secret detail)")


@strawberry.type
class _Query:
    @strawberry.field
    def fine(self) -> str:
        return "ok"

    @strawberry.field
    def refused(self) -> str:
        raise GraphQLError("No.", extensions={"code": "INVALID_TOKEN"})


def _schema() -> Any:
    from service.schema import Schema
    from service.schema.extensions import Guards

    return Schema(_Query, extensions=[lambda: Guards(max_tokens=100, max_cost=50)])


def test_a_failed_commit_is_masked_and_logged_with_the_request_id(caplog) -> None:  # type: ignore[no-untyped-def]
    context = _Context(fail=True)
    with caplog.at_level(logging.ERROR, logger="service.graphql"):
        result = asyncio.run(_schema().execute("{ fine }", context_value=context))
    assert context.finished == [True]
    assert result.data is None  # not delivered: it was not committed
    assert [e.message for e in result.errors or []] == ["Internal server error (request req-42)."]
    assert result.errors[0].extensions == {"code": "INTERNAL_SERVER_ERROR", "requestId": "req-42"}  # type: ignore[index]
    assert "secret detail" not in str(result.errors)
    assert "req-42" in caplog.text and "secret detail" in caplog.text  # the trace goes to the log


def test_a_wholly_null_result_is_rolled_back() -> None:
    context = _Context(fail=False)
    asyncio.run(_schema().execute("{ refused }", context_value=context))  # non-null: the whole data is null
    assert context.finished == [False]
    asyncio.run(_schema().execute("{ fine }", context_value=context))
    assert context.finished == [False, True]


def test_an_error_that_escapes_the_schema_is_masked_by_the_view(caplog) -> None:  # type: ignore[no-untyped-def]
    from starlette.requests import Request
    from strawberry.types import ExecutionResult

    from service.schema.view import GraphQLView

    request = Request({"type": "http", "method": "POST", "path": "/graphql", "headers": [], "query_string": b""})
    request.state.request_id = "req-7"
    escaped = GraphQLError("Can't reconnect (secret detail)", original_error=RuntimeError("secret detail"))
    view = GraphQLView(_schema())
    with caplog.at_level(logging.ERROR, logger="service.graphql"):
        body = asyncio.run(view.process_result(request, ExecutionResult(data=None, errors=[escaped])))
    assert body["errors"] == [{"message": "Internal server error (request req-7).",  # type: ignore[typeddict-item]
                               "extensions": {"code": "INTERNAL_SERVER_ERROR", "requestId": "req-7"}}]
    assert "req-7" in caplog.text and "secret detail" in caplog.text
