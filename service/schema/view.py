"""GraphQL over HTTP at /graphql: GET and POST, `application/graphql-response+json` when asked,
the principal resolved before anything runs, refusals with a clear code."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import orjson
from cross_web import HTTPException  # what strawberry answers with a status of its own
from graphql import FieldNode, GraphQLError, OperationDefinitionNode, parse
from graphql.language import OperationType as OperationTypeNode
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from strawberry.asgi import GraphQL
from strawberry.exceptions import MissingQueryError
from strawberry.http import GraphQLHTTPResponse
from strawberry.http.parse_content_type import parse_content_type
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType

from service.config import get_settings
from service.errors import AuthError
from service.i18n import localize, parse_accept_language, reset_language, set_language
from service.logs import request_id_from
from service.schema.access import permission_of
from service.schema.context import Context
from service.schema.extensions import mask_errors, refused_before, too_complex
from service.tenants.principal import Principal
from service.tenants.resolution import check_principal, resolve_principal

GRAPHQL_RESPONSE = "application/graphql-response+json"


@lru_cache(maxsize=256)
def _content_type(header: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    mime, params = parse_content_type(header)
    return mime, tuple(params.items())


_POST_OPERATIONS = OperationType.from_http("POST")
_own_checks: dict[str, bool] = {}
_ACCOUNT_REFUSALS = frozenset({"INVALID_TOKEN", "TOKEN_EXPIRED"})


def _only_fields(query: str, names: frozenset[str]) -> bool:
    """One mutation whose root selections are all fields among `names` (no fragments, no
    directives: nothing that could add another field)."""
    try:
        document = parse(query)
    except GraphQLError:
        return False
    operations = document.definitions
    if len(operations) != 1 or not isinstance(operations[0], OperationDefinitionNode):
        return False
    operation = operations[0]
    if operation.operation is not OperationTypeNode.MUTATION or operation.directives:
        return False
    selections = operation.selection_set.selections
    return bool(selections) and all(
        isinstance(s, FieldNode) and s.name.value in names and not s.directives for s in selections
    )
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

    async def run(self, request: Request, context: Any = None, root_value: Any = None) -> Response:  # type: ignore[override]  # the base's signature differs; we are called as the base is
        request.state.request_id = request_id_from(request.headers.get("x-request-id"))
        language = set_language(parse_accept_language(request.headers.get("accept-language")))
        try:
            plain = self._is_plain_post(request)
            if request.method in ("GET", "POST") and not self._is_ide_request(request):
                # A plain POST's account check waits for its query: orderPlace makes it itself.
                request.state.principal = await resolve_principal(request.headers, check_account=not plain)
            response = await self._plain_post(request) if plain else None
            if response is None:
                response = await super().run(request)
        except AuthError as e:  # refused before any resolver: still answered with the request id
            response = error_response(request, e.code, localize(e.message, e.code), e.status)
        except HTTPException as e:  # strawberry's own refusals (body, method, batching): JSON with a code
            response = error_response(request, _HTTP_CODES.get(e.status_code, "BAD_REQUEST"), e.reason, e.status_code)
        finally:
            reset_language(language)
        response.headers["x-request-id"] = request.state.request_id
        response.headers.add_vary_header("Accept-Language")
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

    def _checks_own_account(self, query: str) -> bool:
        """Whether every field the document can run checks the caller's account in its own
        statement (`@requires(..., roles_in_sql=True)`: orderPlace), so the request needs no
        check of its own. Decided once per document text."""
        found = _own_checks.get(query)
        if found is None:
            if len(_own_checks) >= 256:
                _own_checks.clear()
            found = _own_checks[query] = _only_fields(query, self._own_check_fields())
        return found

    def _own_check_fields(self) -> frozenset[str]:
        if self._own_fields is None:
            mutation = self.schema.get_type_by_name("Mutation")
            names = self.schema.config.name_converter
            fields = getattr(mutation, "fields", [])
            self._own_fields = frozenset(
                names.get_graphql_name(f) for f in fields
                if f.base_resolver is not None
                and getattr(permission_of(f.base_resolver.wrapped_func), "roles_in_sql", False)
            )
        return self._own_fields

    _own_fields: frozenset[str] | None = None

    @staticmethod
    @lru_cache(maxsize=256)
    def _streams(accept: str) -> bool:
        """Whether the client accepts a streamed answer (multipart or server-sent events), which
        strawberry's own path serves."""
        return "multipart/mixed" in accept or "text/event-stream" in accept

    async def _plain_post(self, request: Request) -> Response | None:
        """strawberry's own steps for such a request (`run`, `parse_http_body`, `execute_single`,
        `create_response`), the same answers and refusals, without its per-request dispatch over
        methods, transports, batches and sub-responses (~6 % of an orderPlace). None: a batch,
        which strawberry's path answers (the body stays cached on the request)."""
        data = self.parse_json(await request.body())
        principal: Principal = request.state.principal
        if isinstance(data, list):
            await check_principal(principal)
            return None
        query = data.get("query")
        if not isinstance(query, str | None):
            raise HTTPException(400, "The GraphQL operation's `query` must be a string or null, if provided.")
        deferred = principal.roles is None and principal.user_id is not None
        if deferred and not (query and self._checks_own_account(query)):
            await check_principal(principal)
            deferred = False
        if query and refused_before(query):  # answered as the first refusal was, unparsed
            message = too_complex(get_settings().max_query_cost)
            if _wants_graphql_response(request):
                return error_response(request, "QUERY_TOO_COMPLEX", message, 400)
            error = {"message": message, "extensions": {"code": "QUERY_TOO_COMPLEX"}}
            return Response(self.encode_json({"data": None, "errors": [error]}), media_type="application/json")
        variables = data.get("variables")
        if not isinstance(variables, dict | None):
            raise HTTPException(400, "The GraphQL operation's `variables` must be an object or null, if provided.")
        extensions = data.get("extensions")
        if not isinstance(extensions, dict | None):
            raise HTTPException(400, "The GraphQL operation's `extensions` must be an object or null, if provided.")
        context = await self.get_context(request, None)  # type: ignore[arg-type]  # no sub-response is used
        root = await self.get_root_value(request)  # type: ignore[func-returns-value]  # None unless overridden
        try:
            result = await self.schema.execute(
                query, root_value=root, variable_values=variables,
                context_value=context, operation_name=data.get("operationName"),
                allowed_operation_types=_POST_OPERATIONS, operation_extensions=extensions,
            )
        except CannotGetOperationTypeError as e:
            raise HTTPException(400, e.as_http_error_reason()) from e
        except InvalidOperationTypeError as e:
            raise HTTPException(400, e.as_http_error_reason("POST")) from e
        except MissingQueryError as e:
            raise HTTPException(400, "No GraphQL query found in the request") from e
        if deferred and result.errors:
            # The account check orderPlace made in its statement refused it: answered as the
            # check before execution answers (401, the code), not as a field's error.
            for refused in result.errors:
                code = (refused.extensions or {}).get("code")
                if code in _ACCOUNT_REFUSALS:
                    return error_response(request, code, refused.message, 401)
        response_data = await self.process_result(request, result)
        return Response(self.encode_json(response_data), status_code=200, media_type="application/json")

    def _is_ide_request(self, request: Request) -> bool:
        return (
            request.method == "GET"
            and "text/html" in request.headers.get("accept", "")
            and "query" not in request.query_params
        )

    async def get_context(self, request: Request, response: Response) -> Context:  # type: ignore[override]  # the base's signature differs; we are called as the base is
        principal = getattr(request.state, "principal", None)
        if principal is None:
            principal = await resolve_principal(request.headers)
        return Context(request, principal)

    async def process_result(self, request: Request, result: ExecutionResult) -> GraphQLHTTPResponse:
        if result.errors:  # the last line: whatever escaped the schema's masking is masked here
            result.errors, _ = mask_errors(result.errors, getattr(request.state, "request_id", None), None)
        response = await super().process_result(request, result)
        # A request error (parse, validation, variables: no error has a path) was not executed:
        # graphql-response+json answers it 400 without a `data` entry (GraphQL over HTTP).
        if result.data is None and result.errors and all(error.path is None for error in result.errors):
            request.state.not_executed = True
            if _wants_graphql_response(request):
                response.pop("data", None)
        return response
