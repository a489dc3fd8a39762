"""The audit log for admins: `auditLog` (newest first, filtered), `node(id)` of an entry, and
its CSV download (GET /exports/audit-log.csv, the same filters as query parameters)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import strawberry
from graphql import GraphQLError
from sqlalchemy import text

from service import global_id
from service.audit import queries
from service.audit.chain import Entry
from service.errors import ErrorCode, FieldError, UserErrors
from service.pagination import decode_cursor, encode_cursor
from service.schema.access import ADMINS, Permission, admins, check_page, query_error, serial_session
from service.schema.common import Node
from service.schema.context import Context
from service.schema.node import load_node, node_loader
from service.schema.pagination import Connection, Edge, PageInfo

Info = strawberry.Info[Context, None]
# What an actor's id names, by actor kind.
ACTOR_TYPES = {"api_key": "ApiKey", "admin": "User", "leader": "User", "supplier": "User"}
_ADMINS = Permission(ADMINS)


@strawberry.type(name="AuditEntry", description="One change by an operator, leader, supplier, API key "
                 "or the platform; entries of a tenant are hash-chained.")
class AuditEntry(Node):
    id: strawberry.ID = strawberry.field(description="The entry's global ID.")
    at: datetime = strawberry.field(description="When the change was made.")
    actor_kind: str = strawberry.field(description="admin, leader, supplier, api_key or platform.")
    actor_id: strawberry.ID | None = strawberry.field(description="A User's or an ApiKey's ID.")
    operation: str = strawberry.field(description="The mutation, e.g. orderMarkPaid.")
    object_id: strawberry.ID | None = strawberry.field(description="The global ID of the object changed; null "
                                                                   "when the operation changed no single object.")
    changes: str | None = strawberry.field(
        description="JSON: the mutation's input and the rows it changed, secrets removed, phones masked.")
    request_id: str | None = strawberry.field(description="The request id of the call, as in the X-Request-Id "
                                                          "header and the logs.")
    sequence: int = strawberry.field(description="Its place in the tenant's chain: 1, 2, 3...")

    @classmethod
    def of(cls, e: Entry) -> AuditEntry:
        actor_type = ACTOR_TYPES.get(e.actor_kind)
        return cls(
            id=strawberry.ID(global_id.encode("AuditEntry", e.id)), at=e.at, actor_kind=e.actor_kind,
            actor_id=strawberry.ID(global_id.encode(actor_type, e.actor_id)) if actor_type and e.actor_id else None,
            operation=e.operation, object_id=strawberry.ID(e.object_id) if e.object_id else None,
            changes=e.changes, request_id=e.request_id, sequence=e.seq,
        )


@strawberry.input(name="AuditLogFilter", description="Which entries auditLog returns; the fields given must "
                  "all match.")
class AuditLogFilter:
    operation: str | None = strawberry.field(default=None, description="The mutation's name, e.g. offerUpdate.")
    actor_id: strawberry.ID | None = strawberry.field(default=None, description="A User's or an ApiKey's ID: "
                                                      "what they did.")
    object_id: strawberry.ID | None = strawberry.field(default=None, description="An object's global ID: what "
                                                       "was done to it.")
    since: datetime | None = strawberry.field(default=None, description="Entries at or after this time.")
    until: datetime | None = strawberry.field(default=None, description="Entries before this time (exclusive).")


_ACTOR_TABLES = {"User": "app_user", "ApiKey": "api_key"}


async def make_filter(context: Context, f: AuditLogFilter | None) -> queries.Filter:
    """The filter. An actorId or objectId naming nothing the caller can reach (absent, malformed,
    another tenant's) is an INVALID argument, as for every list's filter."""
    if f is None:
        return queries.Filter()
    actor_id: UUID | None = None
    if f.actor_id is not None:
        decoded = global_id.decode(f.actor_id)
        table = _ACTOR_TABLES.get(decoded[0]) if decoded else None
        found = None
        if decoded is not None and table is not None:
            async with serial_session(context) as session:
                found = (await session.execute(text(f"SELECT id FROM {table} WHERE id = :id"),
                                               {"id": decoded[1]})).scalar()
        if found is None:
            raise _invalid("actorId", "No such User or ApiKey (filter.actorId).")
        actor_id = found
    if f.object_id is not None and await load_node(context, f.object_id) is None:
        raise _invalid("objectId", "No such object (filter.objectId).")
    return queries.Filter(operation=f.operation or None, actor_id=actor_id, object_id=f.object_id,
                          since=f.since, until=f.until)


def _invalid(name: str, message: str) -> GraphQLError:
    return query_error(UserErrors([FieldError(ErrorCode.INVALID, message, ["filter", name])]))


@node_loader("AuditEntry")
async def _load_entry(context: Context, id: UUID) -> AuditEntry | None:
    if context.principal.tenant is None or not await _ADMINS.admits(context):
        return None
    async with serial_session(context) as session:
        found = await queries.by_ids(session, tenant_id=context.tenant.id, ids=[id])
    return AuditEntry.of(found[id]) if id in found else None


@strawberry.type
class AuditQuery:
    @strawberry.field(description="Admins: what operators, leaders, suppliers, API keys and the platform "
                      "changed, newest first.")
    @admins
    async def audit_log(
        self,
        info: Info,
        filter: Annotated[AuditLogFilter | None, strawberry.argument(description="Only the entries matching; "
                                                                             "all of them if left out.")] = None,
        first: Annotated[int | None, strawberry.argument(description="How many items to return: 1 to 100 "
                                                                     "(GROUPBUY_MAX_PAGE_SIZE).")] = 20,
        after: Annotated[str | None, strawberry.argument(description="The endCursor of the previous page; "
                                                                     "leave it out for the first page.")] = None,
    ) -> Connection[AuditEntry]:
        context = info.context
        size = check_page(first, after)
        after_id = decode_cursor(after)[1] if after else None
        found = await make_filter(context, filter)  # before taking the session: its lock is not reentrant
        async with serial_session(context) as session:
            entries, has_next = await queries.page(
                session, tenant_id=context.tenant.id, filter=found, first=size, after_id=after_id,
            )
        cursors = [encode_cursor(e.at, e.id) for e in entries]
        return Connection(
            edges=[Edge(node=AuditEntry.of(e), cursor=c) for e, c in zip(entries, cursors, strict=True)],
            page_info=PageInfo(has_next_page=has_next, end_cursor=cursors[-1] if cursors else None,
                               start_cursor=cursors[0] if cursors else None, has_previous_page=bool(after)),
            listed=lambda session: queries.count(session, tenant_id=context.tenant.id, filter=found),
        )
