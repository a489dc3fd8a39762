"""Invariant 6, table-driven over the WHOLE schema: every query and mutation that takes an ID
(as an argument, or inside an input) is called by each of tenant A's principals with tenant B's
IDs of a plausible type — all of B's, and B's in one place with A's elsewhere — and must return
nothing of B's (null, empty, NOT_FOUND / FORBIDDEN), and change nothing of B's.

The operations are read from the schema, so a new one is covered automatically; an ID argument
whose type cannot be told from its name fails the test, listing it, until the table below says.
"""

from __future__ import annotations

import itertools
import json
import uuid
from datetime import UTC, datetime, timedelta

import psycopg
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    get_named_type,
)

from service import global_id
from tests.conftest import sign_in
from tests.reliability.conftest import record

# The tables behind the global ID types (every type whose ID an argument can carry).
TYPE_TABLES = {
    "ApiKey": "api_key",
    "Batch": "batch",
    "Commission": "commission",
    "CommunityGroup": "community_group",
    "Leader": "leader",
    "Notification": "notification",
    "Offer": "offer",
    "Order": "customer_order",
    "OrderLine": "order_line",
    "PickupPoint": "pickup_point",
    "Product": "product",
    "PurchaseOrder": "purchase_order",
    "Supplier": "supplier",
    "WebhookSubscription": "webhook_subscription",
    "User": "app_user",
    "GroupBuy": "group_buy",
    "Coupon": "coupon",
    "CouponTemplate": "coupon_template",
    "CouponPack": "coupon_pack",
    "CouponPackReward": "coupon_pack_referral",
    "AfterSalesRequest": "after_sales_request",
    "Withdrawal": "withdrawal",
    "WebhookDelivery": "delivery",
}
TYPE_TABLES["LedgerEntry"] = "ledger_entry"  # no argument names one; node() and the leak marks do
TYPE_TABLES["SharerWithdrawal"] = "withdrawal"  # a sharer's: the leaders' table, no leader
# Argument stems that are not a type's name.
STEM_ALIASES = {"line": "OrderLine", "customer": "User", "user": "User",
                # the audit log's filters: an actor (a User here) and an object (any node: a Batch here)
                "actor": "User", "object": "Batch",
                # coupons name their template; a share link's target is a Batch in the demo seed
                "template": "CouponTemplate", "target": "Batch"}
STEM_ALIASES["compensationCouponTemplate"] = "CouponTemplate"  # tenantUpdate's compensation template
# Operation names that do not start with their object's type name.
OP_ALIASES = {"afterSales": "AfterSalesRequest"}
STEM_ALIASES.update({"pack": "CouponPack", "friendTemplate": "CouponTemplate", "sharerTemplate": "CouponTemplate"})
STEM_ALIASES["sharer"] = "User"  # sharerWithdrawals(sharerId:)
# Operations whose ID arguments are not of another tenant's object (none today).
NOT_TENANT_IDS: set[str] = set()
DEMO_LOGINS = {
    "leader": ("+8613900000101", "demo-leader-1"),
    "customer": ("+8613900000102", "demo-member-1"),
    "supplier": ("supplier@demo.example", "demo-supplier-1"),
}


def _unwrap(t):  # type: ignore[no-untyped-def]
    while isinstance(t, GraphQLNonNull | GraphQLList):
        t = t.of_type
    return t


def _is_id(t) -> bool:  # type: ignore[no-untyped-def]
    named = _unwrap(t)
    return isinstance(named, GraphQLScalarType) and named.name == "ID"


def id_type(op: str, arg: str) -> str | None:
    """The object type an ID argument names: `batchId` -> Batch, `lineIds` -> OrderLine, `id` of
    `purchaseOrderAcknowledge` -> PurchaseOrder; None when it cannot be told."""
    if arg == "id":
        matches = [t for t in TYPE_TABLES if op.lower().startswith(t.lower())]
        matches += [t for prefix, t in OP_ALIASES.items() if op.startswith(prefix)]
        return max(matches, key=len) if matches else None
    for suffix in ("Ids", "Id"):
        if arg.endswith(suffix):
            stem = arg[: -len(suffix)]
            if stem in STEM_ALIASES:
                return STEM_ALIASES[stem]
            return next((t for t in TYPE_TABLES if t.lower() == stem.lower()), None)
    return None


