"""Variable coercion compiled per input type, used by our executor's `build`.

graphql-core coerces a request's variables by walking the value and dispatching on the type at
every step (`is_non_null_type`, `is_list_type`, … for each field of each line), after a
separate walk that guards against values nested too deeply; an orderPlace's input spends more
there than its resolver spends in Python. Here each input type gets, once, a function that does
the same steps with the dispatch already taken. It follows `coerce_input_value` line for line:
the same result, and `Undefined` in the same cases.

`prepare` answers only when every variable coerces and no value can nest past graphql-core's
depth limit (types that do not contain themselves); otherwise it answers None and the executor
builds through graphql-core's own `build`, which then reports the errors as always. Nothing of
graphql-core is replaced: it is called, and its public names are read.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphql import (
    GraphQLError,
    GraphQLInputObjectType,
    GraphQLList,
    GraphQLNonNull,
    Undefined,
    assert_leaf_type,
    is_required_input_field,
)
from graphql.execution import VariableValues
from graphql.execution.collect_fields import FragmentDetails
from graphql.execution.get_variable_signature import get_variable_signature
from graphql.execution.values import VariableValueSource
from graphql.language import DocumentNode, FragmentDefinitionNode, OperationDefinitionNode
from graphql.language.parser import MAX_NESTING_DEPTH
from graphql.pyutils import is_iterable
from graphql.utilities.coerce_input_value import coerce_default_value

from service.memo import MISSING, ByIdentity

Coercer = Callable[[Any], Any]
_coercers: ByIdentity[Coercer] = ByIdentity(8192)
_depths: ByIdentity[int | None] = ByIdentity(8192)


def coercer(type_: Any) -> Coercer:
    """The coercing function of an input type (kept as long as the type lives)."""
    found = _coercers.get(type_)
    if found is MISSING:
        found = _compile(type_)
    return found


def _compile(type_: Any) -> Coercer:
    if isinstance(type_, GraphQLNonNull):
        inner = coercer(type_.of_type)

        def non_null(value: Any) -> Any:
            if value is None or value is Undefined:
                return Undefined
            return inner(value)

        return _coercers.put(type_, non_null)
    if isinstance(type_, GraphQLList):
        item = coercer(type_.of_type)

        def list_(value: Any) -> Any:
            if value is None or value is Undefined:
                return None
            if not is_iterable(value):  # a non-list value is a list of one
                coerced = item(value)
                return Undefined if coerced is Undefined else [coerced]
            out: list[Any] = []
            append = out.append
            for entry in value:
                coerced = item(entry)
                if coerced is Undefined:
                    return Undefined
                append(coerced)
            return out

        return _coercers.put(type_, list_)
    if isinstance(type_, GraphQLInputObjectType):
        return _input_object(type_)
    coerce = assert_leaf_type(type_).coerce_input_value

    def leaf(value: Any) -> Any:
        if value is None or value is Undefined:
            return None
        try:
            return coerce(value)
        except Exception:  # noqa: BLE001 - invalid: graphql-core reports it from the original value
            return Undefined

    return _coercers.put(type_, leaf)


def _input_object(type_: GraphQLInputObjectType) -> Coercer:
    fields: list[tuple[str, str, Any, bool, Any]] = []
    names = type_.fields
    one_of = type_.is_one_of
    out_type = type_.out_type

    def input_object(value: Any) -> Any:
        if value is None or value is Undefined:
            return None
        if not isinstance(value, dict):
            return Undefined
        defined = 0
        for name, field_value in value.items():
            if field_value is Undefined:
                continue
            defined += 1
            if name not in names:
                return Undefined
        coerced: dict[str, Any] = {}
        for name, out_name, coerce, required, field in fields:
            field_value = value.get(name, Undefined)
            if field_value is Undefined:
                if required:
                    return Undefined
                default = coerce_default_value(field)
                if default is not Undefined:
                    coerced[out_name] = default
            else:
                result = coerce(field_value)
                if result is Undefined:
                    return Undefined
                coerced[out_name] = result
        if one_of:
            keys = list(coerced)
            if defined != 1 or len(keys) != 1 or coerced[keys[0]] is None:
                return Undefined
        return out_type(coerced)

    _coercers.put(type_, input_object)  # before its fields: an input type may contain itself
    for name, field in type_.fields.items():
        fields.append((name, field.out_name or name, coercer(field.type), is_required_input_field(field), field))
    return input_object


def depth(type_: Any, _open: frozenset[int] = frozenset()) -> int | None:
    """How deep a value of the type can nest as graphql-core's depth guard counts (each list and
    input object one level), or None when the type contains itself and so has no bound."""
    found = _depths.get(type_)
    if found is not MISSING:
        return found
    if isinstance(type_, GraphQLNonNull):
        result = depth(type_.of_type, _open)
    elif isinstance(type_, GraphQLList):
        inner = depth(type_.of_type, _open)
        result = None if inner is None else inner + 1
    elif isinstance(type_, GraphQLInputObjectType):
        if id(type_) in _open:
            return None
        inner_open = _open | {id(type_)}
        bounds = [depth(field.type, inner_open) for field in type_.fields.values()]
        result = None if None in bounds else max((b for b in bounds if b is not None), default=0) + 1
    else:
        result = 0
    if not _open or result is None:  # a bound found inside an open cycle may not hold from outside
        _depths.put(type_, result)
    return result


class Operation:
    """What `build` finds in a document for one operation name, found once: the operation, its
    fragments, and per variable its signature and compiled coercer. Only for documents whose
    fragments take no variables and whose variables' types are bounded in depth."""

    __slots__ = ("schema", "operation", "fragment_definitions", "fragments", "variables")

    def __init__(self, schema: Any, operation: OperationDefinitionNode,
                 fragment_definitions: dict[str, FragmentDefinitionNode],
                 variables: list[tuple[str, Any, Coercer, bool, bool]]) -> None:
        self.schema = schema
        self.operation = operation
        self.fragment_definitions = fragment_definitions
        self.fragments = {name: FragmentDetails(d, None) for name, d in fragment_definitions.items()}
        self.variables = variables

    def coerce(self, inputs: dict[str, Any]) -> VariableValues | None:
        """The variables as graphql-core's `get_variable_values` makes them, or None where it
        would report an error (or could: a default that fails to coerce)."""
        sources: dict[str, VariableValueSource] = {}
        coerced: dict[str, Any] = {}
        for name, signature, coerce, non_null, has_default in self.variables:
            value = inputs.get(name, Undefined)
            if value is Undefined:
                sources[name] = VariableValueSource(signature)
                if has_default:
                    try:
                        default = coerce_default_value(signature)
                    except TypeError:  # graphql-core reports it
                        return None
                    if default is not Undefined:
                        coerced[name] = default
                    continue
                if non_null:
                    return None
                continue
            sources[name] = VariableValueSource(signature, value)
            value = coerce(value)
            if value is Undefined:
                return None
            coerced[name] = value
        return VariableValues(sources, coerced)


