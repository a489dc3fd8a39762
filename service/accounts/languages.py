"""The language a user's messages go out in: their own choice, else their tenant's default.

Messages sent out of the product (e-mail) are rendered once, in one language, never both
(service/notify/relay.py reads app_user.language and tenant.default_language). A user's language is
set explicitly (messageLanguageSet, which the clients' language switches call) or, when they have
none yet, from the language their client asks in when they register or sign in.
"""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.errors import Collector, ErrorCode
from service.i18n import LANGUAGES

# Each names the tenant: on Citus that routes it to the tenant's shard instead of every shard.
_SET = text("UPDATE app_user SET language = :lang WHERE tenant_id = :t AND id = :id")
# Only a first guess: never over a language the user chose.
_ADOPT = text("UPDATE app_user SET language = :lang WHERE tenant_id = :t AND id = :id AND language IS NULL")
_OF_USER = text(
    "SELECT COALESCE(u.language, t.default_language) FROM app_user u JOIN tenant t ON t.id = u.tenant_id "
    "WHERE u.tenant_id = :t AND u.id = :id"
)
_OF_TENANT = text("SELECT default_language FROM tenant WHERE id = :id")


def language_value(errors: Collector, value: str | None, field: Sequence[str]) -> str | None:
    if value is None:
        return None
    if value not in LANGUAGES:
        errors.add(ErrorCode.INVALID, "Choose zh-CN or en.", field)
        return None
    return value


async def set_language(session: AsyncSession, *, tenant_id: UUID, user_id: UUID, language: str) -> None:
    await session.execute(_SET, {"t": tenant_id, "id": user_id, "lang": language})


async def adopt_language(session: AsyncSession, *, tenant_id: UUID, user_id: UUID, language: str | None) -> None:
    """The client's language as the user's, when they have none yet (None: the client named none)."""
    if language in LANGUAGES:
        await session.execute(_ADOPT, {"t": tenant_id, "id": user_id, "lang": language})


async def message_language(session: AsyncSession, *, tenant_id: UUID, user_id: UUID) -> str | None:
    return (await session.execute(_OF_USER, {"t": tenant_id, "id": user_id})).scalar_one_or_none()


async def tenant_language(session: AsyncSession, *, tenant_id: UUID) -> str:
    return str((await session.execute(_OF_TENANT, {"id": tenant_id})).scalar_one())
