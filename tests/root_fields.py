"""The schema's root fields, read from the schema itself, and calls of them built from their
argument types: what the permission and not-found tests iterate, so a new operation is covered
without anyone adding it to a list."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    get_named_type,
    is_non_null_type,
)

from service import global_id
from service.schema.access import Caller, Permission, permission_of
from tests.conftest import GraphQLClient, sign_in

# Which principal kind each role makes a user (a leader is also a customer).
CALLER_OF_ROLE = {
    "CUSTOMER": Caller.CUSTOMER,
    "LEADER": Caller.LEADER,
    "SUPPLIER": Caller.SUPPLIER,
    "TENANT_ADMIN": Caller.ADMIN,
    "PLATFORM_ADMIN": Caller.ADMIN,
}
# The object an `id` argument names when the result does not say (a Node, a Boolean).
ID_OF = {"node": "Batch", "notificationMarkRead": "Notification"}
ID_OF.update(dict.fromkeys(("afterSalesApprove", "afterSalesReject", "afterSalesCancel"), "AfterSalesRequest"))
# Arguments that name no type in their name: the audit log's actor (a User or an ApiKey) and
# object (any node; a Batch stands for them).
BY_ARGUMENT = {"actorId": "User", "objectId": "Batch"}
BY_ARGUMENT["targetId"] = "Batch"  # shareLinkCreate: its target is the first ShareTarget, BATCH
# Coupons: templates are named by `templateId` and held as `template` in their payloads.
ID_OF.update({"couponTemplateEnd": "CouponTemplate", "couponTemplatePause": "CouponTemplate"})
BY_ARGUMENT["templateId"] = "CouponTemplate"
# Coupon packs: named by `packId`, built of coupon templates.
ID_OF["couponPackEnd"] = "CouponPack"
BY_ARGUMENT.update({"packId": "CouponPack", "friendTemplateIds": "CouponTemplate",
                    "sharerTemplateIds": "CouponTemplate"})
BY_ARGUMENT["compensationCouponTemplateId"] = "CouponTemplate"  # tenantUpdate's compensation template
BY_ARGUMENT["sharerId"] = "User"  # sharerWithdrawals: a sharer is a customer's account


@dataclass(frozen=True)
class RootField:
    kind: str  # "query" or "mutation"
    name: str
    field: GraphQLField
    permission: Permission | None

    @property
    def result(self) -> Any:
        return get_named_type(self.field.type)

    @property
    def payload(self) -> bool:
        return isinstance(self.result, GraphQLObjectType) and "errors" in self.result.fields


def root_fields() -> list[RootField]:
    from service.schema import schema

    built = schema()
    found = []
    for kind, type_name in (("query", "Query"), ("mutation", "Mutation")):
        definition = built.get_type_by_name(type_name)
        graphql_type = built._schema.get_type(type_name)
        assert definition is not None and isinstance(graphql_type, GraphQLObjectType)
        by_name = {built.config.name_converter.get_graphql_name(f): f for f in definition.fields}  # type: ignore[union-attr]
        for name, field in graphql_type.fields.items():
            resolver = by_name[name].base_resolver
            declared = permission_of(resolver.wrapped_func) if resolver is not None else None
            found.append(RootField(kind, name, field, declared))
    return found


# -- values -------------------------------------------------------------------------------------
def id_type(argument: str, field: RootField) -> str:
    """The object type an ID argument or input field names: `batchId` a Batch, `lineIds` an
    OrderLine, `id` what the result (or the payload) holds."""
    if argument in ("id", "ids"):
        if field.name in ID_OF:
            return ID_OF[field.name]
        result = field.result
        if field.payload:
            (held,) = [f for n, f in result.fields.items() if n == to_lower(result.name.removesuffix("Payload"))]
            return get_named_type(held.type).name
        return str(result.name)
    if argument in BY_ARGUMENT:
        return BY_ARGUMENT[argument]
    base = argument.removesuffix("s").removesuffix("Id")
    return {"line": "OrderLine"}.get(base, base[:1].upper() + base[1:])


def to_lower(name: str) -> str:
    return name[:1].lower() + name[1:]


def scalar(name: str, type_name: str) -> Any:
    soon = datetime.now(UTC) + timedelta(days=30)
    if type_name == "String":
        return {
            "email": f"{uuid.uuid4().hex[:8]}@example.com",
            "password": "a-long-password-1",
            "url": "https://hooks.example.com/in",
            "idempotencyKey": uuid.uuid4().hex,
        }.get(name, "x")
    if type_name == "Int":
        return 1
    if type_name == "Float":
        return {"latitude": 31.23, "longitude": 121.47}.get(name, 1.0)
    if type_name == "Decimal":
        return "1"
    if type_name == "Boolean":
        return True
    if type_name == "DateTime":
        return {"opensAt": soon, "closesAt": soon + timedelta(days=1)}.get(name, soon).isoformat()
    if type_name == "Date":
        return (soon + timedelta(days=3)).date().isoformat()
    raise AssertionError(f"no sample value for {type_name} ({name})")


IdValue = Callable[[str, list[str]], Any]  # (object type, path) -> the ID to send


def value(name: str, type_: Any, path: list[str], ids: IdValue, *, everything: bool) -> Any:
    """A valid value of `type_`; IDs from `ids`. Optional input fields are left out, except IDs
    when `everything`."""
    if isinstance(type_, GraphQLNonNull):
        type_ = type_.of_type
    if isinstance(type_, GraphQLList):
        return [value(name, type_.of_type, [*path, "0"], ids, everything=everything)]
    if isinstance(type_, GraphQLEnumType):
        return next(iter(type_.values))
    if isinstance(type_, GraphQLInputObjectType):
        return {
            n: value(n, f.type, [*path, n], ids, everything=everything)
            for n, f in type_.fields.items()
            if is_non_null_type(f.type) or (everything and takes_id(f.type))
        }
    assert isinstance(type_, GraphQLScalarType)
    if type_.name == "ID":
        return ids(name, path)
    return scalar(name, type_.name)


def id_paths(field: GraphQLField) -> Iterator[list[str]]:
    """Every place an ID goes in a call of `field`: argument paths, list items as index 0."""

    def walk(type_: Any, path: list[str]) -> Iterator[list[str]]:
        if isinstance(type_, GraphQLNonNull):
            type_ = type_.of_type
        if isinstance(type_, GraphQLList):
            yield from walk(type_.of_type, [*path, "0"])
        elif isinstance(type_, GraphQLInputObjectType):
            for n, f in type_.fields.items():
                yield from walk(f.type, [*path, n])
        elif isinstance(type_, GraphQLScalarType) and type_.name == "ID":
            yield path

    for name, argument in field.args.items():
        yield from walk(argument.type, [name])


def selection(type_: Any) -> str:
    named = get_named_type(type_)
    if isinstance(named, GraphQLObjectType) and "errors" in named.fields:
        return "{ __typename errors { code field message } }"
    if isinstance(named, GraphQLObjectType) or not isinstance(named, GraphQLScalarType | GraphQLEnumType):
        return "{ __typename }"
    return ""


def call(field: RootField, arguments: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The document calling the field with these argument values (as variables)."""
    signature = ", ".join(f"${n}: {field.field.args[n].type}" for n in arguments)
    passed = ", ".join(f"{n}: ${n}" for n in arguments)
    document = (
        f"{field.kind}{f'({signature})' if signature else ''} "
        f"{{ result: {field.name}{f'({passed})' if passed else ''} {selection(field.field.type)} }}"
    )
    return document, arguments


