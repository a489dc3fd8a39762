"""A faster executor for the common case: plain attribute fields.

graphql-core resolves every field alike: a resolve-info object, the resolver (strawberry's
wrapper around `getattr`), then `complete_value`'s type dispatch — about 3 µs a field, and a
catalog page has over a thousand. Per selection set (once per request, shared by every item
of a list) this executor plans which fields are plain: a strawberry field without resolver,
extensions or arguments, or a resolver marked with `preset` whose object carries the value.
Those it reads with `getattr` and coerces itself (a list only when it is empty or null: a
mutation payload's `errors`); anything unusual — a None for a non-null
field, a value of an unexpected class, a coercion that fails — goes to graphql-core's own
path, which then resolves, completes or reports the error exactly as it always did.

It is a graphql-core executor subclass, passed to strawberry as `execution_context_class`: it
overrides its own methods only.

ANSWERS KEPT: an object built from a set of values and never changed afterwards (the
storefront's per-process offers, rebuilt whenever any value they were built from changes) may
carry a dict in a `rendered` attribute. The answer to a selection read wholly from attributes,
at every depth, without error, is kept there under a key of everything it can depend on: the
caller (the context's `cache_key`: tenant, principal kind, user or key, roles) and the
selection's shape (names, aliases, nested shapes; fields with arguments or directives are never
kept); the object itself stands for the data (new values, a new object). Without a `cache_key`
in the context nothing is kept. Answers are shared: nothing may change a result's data after
execution.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, TypeVar, cast

from graphql import (
    BREAK,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    MiddlewareManager,
    Undefined,
    Visitor,
    assert_valid_schema,
    default_field_resolver,
    default_type_resolver,
    is_leaf_type,
    is_object_type,
    visit,
)
from graphql.pyutils import Path, gather_with_cancel
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.types.cast import TYPE_CAST_ATTRIBUTE

from service.memo import MISSING, ByIdentity
from service.schema import coercion

F = TypeVar("F", bound=Callable[..., Any])
_LEAF, _OBJECT, _TYPENAME, _OTHER, _LIST = range(5)


def preset(attribute: str) -> Callable[[F], F]:
    """Marks a resolver whose object may carry its value in `attribute` (None: resolve as usual).
    The resolver must return that value itself when it is set, so both paths agree."""

    def mark(fn: F) -> F:
        fn.__preset__ = attribute  # type: ignore[attr-defined]  # a marker attribute on our own function or object
        return fn

    return mark


_attributes: ByIdentity[tuple[str, bool] | None] = ByIdentity(65536)


def _attribute(field_def: Any) -> tuple[str, bool] | None:
    """(attribute, is_preset) when the field's value is an attribute of its source, else None.
    Found once per field definition (they live as long as the schema)."""
    found = _attributes.get(field_def)
    if found is MISSING:
        found = _attributes.put(field_def, _find_attribute(field_def))
    return found


def _find_attribute(field_def: Any) -> tuple[str, bool] | None:
    definition = (field_def.extensions or {}).get("strawberry-definition")
    if definition is None or field_def.args:
        return None
    if definition.is_basic_field:  # strawberry reads it with getattr (no exception handlers here)
        return definition.python_name, False
    resolver = definition.base_resolver
    attribute = getattr(getattr(resolver, "wrapped_func", None), "__preset__", None)
    if attribute and not definition.extensions:
        return attribute, True
    return None


def _origin(object_type: GraphQLObjectType) -> type | None:
    """The strawberry class behind a GraphQL object type."""
    return getattr((object_type.extensions or {}).get("strawberry-definition"), "origin", None)


class _Directives(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.found = False

    def enter_directive(self, *_: Any) -> Any:
        self.found = True
        return BREAK


# Operation -> whether it and its fragments hold no directive and no fragment argument. Such an
# operation's subfields are the same in every request (nothing reads variables, no @defer), and
# the parser cache hands out the same nodes for the same query: what is collected and planned
# for them is kept across requests, keyed by the nodes (held, so their ids stay theirs).
_SHARED_MAX = 4096
_static: ByIdentity[bool] = ByIdentity(_SHARED_MAX)
_shared: dict[tuple, tuple[tuple, Any]] = {}  # (return type, *node ids) -> (nodes, collected)
# A shared field set -> its plan (None until planned); only shared sets are in it.
_shared_plans: ByIdentity[tuple[Any, list[tuple], tuple | None] | None] = ByIdentity(_SHARED_MAX * 2)


def _without_directives(operation: Any, fragments: dict[str, Any]) -> bool:
    static = _static.get(operation)
    if static is MISSING:
        finder = _Directives()
        visit(operation, finder)
        for fragment in fragments.values():
            finder.found = finder.found or bool(fragment.variable_signatures)  # fragment arguments: per request
            visit(fragment.definition, finder)
        static = _static.put(operation, not finder.found)
    return static


def _share(key: tuple, nodes: tuple, collected: Any) -> Any:
    """Keeps fields collected for `nodes` (held, so their ids stay theirs) for later requests."""
    if len(_shared) >= _SHARED_MAX:
        _shared.clear()
        _shared_plans.clear()
    _shared[key] = (nodes, collected)
    _shared_plans.put(collected.grouped_field_set, None)
    return collected


class FastExecutor(StrawberryGraphQLCoreExecutionContext):
    # True in a schema that hides field suggestions ("Did you mean ...?") from variable errors.
    hide_suggestions_always: ClassVar[bool] = False

    @classmethod
    def build(  # noqa: PLR0913 - graphql-core's signature
        cls,
        schema: Any,
        document: Any,
        root_value: Any = None,
        context_value: Any = None,
        raw_variable_values: dict[str, Any] | None = None,
        operation_name: str | None = None,
        field_resolver: Any = None,
        type_resolver: Any = None,
        subscribe_field_resolver: Any = None,
        max_coercion_errors: int = 50,
        enable_early_execution: bool = False,
        middleware: Any = None,
        is_awaitable: Any = None,
        is_async_iterable: Any = None,
        hide_suggestions: bool = False,
        abort_signal: Any = None,
        hooks: Any = None,
        **custom_args: Any,
    ) -> Any:
        """graphql-core's `build`, with the variables coerced by functions compiled per input type
        (see coercion.py) when they all coerce; anything else (an error to report, several
        operations, fragment variables, a type that contains itself) goes through graphql-core's."""
        hide_suggestions = hide_suggestions or cls.hide_suggestions_always
        prepared = coercion.prepare(schema, document, operation_name)
        if prepared is not None and (middleware is None or isinstance(middleware, MiddlewareManager)):
            variable_values = prepared.coerce(raw_variable_values or {})
            if variable_values is not None:
                assert_valid_schema(schema)
                return cls(
                    schema, dict(prepared.fragment_definitions), dict(prepared.fragments), root_value,
                    context_value, prepared.operation, variable_values, field_resolver or default_field_resolver,
                    type_resolver or default_type_resolver, subscribe_field_resolver or default_field_resolver,
                    enable_early_execution, middleware, is_awaitable, is_async_iterable,
                    hide_suggestions=hide_suggestions, abort_signal=abort_signal, hooks=hooks, **custom_args,
                )
        return super().build(
            schema, document, root_value, context_value, raw_variable_values, operation_name, field_resolver,
            type_resolver, subscribe_field_resolver, max_coercion_errors, enable_early_execution, middleware,
            is_awaitable, is_async_iterable, hide_suggestions=hide_suggestions, abort_signal=abort_signal,
            hooks=hooks, **custom_args,
        )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        manager = self.middleware_manager
        self._fast = manager is None or not manager.middlewares
        self._plans: dict[int, tuple[Any, list[tuple], tuple | None]] = {}
        self._generic = 0  # fields resolved the generic way so far: only pure answers are kept
        self._static = self._fast and _without_directives(self.operation, self.fragments)
        self._caller = getattr(self.context_value, "cache_key", None)  # None: no answer is kept

    def collect_subfields(self, return_type: GraphQLObjectType, field_details_list: Any) -> Any:
        if not self._static:
            return super().collect_subfields(return_type, field_details_list)
        if len(field_details_list) == 1:  # the usual case, without building a key of many parts
            node = field_details_list[0].node
            hit = _shared.get((return_type, id(node)))
            if hit is not None and hit[0][0] is node:
                return hit[1]
        nodes = tuple(details.node for details in field_details_list)
        key = (return_type, *map(id, nodes))
        hit = _shared.get(key)
        if hit is not None and all(a is b for a, b in zip(hit[0], nodes, strict=True)):
            return hit[1]
        return _share(key, nodes, super().collect_subfields(return_type, field_details_list))

    def _planned(self, parent_type: GraphQLObjectType, grouped_field_set: Any) -> tuple[Any, list[tuple], tuple | None]:
        # A shared field set (see _static) has a plan shared by every request: it depends only on
        # the document's nodes and the schema, never on a request's values.
        shared = _shared_plans.get(grouped_field_set)
        if shared is not MISSING:
            if shared is None:
                plan = self._plan(parent_type, grouped_field_set)
                shared = _shared_plans.put(grouped_field_set, (grouped_field_set, plan, self._signature(plan)))
            return cast("tuple[Any, list[tuple], tuple | None]", shared)
        key = id(grouped_field_set)
        cached = self._plans.get(key)
        if cached is None or cached[0] is not grouped_field_set:
            plan = self._plan(parent_type, grouped_field_set)
            cached = self._plans[key] = (grouped_field_set, plan, self._signature(plan))
        return cached

    def _signature(self, plan: list[tuple]) -> tuple | None:
        """The selection's shape (names, aliases, nested shapes) when every field of it, at every
        depth, is read from attributes; None when any field has a resolver, arguments or directives."""
        shape: list[tuple] = []
        for entry in plan:
            kind, name, details = entry[0], entry[1], entry[2]
            if kind == _OTHER or kind == _LIST:
                return None
            if kind == _OBJECT:
                child = self._planned(entry[4], self.collect_subfields(entry[4], details).grouped_field_set)[2]
                if child is None:
                    return None
                shape.append((name, details[0].node.name.value, child))
            else:
                shape.append((name, details[0].node.name.value))
        return tuple(shape)

    def _plan(self, parent_type: GraphQLObjectType, grouped_field_set: Any) -> list[tuple]:
        plan = []
        for name, details in grouped_field_set.items():
            node = details[0].node
            field_name = node.name.value
            entry: tuple = (_OTHER, name, details)
            if field_name == "__typename":
                entry = (_TYPENAME, name, details)
            elif not node.arguments and not node.directives:
                field_def = parent_type.fields.get(field_name)
                found = _attribute(field_def) if field_def is not None else None
                if found is not None:
                    attribute, is_preset = found
                    return_type = field_def.type
                    non_null = isinstance(return_type, GraphQLNonNull)
                    named = return_type.of_type if non_null else return_type
                    if is_leaf_type(named) and not is_preset:
                        entry = (_LEAF, name, details, attribute, named.coerce_output_value, non_null)
                    elif is_object_type(named):
                        origin = _origin(named)
                        if origin is not None:
                            entry = (_OBJECT, name, details, attribute, named, origin, non_null, is_preset, return_type)
                    elif isinstance(named, GraphQLList) and not is_preset:
                        entry = (_LIST, name, details, attribute, non_null)
            plan.append(entry)
        return plan

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: Any,
        position_context: Any,
    ) -> Any:
        if not self._fast:
            return super().execute_fields(parent_type, source_value, path, grouped_field_set, position_context)
        _, plan, signature = self._planned(parent_type, grouped_field_set)
        # See ANSWERS KEPT above.
        memo = getattr(source_value, "rendered", None) if signature is not None and self._caller else None
        if type(memo) is not dict:
            return self._execute_plan(parent_type, source_value, path, plan, position_context)
        key = (self._caller, signature)
        answer = memo.get(key)
        if answer is not None:
            return answer
        errors, generic = len(self.collected_errors.errors), self._generic
        answer = self._execute_plan(parent_type, source_value, path, plan, position_context)
        if type(answer) is dict and generic == self._generic and errors == len(self.collected_errors.errors):
            if len(memo) >= 8:
                memo.clear()
            memo[key] = answer
        return answer

    def _execute_plan(self, parent_type: GraphQLObjectType, source_value: Any, path: Path | None,
                      plan: list[tuple], position_context: Any) -> Any:
        results: dict[str, Any] = {}
        awaitable_fields: list[str] = []
        is_awaitable = self.is_awaitable
        type_name = parent_type.name
        try:
            for entry in plan:
                kind, name, details = entry[0], entry[1], entry[2]
                if kind == _LEAF:
                    value = getattr(source_value, entry[3], Undefined)
                    if value is None:
                        if not entry[5]:
                            results[name] = None
                            continue
                    elif value is not Undefined:
                        try:
                            coerced = entry[4](value)
                        except Exception:  # noqa: BLE001 - graphql-core's path reports it
                            coerced = None
                        if coerced is not None and coerced is not Undefined:
                            results[name] = coerced
                            continue
                elif kind == _OBJECT:
                    value = getattr(source_value, entry[3], None)
                    if value is not None and type(value) is entry[5] and not hasattr(value, TYPE_CAST_ATTRIBUTE):
                        field_path = Path(path, name, type_name)
                        object_type, field_type = entry[4], entry[8]
                        try:
                            sub = self.collect_subfields(object_type, details)
                            completed = self.execute_fields(object_type, value, field_path,
                                                            sub.grouped_field_set, None)
                        except Exception as raw_error:
                            # A non-null field re-raises here, to null its parent, as graphql-core does.
                            self.handle_field_error(raw_error, field_type, details, field_path)
                            results[name] = None
                            continue
                        results[name] = completed
                        if is_awaitable(completed):
                            results[name] = self._guarded(completed, field_type, details, field_path)
                            awaitable_fields.append(name)
                        continue
                    if value is None and not entry[7] and not entry[6]:
                        results[name] = None
                        continue
                elif kind == _TYPENAME:
                    results[name] = type_name
                    continue
                elif kind == _LIST:  # an empty list or a null is complete as it is (a payload's `errors`)
                    value = getattr(source_value, entry[3], Undefined)
                    if type(value) is list and not value:
                        results[name] = []
                        continue
                    if value is None and not entry[4]:
                        results[name] = None
                        continue
                self._generic += 1
                result = self.execute_field(parent_type, source_value, details, Path(path, name, type_name),
                                            position_context)
                if result is not Undefined:
                    results[name] = result
                    if is_awaitable(result):
                        awaitable_fields.append(name)
        except Exception:
            if awaitable_fields:
                self.settle_in_background([results[f] for f in awaitable_fields])
            raise
        if not awaitable_fields:
            return results
        return self._gather(results, awaitable_fields)

    def complete_iterable_value(
        self,
        item_type: Any,
        field_details_list: Any,
        info: Any,
        path: Path,
        items: Any,
        position_context: Any,
    ) -> Any:
        """A list of non-null objects of one strawberry type: each item straight to its fields."""
        named = item_type.of_type if isinstance(item_type, GraphQLNonNull) else None
        origin = _origin(named) if named is not None and is_object_type(named) else None
        if (
            origin is None
            or not self._fast
            or not isinstance(items, list | tuple)
            or any(type(item) is not origin or hasattr(item, TYPE_CAST_ATTRIBUTE) for item in items)
            or self.get_stream_usage(field_details_list, path)
        ):
            return super().complete_iterable_value(item_type, field_details_list, info, path, items, position_context)
        named = cast(GraphQLObjectType, named)
        grouped = self.collect_subfields(named, field_details_list).grouped_field_set
        is_awaitable = self.is_awaitable
        results: list[Any] = []
        awaitable_indices: list[int] = []
        try:
            for index, item in enumerate(items):
                item_path = Path(path, index, None)
                try:
                    completed = self.execute_fields(named, item, item_path, grouped, None)
                except Exception as raw_error:
                    self.handle_field_error(raw_error, item_type, field_details_list, item_path)
                    completed = None
                if is_awaitable(completed):
                    completed = self._guarded(completed, item_type, field_details_list, item_path)
                    awaitable_indices.append(index)
                results.append(completed)
        except Exception:
            if awaitable_indices:
                self.settle_in_background([results[i] for i in awaitable_indices])
            raise
        if not awaitable_indices:
            return results
        return self._gather_items(results, awaitable_indices)

    async def _gather_items(self, results: list[Any], indices: list[int]) -> list[Any]:
        values = await gather_with_cancel(*(results[i] for i in indices))
        for i, value in zip(indices, values, strict=True):
            results[i] = value
        return results

    async def _guarded(self, completed: Any, return_type: Any, details: Any, path: Path) -> Any:
        try:
            return await completed
        except Exception as raw_error:  # noqa: BLE001 - as graphql-core's execute_field
            self.handle_field_error(raw_error, return_type, details, path)
            return None

    async def _gather(self, results: dict[str, Any], awaitable_fields: list[str]) -> dict[str, Any]:
        if len(awaitable_fields) == 1:
            name = awaitable_fields[0]
            results[name] = await results[name]
        else:
            values = await gather_with_cancel(*(results[f] for f in awaitable_fields))
            results.update(zip(awaitable_fields, values, strict=True))
        return results


class QuietExecutor(FastExecutor):
    """For a schema without introspection (production): no "Did you mean ...?" in variable errors."""

    hide_suggestions_always = True
