"""The one place every recorded mutation passes: `service.schema.access.requires` calls
`run_recorded` for a root mutation whose declaration admits someone other than customers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from service import global_id
from service.accounts.models import Role
from service.audit.recorder import SCOPE, Scope, input_of, record
from service.tenants.principal import Principal, PrincipalKind


class Context(Protocol):
    """What the recording needs of the GraphQL layer's per-request context."""

    principal: Principal
    request_id: str

    async def session(self) -> AsyncSession: ...

# A user's actor kind: the first of their roles in this order. A user with none of these (a
# customer) acts on their own record, which the log leaves out.
_STAFF = ((Role.PLATFORM_ADMIN, "admin"), (Role.TENANT_ADMIN, "admin"), (Role.SUPPLIER, "supplier"),
          (Role.LEADER, "leader"))


def actor_of(context: Context, roles: frozenset[Role] | None) -> tuple[str, UUID | None] | None:
    principal = context.principal
    if principal.kind is PrincipalKind.API_KEY:
        return "api_key", principal.api_key_id
    if principal.kind is PrincipalKind.PLATFORM:
        return "platform", None
    if principal.kind is PrincipalKind.USER and roles:
        for role, kind in _STAFF:
            if role in roles:
                return kind, principal.user_id
    return None


def object_of(arguments: dict[str, Any], result: Any) -> str | None:
    """The global ID of what the mutation acted on: its `id` argument, else the payload's node."""
    given = arguments.get("id")
    if isinstance(given, str) and global_id.decode(given) is not None:
        return given
    for name, value in getattr(result, "__dict__", {}).items():
        if name == "errors" or value is None:
            continue
        found = getattr(value, "id", None)
        if isinstance(found, str) and global_id.decode(found) is not None:
            return found
    return None


async def run_recorded(
    context: Context, operation: str, arguments: dict[str, Any], roles: frozenset[Role] | None,
    call: Callable[[], Awaitable[Any]],
) -> Any:
    """Runs the mutation (`call`) with its changes collected, then, when its payload has no
    errors, appends its entry in the same transaction: both commit or roll back together."""
    actor = actor_of(context, roles)
    if actor is None:
        return await call()
    session = await context.session()
    scope = Scope(operation, input_of(arguments))
    session.info[SCOPE] = scope
    try:
        result = await call()
    finally:
        session.info.pop(SCOPE, None)
    if getattr(result, "errors", None):
        return result  # refused or invalid: its savepoint rolled back, nothing happened
    object_id = object_of(arguments, result)
    tenant = context.principal.tenant
    tenant_id = tenant.id if tenant is not None else None
    if tenant_id is None and object_id is not None:  # the platform acting on a new tenant
        decoded = global_id.decode(object_id)
        tenant_id = decoded[1] if decoded and decoded[0] == "Tenant" else None
    if tenant_id is None:
        return result
    await record(
        await context.session(), scope, tenant_id=tenant_id, actor_kind=actor[0], actor_id=actor[1],
        object_id=object_id, request_id=context.request_id,
        session_tenant=tenant.id if tenant is not None else None,
    )
    return result