def arguments(field: RootField, ids: IdValue, *, everything: bool = False) -> dict[str, Any]:
    return {
        n: value(n, a.type, [n], ids, everything=everything)
        for n, a in field.field.args.items()
        if is_non_null_type(a.type) or (everything and takes_id(a.type))
    }


def takes_id(type_: Any) -> bool:
    """Whether an ID goes anywhere in a value of this type."""
    named = get_named_type(type_)
    if isinstance(named, GraphQLInputObjectType):
        return any(takes_id(f.type) for f in named.fields.values())
    return named.name == "ID"  # type: ignore[no-any-return]


def nonexistent_id(type_name: str) -> str:
    return global_id.encode(type_name, uuid.uuid4())


# -- principals ---------------------------------------------------------------------------------
@dataclass
class Principal:
    caller: Caller
    token: str | None
    tenant: str | None  # X-Tenant
    kinds: frozenset[Caller]  # what the declarations see it as

    def headers(self) -> dict[str, Any]:
        return {"token": self.token, "tenant": self.tenant}


def principals(gql: GraphQLClient, platform_token: str, handle: Any) -> dict[Caller, Principal]:
    """One of each kind in a seeded tenant (service.demo's logins)."""
    from service.catalog.demo import SUPPLIER_LOGIN
    from service.leaders.demo import LEADER_LOGIN, MEMBER_LOGIN

    def user(caller: Caller, token: str) -> Principal:
        roles = gql.data("{ me { roles } }", token=token)["me"]["roles"]
        return Principal(caller, token, None, frozenset(CALLER_OF_ROLE[r] for r in roles))

    return {
        Caller.ANONYMOUS: Principal(Caller.ANONYMOUS, None, handle.slug, frozenset({Caller.ANONYMOUS})),
        Caller.CUSTOMER: user(Caller.CUSTOMER, sign_in(gql, handle.slug, *MEMBER_LOGIN)),
        Caller.LEADER: user(Caller.LEADER, sign_in(gql, handle.slug, *LEADER_LOGIN)),
        Caller.SUPPLIER: user(Caller.SUPPLIER, sign_in(gql, handle.slug, *SUPPLIER_LOGIN)),
        Caller.ADMIN: user(Caller.ADMIN, handle.admin_token),
        Caller.API_KEY: Principal(Caller.API_KEY, handle.api_key, None, frozenset({Caller.API_KEY})),
        Caller.PLATFORM: Principal(Caller.PLATFORM, platform_token, handle.slug, frozenset({Caller.PLATFORM})),
    }


def seeded_tenant(gql: GraphQLClient, platform_token: str) -> Any:
    """A new tenant with service.demo's data in every domain (the seeded_tenant fixture's, for
    module-scoped fixtures)."""
    from service.demo import DemoLogins, seed_tenant
    from tests.conftest import TENANT_CREATE, TenantHandle, run_db, unique

    slug = unique("seeded")
    email, password = f"admin@{slug}.example", "admin-password-1"
    payload = gql.data(
        TENANT_CREATE,
        {"input": {"slug": slug, "name": slug, "adminEmail": email, "adminPassword": password}},
        token=platform_token,
    )["tenantCreate"]
    tid = payload["tenant"]["id"]
    decoded = global_id.decode(tid)
    assert decoded is not None
    handle = TenantHandle(id=tid, uuid=decoded[1], slug=slug, api_key=payload["apiKey"], admin_email=email,
                          admin_password=password, admin_token=sign_in(gql, slug, email, password))
    run_db(lambda engine: seed_tenant(handle.uuid, DemoLogins(slug), engine=engine))
    return handle
