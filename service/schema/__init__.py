"""The GraphQL schema: each domain's queries and mutations joined in one place."""

from __future__ import annotations

import inspect
from functools import lru_cache
from typing import Any

import strawberry
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import MaxAliasesLimiter, QueryDepthLimiter, SchemaExtension
from strawberry.extensions.context import (
    ExecutingContextManager,
    OperationContextManager,
    ParsingContextManager,
    ValidationContextManager,
)
from strawberry.extensions.runner import SchemaExtensionsRunner
from strawberry.schema.config import StrawberryConfig
from strawberry.schema.name_converter import NameConverter
from strawberry.tools import merge_types
from strawberry.utils.await_maybe import await_maybe

from service.config import get_settings
from service.observability.graphql import Observability
from service.schema import arguments
from service.schema.accounts import AccountsMutation, AccountsQuery
from service.schema.audit import AuditQuery
from service.schema.batches import BatchesMutation, BatchesQuery
from service.schema.catalog import CatalogMutation, CatalogQuery
from service.schema.execution import FastExecutor
from service.schema.extensions import Guards, RequestLifecycle
from service.schema.leaders import LeadersMutation, LeadersQuery
from service.schema.node import NodeQuery
from service.schema.notify import NotifyMutation, NotifyQuery
from service.schema.orders import OrdersMutation, OrdersQuery
from service.schema.procurement import ProcurementMutation, ProcurementQuery

QUERIES: tuple[type, ...] = (NodeQuery, AccountsQuery, CatalogQuery, LeadersQuery, BatchesQuery, OrdersQuery)
MUTATIONS: tuple[type, ...] = (AccountsMutation, CatalogMutation, LeadersMutation, BatchesMutation, OrdersMutation)
QUERIES += (NotifyQuery, ProcurementQuery)
QUERIES += (AuditQuery,)
MUTATIONS += (NotifyMutation, ProcurementMutation)


_GENERATOR, _ASYNC_GENERATOR = 1, 2
_NO_RESULTS = SchemaExtension.get_results
# (extension class, hook name) -> (kind, hook function): strawberry finds and wraps every
# extension's hooks anew for each phase of each request (inspect, contextmanager, update_wrapper).
_hooks: dict[tuple[type, str], tuple[int, Any] | None] = {}


def _hook(cls: type, name: str) -> tuple[int, Any] | None:
    key = (cls, name)
    if key not in _hooks:
        fn = getattr(cls, name)
        if fn is getattr(SchemaExtension, name):
            found = None
        elif inspect.isgeneratorfunction(fn):
            found = (_GENERATOR, fn)
        elif inspect.isasyncgenfunction(fn):
            found = (_ASYNC_GENERATOR, fn)
        else:
            found = (0, None)  # a plain callable: strawberry's own wrapping
        _hooks[key] = found
    return _hooks[key]


def _after(exc: BaseException | None, raised: BaseException, stop: type[BaseException]) -> BaseException | None:
    """What goes on after a hook resumed with `exc` (None: no error) raised `raised`: None when it
    ended (`stop`; a thrown exception is then suppressed, unless that is what ended it), else what
    it raised, which the outer hooks then see."""
    if isinstance(raised, stop):
        return exc if raised is exc else None
    return raised


def _fix_context(new: BaseException, seen: BaseException | None, phase: BaseException | None) -> None:
    """A hook's own exception chains to what that hook saw, not to the phase's exception that was
    being handled when it was raised (contextlib's ExitStack does the same)."""
    while True:
        context = new.__context__
        if context is None or context is seen:
            return
        if context is phase:
            break
        new = context
    new.__context__ = seen


def _close(gen: Any, exc: BaseException | None) -> BaseException | None:
    """Resumes a sync hook at its yield, as contextlib's context manager does on exit: with the
    exception the phase ended with (thrown in), or None. What propagates afterwards: None (ended
    or suppressed), the same exception, or one the hook raised instead."""
    try:
        if exc is None:
            next(gen)
        else:
            gen.throw(exc)
    except BaseException as raised:
        return _after(exc, raised, StopIteration)
    raise RuntimeError("generator didn't stop" if exc is None else "generator didn't stop after throw()")


async def _aclose(gen: Any, exc: BaseException | None) -> BaseException | None:
    """The same for an async hook."""
    try:
        if exc is None:
            await gen.__anext__()
        else:
            await gen.athrow(exc)
    except BaseException as raised:
        return _after(exc, raised, StopAsyncIteration)
    raise RuntimeError("generator didn't stop" if exc is None else "generator didn't stop after throw()")


