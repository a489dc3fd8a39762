"""Per-request access helpers shared by every domain's schema.

The request has one AsyncSession, and an AsyncSession must not run two statements at once;
GraphQL resolves sibling fields and DataLoader batches concurrently, so every read here goes
through `serial_session`, which takes a per-request lock.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, TypeVar
from uuid import UUID

from graphql import GraphQLError, OperationType
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.dataloader import DataLoader

from service import global_id
from service.accounts.models import Role
from service.audit.hook import run_recorded
from service.catalog import queries
from service.errors import ErrorCode, FieldError, PermissionDenied, UserErrors
from service.i18n import localize, msg
from service.pagination import BadPage, check_first, decode_cursor
from service.schema.common import UserError
from service.schema.context import ADMIN_ROLES, Context
from service.tenants.principal import PrincipalKind

L = TypeVar("L")
_LOCK = "SessionLock"
_NO_SUPPLIER = object()


@asynccontextmanager
async def serial_session(context: Context) -> AsyncIterator[AsyncSession]:
    lock = context.loaders.get(_LOCK)
    if lock is None:
        lock = context.loaders[_LOCK] = asyncio.Lock()
    async with lock:
        yield await context.session()


class KeyedLoader(DataLoader[Any, Any]):
    """A DataLoader whose each batch of keys is one call of `fetch(session, <keyword>=keys)`
    (plus `tenant_id=` when `pass_tenant`), returning {key: value}; a missing key gets `default`
    (called when callable). One instance per request: see `get_loader`."""

    fetch: Callable[..., Awaitable[dict[Any, Any]]]
    keyword = "ids"
    pass_tenant = False
    default: Any = None

    def __init__(self, context: Context) -> None:
        super().__init__(load_fn=self._load)
        self.context = context

    async def _load(self, keys: Sequence[Any]) -> list[Any]:
        kwargs: dict[str, Any] = {self.keyword: list(keys)}
        if self.pass_tenant:
            kwargs["tenant_id"] = self.context.tenant.id
        async with serial_session(self.context) as session:
            found = await type(self).fetch(session, **kwargs)
        default = self.default
        return [found[k] if k in found else (default() if callable(default) else default) for k in keys]


def get_loader(context: Context, cls: type[L]) -> L:
    """One instance of each DataLoader per request, kept in `context.loaders` under its name."""
    loader = context.loaders.get(cls.__name__)
    if loader is None:
        loader = context.loaders[cls.__name__] = cls(context)  # type: ignore[call-arg]  # strawberry types' generated __init__ is not visible to mypy
    return loader


def load_now(loader: Any, key: Any) -> Any:
    """The loader's value for `key` when it already holds it (primed, or loaded earlier in this
    request), else the awaitable `loader.load(key)`. A resolver that returns a plain value is
    far cheaper for the executor than a coroutine, and a list of 100 offers has 200 of them."""
    if loader.cache:
        future = loader.cache_map.get(key)
        if future is not None and future.done() and not future.cancelled() and future.exception() is None:
            return future.result()
    return loader.load(key)


def then(value: Any, fn: Any) -> Any:
    """`fn(value)` now, or after awaiting it when `value` is awaitable."""
    if inspect.isawaitable(value):

        async def later() -> Any:
            return fn(await value)

        return later()
    return fn(value)


async def roles_of(context: Context) -> frozenset[Role]:
    if context.principal.roles is None and context.principal.user_id is None:
        return frozenset()
    if context.principal.roles is None:
        async with serial_session(context):
            return await context.roles()
    return context.principal.roles


async def is_admin(context: Context) -> bool:
    return bool((await roles_of(context)).intersection(ADMIN_ROLES))


async def viewer_supplier_id(context: Context) -> UUID | None:
    """The supplier whose staff account is calling, or None: loaded once per request."""
    cached = context.loaders.get("ViewerSupplierId", _NO_SUPPLIER)
    if cached is not _NO_SUPPLIER:
        return cached
    value = None
    user_id = context.principal.user_id
    if user_id is not None and Role.SUPPLIER in await roles_of(context):
        async with serial_session(context) as session:
            value = await queries.supplier_id_of_user(session, tenant_id=context.tenant.id, user_id=user_id)
    context.loaders["ViewerSupplierId"] = value
    return value


def decode(value: str | None, type_name: str) -> UUID | None:
    """A UUID, or None for anything that is not one of our IDs of this type (→ NOT_FOUND)."""
    return global_id.decode_as(value, type_name) if value else None


def check_page(first: int | None, after: str | None, *, default: int = 20) -> int:
    """The page size to use (the contract's `first: Int = 20` accepts an explicit null)."""
    size = default if first is None else first
    try:
        check_first(size)
        if after:
            decode_cursor(after)
    except BadPage as e:
        raise GraphQLError(localize(e.args[0], "INVALID"), extensions={"code": "INVALID"}) from None
    return size


def query_error(e: UserErrors) -> GraphQLError:
    """A query cannot return a payload: its input mistakes become one GraphQL error with a code."""
    first = e.errors[0]
    return GraphQLError(
        "; ".join(localize(err.message, err.code.value) for err in e.errors),
        extensions={
            "code": first.code.value,
            "fields": [list(err.field) if err.field else None for err in e.errors],
        },
    )


def in_key_order(values: dict[Any, Any], keys: list[Any], default: Any = None) -> list[Any]:
    """What a DataLoader returns: one value per key, in the keys' order."""
    return [values.get(k, default) for k in keys]


# -- who may call a root field: declared on its resolver -------------------------------------
class Caller(str, Enum):
    """The kinds of principal a root field's declaration names. A user is each of the kinds
    their roles give (a leader is a customer too)."""

    ANONYMOUS = "anonymous"
    CUSTOMER = "customer"
    LEADER = "leader"
    SUPPLIER = "supplier"
    ADMIN = "admin"
    API_KEY = "api_key"
    PLATFORM = "platform"


USERS = frozenset({Caller.CUSTOMER, Caller.LEADER, Caller.SUPPLIER, Caller.ADMIN})
# Who `admins` means everywhere: the tenant's administrators, its back end and the platform.
ADMINS = frozenset({Caller.ADMIN, Caller.API_KEY, Caller.PLATFORM})
EVERYONE = frozenset(Caller)
_BY_ROLE = {
    Role.CUSTOMER: Caller.CUSTOMER,
    Role.LEADER: Caller.LEADER,
    Role.SUPPLIER: Caller.SUPPLIER,
    Role.TENANT_ADMIN: Caller.ADMIN,
    Role.PLATFORM_ADMIN: Caller.ADMIN,
}
_BY_KIND = {
    PrincipalKind.ANONYMOUS: Caller.ANONYMOUS,
    PrincipalKind.API_KEY: Caller.API_KEY,
    PrincipalKind.PLATFORM: Caller.PLATFORM,
}


@dataclass(frozen=True)
class Permission:
    """A root field's declaration: who may call it. Rows the caller may reach (a leader's own
    points, a customer's own orders) narrow further in the resolver or the domain.
    `roles_in_sql`: a user's roles, when the token does not carry them, are checked by the
    statement the field runs (orderPlace's place_order()), sparing its hot path a query."""

    allowed: frozenset[Caller]
    roles_in_sql: bool = False
    every_user: bool = field(init=False)  # what the checks ask on every request, answered once
    some_user: bool = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "every_user", USERS <= self.allowed)
        object.__setattr__(self, "some_user", bool(self.allowed & USERS))

    def admits_now(self, context: Context) -> bool | None:
        """The answer when the principal's kind or the roles it carries give it; None when a
        user's roles must be loaded first."""
        principal = context.principal
        kind = _BY_KIND.get(principal.kind)
        if kind is not None:
            if kind is Caller.PLATFORM and self.allowed != {Caller.PLATFORM}:
                context.tenant  # noqa: B018 - a platform token must still name a tenant here
            return kind in self.allowed
        if self.every_user:
            return True
        if principal.roles is None:
            return self.some_user if self.roles_in_sql else None
        return self._by_roles(principal.roles)

    async def admits(self, context: Context) -> bool:
        verdict = self.admits_now(context)
        return self._by_roles(await roles_of(context)) if verdict is None else verdict

    def _by_roles(self, roles: frozenset[Role]) -> bool:
        return any(_BY_ROLE.get(role) in self.allowed for role in roles)


