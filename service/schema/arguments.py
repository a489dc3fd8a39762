"""Field arguments converted by a plan made once per field, not by walking the types per request.

strawberry's `convert_arguments` looks up every argument's and input field's GraphQL name, type
and kind on each call (about 30 µs for orderPlace's input, a third of what the rest of the
mutation costs in Python). The plan here does the same conversion: leaves (scalars, enums) as
they come, lists copied, input objects built with keyword arguments and their fields'
implicit None. Anything it does not plan for (Maybe, GlobalID, input types with their own
`from_input`) is converted by strawberry's own `convert_argument`, argument by argument.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import MISSING
from typing import Any

from strawberry.relay.types import GlobalID
from strawberry.types import arguments as strawberry_arguments
from strawberry.types.base import StrawberryList, StrawberryMaybe, StrawberryOptional, has_object_definition
from strawberry.types.enum import has_enum_definition
from strawberry.types.lazy_type import LazyType
from strawberry.types.unset import UNSET

from service.memo import ByIdentity

Converter = Callable[[Any], Any]


class _Unplanned(Exception):
    """A type the plan leaves to strawberry."""


def _identity(value: Any) -> Any:
    return value


def _converter(type_: Any, registry: Mapping[object, Any], config: Any, made: dict[int, Converter]) -> Converter:
    """What `convert_argument(value, type_)` computes, for every value, without the lookups."""
    if isinstance(type_, StrawberryMaybe):
        raise _Unplanned
    if isinstance(type_, StrawberryOptional):
        # None and UNSET pass through every converter below, as they do in strawberry.
        return _converter(type_.of_type, registry, config, made)
    if isinstance(type_, StrawberryList):
        of = type_.of_type
        if strawberry_arguments._is_leaf_type(of, registry, skip_classes=(GlobalID,)) or (
            strawberry_arguments._is_optional_leaf_type(of, registry, skip_classes=(GlobalID,))
        ):
            # Copied: graphql-core hands every request the same default list.
            return lambda value: value if value is None or value is UNSET else list(value)
        item = _converter(of, registry, config, made)
        return lambda value: value if value is None or value is UNSET else [item(x) for x in value]
    if type_ is GlobalID:
        raise _Unplanned
    if strawberry_arguments._is_leaf_type(type_, registry) or has_enum_definition(type_):
        return _identity
    if isinstance(type_, LazyType):
        return _converter(type_.resolve_type(), registry, config, made)
    if has_object_definition(type_):
        return _input_converter(type_, registry, config, made)
    raise _Unplanned


def _input_converter(cls: Any, registry: Mapping[object, Any], config: Any, made: dict[int, Converter]) -> Converter:
    known = made.get(id(cls))
    if known is not None:
        return known
    definition = cls.__strawberry_definition__
    if definition.from_input is not None:
        raise _Unplanned
    defaults = (
        {f.python_name: None for f in definition.fields if f.default_value is MISSING and f.default_factory is MISSING}
        if definition.is_input
        else {}
    )
    fields: list[tuple[str, str, Converter | None]] = []

    def build(value: Any) -> Any:
        if value is None or value is UNSET:
            return value
        kwargs = dict(defaults)
        for graphql_name, python_name, convert in fields:
            if graphql_name in value:
                kwargs[python_name] = value[graphql_name] if convert is None else convert(value[graphql_name])
        return cls(**kwargs)

    made[id(cls)] = build  # before its fields: an input may contain itself
    for field in definition.fields:
        convert = _converter(field.resolve_type(type_definition=definition), registry, config, made)
        fields.append(
            (config.name_converter.from_field(field), field.python_name, None if convert is _identity else convert)
        )
    return build


def _plan(arguments: list[Any], registry: Mapping[object, Any], config: Any) -> list[tuple[str, str, Any]]:
    """Per argument: its GraphQL name, its Python name, and its converter (None: as it comes), or
    its type when strawberry converts it."""
    plan = []
    for argument in arguments:
        name = config.name_converter.from_argument(argument)
        try:
            convert: Any = _converter(argument.type, registry, config, {})
        except _Unplanned:
            plan.append((name, argument.python_name, ("strawberry", argument.type)))
            continue
        plan.append((name, argument.python_name, None if convert is _identity else convert))
    return plan


_plans: ByIdentity[list[tuple[str, str, Any]]] = ByIdentity(65536)  # a field's argument list -> its plan


def convert_arguments(
    value: dict[str, Any],
    arguments: list[Any],
    scalar_registry: Mapping[object, Any],
    config: Any,
    info: Any = None,
) -> dict[str, Any]:
    """Drop-in for strawberry's `convert_arguments`; plans are kept per field's argument list."""
    if not arguments:
        return {}
    plan = _plans.get(arguments, None)
    if plan is None:
        plan = _plans.put(arguments, _plan(arguments, scalar_registry, config))
    kwargs: dict[str, Any] = {}
    for name, python_name, convert in plan:
        if name in value:
            given = value[name]
            if convert is None:
                kwargs[python_name] = given
            elif type(convert) is tuple:
                kwargs[python_name] = strawberry_arguments.convert_argument(
                    given, convert[1], scalar_registry, config, info, path=(name,)
                )
            else:
                kwargs[python_name] = convert(given)
    return kwargs


def install() -> None:
    """Field resolvers convert their arguments with the plans (strawberry's schema converter
    looks the function up by name at each call)."""
    from strawberry.schema import schema_converter

    schema_converter.convert_arguments = convert_arguments  # type: ignore[assignment]
