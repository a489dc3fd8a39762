"""How every mutation runs: permission, a savepoint, and user errors in the payload."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from service.errors import ErrorCode, FieldError, PermissionDenied, UserErrors
from service.schema.common import UserError, user_errors
from service.schema.context import Context

P = TypeVar("P")


async def run_mutation(
    context: Context,
    payload: type[P],
    action: Callable[[AsyncSession], Awaitable[dict[str, Any]]],
    *,
    check: Callable[[], Awaitable[None]] | None = None,
) -> P:
    """`check` decides whether the caller may act at all; `action` returns the payload's fields.

    A user error or a refusal rolls the mutation's savepoint back: nothing half-written stays.
    """
    try:
        if check is not None:
            await check()
        session = await context.session()
        async with session.begin_nested():
            fields = await action(session)
    except UserErrors as e:
        return payload(errors=user_errors(e))  # type: ignore[call-arg]  # strawberry types' generated __init__ is not visible to mypy
    except PermissionDenied as e:
        return payload(errors=[UserError.of(FieldError(ErrorCode.FORBIDDEN, e.message))])  # type: ignore[call-arg]  # strawberry types' generated __init__ is not visible to mypy
    return payload(errors=[], **fields)  # type: ignore[call-arg]  # strawberry types' generated __init__ is not visible to mypy