FnT = TypeVar("FnT", bound=Callable[..., Any])


def permission_of(resolver: Any) -> Permission | None:
    """The declaration on a resolver (or on what it wraps), None when it has none."""
    while resolver is not None:
        found = getattr(resolver, "__permission__", None)
        if found is not None:
            return found
        resolver = getattr(resolver, "__wrapped__", None)
    return None


def requires(*callers: Caller | frozenset[Caller], roles_in_sql: bool = False) -> Callable[[FnT], FnT]:
    """Declares who may call a root field, and refuses anyone else before the resolver runs: a
    FORBIDDEN error in the payload when the field returns one, else a FORBIDDEN GraphQL error.
    Put it under `@strawberry.field` / `@strawberry.mutation`."""
    allowed: set[Caller] = set()
    for c in callers:
        allowed.update(c if isinstance(c, frozenset) else (c,))
    permission = Permission(frozenset(allowed), roles_in_sql)

    def declare(fn: FnT) -> FnT:
        if permission.allowed == EVERYONE:
            if inspect.iscoroutinefunction(fn):
                fn = _rooting_paths(fn)
            fn.__permission__ = permission  # type: ignore[attr-defined]  # a marker attribute on our own function or object
            return fn
        fn = _rooting_paths(fn)
        if not inspect.iscoroutinefunction(fn):
            raise TypeError(f"{fn.__qualname__}: a restricted root field's resolver must be async")
        payload: list[Any] = []
        # What someone other than a customer may change goes on record (service/audit).
        recorded = bool(permission.allowed - _OWN_RECORD)

        @functools.wraps(fn)
        async def checked(*args: Any, **kwargs: Any) -> Any:
            context = kwargs["info"].context
            verdict = permission.admits_now(context)  # no coroutine on the hot path
            if verdict or (verdict is None and await permission.admits(context)):
                if recorded and _is_root_mutation(kwargs["info"]):
                    return await _recorded(context, kwargs, lambda: fn(*args, **kwargs))
                return await fn(*args, **kwargs)
            denied = PermissionDenied(
                "Sign in first." if context.principal.kind is PrincipalKind.ANONYMOUS
                else "You are not allowed to do this."
            )
            if not payload:
                payload.append(_payload_type(fn))
            if payload[0] is None:
                raise denied
            return payload[0](errors=[UserError.of(FieldError(ErrorCode.FORBIDDEN, denied.message))])

        checked.__permission__ = permission  # type: ignore[attr-defined]  # a marker attribute on our own function or object
        return checked  # type: ignore[return-value]  # the wrapper keeps the resolver's signature for strawberry

    return declare


