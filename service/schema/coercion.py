"""Variable coercion compiled per input type.

graphql-core coerces a request's variables by walking the value and dispatching on the type at
every step (`is_non_null_type`, `is_list_type`, … for each field of each line), after a
separate walk that guards against values nested too deeply; an orderPlace's input spends more
there than its resolver spends in Python. Here each input type gets, once, a function that does
the same steps with the dispatch already taken. It follows `coerce_input_value` line for line:
the same result, and `Undefined` in the same cases, after which graphql-core reports the errors
from the original value as always. The depth walk is skipped for types whose nesting cannot
exceed the limit (any type that does not contain itself); others keep it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphql import (
    GraphQLInputObjectType,
    GraphQLList,
    GraphQLNonNull,
    Undefined,
    assert_leaf_type,
    is_required_input_field,
)
from graphql.execution import values as graphql_values
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
            out = []
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
        deepest: int | None = 0
        for field in type_.fields.values():
            d = depth(field.type, inner_open)
            if d is None:
                deepest = None
                break
            deepest = max(deepest, d)
        result = None if deepest is None else deepest + 1
    else:
        result = 0
    if not _open or result is None:  # a bound found inside an open cycle may not hold from outside
        _depths.put(type_, result)
    return result


_graphql_coerce = graphql_values.coerce_input_value
_graphql_too_deep = graphql_values.input_is_nested_too_deeply


def coerce_input_value(value: Any, type_: Any) -> Any:
    return coercer(type_)(value)


def input_is_nested_too_deeply(value: Any, type_: Any) -> bool:
    bound = depth(type_)
    if bound is not None and bound <= MAX_NESTING_DEPTH:
        return False
    return _graphql_too_deep(value, type_)


def install() -> None:
    """Variables coerced by the compiled functions (graphql-core's module functions replaced, so
    every execution of every schema in the process uses them)."""
    if getattr(_graphql_coerce, "__module__", "") == "graphql.utilities.coerce_input_value":
        graphql_values.coerce_input_value = coerce_input_value
    if getattr(_graphql_too_deep, "__module__", "") == "graphql.execution.values":
        graphql_values.input_is_nested_too_deeply = input_is_nested_too_deeply
