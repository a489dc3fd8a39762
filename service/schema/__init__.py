"""The GraphQL schema: each domain's queries and mutations joined in one place."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any

import strawberry
from graphql import GraphQLError, GraphQLSchema
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import MaxAliasesLimiter, QueryDepthLimiter
from strawberry.schema.config import StrawberryConfig
from strawberry.schema.name_converter import NameConverter
from strawberry.tools import merge_types

from service.config import get_settings
from service.schema import event_nodes  # noqa: F401 - registers the Refund and User nodes
from service.schema.accounts import AccountsMutation, AccountsQuery
from service.schema.aftersales import (
    AftersalesMutation,
    AftersalesQuery,
    AfterSalesRequestMutation,
    AfterSalesRequestQuery,
    SupplierShortageQuery,
)
from service.schema.audit import AuditQuery
from service.schema.batches import BatchesMutation, BatchesQuery
from service.schema.catalog import CatalogMutation, CatalogQuery
from service.schema.counter import CounterMutation, CounterQuery
from service.schema.coupons import CouponsMutation, CouponsQuery
from service.schema.execution import FastExecutor, QuietExecutor
from service.schema.extensions import ObservedGuards
from service.schema.groupbuys import GroupBuysMutation, GroupBuysQuery
from service.schema.growth import GrowthMutation, GrowthQuery
from service.schema.languages import LanguagesMutation
from service.schema.leaders import LeadersMutation, LeadersQuery
from service.schema.ledger import LedgerMutation, LedgerQuery
from service.schema.node import NODE_TYPES, NodeQuery
from service.schema.notify import NotifyMutation, NotifyQuery
from service.schema.orders import OrdersMutation, OrdersQuery
from service.schema.procurement import ProcurementMutation, ProcurementQuery
from service.schema.reports import ReportsQuery
from service.schema.times import DATETIME

QUERIES: tuple[type, ...] = (NodeQuery, AccountsQuery, CatalogQuery, LeadersQuery, BatchesQuery, OrdersQuery)
MUTATIONS: tuple[type, ...] = (AccountsMutation, CatalogMutation, LeadersMutation, BatchesMutation, OrdersMutation)
QUERIES += (NotifyQuery, ProcurementQuery)
QUERIES += (AuditQuery,)
QUERIES += (ReportsQuery,)
MUTATIONS += (NotifyMutation, ProcurementMutation)
QUERIES += (CounterQuery,)
MUTATIONS += (CounterMutation,)
QUERIES += (AftersalesQuery, AfterSalesRequestQuery)
QUERIES += (SupplierShortageQuery,)
MUTATIONS += (AftersalesMutation, AfterSalesRequestMutation)
QUERIES += (GrowthQuery,)
MUTATIONS += (GrowthMutation,)
QUERIES += (GroupBuysQuery,)
MUTATIONS += (GroupBuysMutation,)
QUERIES += (CouponsQuery,)
MUTATIONS += (CouponsMutation,)
QUERIES += (LedgerQuery,)
MUTATIONS += (LedgerMutation,)
MUTATIONS += (LanguagesMutation,)


class Schema(strawberry.Schema):
    @property
    def graphql_schema(self) -> GraphQLSchema:
        """The graphql-core schema strawberry built (its `_schema`, which its own integrations read)."""
        return self._schema

    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        """Expected errors are not logged; Guards logs the unexpected ones with the request id."""


def build_schema(*, introspection: bool | None = None) -> strawberry.Schema:
    s = get_settings()
    introspection = s.introspection_enabled if introspection is None else introspection
    limit_rules = [
        *QueryDepthLimiter(max_depth=s.max_query_depth).validation_rules,
        *MaxAliasesLimiter(max_alias_count=s.max_aliases).validation_rules,
    ]
    if not introspection:
        limit_rules.append(NoSchemaIntrospectionCustomRule)
    # One extension: strawberry's runner builds each extension's hooks anew for every phase of
    # every request, so the log context, span and metrics label, the guards and the request's
    # lifecycle are one (the guards inside the log context).
    extensions: list = [
        # The rules are built once: strawberry's depth and alias extensions make a new rule class
        # per request, which defeated the validation cache.
        lambda: ObservedGuards(max_tokens=s.max_query_tokens, max_cost=s.max_query_cost, rules=limit_rules,
                               hide_suggestions=not introspection),
    ]
    # Production (no introspection): no "Did you mean ...?" from variable coercion either.
    executor = FastExecutor if introspection else QuietExecutor
    return Schema(
        query=_root("Query", QUERIES, "What can be read. Each field says who may read it; what another tenant "
                                      "owns is invisible."),
        mutation=_root("Mutation", MUTATIONS, "What can be changed. Each mutation returns a payload whose errors say "
                                              "why it refused its input."),
        types=NODE_TYPES,
        scalar_overrides={datetime: DATETIME},
        extensions=extensions,
        config=StrawberryConfig(name_converter=CachedNames()),
        execution_context_class=executor,
    )


def _root(name: str, types: tuple[type, ...], description: str) -> type:
    """merge_types, with a description for the root type."""
    return strawberry.type(type(name, (merge_types(name, types),), {}), description=description)


class CachedNames(NameConverter):
    """strawberry converts every input field's and argument's name to camelCase again on each
    request (a generator per name); the names are few and fixed, so each is converted once."""

    def __init__(self) -> None:
        super().__init__(auto_camel_case=True)
        self._names: dict[str, str] = {}

    def apply_naming_config(self, name: str) -> str:
        converted = self._names.get(name)
        if converted is None:
            converted = self._names[name] = super().apply_naming_config(name)
        return converted


@lru_cache
def schema() -> strawberry.Schema:
    return build_schema()


def sdl() -> str:
    return build_schema(introspection=True).as_str() + "\n"