class _Phase:
    """One phase's hooks, entered in the extensions' order and left in reverse, with the
    semantics of strawberry's context managers (an exception is thrown into each hook on the way
    out, as contextlib does, which may suppress it for the outer hooks or replace it), driving
    the hooks' generators directly instead of through a context-manager object per hook and an
    exit stack per phase."""

    __slots__ = ("extensions", "name", "fallback", "stack", "entered")

    def __init__(self, extensions: list[SchemaExtension], name: str, fallback: Any) -> None:
        self.extensions, self.name, self.fallback = extensions, name, fallback
        self.stack: Any = None
        self.entered: list[tuple[int, Any]] = []

    def _hooks(self) -> list[tuple[int, Any, SchemaExtension]] | None:
        found = []
        for extension in self.extensions:
            hook = _hook(type(extension), self.name)
            if hook is None:
                continue
            if hook[1] is None:
                return None
            found.append((hook[0], hook[1], extension))
        return found

    def __enter__(self) -> None:
        hooks = self._hooks()
        if hooks is None:
            self.stack = self.fallback(self.extensions)
            return self.stack.__enter__()
        try:
            for kind, fn, extension in hooks:
                if kind == _ASYNC_GENERATOR:
                    raise RuntimeError(
                        f"SchemaExtension hook {extension}.{self.name} failed to complete synchronously."
                    )
                gen = fn(extension)
                try:
                    next(gen)
                except StopIteration:
                    raise RuntimeError("generator didn't yield") from None
                self.entered.append((kind, gen))
        except BaseException as e:  # the hooks already entered are left, with the error
            self.__exit__(type(e), e, e.__traceback__)
            raise
        return None

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> bool:
        if self.stack is not None:
            return bool(self.stack.__exit__(exc_type, exc, tb))
        current = exc
        while self.entered:
            seen, current = current, _close(self.entered.pop()[1], current)
            if current is not None and current is not seen:
                _fix_context(current, seen, exc)
        return self._outcome(exc, current)

    async def __aenter__(self) -> None:
        hooks = self._hooks()
        if hooks is None:
            self.stack = self.fallback(self.extensions)
            return await self.stack.__aenter__()
        try:
            for kind, fn, extension in hooks:
                gen = fn(extension)
                try:
                    if kind == _ASYNC_GENERATOR:
                        await gen.__anext__()
                    else:
                        next(gen)
                except (StopIteration, StopAsyncIteration):
                    raise RuntimeError("generator didn't yield") from None
                self.entered.append((kind, gen))
        except BaseException as e:  # the hooks already entered are left, with the error
            await self.__aexit__(type(e), e, e.__traceback__)
            raise
        return None

    async def __aexit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> bool:
        if self.stack is not None:
            return bool(await self.stack.__aexit__(exc_type, exc, tb))
        current = exc
        while self.entered:
            kind, gen = self.entered.pop()
            seen = current
            current = await _aclose(gen, current) if kind == _ASYNC_GENERATOR else _close(gen, current)
            if current is not None and current is not seen:
                _fix_context(current, seen, exc)
        return self._outcome(exc, current)

    @staticmethod
    def _outcome(exc: BaseException | None, current: BaseException | None) -> bool:
        """As strawberry's managers: the phase's own exception goes on even when a hook suppressed
        it (that only changes what the outer hooks see); one a hook raised instead replaces it."""
        if current is None or current is exc:
            return False
        context = current.__context__
        try:
            raise current
        except BaseException:
            current.__context__ = context  # the chain the hooks made, not the raise's own
            raise


class _Runner(SchemaExtensionsRunner):
    def operation(self) -> Any:
        return _Phase(self.extensions, "on_operation", OperationContextManager)

    def validation(self) -> Any:
        return _Phase(self.extensions, "on_validate", ValidationContextManager)

    def parsing(self) -> Any:
        return _Phase(self.extensions, "on_parse", ParsingContextManager)

    def executing(self) -> Any:
        return _Phase(self.extensions, "on_execute", ExecutingContextManager)

    async def get_extensions_results(self, ctx: Any) -> dict[str, Any]:
        # strawberry awaits every extension's get_results(); ours keep the base one, which has none.
        data: dict[str, Any] = {}
        for extension in self.extensions:
            if type(extension).get_results is not _NO_RESULTS:
                data.update(await await_maybe(extension.get_results()))
        data.update(ctx.extensions_results)
        return data


class Schema(strawberry.Schema):
    def process_errors(self, errors, execution_context=None):  # type: ignore[no-untyped-def]
        """Expected errors are not logged; RequestLifecycle logs the unexpected ones with the request id."""

    def create_extensions_runner(self, execution_context: Any, extensions: list[SchemaExtension]) -> Any:
        return _Runner(execution_context=execution_context, extensions=extensions)


def build_schema(*, introspection: bool | None = None) -> strawberry.Schema:
    arguments.install()
    s = get_settings()
    introspection = s.introspection_enabled if introspection is None else introspection
    limit_rules = [
        *QueryDepthLimiter(max_depth=s.max_query_depth).validation_rules,
        *MaxAliasesLimiter(max_alias_count=s.max_aliases).validation_rules,
    ]
    if not introspection:
        limit_rules.append(NoSchemaIntrospectionCustomRule)
    extensions: list = [
        Observability,  # first: log context, span and metrics label around everything else
        # The parser cache, token limit and extra rules (built once: strawberry's depth and alias
        # extensions make a new rule class per request, which defeated the validation cache).
        lambda: Guards(max_tokens=s.max_query_tokens, rules=limit_rules, parser_cache_size=4096),
        RequestLifecycle,
    ]
    return Schema(
        query=merge_types("Query", QUERIES),
        mutation=merge_types("Mutation", MUTATIONS),
        extensions=extensions,
        config=StrawberryConfig(name_converter=CachedNames()),
        execution_context_class=FastExecutor,
    )


class CachedNames(NameConverter):
    """strawberry converts every input field's and argument's name to camelCase again on each
    request (a generator per name); the names are few and fixed, so each is converted once."""

    def __init__(self) -> None:
        super().__init__(auto_camel_case=True)
        self._names: dict[str, str] = {}

    def apply_naming_config(self, name: str) -> str:
        converted = self._names.get(name)
        if converted is None:
            converted = self._names[name] = super().apply_naming_config(name)
        return converted


@lru_cache
def schema() -> strawberry.Schema:
    return build_schema()


def sdl() -> str:
    return build_schema(introspection=True).as_str() + "\n"
