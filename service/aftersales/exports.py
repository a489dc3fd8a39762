"""GET /exports/shortage-report.csv?batchId=<global ID>: shortageReport as CSV (UTF-8 with a BOM,
spreadsheet-safe cells), for a bearer token of an admin, an API key, or a supplier's staff (their
own products only). A batch that is not the caller's tenant's is a 404."""

from __future__ import annotations

from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from service import global_id
from service.accounts.models import Role
from service.accounts.roles import load_roles
from service.aftersales.reports import shortage_rows
from service.csv_cells import csv_document
from service.db import tenant_transaction
from service.errors import AuthError
from service.money import from_minor
from service.tenants.principal import PrincipalKind
from service.tenants.resolution import resolve_principal

PATH = "/exports/shortage-report.csv"
HEADER = ("batch", "supplier", "product", "ordered", "shipped", "received", "damaged", "shorted", "refunded",
          "currency")


async def shortage_report_csv(request: Request) -> Response:
    try:
        principal = await resolve_principal(request.headers)
    except AuthError as e:
        return JSONResponse({"error": e.code, "message": e.message}, status_code=e.status)
    if principal.tenant is None or principal.kind is PrincipalKind.ANONYMOUS:
        return JSONResponse({"error": "UNAUTHENTICATED"}, status_code=401)
    decoded = global_id.decode(request.query_params.get("batchId", ""))
    if decoded is None or decoded[0] != "Batch":
        return JSONResponse({"error": "INVALID", "message": "batchId: a Batch's global ID."}, status_code=400)
    async with tenant_transaction(principal.tenant.id) as session:
        supplier_id = None
        if principal.kind is PrincipalKind.USER:
            assert principal.user_id is not None
            roles = principal.roles or await load_roles(session, principal.user_id)
            if not roles & {Role.TENANT_ADMIN, Role.PLATFORM_ADMIN}:
                supplier_id = (await session.execute(text("SELECT supplier_id FROM app_user WHERE id = :u"),
                                                     {"u": principal.user_id})).scalar_one_or_none()
                if Role.SUPPLIER not in roles or supplier_id is None:
                    return JSONResponse({"error": "FORBIDDEN"}, status_code=403)
        batch = (await session.execute(text("SELECT title FROM batch WHERE id = :b"),
                                       {"b": decoded[1]})).scalar_one_or_none()
        if batch is None:
            return JSONResponse({"error": "NOT_FOUND"}, status_code=404)
        rows = await shortage_rows(session, batch_id=decoded[1], supplier_id=supplier_id)
        names = {r[0]: r[1] for r in (await session.execute(text("SELECT id, name FROM supplier"))).all()}
    body = csv_document(HEADER, ([batch, names.get(r.supplier_id, ""), r.product_name, r.ordered, r.shipped,
                                  r.received, r.damaged, r.shorted, from_minor(r.refunded_minor, r.currency),
                                  r.currency] for r in rows))
    return Response(body, media_type="text/csv; charset=utf-8",
                    headers={"content-disposition": 'attachment; filename="shortage-report.csv"'})
