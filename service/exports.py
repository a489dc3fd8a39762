"""Downloads over plain HTTP (the GraphQL API hands out their URLs)."""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from service import global_id
from service.accounts.models import Role
from service.accounts.roles import load_roles
from service.aftersales.reports import report_window as shortage_window
from service.aftersales.reports import shortage_csv
from service.aftersales.reports import supplier_csv as supplier_shortage_csv
from service.audit.exports import audit_csv
from service.audit.queries import Filter
from service.coupons import queries as coupon_queries
from service.coupons import report as coupon_report
from service.db import tenant_transaction
from service.errors import AuthError, UserErrors
from service.procurement.exports import purchase_order_csv as render
from service.procurement.exports import signature_valid
from service.reports import exports as report_exports
from service.reports.queries import Grouping, sales_report
from service.tenants.principal import Principal, PrincipalKind
from service.tenants.resolution import resolve_principal


async def purchase_order_csv(request: Request) -> Response:
    """GET /exports/purchase-orders/<id>.csv: with a signed link (csvUrl) or a bearer token of an
    admin or that supplier's staff. Anything else, including another tenant's id, is a 404."""
    not_found = JSONResponse({"error": "NOT_FOUND"}, status_code=404)
    po_id = global_id.decode_as(request.path_params["id"], "PurchaseOrder")
    if po_id is None:
        return not_found
    tenant_id = None
    params = request.query_params
    if "signature" in params:
        try:
            tenant_id, expires = UUID(params.get("tenant", "")), int(params.get("expires", "0"))
        except ValueError:
            return not_found
        if not signature_valid(tenant_id, po_id, expires, params["signature"]):
            return JSONResponse({"error": "LINK_EXPIRED_OR_INVALID"}, status_code=403)
        supplier_only = None
    else:
        try:
            principal = await resolve_principal(request.headers)
        except AuthError as e:
            return JSONResponse({"error": e.code, "message": e.message}, status_code=e.status)
        if principal.tenant is None or principal.user_id is None and principal.roles is None:
            return JSONResponse({"error": "UNAUTHENTICATED"}, status_code=401)
        tenant_id = principal.tenant.id
        supplier_only = "check"
    async with tenant_transaction(tenant_id) as session:
        if supplier_only:
            allowed = await _may_download(session, principal, tenant_id, po_id)
            if not allowed:
                return not_found
        found = await render(session, purchase_order_id=po_id)
    if found is None:
        return not_found
    name, body = found
    return Response(body, media_type="text/csv; charset=utf-8",
                    headers={"content-disposition": f'attachment; filename="{name}"'})


async def _may_download(session: AsyncSession, principal: Principal, tenant_id: UUID, po_id: UUID) -> bool:
    roles = principal.roles
    if roles is None:
        assert principal.user_id is not None  # the caller refused a principal with neither
        roles = await load_roles(session, tenant_id, principal.user_id)
    if roles & {Role.TENANT_ADMIN, Role.PLATFORM_ADMIN}:
        return True
    row = (await session.execute(
        text("SELECT 1 FROM purchase_order po "
             "JOIN app_user u ON u.tenant_id = po.tenant_id AND u.supplier_id = po.supplier_id "
             "WHERE po.tenant_id = :t AND po.id = :po AND u.id = :u"),
        {"t": tenant_id, "po": po_id, "u": principal.user_id})).first()
    return row is not None


