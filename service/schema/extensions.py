"""Request guards and the request's lifecycle: limits before any database work, one commit
at the end, and internal errors masked (the trace goes to the log with the request id).

Validation is bounded: a cheap walk estimates what validating a document costs (`query_cost`)
and refuses one over `max_query_cost` before graphql-core's validation runs, whose cost grows
with the square of the fields that share a response name. Parsed documents are kept per query
text, validation results per normalised document (graphql-core's `print_ast`), so comments and
whitespace do not defeat the cache."""

from __future__ import annotations

import logging
import re
from collections import OrderedDict
from collections.abc import AsyncIterator
from contextvars import Token
from typing import Any

from graphql import (
    ArgumentNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    StringValueNode,
    VariableNode,
    Visitor,
    parse,
    print_ast,
    validate,
    visit,
)
from strawberry.extensions import SchemaExtension
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule

from service.config import get_settings
from service.errors import AuthError, PermissionDenied
from service.i18n import localize, msg
from service.logs import operation_var
from service.memo import MISSING, ByIdentity
from service.observability.graphql import Observability
from service.schema.times import enter_tenant_zone, leave_tenant_zone

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
                    localize(msg("page.size_exceeded", limit=limit, value=value), "PAGE_SIZE_EXCEEDED"),
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


class _Parsed:
    """A parsed document and what the guards learn of it once."""

    __slots__ = ("document", "key", "cost")

    def __init__(self, document: DocumentNode) -> None:
        self.document = document
        self.key: str | None = None  # the normalised text, found when first validated
        self.cost: int | None = None


class _Lru(OrderedDict[Any, Any]):
    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def remember(self, key: Any, value: Any) -> Any:
        self[key] = value
        if len(self) > self.size:
            self.popitem(last=False)
        return value

    def recall(self, key: Any) -> Any:
        value = self.get(key)
        if value is not None:
            self.move_to_end(key)
        return value


class _TooMany(Exception):
    pass


PAIR_WEIGHT = 8  # pairs compared per field's worth of validation work (measured: 4-10)