def id_slots(op: str, args: dict) -> list[tuple[tuple[str, ...], str | None]]:
    """Every place an ID goes: (path, type) over the arguments and, recursively, input fields."""
    slots = []

    def walk(path: tuple[str, ...], name: str, t, depth: int) -> None:  # type: ignore[no-untyped-def]
        named = _unwrap(t)
        if _is_id(t):
            slots.append((path, "*" if op == "node" else id_type(op, name)))
        elif isinstance(named, GraphQLInputObjectType) and depth < 4:
            for fname, f in named.fields.items():
                walk((*path, fname), fname, f.type, depth + 1)

    for name, a in args.items():
        walk((name,), name, a.type, 0)
    return slots


def plausible(t, path: tuple[str, ...], ids: dict[tuple[str, ...], str], prefix=()):  # type: ignore[no-untyped-def]
    """A value of type t: the chosen IDs at their paths, something valid-looking elsewhere."""
    if isinstance(t, GraphQLNonNull):
        return plausible(t.of_type, path, ids, prefix)
    if isinstance(t, GraphQLList):
        return [plausible(t.of_type, path, ids, prefix)]
    if isinstance(t, GraphQLInputObjectType):
        out = {}
        for fname, f in t.fields.items():
            sub = (*path, fname)
            has_id = any(p[: len(sub)] == sub for p in ids)
            if isinstance(f.type, GraphQLNonNull) or has_id:
                out[fname] = plausible(f.type, sub, ids)
        return out
    if isinstance(t, GraphQLEnumType):
        return next(iter(t.values))
    name = t.name
    if name == "ID":
        return ids[path]
    return {
        "String": "reliability-x",
        "Int": 1,
        "Float": 31.2,
        "Boolean": False,
        "Decimal": "0.1",
        "DateTime": (datetime.now(UTC) + timedelta(hours=1)).isoformat(),
        "Date": (datetime.now(UTC) + timedelta(days=2)).date().isoformat(),
    }.get(name, "x")


def _type_str(t) -> str:  # type: ignore[no-untyped-def]
    if isinstance(t, GraphQLNonNull):
        return _type_str(t.of_type) + "!"
    if isinstance(t, GraphQLList):
        return f"[{_type_str(t.of_type)}]"
    return t.name


def selection(t, schema, depth: int = 0, alias: str = "") -> str:  # type: ignore[no-untyped-def]
    """Every scalar field, and object fields three levels down; '' for a scalar type."""
    named = get_named_type(t)
    if isinstance(named, GraphQLScalarType | GraphQLEnumType):
        return ""
    if isinstance(named, GraphQLInterfaceType):
        parts = ["__typename", "id"]
        for impl in schema.get_implementations(named).objects:
            # Aliased: two types' fields of one name may differ in type (Leader.status, Batch.status).
            parts.append(f"... on {impl.name} {{ {selection(impl, schema, depth + 1, impl.name + '_')} }}")
        return " ".join(parts)
    assert isinstance(named, GraphQLObjectType)
    parts = ["__typename"]
    for fname, f in named.fields.items():
        if any(isinstance(a.type, GraphQLNonNull) and a.default_value is None for a in f.args.values()):
            continue
        inner = get_named_type(f.type)
        name = f"{alias}{fname}: {fname}" if alias else fname
        if isinstance(inner, GraphQLScalarType | GraphQLEnumType):
            parts.append(name)
        elif depth < 3:
            sub = selection(f.type, schema, depth + 1)
            parts.append(f"{name} {{ {sub} }}")
    return " ".join(parts)


def _tenant_ids(owner: psycopg.Connection, tenant) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    ids = {}
    for type_name, table in TYPE_TABLES.items():
        rows = owner.execute(
            f"SELECT id FROM {table} WHERE tenant_id = %s ORDER BY id LIMIT 3", (tenant.uuid,)
        ).fetchall()
        ids[type_name] = [global_id.encode(type_name, r[0]) for r in rows]
    return ids