async def audit_log_csv(request: Request) -> Response:
    """GET /exports/audit-log.csv?operation=&actorId=&objectId=&since=&until=: the tenant's audit
    log, newest first, for a bearer token of an admin or an API key (the filters of `auditLog`)."""
    try:
        principal = await resolve_principal(request.headers)
    except AuthError as e:
        return JSONResponse({"error": e.code, "message": e.message}, status_code=e.status)
    if principal.tenant is None or principal.kind is PrincipalKind.ANONYMOUS:
        return JSONResponse({"error": "UNAUTHENTICATED"}, status_code=401)
    params = request.query_params
    try:
        actor = global_id.decode(params["actorId"]) if params.get("actorId") else None
        if params.get("actorId") and actor is None:
            raise ValueError("actorId")
        since, until = (datetime.fromisoformat(params[k]) if params.get(k) else None for k in ("since", "until"))
    except ValueError as e:
        return JSONResponse({"error": "INVALID", "message": f"Bad filter: {e}"}, status_code=400)
    found = Filter(operation=params.get("operation") or None, actor_id=actor[1] if actor else None,
                   object_id=params.get("objectId") or None, since=since, until=until)
    async with tenant_transaction(principal.tenant.id) as session:
        if principal.kind is PrincipalKind.USER:
            assert principal.user_id is not None
            roles = principal.roles or await load_roles(session, principal.tenant.id, principal.user_id)
            if not roles & {Role.TENANT_ADMIN, Role.PLATFORM_ADMIN}:
                return JSONResponse({"error": "FORBIDDEN"}, status_code=403)
        body = await audit_csv(session, tenant_id=principal.tenant.id, filter=found)
    return Response(body, media_type="text/csv; charset=utf-8",
                    headers={"content-disposition": 'attachment; filename="audit-log.csv"'})
async def sales_report_csv(request: Request) -> Response:
    """GET /exports/sales-report.csv?from=&to=&groupBy=: the salesReport rows, with a signed link
    (csvUrl) or an admin's bearer token (or API key). A period the report refuses is a 400."""
    params = request.query_params
    try:
        day_from, day_to = date.fromisoformat(params["from"]), date.fromisoformat(params["to"])
        grouping = Grouping(params["groupBy"])
    except (KeyError, ValueError):
        return JSONResponse({"error": "INVALID", "message": "from, to (dates) and groupBy are required."},
                            status_code=400)
    if "signature" in params:
        try:
            tenant_id, expires = UUID(params.get("tenant", "")), int(params.get("expires", "0"))
        except ValueError:
            return JSONResponse({"error": "LINK_EXPIRED_OR_INVALID"}, status_code=403)
        if not report_exports.signature_valid(tenant_id, day_from, day_to, grouping, expires, params["signature"]):
            return JSONResponse({"error": "LINK_EXPIRED_OR_INVALID"}, status_code=403)
        principal = None
    else:
        try:
            principal = await resolve_principal(request.headers)
        except AuthError as e:
            return JSONResponse({"error": e.code, "message": e.message}, status_code=e.status)
        if principal.tenant is None or principal.user_id is None and principal.roles is None:
            return JSONResponse({"error": "UNAUTHENTICATED"}, status_code=401)
        tenant_id = principal.tenant.id
    async with tenant_transaction(tenant_id) as session:
        if principal is not None:
            roles = principal.roles
            if roles is None:
                assert principal.user_id is not None  # refused above otherwise
                roles = await load_roles(session, tenant_id, principal.user_id)
            if not roles & {Role.TENANT_ADMIN, Role.PLATFORM_ADMIN}:
                return JSONResponse({"error": "FORBIDDEN"}, status_code=403)
        found = (await session.execute(text("SELECT timezone, currency FROM tenant WHERE id = :t"),
                                       {"t": tenant_id})).first()
        if found is None:
            return JSONResponse({"error": "NOT_FOUND"}, status_code=404)
        try:
            report = await sales_report(session, tenant_id=tenant_id, timezone=found.timezone,
                                        day_from=day_from, day_to=day_to, grouping=grouping)
        except UserErrors as e:
            return JSONResponse({"error": "INVALID", "message": str(e)}, status_code=400)
    body = report_exports.report_csv(report, found.currency)
    name = report_exports.file_name(day_from, day_to, grouping)
    return Response(body, media_type="text/csv; charset=utf-8",
                    headers={"content-disposition": f'attachment; filename="{name}"'})


SHORTAGE_REPORT_PATH = "/exports/shortage-report.csv"