_OWN_RECORD = frozenset({Caller.ANONYMOUS, Caller.CUSTOMER})


def _argument_names(fn: Callable[..., Any]) -> frozenset[str]:
    """The GraphQL names of a resolver's arguments (camelCase, as strawberry converts them)."""
    names = [p for p in inspect.signature(fn).parameters if p not in ("self", "info", "root")]
    return frozenset(n.split("_")[0] + "".join(w[:1].upper() + w[1:] for w in n.split("_")[1:]) for n in names)


def root_paths(errors: Any, arguments: frozenset[str]) -> None:
    """Every payload error's field path starts at one of the mutation's arguments: a path the
    domain gave from inside the `input` object (["name"]) becomes ["input", "name"]."""
    if not errors or "input" not in arguments:
        return
    for error in errors:
        path = error.field
        if path and path[0] not in arguments:
            error.field = ["input", *path]


def _rooting_paths(fn: FnT) -> FnT:
    """The resolver, with its payload errors' paths rooted at its arguments (`root_paths`)."""
    arguments = _argument_names(fn)
    if "input" not in arguments:
        return fn

    @functools.wraps(fn)
    async def rooted(*args: Any, **kwargs: Any) -> Any:
        result = await fn(*args, **kwargs)
        root_paths(getattr(result, "errors", None), arguments)
        return result

    return rooted  # type: ignore[return-value]  # the wrapper keeps the resolver's signature for strawberry


def _is_root_mutation(info: Any) -> bool:
    return info.path.prev is None and info.operation.operation is OperationType.MUTATION


async def _recorded(context: Context, kwargs: dict[str, Any], call: Callable[[], Awaitable[Any]]) -> Any:
    roles = await roles_of(context) if context.principal.kind is PrincipalKind.USER else None
    return await run_recorded(context, kwargs["info"].field_name, kwargs, roles, call)


def _payload_type(fn: Callable[..., Any]) -> type | None:
    """The payload class a resolver returns (a strawberry type with `errors`), else None."""
    returned = fn.__annotations__.get("return")
    if isinstance(returned, str):  # postponed annotations: the name in the resolver's module
        returned = eval(returned, sys.modules[fn.__module__].__dict__)  # noqa: S307 - our own source
    definition = getattr(returned, "__strawberry_definition__", None)
    if definition is not None and any(f.python_name == "errors" for f in definition.fields):
        return returned
    return None


public = requires(EVERYONE)
signed_in = requires(USERS)
admins = requires(ADMINS)


# -- "not found": one answer for an ID that does not exist, is malformed or is another tenant's --
# A single-object query answers null; a mutation a NOT_FOUND payload error on the ID's field; a
# field with neither (a list's filter, pickList) an INVALID argument error, `argument_error`.
def argument_error(argument: str, message: str) -> GraphQLError:
    """The GraphQL error for an argument naming nothing the caller can reach: code INVALID and
    the argument's path in `fields`, the shape `query_error` gives every query's input mistakes."""
    return query_error(UserErrors([FieldError(ErrorCode.INVALID, message, [argument])]))


async def existing(context: Context, loader: type[Any], value: str | None, type_name: str, argument: str) -> Any:
    """The row an ID argument names in the caller's tenant (via `loader`), None when the argument
    is absent; `argument_error` when it names nothing."""
    if value is None:
        return None
    key = decode(value, type_name)
    row = await get_loader(context, loader).load(key) if key is not None else None
    if row is None:
        raise argument_error(argument, msg("input.no_such_id", type=type_name, argument=argument))
    return row