def _fingerprint(owner: psycopg.Connection, tenant_id) -> dict[str, str]:  # type: ignore[no-untyped-def]
    tables = [
        r[0]
        for r in owner.execute(
            "SELECT table_name FROM information_schema.columns WHERE table_schema = 'public' "
            "AND column_name = 'tenant_id' ORDER BY table_name"
        )
    ]
    return {
        t: owner.execute(
            f"SELECT md5(coalesce(string_agg(x::text, ',' ORDER BY x::text), '')) "
            f"FROM {t} x WHERE tenant_id = %s",
            (tenant_id,),
        ).fetchone()[0]
        for t in tables
    }


def test_every_operation_with_another_tenants_ids_returns_nothing_of_theirs(gql, seeded_tenant, owner_db):  # type: ignore[no-untyped-def]
    from service.schema import schema as make_schema

    schema = make_schema()._schema
    a, b = seeded_tenant(), seeded_tenant()
    a_ids, b_ids = _tenant_ids(owner_db, a), _tenant_ids(owner_db, b)
    missing = [t for t, v in b_ids.items() if not v]
    assert not missing, f"the demo seed has no row of {missing} in tenant B: seed one"
    b_uuids = {
        str(r[0])
        for table in set(TYPE_TABLES.values())
        for r in owner_db.execute(f"SELECT id FROM {table} WHERE tenant_id = %s", (b.uuid,))
    }
    b_gids = {
        global_id.encode(t, r[0])
        for t, table in TYPE_TABLES.items()
        for r in owner_db.execute(f"SELECT id FROM {table} WHERE tenant_id = %s", (b.uuid,))
    }
    b_marks = b_uuids | b_gids | {str(b.uuid), b.id, b.slug}

    principals = {"admin": a.admin_token, "api_key": a.api_key}
    for role, (login, password) in DEMO_LOGINS.items():
        principals[role] = sign_in(gql, a.slug, login, password)

    before = _fingerprint(owner_db, b.uuid)
    unclassified, calls, outcomes, no_id_ops = [], 0, {}, []
    problems = []
    seen: dict = {}
    for kind, root in (("query", schema.query_type), ("mutation", schema.mutation_type)):
        for op, field in root.fields.items():
            slots = id_slots(op, field.args)
            if not slots:
                no_id_ops.append(op)
                continue
            if op in NOT_TENANT_IDS:
                continue
            bad = [(path, t) for path, t in slots if t is None]
            if bad:
                unclassified.append(f"{kind} {op}: {['.'.join(p) for p, _ in bad]}")
                continue
            types = list(b_ids) if op == "node" else [None]
            for node_type in types:
                typed = [(p, node_type or t) for p, t in slots]
                # All of B's; the same with IDs that exist nowhere; then B's in one slot and A's in the others.  # noqa: E501
                modes = [
                    ("all_b", {p: b_ids[t][0] for p, t in typed}),
                    ("all_missing", {p: global_id.encode(t, uuid.uuid4()) for p, t in typed}),
                ]
                if len(typed) > 1:
                    for k, (p, _t) in enumerate(typed):
                        modes.append(
                            (
                                f"b_in_{'.'.join(p)}",
                                {
                                    q: (b_ids[u][0] if j == k else a_ids[u][0])
                                    for j, (q, u) in enumerate(typed)
                                },
                            )
                        )
                for (mode, ids), (who, token) in itertools.product(modes, principals.items()):
                    var_defs = ", ".join(f"${n}: {_type_str(arg.type)}" for n, arg in field.args.items())
                    call = ", ".join(f"{n}: ${n}" for n in field.args)
                    sel = selection(field.type, schema)
                    if op == "node":  # one type's fragment at a time (the alias limit is 30)
                        impl = schema.type_map.get(node_type)
                        sel = "__typename id" + (
                            f" ... on {node_type} {{ {selection(impl, schema, 1)} }}"
                            if isinstance(impl, GraphQLObjectType)
                            and "Node" in [i.name for i in impl.interfaces]
                            else ""
                        )
                    doc = (
                        f"{kind}{f'({var_defs})' if var_defs else ''} {{ {op}"
                        f"{f'({call})' if call else ''} {f'{{ {sel} }}' if sel else ''} }}"
                    )
                    variables = {n: plausible(arg.type, (n,), ids) for n, arg in field.args.items()}
                    r = gql.post(doc, variables, token=token)
                    calls += 1
                    body = r.json()
                    label = f"{kind} {op} [{mode}{'/' + node_type if node_type else ''}] as {who}"
                    codes = {e.get("extensions", {}).get("code") for e in body.get("errors") or []}
                    messages = [e["message"] for e in body.get("errors") or [] if not e.get("extensions")]
                    if r.status_code >= 500 or "INTERNAL_SERVER_ERROR" in codes or messages:
                        problems.append(f"{label}: {r.status_code} {body.get('errors')}")
                        continue
                    data_text = json.dumps(body.get("data"))
                    leaked = sorted(m for m in b_marks if m in data_text)
                    if leaked:
                        problems.append(
                            f"{label}: tenant B's data came back: {leaked[:3]} in {data_text[:300]}"
                        )
                    payload = (body.get("data") or {}).get(op)
                    outcome = _classify(payload, codes)
                    outcomes[outcome] = outcomes.get(outcome, 0) + 1
                    if mode == "all_b" and outcome == "returned":
                        problems.append(f"{label}: returned something for B's IDs: {data_text[:300]}")
                    seen[(op, node_type, mode, who)] = outcome
                    if mode == "all_missing" and seen.get((op, node_type, "all_b", who)) != outcome:
                        problems.append(
                            f"{label}: B's IDs answer {seen.get((op, node_type, 'all_b', who))}, "
                            f"IDs that exist nowhere answer {outcome}"
                        )
            after = _fingerprint(owner_db, b.uuid)
            changed = [t for t in before if before[t] != after[t]]
            if changed:
                problems.append(f"{kind} {op} changed tenant B's rows in {changed}")
                before = after

    # The ID-less queries (lists, search, me…) as each principal: nothing of B's either.
    for op in no_id_ops:
        field = schema.query_type.fields.get(op)
        if field is None:
            continue
        required = {n: a for n, a in field.args.items() if isinstance(a.type, GraphQLNonNull)}
        var_defs = ", ".join(f"${n}: {_type_str(arg.type)}" for n, arg in required.items())
        call = ", ".join(f"{n}: ${n}" for n in required)
        sel = selection(field.type, schema)
        doc = (
            f"query{f'({var_defs})' if var_defs else ''} {{ {op}{f'({call})' if call else ''} "
            f"{f'{{ {sel} }}' if sel else ''} }}"
        )
        for who, token in principals.items():
            r = gql.post(doc, {n: plausible(a.type, (n,), {}) for n, a in required.items()}, token=token)
            calls += 1
            body = r.json()
            leaked = sorted(m for m in b_marks if m in json.dumps(body))
            if (
                r.status_code >= 500
                or leaked
                or any(not e.get("extensions") for e in body.get("errors") or [])
            ):
                problems.append(
                    f"query {op} as {who}: {r.status_code} leaked={leaked[:3]} {body.get('errors')}"
                )

    record(
        "cross-tenant",
        {
            "calls": calls,
            "outcomes": outcomes,
            "principals": sorted(principals),
            "operations_with_ids": sum(
                1
                for r in (schema.query_type, schema.mutation_type)
                for op, f in r.fields.items()
                if id_slots(op, f.args)
            ),
            "operations_without_ids": len(no_id_ops),
            "problems": problems[:50],
        },
    )
    assert not unclassified, (
        "ID arguments whose type the test cannot tell (add them to the table):\n" + "\n".join(unclassified)
    )
    assert not problems, "\n".join(problems[:40])


def _classify(payload, codes: set) -> str:  # type: ignore[no-untyped-def]
    """null / empty / refused with a code / returned (an object with an id, or a true)."""
    if codes:
        return "refused:" + ",".join(sorted(c for c in codes if c))
    if payload is None:
        return "null"
    if payload is False or payload == []:
        return "empty"
    if isinstance(payload, dict):
        if payload.get("errors"):
            return "refused:" + ",".join(sorted({e["code"] for e in payload["errors"]}))
        if payload.get("edges") == []:
            return "empty"
        if all(
            v in (None, [], "") for k, v in payload.items() if k not in ("__typename", "errors", "pageInfo")
        ):
            return "null"
    return "returned"