def query_cost(document: DocumentNode, limit: int) -> int:
    """What validating the document costs, in fields: every field selection (a fragment counted
    where it is spread), plus, for fields that share a response name in one selection set, each
    pair and the fields below it, over PAIR_WEIGHT (graphql-core's overlap check compares each
    such pair, sub-selections included: 500 copies of `me{tenant{id}}` took 1.5 s to validate).
    Stops with `limit + 1` once past `limit`; linear in the document (each fragment is walked
    once; a cycle counts nothing here: validation reports it)."""
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    walked: dict[str, tuple[int, dict[str, list[int]]]] = {}
    spent = 0

    def charge(cost: int) -> None:
        nonlocal spent
        spent += cost
        if spent > limit:
            raise _TooMany

    def walk(selection_set: SelectionSetNode | None, open_: frozenset[str]) -> tuple[int, dict[str, list[int]]]:
        """(the cost of this selection set and below, response name -> [fields, fields below])."""
        before = spent
        names: dict[str, list[int]] = {}
        for selection in selection_set.selections if selection_set is not None else ():
            if isinstance(selection, FieldNode):
                charge(1)
                below = walk(selection.selection_set, open_)[0] if selection.selection_set else 0
                part = {(selection.alias or selection.name).value: [1, below]}
            elif isinstance(selection, InlineFragmentNode):
                part = walk(selection.selection_set, open_)[1]
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name in walked:
                    charge(walked[name][0])
                else:
                    fragment = fragments.get(name)
                    if fragment is None or name in open_:
                        continue
                    walked[name] = walk(fragment.selection_set, open_ | {name})
                part = walked[name][1]
            else:
                continue
            for key, (count, below) in part.items():
                seen = names.setdefault(key, [0, 0])
                if seen[0]:  # pairs with each field of that name already seen, and what is below
                    charge(count * seen[0] * (1 + (below + seen[1]) // (count + seen[0])) // PAIR_WEIGHT)
                seen[0] += count
                seen[1] += below
        return spent - before, names

    try:
        for definition in document.definitions:
            if isinstance(definition, OperationDefinitionNode):
                walk(definition.selection_set, frozenset())
    except (_TooMany, RecursionError):
        return limit + 1
    return spent


class Guards(SchemaExtension):
    """Parses through a parser cache under the token limit, bounds and runs the (cached)
    validation with the extra rules (depth, aliases, introspection), then the page-size cap and
    the NUL check that need the variables; commits the request's transaction at the end when
    nothing unexpected happened, else rolls back, and replaces unexpected errors by a generic
    one that carries the request id. One extension: strawberry's runner builds every
    extension's hooks anew for each phase of each request."""

    def __init__(self, *, max_tokens: int, max_cost: int, rules: tuple | list = (),
                 hide_suggestions: bool = False) -> None:
        self.max_tokens = max_tokens
        self.max_cost = max_cost
        self.rules = tuple(rules)
        self.hide_suggestions = hide_suggestions

    def _check(self) -> None:
        """Parses and validates up front, in the operation's hook (one hook instead of three: the
        runner's cost grows with each): strawberry then skips its own parse (a document is set)
        and its validation (errors are set), and answers these errors as its own."""
        ec = self.execution_context
        ec.parse_options["max_tokens"] = self.max_tokens
        if not ec.query or ec.graphql_document is not None:
            return
        parsed = _parsed.recall(ec.query)
        fresh = parsed is None
        if parsed is None:
            try:
                parsed = _Parsed(parse(ec.query, max_tokens=self.max_tokens))
            except GraphQLError:
                return  # strawberry parses it again and answers the syntax error as a request error
        document = ec.graphql_document = parsed.document
        errors = self._validate(ec.schema, parsed, tuple(ec.validation_rules))
        if fresh and parsed.cost is not None and parsed.cost > self.max_cost:
            _refused.remember(ignored_tokens_out(ec.query), True)
        if fresh and not errors and len(ec.query) <= _KEEP_TEXT:  # only valid documents are kept
            _parsed.remember(ec.query, parsed)
        if not errors:
            errors = page_size_errors(document, ec.variables)
        if not errors:
            errors = nul_errors(document, ec.variables)
        ec.pre_execution_errors = errors

    def _too_complex(self) -> GraphQLError:
        return GraphQLError(too_complex(self.max_cost), extensions={"code": "QUERY_TOO_COMPLEX"})

    def _validate(self, schema: Any, parsed: _Parsed, given: tuple) -> list[GraphQLError]:
        document = parsed.document
        if parsed.cost is None:
            parsed.cost = query_cost(document, self.max_cost)
        if parsed.cost > self.max_cost:
            return [self._too_complex()]
        if parsed.key is None:
            parsed.key = print_ast(document)
        rules = given + self.rules + (MaybeNullValidationRule, OneOfInputValidationRule)
        key = (id(schema), parsed.key, _rule_kinds(rules), self.hide_suggestions)
        if _validated.recall(key) is not None:
            return []
        errors = validate(schema.graphql_schema, document, rules, hide_suggestions=self.hide_suggestions)
        if not errors:  # errors hold their document's nodes: only successes are kept
            _validated.remember(key, True)
        return errors

    async def on_operation(self) -> AsyncIterator[None]:
        self._check()
        yield
        await self._finish()

    async def _finish(self) -> None:
        ec = self.execution_context
        context = ec.context
        result = ec.result
        unexpected = False
        if result is not None and result.errors:
            result.errors, unexpected = mask_errors(result.errors, getattr(context, "request_id", None),
                                                    ec.operation_name)
        if not hasattr(context, "finish"):
            return
        # A result that is wholly null was not delivered: nothing of it is committed. A sibling
        # cancelled mid-statement (graphql-core cancels them when a non-null field fails) leaves
        # the transaction unusable; a rollback is what it needs.
        commit = not unexpected and result is not None and result.data is not None
        try:
            await context.finish(commit=commit)
        except Exception as error:  # noqa: BLE001 - a failed commit: the request did not happen
            if result is None:
                raise
            log.error("internal error finishing %s (request %s)", ec.operation_name or "anonymous operation",
                      context.request_id, exc_info=error)
            result.data = None
            result.errors = [internal_error(context.request_id)]


class ObservedGuards(Observability, Guards):
    """Observability's hooks with the guards inside its context (as when Observability came
    first in the list and Guards second), in one extension: strawberry's runner builds each
    extension's hooks anew for every phase of every request, and calls each extension's
    `get_results`, so one extension costs less than two."""

    _executing_token: Token[str | None] | None = None
    _zone_token: Token[Any] | None = None

    def _before(self) -> None:
        self._check()
        self._zone_token = enter_tenant_zone(self.execution_context.context)  # the times it returns
        # Observability's on_execute, done here when the operation will execute (strawberry
        # executes a parsed document of an allowed type once validation left no errors): an
        # execution hook costs strawberry's runner per request, so this class has none.
        ec = self.execution_context
        if ec.graphql_document is not None and ec.pre_execution_errors == [] and self._allowed():
            self._executing_token = self._executing()

    def _allowed(self) -> bool:
        ec = self.execution_context
        try:
            return ec.operation_type in ec.allowed_operations
        except Exception:  # noqa: BLE001 - no such operation: strawberry refuses it
            return False

    async def _after(self) -> None:
        self._end()  # the execution is over: the guards' work comes after it, as it did
        await self._finish()

    def _end(self) -> None:
        token, self._executing_token = self._executing_token, None
        if token is not None:
            operation_var.reset(token)
        zone_token, self._zone_token = self._zone_token, None
        if zone_token is not None:
            leave_tenant_zone(zone_token)

    on_operation = Observability.on_operation
    on_execute = SchemaExtension.on_execute  # type: ignore[assignment]  # the base's: no hook, see _before


# Kept: valid documents of up to _KEEP_TEXT characters (what clients send again and again), by
# their text, and which normalised documents passed validation; both bounded (a document's AST
# is about 40 times its text).
_KEEP_TEXT = 8192
_parsed: _Lru = _Lru(1024)  # query text -> _Parsed
_validated: _Lru = _Lru(2048)  # (schema, normalised document, rule kinds, hiding) -> True
_refused: _Lru = _Lru(1024)  # texts without comments and extra spacing, refused for their cost -> True
_kinds: dict[tuple, tuple] = {}  # a rule list (the same few per process) -> its key part


# Strings (kept as they are), and runs of whitespace, commas and comments (one space).
_IGNORED = re.compile(r'("""(?:\\"""|(?!""")[\s\S])*"""|"(?:\\[\s\S]|[^"\\\n\r])*")|(?:[\s,\ufeff]|#[^\n\r]*)+')


_IGNORED_ONLY = re.compile(r"(?:[\s,\ufeff]|#[^\n\r]*)+")


def _ignored_out(match: re.Match[str]) -> str:
    return match.group(1) if match.group(1) is not None else " "


def too_complex(max_cost: int) -> str:
    return (f"The query is too complex: it costs more than {max_cost} (each field selection counts,"
            " fragments where they are spread, and fields repeated under one name count again for each"
            " repeat); ask for fewer fields.")


def refused_before(query: str) -> bool:
    """Whether the query was refused for its cost before, give or take comments and spacing: the
    view answers it again without parsing it (a parse of the largest allowed takes ~20 ms)."""
    return query not in _parsed and bool(_refused) and _refused.recall(ignored_tokens_out(query)) is not None


def ignored_tokens_out(query: str) -> str:
    """The query with its comments dropped and whitespace and commas made one space: texts that
    differ only there are the same document."""
    if '"' not in query:  # no strings: one substitution in C
        return _IGNORED_ONLY.sub(" ", query).strip()
    return _IGNORED.sub(_ignored_out, query).strip()


def _rule_kinds(rules: tuple) -> tuple:
    kinds = _kinds.get(rules)
    if kinds is None:
        kinds = tuple(r if isinstance(r, type) else type(r) for r in rules)
        if len(_kinds) < 64:
            _kinds[rules] = kinds
    return kinds


def internal_error(request_id: str, error: GraphQLError | None = None) -> GraphQLError:
    return GraphQLError(
        f"Internal server error (request {request_id}).",
        nodes=error.nodes if error is not None else None, path=error.path if error is not None else None,
        extensions={"code": "INTERNAL_SERVER_ERROR", "requestId": request_id},
    )


def mask_errors(errors: list[GraphQLError], request_id: str | None,
                operation: str | None) -> tuple[list[GraphQLError], bool]:
    """The errors as the client sees them, and whether any was unexpected (each logged with the
    request id, and shown only as a generic error that carries it)."""
    request_id = request_id or "unknown"
    cleaned, unexpected = [], False
    for error in errors:
        shown = _expected(error)
        if shown is None:
            unexpected = True
            log.error("internal error in %s (request %s)", operation or "anonymous operation", request_id,
                      exc_info=error.original_error)
            shown = internal_error(request_id, error)
        cleaned.append(shown)
    return cleaned, unexpected


def _expected(error: GraphQLError) -> GraphQLError | None:
    """The client-facing form of an error we meant to raise, or None for a bug."""
    original = error.original_error
    if original is None:
        return error
    if isinstance(original, AuthError):
        return GraphQLError(localize(original.message, original.code), nodes=error.nodes, path=error.path,
                            extensions={"code": original.code})
    if isinstance(original, PermissionDenied):
        return GraphQLError(localize(original.message, "FORBIDDEN"), nodes=error.nodes, path=error.path,
                            extensions={"code": "FORBIDDEN"})
    if isinstance(original, GraphQLError):
        return GraphQLError(original.message, nodes=error.nodes, path=error.path,
                            extensions=original.extensions)
    return None
