"""GET /exports/leader-statement.csv?leaderId=&month=: a leader's monthly statement as CSV, for
that leader's bearer token or an admin's (or an API key). Another tenant's leader is a 404."""

from __future__ import annotations

from datetime import date

from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from service import global_id
from service.accounts.models import Role
from service.accounts.roles import load_roles
from service.db import tenant_transaction
from service.errors import AuthError
from service.i18n import localize, msg, parse_accept_language
from service.ledger.statements import statement, statement_csv
from service.tenants.principal import PrincipalKind
from service.tenants.resolution import resolve_principal


async def leader_statement_csv(request: Request) -> Response:
    try:
        principal = await resolve_principal(request.headers)
    except AuthError as e:
        return JSONResponse({"error": e.code, "message": e.message}, status_code=e.status)
    if principal.tenant is None or principal.kind is PrincipalKind.ANONYMOUS:
        return JSONResponse({"error": "UNAUTHENTICATED"}, status_code=401)
    params = request.query_params
    leader_id = global_id.decode_as(params.get("leaderId", ""), "Leader")
    try:
        year, mon = params.get("month", "").split("-")
        month = date(int(year), int(mon), 1)
    except ValueError:
        lang = parse_accept_language(request.headers.get("accept-language"))
        return JSONResponse({"error": "INVALID", "message": localize(msg("ledger.month_format"), "INVALID", lang)},
                            status_code=400)
    tenant = principal.tenant
    async with tenant_transaction(tenant.id) as session:
        leader = (await session.execute(text("SELECT id, user_id FROM leader WHERE tenant_id = :t AND id = :id"),
                                        {"t": tenant.id, "id": leader_id})).one_or_none() if leader_id else None
        if leader is None:
            return JSONResponse({"error": "NOT_FOUND"}, status_code=404)
        if principal.kind is PrincipalKind.USER:
            assert principal.user_id is not None
            roles = principal.roles or await load_roles(session, principal.tenant.id, principal.user_id)
            if not roles & {Role.TENANT_ADMIN, Role.PLATFORM_ADMIN} and principal.user_id != leader.user_id:
                return JSONResponse({"error": "NOT_FOUND"}, status_code=404)
        st = await statement(session, tenant_id=tenant.id, beneficiary_id=leader.user_id, month=month,
                             tz=tenant.timezone)
    body = statement_csv(st, month=month, currency=tenant.currency, tz=tenant.timezone)
    name = f"statement-{month:%Y-%m}.csv"
    return Response(body, media_type="text/csv; charset=utf-8",
                    headers={"content-disposition": f'attachment; filename="{name}"'})
