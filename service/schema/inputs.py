"""Input types built by a converter compiled once per type, through strawberry's `from_input` hook.

strawberry converts an argument's value field by field on every request, resolving each field's
annotation again (`resolve_type`, `eval_type`): about 8 % of an orderPlace's own work. Its
`StrawberryObjectDefinition.from_input` is the hook that integrations (strawberry.pydantic) use
to build their own input values; `built_once` gives one of our input types a definition with such
a hook, which resolves the fields' types on first use and then only copies values. The result is
the same instance strawberry would build (tests/test_inputs.py compares them).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from strawberry.schema.compat import is_scalar
from strawberry.types.arguments import InputContext
from strawberry.types.base import (
    StrawberryList,
    StrawberryMaybe,
    StrawberryObjectDefinition,
    StrawberryOptional,
    StrawberryType,
    has_object_definition,
)
from strawberry.types.enum import StrawberryEnumDefinition
from strawberry.types.scalar import ScalarDefinition, ScalarWrapper

T = TypeVar("T", bound=type)
Convert = Callable[[Any, InputContext, tuple[str | int, ...]], Any]
# (GraphQL name, Python name, converter or None when the value is kept as it is)
Plan = list[tuple[str, str, Convert | None]]

_plans: dict[type, tuple[Plan, dict[str, None]]] = {}


def built_once(cls: T) -> T:
    """Our input type `cls` (already `@strawberry.input`), built by a compiled converter."""
    definition: StrawberryObjectDefinition = cls.__strawberry_definition__  # type: ignore[attr-defined]  # set by @strawberry.input
    assert definition.is_input and definition.from_input is None, cls
    cls.__strawberry_definition__ = dataclasses.replace(definition, from_input=_build)  # type: ignore[attr-defined]  # our own class, as strawberry.pydantic does for its types
    return cls


def _build(cls: type, value: Mapping[str, Any], context: InputContext) -> Any:
    found = _plans.get(cls)
    if found is None:
        found = _plans[cls] = _plan(cls, context)
    plan, implicit = found
    kwargs: dict[str, Any] = dict(implicit)
    for graphql_name, python_name, convert in plan:
        if graphql_name in value:
            item = value[graphql_name]
            kwargs[python_name] = item if convert is None or item is None else convert(item, context, (graphql_name,))
    return cls(**kwargs)


def _plan(cls: type, context: InputContext) -> tuple[Plan, dict[str, None]]:
    definition: StrawberryObjectDefinition = cls.__strawberry_definition__  # type: ignore[attr-defined]  # an input type
    names = context.config.name_converter
    plan: Plan = []
    for field in definition.fields:
        assert field.python_name is not None
        type_ = field.resolve_type(type_definition=definition)
        plan.append((names.from_field(field), field.python_name, _converter(type_, context.scalar_registry)))
    # As strawberry does: a field with no default is None unless given (graphql-core has checked
    # that the required ones are).
    implicit = {f.python_name: None for f in definition.fields
                if f.python_name and f.default_value is dataclasses.MISSING
                and f.default_factory is dataclasses.MISSING}
    return plan, implicit


def _converter(type_: StrawberryType | type,
               scalars: Mapping[object, ScalarWrapper | ScalarDefinition]) -> Convert | None:
    """None: the value needs no conversion (a scalar or an enum, as graphql-core parsed it)."""
    if isinstance(type_, StrawberryMaybe):  # null means something else there: not built here
        raise TypeError("built_once: Maybe fields are converted by strawberry")
    if isinstance(type_, StrawberryOptional):
        return _converter(type_.of_type, scalars)
    if isinstance(type_, StrawberryList):
        item = _converter(type_.of_type, scalars)
        if item is None:
            return lambda value, context, path: list(value)  # a copy: graphql-core shares defaults
        return lambda value, context, path: [
            None if x is None else item(x, context, (*path, i)) for i, x in enumerate(value)
        ]
    if isinstance(type_, StrawberryEnumDefinition) or is_scalar(type_, scalars):
        return None
    if has_object_definition(type_) and type_.__strawberry_definition__.from_input is _build:
        nested: type = type_

        def build(value: Any, context: InputContext, path: tuple[str | int, ...]) -> Any:
            return _build(nested, value, dataclasses.replace(context, path=(*context.path, *path)))

        return build
    return _generic(type_)


def _generic(type_: StrawberryType | type) -> Convert:
    """strawberry's own conversion, for what the compiled one does not cover."""
    return lambda value, context, path: context.convert(value, type_, *path)
