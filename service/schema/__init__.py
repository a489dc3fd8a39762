"""The GraphQL schema: each domain's queries and mutations joined in one place."""

from __future__ import annotations

from functools import lru_cache

import strawberry
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import MaxAliasesLimiter, QueryDepthLimiter
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types

from service.config import get_settings
from service.observability.graphql import Observability
from service.schema.accounts import AccountsMutation, AccountsQuery
from service.schema.batches import BatchesMutation, BatchesQuery
from service.schema.catalog import CatalogMutation, CatalogQuery
from service.schema.execution import FastExecutor
from service.schema.extensions import Guards, RequestLifecycle
from service.schema.leaders import LeadersMutation, LeadersQuery
from service.schema.node import NodeQuery
from service.schema.notify import NotifyMutation, NotifyQuery
from service.schema.orders import OrdersMutation, OrdersQuery
from service.schema.procurement import ProcurementMutation, ProcurementQuery

QUERIES: tuple[type, ...] = (NodeQuery, AccountsQuery, CatalogQuery, LeadersQuery, BatchesQuery, OrdersQuery)
MUTATIONS: tuple[type, ...] = (AccountsMutation, CatalogMutation, LeadersMutation, BatchesMutation, OrdersMutation)
QUERIES += (NotifyQuery, ProcurementQuery)
MUTATIONS += (NotifyMutation, ProcurementMutation)


class Schema(strawberry.Schema):
    def process_errors(self, errors, execution_context=None):  # type: ignore[no-untyped-def]
        """Expected errors are not logged; RequestLifecycle logs the unexpected ones with the request id."""


def build_schema(*, introspection: bool | None = None) -> strawberry.Schema:
    s = get_settings()
    introspection = s.introspection_enabled if introspection is None else introspection
    limit_rules = [
        *QueryDepthLimiter(max_depth=s.max_query_depth).validation_rules,
        *MaxAliasesLimiter(max_alias_count=s.max_aliases).validation_rules,
    ]
    if not introspection:
        limit_rules.append(NoSchemaIntrospectionCustomRule)
    extensions: list = [
        Observability,  # first: log context, span and metrics label around everything else
        # The parser cache, token limit and extra rules (built once: strawberry's depth and alias
        # extensions make a new rule class per request, which defeated the validation cache).
        lambda: Guards(max_tokens=s.max_query_tokens, rules=limit_rules, parser_cache_size=4096),
        RequestLifecycle,
    ]
    return Schema(
        query=merge_types("Query", QUERIES),
        mutation=merge_types("Mutation", MUTATIONS),
        extensions=extensions,
        config=StrawberryConfig(),
        execution_context_class=FastExecutor,
    )


@lru_cache
def schema() -> strawberry.Schema:
    return build_schema()


def sdl() -> str:
    return build_schema(introspection=True).as_str() + "\n"