_NONE: Any = object()
# document -> {operation name: Operation | _NONE}; as many as the parser keeps (each entry holds its
# document alive: a document that is not kept churns through here, bounded)
_operations: ByIdentity[dict[str | None, Any]] = ByIdentity(1024)


def prepare(schema: Any, document: DocumentNode, operation_name: str | None) -> Operation | None:
    """The document's operation prepared for compiled coercion, or None: graphql-core's way."""
    by_name = _operations.get(document)
    if by_name is MISSING:
        by_name = _operations.put(document, {})
    found = by_name.get(operation_name)
    if found is None or (found is not _NONE and found.schema is not schema):
        if len(by_name) >= 8:  # names are the caller's: a document keeps a few
            by_name.clear()
        found = by_name[operation_name] = _prepare(schema, document, operation_name) or _NONE
    return None if found is _NONE else found


def _prepare(schema: Any, document: DocumentNode, operation_name: str | None) -> Operation | None:
    operation: OperationDefinitionNode | None = None
    fragments: dict[str, FragmentDefinitionNode] = {}
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            if operation_name is None:
                if operation is not None:
                    return None  # several operations and no name: graphql-core's error
                operation = definition
            elif definition.name and definition.name.value == operation_name:
                operation = definition
        elif isinstance(definition, FragmentDefinitionNode):
            if definition.variable_definitions:
                return None
            fragments[definition.name.value] = definition
    if operation is None:
        return None
    variables = []
    for node in operation.variable_definitions or ():
        signature = get_variable_signature(schema, node)
        if isinstance(signature, GraphQLError):  # graphql-core reports it
            return None
        bound = depth(signature.type)
        if bound is None or bound > MAX_NESTING_DEPTH:
            return None
        variables.append((signature.name, signature, coercer(signature.type),
                          isinstance(signature.type, GraphQLNonNull), node.default_value is not None))
    return Operation(schema, operation, fragments, variables)
