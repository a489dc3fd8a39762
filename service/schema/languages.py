"""messageLanguageSet: the language a user's messages go out in (service.accounts.languages)."""

from __future__ import annotations

from typing import Annotated, Any

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from service.accounts import languages
from service.errors import Collector
from service.schema.access import signed_in
from service.schema.accounts import Viewer, viewer_of
from service.schema.common import UserError
from service.schema.context import Context
from service.schema.mutation import run_mutation

Info = strawberry.Info[Context, None]


@strawberry.type(description="The result of messageLanguageSet.")
class MessageLanguagePayload:
    errors: list[UserError] = strawberry.field(description="Why nothing changed; empty on success.")
    viewer: Viewer | None = strawberry.field(default=None, description="The caller, with their messageLanguage; "
                                                                       "null on error.")


@strawberry.type
class LanguagesMutation:
    @strawberry.mutation(description="Any signed-in user: the language (zh-CN or en) the messages sent to them go "
                                     "out in, each message in that one language. The clients' language switches "
                                     "set it.")
    @signed_in
    async def message_language_set(
        self, info: Info,
        language: Annotated[str, strawberry.argument(description="zh-CN or en.")],
    ) -> MessageLanguagePayload:
        context = info.context

        async def action(session: AsyncSession) -> dict[str, Any]:
            errors = Collector()
            chosen = languages.language_value(errors, language, ["language"])
            errors.raise_if_any()
            user_id = context.principal.user_id
            tenant = context.principal.tenant
            assert user_id is not None and tenant is not None and chosen is not None  # signed_in; checked
            await languages.set_language(session, tenant_id=tenant.id, user_id=user_id, language=chosen)
            return {"viewer": await viewer_of(context)}

        return await run_mutation(context, MessageLanguagePayload, action)