async def shortage_report_csv(request: Request) -> Response:
    """GET /exports/shortage-report.csv?batchId=<global ID>: shortageReport as CSV, for a bearer
    token of an admin, an API key, or a supplier's staff (their own products only). A batch that
    is not the caller's tenant's is a 404."""
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
            roles = principal.roles or await load_roles(session, principal.tenant.id, principal.user_id)
            if not roles & {Role.TENANT_ADMIN, Role.PLATFORM_ADMIN}:
                supplier_id = (await session.execute(text(
                    "SELECT supplier_id FROM app_user WHERE tenant_id = :t AND id = :u"),
                    {"t": principal.tenant.id, "u": principal.user_id})).scalar_one_or_none()
                if Role.SUPPLIER not in roles or supplier_id is None:
                    return JSONResponse({"error": "FORBIDDEN"}, status_code=403)
        body = await shortage_csv(session, batch_id=decoded[1], supplier_id=supplier_id)
    if body is None:
        return JSONResponse({"error": "NOT_FOUND"}, status_code=404)
    return Response(body, media_type="text/csv; charset=utf-8",
                    headers={"content-disposition": 'attachment; filename="shortage-report.csv"'})


SUPPLIER_SHORTAGE_REPORT_PATH = "/exports/supplier-shortage-report.csv"


async def supplier_shortage_report_csv(request: Request) -> Response:
    """GET /exports/supplier-shortage-report.csv[?supplierId=&since=&until=]: supplierShortageReport
    as CSV, for an admin's bearer token or API key (every supplier, or supplierId), or a supplier's
    staff (their own). since/until: ISO 8601 with an offset."""
    try:
        principal = await resolve_principal(request.headers)
    except AuthError as e:
        return JSONResponse({"error": e.code, "message": e.message}, status_code=e.status)
    if principal.tenant is None or principal.kind is PrincipalKind.ANONYMOUS:
        return JSONResponse({"error": "UNAUTHENTICATED"}, status_code=401)
    params = request.query_params
    try:
        since, until = (datetime.fromisoformat(params[k]) if params.get(k) else None for k in ("since", "until"))
        begin, end = shortage_window(since, until)
    except ValueError:
        return JSONResponse({"error": "INVALID", "message": "since, until: ISO 8601 times with an offset."},
                        status_code=400)
    except UserErrors as e:
        return JSONResponse({"error": "INVALID", "message": str(e.errors[0].message)}, status_code=400)
    supplier_id = None
    if params.get("supplierId"):
        decoded = global_id.decode(params["supplierId"])
        if decoded is None or decoded[0] != "Supplier":
            return JSONResponse({"error": "INVALID", "message": "supplierId: a Supplier's global ID."},
                                status_code=400)
        supplier_id = decoded[1]
    async with tenant_transaction(principal.tenant.id) as session:
        if principal.kind is PrincipalKind.USER:
            assert principal.user_id is not None
            roles = principal.roles or await load_roles(session, principal.tenant.id, principal.user_id)
            if not roles & {Role.TENANT_ADMIN, Role.PLATFORM_ADMIN}:
                own = (await session.execute(text(
                    "SELECT supplier_id FROM app_user WHERE tenant_id = :t AND id = :u"),
                    {"t": principal.tenant.id, "u": principal.user_id})).scalar_one_or_none()
                if Role.SUPPLIER not in roles or own is None:
                    return JSONResponse({"error": "FORBIDDEN"}, status_code=403)
                supplier_id = own
        body = await supplier_shortage_csv(session, supplier_id=supplier_id, since=begin, until=end)
    return Response(body, media_type="text/csv; charset=utf-8",
                    headers={"content-disposition": 'attachment; filename="supplier-shortage-report.csv"'})


async def coupon_report_csv(request: Request) -> Response:
    """GET /exports/coupon-report.csv: couponReport's rows, for an admin's bearer token or API key."""
    try:
        principal = await resolve_principal(request.headers)
    except AuthError as e:
        return JSONResponse({"error": e.code, "message": e.message}, status_code=e.status)
    if principal.tenant is None or principal.user_id is None and principal.roles is None:
        return JSONResponse({"error": "UNAUTHENTICATED"}, status_code=401)
    async with tenant_transaction(principal.tenant.id) as session:
        roles = principal.roles
        if roles is None:
            assert principal.user_id is not None  # refused above otherwise
            roles = await load_roles(session, principal.tenant.id, principal.user_id)
        if not roles & {Role.TENANT_ADMIN, Role.PLATFORM_ADMIN}:
            return JSONResponse({"error": "FORBIDDEN"}, status_code=403)
        rows = await coupon_queries.report(session)
    return Response(coupon_report.report_csv(rows), media_type="text/csv; charset=utf-8",
                    headers={"content-disposition": 'attachment; filename="coupon-report.csv"'})
