"""Per-request access helpers shared by every domain's schema.

The request has one AsyncSession, and an AsyncSession must not run two statements at once;
GraphQL resolves sibling fields and DataLoader batches concurrently, so every read here goes
through `serial_session`, which takes a per-request lock.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any, TypeVar
from uuid import UUID

from graphql import GraphQLError
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.dataloader import DataLoader

from service import global_id
from service.accounts.models import Role
from service.catalog import queries
from service.errors import UserErrors
from service.pagination import BadPage, check_first, decode_cursor
from service.schema.context import ADMIN_ROLES, Context

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
        loader = context.loaders[cls.__name__] = cls(context)  # type: ignore[call-arg]
    return loader  # type: ignore[no-any-return]


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
        return cached  # type: ignore[return-value]
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
        raise GraphQLError(str(e), extensions={"code": "INVALID"}) from None
    return size


def query_error(e: UserErrors) -> GraphQLError:
    """A query cannot return a payload: its input mistakes become one GraphQL error with a code."""
    first = e.errors[0]
    return GraphQLError(
        "; ".join(err.message for err in e.errors),
        extensions={
            "code": first.code.value,
            "fields": [list(err.field) if err.field else None for err in e.errors],
        },
    )


def in_key_order(values: dict[Any, Any], keys: list[Any], default: Any = None) -> list[Any]:
    """What a DataLoader returns: one value per key, in the keys' order."""
    return [values.get(k, default) for k in keys]
