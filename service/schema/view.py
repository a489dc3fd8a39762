"""GraphQL over HTTP at /graphql: GET and POST, `application/graphql-response+json` when asked,
the principal resolved before anything runs, refusals with a clear code."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import orjson
from cross_web import HTTPException  # what strawberry answers with a status of its own
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from strawberry.asgi import GraphQL
from strawberry.exceptions import MissingQueryError
from strawberry.http import GraphQLHTTPResponse, async_base_view
from strawberry.http.parse_content_type import parse_content_type
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types import ExecutionResult, SubscriptionExecutionResult
from strawberry.types.graphql import OperationType

from service.errors import AuthError
from service.logs import request_id_from
from service.schema.context import Context
from service.tenants.resolution import resolve_principal

GRAPHQL_RESPONSE = "application/graphql-response+json"


@lru_cache(maxsize=256)
def _content_type(header: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    mime, params = parse_content_type(header)
    return mime, tuple(params.items())


def _parse_content_type(header: str) -> tuple[str, dict[str, str]]:
    """strawberry's parse, kept per header value: it builds an email.message.Message for every
    request, and a service sees a handful of distinct content types."""
    mime, params = _content_type(header)
    return mime, dict(params)


if getattr(async_base_view, "parse_content_type", None) is parse_content_type:
    async_base_view.parse_content_type = _parse_content_type

class _StreamCheck(type):
    # strawberry asks of every result whether it is a subscription's stream, against a runtime
    # Protocol: typing inspects each member statically (~40k instructions, 2 % of an orderPlace).
    # A plain result or a batch's list is answered at once; anything else is asked as before.
    def __instancecheck__(cls, obj: object) -> bool:
        return type(obj) not in (ExecutionResult, list) and isinstance(obj, SubscriptionExecutionResult)


class _SubscriptionResult(metaclass=_StreamCheck):
    pass


if getattr(async_base_view, "SubscriptionExecutionResult", None) is SubscriptionExecutionResult:
    async_base_view.SubscriptionExecutionResult = _SubscriptionResult

_POST_OPERATIONS = OperationType.from_http("POST")
_HTTP_CODES = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED", 413: "REQUEST_TOO_LARGE"}


def _wants_graphql_response(request: Request) -> bool:
    return GRAPHQL_RESPONSE in request.headers.get("accept", "")


def error_response(request: Request, code: str, message: str, status: int) -> Response:
    body = {"errors": [{"message": message, "extensions": {"code": code}}]}
    media = GRAPHQL_RESPONSE if _wants_graphql_response(request) else "application/json"
    return Response(json.dumps(body), status_code=status, media_type=media)


# GraphiQL from this service's own files (service/web/vendor/graphiql/): it works offline.
_GRAPHIQL_PAGE = Path(__file__).parents[1] / "web" / "vendor" / "graphiql" / "index.html"


class GraphQLView(GraphQL):
    async def render_graphql_ide(self, request: Request) -> Response:
        return HTMLResponse(_GRAPHIQL_PAGE.read_text(encoding="utf-8"))

    # orjson: the same JSON; an order's body and answer in 0.7 µs against the stdlib's 5.3.
    # Its JSONDecodeError is json's, which strawberry answers with a 400.
    def decode_json(self, data: str | bytes) -> object:
        value = orjson.loads(data)
        # A body (bytes; a GET's variables come as text, and strawberry checks those) must be an
        # object (or a batch): strawberry reads fields off it, and a string or null was a 500.
        if isinstance(data, bytes) and not isinstance(value, dict | list):
            raise HTTPException(400, "The request body must be a JSON object.")
        return value

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)

    async def run(self, request: Request, context: Any = None, root_value: Any = None) -> Response:  # type: ignore[override]
        request.state.request_id = request_id_from(request.headers.get("x-request-id"))
        if request.method in ("GET", "POST") and not self._is_ide_request(request):
            try:
                request.state.principal = await resolve_principal(request.headers)
            except AuthError as e:
                return error_response(request, e.code, e.message, e.status)
        try:
            response = await self._plain_post(request) if self._is_plain_post(request) else None
            if response is None:
                response = await super().run(request)
        except HTTPException as e:  # strawberry's own refusals (body, method, batching): JSON with a code
            response = error_response(request, _HTTP_CODES.get(e.status_code, "BAD_REQUEST"), e.reason, e.status_code)
        response.headers["x-request-id"] = request.state.request_id
        if _wants_graphql_response(request) and response.media_type == "application/json":
            response.headers["content-type"] = GRAPHQL_RESPONSE
            # graphql-response+json: a request that could not be executed at all is a 400.
            if getattr(request.state, "not_executed", False):
                response.status_code = 400
        return response

    def _is_plain_post(self, request: Request) -> bool:
        """A POST of one JSON operation, answered as JSON: the request nearly every client sends."""
        if request.method != "POST":
            return False
        headers = request.headers
        return (_content_type(headers.get("content-type", ""))[0] == "application/json"
                and not self._streams(headers.get("accept", "")))

    @lru_cache(maxsize=256)  # noqa: B019 - one view per process; a handful of distinct Accept values
    def _streams(self, accept: str) -> bool:
        return any(transport.accepts(accept) for transport in self._stream_transport_map.values())

    async def _plain_post(self, request: Request) -> Response | None:
        """strawberry's own steps for such a request (`run`, `parse_http_body`, `execute_single`,
        `create_response`), the same answers and refusals, without its per-request dispatch over
        methods, transports, batches and sub-responses (~6 % of an orderPlace). None: a batch,
        which strawberry's path answers (the body stays cached on the request)."""
        data = self.parse_json(await request.body())
        if isinstance(data, list):
            return None
        query = data.get("query")
        if not isinstance(query, str | None):
            raise HTTPException(400, "The GraphQL operation's `query` must be a string or null, if provided.")
        variables = data.get("variables")
        if not isinstance(variables, dict | None):
            raise HTTPException(400, "The GraphQL operation's `variables` must be an object or null, if provided.")
        extensions = data.get("extensions")
        if not isinstance(extensions, dict | None):
            raise HTTPException(400, "The GraphQL operation's `extensions` must be an object or null, if provided.")
        context = await self.get_context(request, None)  # type: ignore[arg-type] - no sub-response is used
        try:
            result = await self.schema.execute(
                query, root_value=await self.get_root_value(request), variable_values=variables,
                context_value=context, operation_name=data.get("operationName"),
                allowed_operation_types=_POST_OPERATIONS, operation_extensions=extensions,
            )
        except CannotGetOperationTypeError as e:
            raise HTTPException(400, e.as_http_error_reason()) from e
        except InvalidOperationTypeError as e:
            raise HTTPException(400, e.as_http_error_reason("POST")) from e
        except MissingQueryError as e:
            raise HTTPException(400, "No GraphQL query found in the request") from e
        response_data = await self.process_result(request, result)
        if result.errors:
            self._handle_errors(result.errors, response_data)
        return Response(self.encode_json(response_data), status_code=200, media_type="application/json")

    def _is_ide_request(self, request: Request) -> bool:
        return (
            request.method == "GET"
            and "text/html" in request.headers.get("accept", "")
            and "query" not in request.query_params
        )

    async def get_context(self, request: Request, response: Response) -> Context:  # type: ignore[override]
        principal = getattr(request.state, "principal", None)
        if principal is None:
            principal = await resolve_principal(request.headers)
        return Context(request, principal)

    async def process_result(self, request: Request, result: ExecutionResult) -> GraphQLHTTPResponse:
        if result.data is None and result.errors:
            request.state.not_executed = True
        return await super().process_result(request, result)
