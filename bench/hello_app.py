"""The framework's floor: a strawberry hello-world on Starlette, served by uvicorn with the same
settings as `groupbuy serve` (2 workers, keep-alive 5 s, concurrency limit 1000, no access log)."""

from __future__ import annotations

import strawberry
from starlette.applications import Starlette
from starlette.routing import Route
from strawberry.asgi import GraphQL


@strawberry.type
class Query:
    @strawberry.field
    def hello(self) -> str:
        return "world"


app = Starlette(routes=[Route("/graphql", GraphQL(strawberry.Schema(Query), graphql_ide=None),
                              methods=["GET", "POST"])])
