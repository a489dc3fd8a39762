"""Request guards and the request's lifecycle: limits before any database work, one commit
at the end, and internal errors masked (the trace goes to the log with the request id)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

from graphql import (
    ArgumentNode,
    DocumentNode,
    GraphQLError,
    IntValueNode,
    StringValueNode,
    VariableNode,
    Visitor,
    visit,
)
from strawberry.extensions import SchemaExtension
from strawberry.extensions.parser_cache import _get_parse_cache
from strawberry.schema.schema import validate_document

from service.config import get_settings
from service.errors import AuthError, PermissionDenied
from service.memo import MISSING, ByIdentity

log = logging.getLogger("service.graphql")


class _FirstArguments(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.values: list[ArgumentNode] = []

    def enter_argument(self, node: ArgumentNode, *_: Any) -> None:
        if node.name.value == "first":
            self.values.append(node)


def _variable_defaults(document: DocumentNode) -> dict[str, Any]:
    defaults: dict[str, Any] = {}
    for definition in document.definitions:
        for var in getattr(definition, "variable_definitions", None) or ():
            if isinstance(var.default_value, IntValueNode):
                defaults[var.variable.name.value] = int(var.default_value.value)
    return defaults


# What the guards need from a document, found once per parsed document (the parser cache hands
# the same document object back for the same query): its `first` arguments, its variables'
# defaults and its string literals holding NUL.
_facts: ByIdentity[tuple[list[ArgumentNode], dict[str, Any], list[StringValueNode]]] = ByIdentity(4096)


def _document_facts(document: DocumentNode) -> tuple[list[ArgumentNode], dict[str, Any], list[StringValueNode]]:
    facts = _facts.get(document)
    if facts is MISSING:
        firsts, literals = _FirstArguments(), _StringLiterals()
        visit(document, firsts)
        visit(document, literals)
        facts = _facts.put(document, (firsts.values, _variable_defaults(document), literals.nul))
    return facts


def page_size_errors(document: DocumentNode, variables: dict[str, Any] | None) -> list[GraphQLError]:
    first_arguments, defaults, _ = _document_facts(document)
    if not first_arguments:
        return []
    limit = get_settings().max_page_size
    values = {**defaults, **(variables or {})}
    errors = []
    for arg in first_arguments:
        if isinstance(arg.value, IntValueNode):
            value: Any = int(arg.value.value)
        elif isinstance(arg.value, VariableNode):
            value = values.get(arg.value.name.value)
        else:
            continue
        if isinstance(value, int) and (value > limit or value < 0):
            errors.append(
                GraphQLError(
                    f"'first' must be between 0 and {limit}; asked for {value}.",
                    nodes=[arg],
                    extensions={"code": "PAGE_SIZE_EXCEEDED"},
                )
            )
    return errors


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


class _StringLiterals(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.nul: list[StringValueNode] = []

    def enter_string_value(self, node: StringValueNode, *_: Any) -> None:
        if "\x00" in node.value:
            self.nul.append(node)


def nul_errors(document: DocumentNode, variables: dict[str, Any] | None) -> list[GraphQLError]:
    """PostgreSQL text cannot hold NUL: refuse it in any string, literal or variable, up front."""
    nul = _document_facts(document)[2]
    if nul or _has_nul(variables or {}):
        return [GraphQLError("Text may not contain NUL (\\u0000) characters.", nodes=nul or None,
                             extensions={"code": "INVALID"})]
    return []


class Guards(SchemaExtension):
    """Parses through the shared parser cache under the token limit, runs the (cached) validation
    with the extra rules (depth, aliases, introspection), then the page-size cap and the NUL check
    that need the variables. One extension with two hooks: strawberry builds every extension's
    hooks anew for each request, so the parser cache, token limit and rules live here rather than
    in their own extensions."""

    def __init__(self, *, max_tokens: int, rules: tuple = (), parser_cache_size: int = 4096) -> None:
        self.max_tokens = max_tokens
        self.rules = tuple(rules)
        self.parse = _get_parse_cache(parser_cache_size)

    def on_parse(self) -> Iterator[None]:
        ec = self.execution_context
        ec.parse_options["max_tokens"] = self.max_tokens
        ec.graphql_document = self.parse(ec.query, **ec.parse_options)
        yield

    def on_validate(self) -> Iterator[None]:
        ec = self.execution_context
        ec.validation_rules = ec.validation_rules + self.rules
        if ec.pre_execution_errors is None and ec.graphql_document is not None:
            errors = list(_validate(ec.schema, ec.query or "", ec.graphql_document, tuple(ec.validation_rules)))
            if not errors:
                errors = page_size_errors(ec.graphql_document, ec.variables)
            if not errors:
                errors = nul_errors(ec.graphql_document, ec.variables)
            ec.pre_execution_errors = errors
        yield


_validation_cache: dict[tuple[int, str, tuple], tuple[GraphQLError, ...]] = {}
_rule_kinds: dict[tuple, tuple] = {}  # a rule list (the same few per process) -> its key part


def _validate(schema: Any, query: str, document: DocumentNode, rules: tuple) -> tuple[GraphQLError, ...]:
    kinds = _rule_kinds.get(rules)
    if kinds is None:
        kinds = tuple(r if isinstance(r, type) else type(r) for r in rules)
        if len(_rule_kinds) < 64:
            _rule_kinds[rules] = kinds
    key = (id(schema), query, kinds)
    hit = _validation_cache.get(key)
    if hit is None:
        hit = tuple(validate_document(schema._schema, document, rules))
        if len(_validation_cache) < 2048 and query:
            _validation_cache[key] = hit
    return hit


def _expected(error: GraphQLError) -> GraphQLError | None:
    """The client-facing form of an error we meant to raise, or None for a bug."""
    original = error.original_error
    if original is None:
        return error
    if isinstance(original, AuthError):
        return GraphQLError(original.message, nodes=error.nodes, path=error.path,
                            extensions={"code": original.code})
    if isinstance(original, PermissionDenied):
        return GraphQLError(original.message, nodes=error.nodes, path=error.path,
                            extensions={"code": "FORBIDDEN"})
    if isinstance(original, GraphQLError):
        return GraphQLError(original.message, nodes=error.nodes, path=error.path,
                            extensions=original.extensions)
    return None


class RequestLifecycle(SchemaExtension):
    """Commits the request's transaction when nothing unexpected happened, else rolls back;
    replaces unexpected errors by a generic one that carries the request id."""

    async def on_operation(self) -> AsyncIterator[None]:
        yield
        ec = self.execution_context
        context = ec.context
        result = ec.result
        unexpected = False
        if result is not None and result.errors:
            cleaned = []
            for error in result.errors:
                shown = _expected(error)
                if shown is None:
                    unexpected = True
                    log.error(
                        "internal error in %s (request %s)", ec.operation_name or "anonymous operation",
                        context.request_id, exc_info=error.original_error,
                    )
                    shown = GraphQLError(
                        f"Internal server error (request {context.request_id}).",
                        nodes=error.nodes, path=error.path,
                        extensions={"code": "INTERNAL_SERVER_ERROR", "requestId": context.request_id},
                    )
                cleaned.append(shown)
            result.errors = cleaned
        if hasattr(context, "finish"):
            await context.finish(commit=not unexpected)
