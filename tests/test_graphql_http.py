"""The /graphql endpoint: GraphQL over HTTP, limits refused before any database work,
internal errors masked with a request id."""

from __future__ import annotations

import strawberry
from click.testing import CliRunner

TENANT = "{ tenant { slug name } }"


def test_get_and_post(gql, tenant):  # type: ignore[no-untyped-def]
    r = gql.http.get("/graphql", params={"query": TENANT}, headers={"X-Tenant": tenant.slug})
    assert r.status_code == 200 and r.json()["data"]["tenant"]["slug"] == tenant.slug
    assert gql.data(TENANT, tenant=tenant.slug)["tenant"]["slug"] == tenant.slug


def test_mutations_are_refused_over_get(gql, tenant):  # type: ignore[no-untyped-def]
    r = gql.http.get("/graphql", params={"query": 'mutation { apiKeyCreate(name: "x") { apiKey } }'},
                     headers={"X-Tenant": tenant.slug})
    assert r.status_code in (400, 405)
    assert r.json()["errors"][0]["extensions"]["code"] in ("BAD_REQUEST", "METHOD_NOT_ALLOWED"), r.text


def test_graphql_response_media_type(gql, tenant):  # type: ignore[no-untyped-def]
    accept = {"Accept": "application/graphql-response+json"}
    ok = gql.post(TENANT, tenant=tenant.slug, headers=accept)
    assert ok.status_code == 200 and ok.headers["content-type"].startswith("application/graphql-response+json")
    bad = gql.post("{ tenant { nosuchfield } }", tenant=tenant.slug, headers=accept)
    assert bad.status_code == 400 and bad.json()["errors"]
    plain = gql.post("{ tenant { nosuchfield } }", tenant=tenant.slug)
    assert plain.status_code == 200 and plain.headers["content-type"].startswith("application/json")


def test_graphql_response_request_errors_have_no_data_entry(gql, tenant, make_customer):  # type: ignore[no-untyped-def]
    """GraphQL over HTTP: with application/graphql-response+json, a request that fails before
    execution (parse, validation, variables) is a 4xx without a `data` entry; one that executed
    keeps `data`, even when it is null."""
    accept = {"Accept": "application/graphql-response+json"}
    for query, variables in (("{ tenant { slug ", None), ("{ tenant { nosuchfield } }", None),
                             ("query($n: Int!) { tenant { slug } }", {"n": "x"})):
        r = gql.post(query, variables, tenant=tenant.slug, headers=accept)
        assert r.status_code == 400 and r.headers["content-type"].startswith("application/graphql-response+json")
        body = r.json()
        assert "data" not in body and body["errors"], body
    # Executed, with a field error that nulls the whole result: `data` stays (null), status 200.
    customer = make_customer(tenant)
    r = gql.post("{ me { roles } suppliers(first: 1) { edges { node { id } } } }", token=customer.token,
                 headers=accept)
    body = r.json()
    assert r.status_code == 200 and "data" in body and body["errors"], body


def _refused_without_sql(gql, tenant, sql_statements, query, variables=None) -> dict:  # type: ignore[no-untyped-def]
    gql.data(TENANT, tenant=tenant.slug)  # tenant now cached, as in steady state
    sql_statements.clear()
    body = gql(query, variables, tenant=tenant.slug)
    assert body.get("errors"), body
    assert sql_statements == [], f"refused request touched the database: {sql_statements}"
    return body


def test_too_deep_query_is_refused_before_the_database(gql, tenant, sql_statements):  # type: ignore[no-untyped-def]
    # A valid document (contract types) nested past the limit: leader -> pickupPoints -> leader -> ...
    inner = "id"
    for _ in range(10):
        inner = f"leader {{ pickupPoints {{ {inner} }} }}"
    body = _refused_without_sql(gql, tenant, sql_statements, f"{{ me {{ {inner} }} }}")
    assert [e["message"] for e in body["errors"]] == [body["errors"][0]["message"]]
    assert "depth" in body["errors"][0]["message"].lower()


def test_alias_flood_is_refused_before_the_database(gql, tenant, sql_statements):  # type: ignore[no-untyped-def]
    query = "{ " + " ".join(f"a{i}: tenant {{ slug }}" for i in range(200)) + " }"
    body = _refused_without_sql(gql, tenant, sql_statements, query)
    assert "alias" in body["errors"][0]["message"].lower()


def test_token_flood_is_refused(gql, tenant, sql_statements):  # type: ignore[no-untyped-def]
    query = "{ tenant { " + " ".join(["slug"] * 5000) + " } }"
    body = _refused_without_sql(gql, tenant, sql_statements, query)
    assert "token" in body["errors"][0]["message"].lower()


def test_page_size_over_the_cap_is_an_error_not_a_truncation(gql, tenant, sql_statements):  # type: ignore[no-untyped-def]
    from service.schema import schema

    # Any connection field with `first` is checked, literal or variable.
    name = "batches"
    assert "first" in schema()._schema.query_type.fields[name].args
    body = _refused_without_sql(gql, tenant, sql_statements, f"{{ {name}(first: 1000) {{ __typename }} }}")
    assert body["errors"][0]["extensions"]["code"] == "PAGE_SIZE_EXCEEDED"
    body = _refused_without_sql(gql, tenant, sql_statements,
                                f"query($n: Int) {{ {name}(first: $n) {{ __typename }} }}", {"n": 101})
    assert body["errors"][0]["extensions"]["code"] == "PAGE_SIZE_EXCEEDED"


def test_oversized_body_is_refused(gql, tenant):  # type: ignore[no-untyped-def]
    from service.config import get_settings

    big = "{ tenant { slug } }" + " " * (get_settings().max_body_bytes + 10)
    r = gql.post(big, tenant=tenant.slug)
    assert r.status_code == 413
    assert r.json()["errors"][0]["extensions"]["code"] == "REQUEST_TOO_LARGE"


def test_internal_errors_are_masked_with_a_request_id(caplog):  # type: ignore[no-untyped-def]
    import asyncio
    import logging

    from service.schema import Schema
    from service.schema.extensions import Guards

    class Ctx:
        request_id = "req-123"
        finished: list[bool] = []

        async def finish(self, *, commit: bool) -> None:
            self.finished.append(commit)

    @strawberry.type
    class Query:
        @strawberry.field
        def boom(self) -> str:
            raise RuntimeError("secret detail: password=hunter2")

    schema = Schema(Query, extensions=[lambda: Guards(max_tokens=100, max_cost=10)])
    ctx = Ctx()
    with caplog.at_level(logging.ERROR, logger="service.graphql"):
        result = asyncio.run(schema.execute("{ boom }", context_value=ctx))
    error = result.errors[0]
    assert "hunter2" not in error.message and "req-123" in error.message
    assert error.extensions == {"code": "INTERNAL_SERVER_ERROR", "requestId": "req-123"}
    assert ctx.finished == [False]  # rolled back
    assert "hunter2" in caplog.text  # the trace goes to the log, not to the client


def test_health_and_readiness(gql):  # type: ignore[no-untyped-def]
    assert gql.http.get("/healthz").json() == {"status": "ok"}
    ready = gql.http.get("/readyz")
    assert ready.status_code == 200 and ready.json() == {"status": "ok"}  # details: /status, not public


def test_graphiql_is_served_when_enabled(gql):  # type: ignore[no-untyped-def]
    r = gql.http.get("/graphql", headers={"Accept": "text/html"})
    assert r.status_code == 200 and "graphiql" in r.text.lower()


def test_cli_lists_every_subcommand():
    from service.cli import main

    out = CliRunner().invoke(main, ["--help"]).output
    for command in ("run", "serve", "worker", "scheduler", "migrate", "tenant", "demo", "schema"):
        assert f"  {command} " in out or f"  {command}\n" in out, command
    assert "create" in CliRunner().invoke(main, ["tenant", "--help"]).output


def test_schema_is_served_for_developers(gql):  # type: ignore[no-untyped-def]
    r = gql.http.get("/schema.graphql")
    assert r.status_code == 200 and "type Query" in r.text and "orderPlace" in r.text


def test_nul_characters_are_refused_not_a_server_error(gql, tenant):  # type: ignore[no-untyped-def]
    literal = gql('{ products(search: "a\\u0000b") { edges { cursor } } }', token=tenant.admin_token)
    assert literal["errors"][0]["extensions"]["code"] == "INVALID"
    variable = gql("query($s: String) { products(search: $s) { edges { cursor } } }", {"s": "x\u0000"},
                   token=tenant.admin_token)
    assert variable["errors"][0]["extensions"]["code"] == "INVALID"
    nested = gql('mutation($i: CustomerRegisterInput!) { customerRegister(input: $i) { errors { code } } }',
                 {"i": {"displayName": "N\u0000", "email": "nul@example.com", "password": "password-1"}},
                 tenant=tenant.slug)
    assert nested["errors"][0]["extensions"]["code"] == "INVALID"
    assert gql.data('{ products(search: "ok") { edges { cursor } } }', token=tenant.admin_token)


def test_start_up_freezes_what_it_built_out_of_the_cyclic_collector(services):  # type: ignore[no-untyped-def]
    """The app's lifespan (through every middleware) moves what start-up built to the permanent
    generation, so the collector's full passes no longer walk it on every request burst. In a
    process of its own: the lifespan's shutdown closes this process's shared clients."""
    import os
    import subprocess
    import sys

    code = (
        "import gc\n"
        "from starlette.testclient import TestClient\n"
        "from service.app import create_app\n"
        "before = gc.get_freeze_count()\n"
        "with TestClient(create_app()) as client:\n"
        "    assert client.get('/healthz').status_code == 200\n"
        "    print(before, gc.get_freeze_count())\n"
    )
    done = subprocess.run([sys.executable, "-c", code], env=dict(os.environ), capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    before, frozen = (int(x) for x in done.stdout.split())
    assert before == 0 and frozen > 10_000


def test_malformed_json_bodies_are_refused_with_400_not_a_server_error(gql, tenant):  # type: ignore[no-untyped-def]
    headers = {"X-Tenant": tenant.slug, "Content-Type": "application/json"}
    bodies = (b'{"query": "{ tenant { slug } }"', b'{"query": NaN}', b'{"query": "\\ud800"}', b"\xff\xfe",
              b'"{ tenant { slug } }"', b"123", b"null", b"[]", b'{"query": 5}', b'{"query": "{ a }", "variables": [1]}')
    for body in bodies:
        r = gql.http.post("/graphql", content=body, headers=headers)
        assert r.status_code == 400, (body, r.status_code, r.text[:200])
        error = r.json()["errors"][0]  # JSON with a code, as every refusal, not strawberry's plain text
        assert error["extensions"]["code"] == "BAD_REQUEST" and error["message"], (body, error)
        assert r.headers["x-request-id"]  # to find it in the logs, as any answer
    # A GET's variables: null is no variables; anything but an object is refused the same way.
    get = {"query": "{ tenant { slug } }"}
    ok = gql.http.get("/graphql", params={**get, "variables": "null"}, headers={"X-Tenant": tenant.slug})
    assert ok.status_code == 200 and ok.json()["data"]["tenant"]["slug"] == tenant.slug
    for variables in ("abc", "123", "[1]", "{bad"):
        r = gql.http.get("/graphql", params={**get, "variables": variables}, headers={"X-Tenant": tenant.slug})
        assert r.status_code == 400 and r.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST", r.text
    # An integer no 32-bit Int holds is the variable's error, not a crash.
    r = gql.http.post("/graphql", content=b'{"query": "query($n: Int) { products(first: $n) { edges { cursor } } }",'
                      b' "variables": {"n": 123456789012345678901234567890}}', headers=headers)
    assert r.status_code == 200 and r.json()["errors"], r.text[:300]


def test_answers_are_utf8_json(gql, tenant):  # type: ignore[no-untyped-def]
    name = "社区团购 — 早市农场"
    query = "mutation($i: SupplierInput!) { supplierCreate(input: $i) { supplier { name } errors { code } } }"
    r = gql.post(query, {"i": {"name": name, "contactEmail": "utf8@example.com"}}, token=tenant.admin_token)
    assert r.headers["content-type"].startswith("application/json")
    assert r.json()["data"]["supplierCreate"]["supplier"]["name"] == name
    assert name.encode() in r.content  # UTF-8 as it is, not \u escapes: a third of the bytes


def test_the_plain_post_path_answers_as_strawberrys_own(gql, tenant, monkeypatch):  # type: ignore[no-untyped-def]
    """Every JSON POST, good or bad, gets the same status, media type and body from the short path
    as from strawberry's full one."""
    from service.schema import view

    headers = {"X-Tenant": tenant.slug, "Content-Type": "application/json"}
    mutation = 'mutation { apiKeyCreate(name: "") { apiKey errors { code } } }'
    cases: list[tuple[bytes, dict]] = [
        (b'{"query": "{ tenant { slug name } }"}', {}),
        (b'{"query": "{ tenant { slug } }", "variables": null, "extensions": {"x": 1}}', {}),
        (b'{"query": "query A { tenant { slug } } query B { __typename }", "operationName": "B"}', {}),
        (b'{"query": "query A { tenant { slug } } query B { __typename }"}', {}),  # which one?
        (b'{"query": "query A { tenant { slug } }", "operationName": "C"}', {}),
        (b'{"query": "{ tenant { nosuchfield } }"}', {}),
        (b'{"query": "{ tenant { nosuchfield } }"}', {"Accept": "application/graphql-response+json"}),
        (b'{"query": "{ tenant { slug } }"}', {"Accept": "application/graphql-response+json"}),
        (b'{"query": "subscription { x }"}', {}),
        (("{\"query\": " + __import__("json").dumps(mutation) + "}").encode(), {}),  # no token: refused inside
        (b"{}", {}),
        (b'{"query": null}', {}),
        (b'{"query": 7}', {}),
        (b'{"query": "{ __typename }", "variables": [1]}', {}),
        (b'{"query": "{ __typename }", "extensions": "x"}', {}),
        (b'{"query": ', {}),
        (b'"a string"', {}),
        (b'[{"query": "{ __typename }"}]', {}),
        (b'{"query": "{ __typename }"}', {"Content-Type": "application/json; charset=utf-8"}),
    ]

    def answers() -> list[tuple[int, str, object]]:
        out = []
        for body, extra in cases:
            r = gql.http.post("/graphql", content=body, headers={**headers, **extra})
            out.append((r.status_code, r.headers["content-type"], r.json()))
        return out

    taken: list[str] = []
    plain_post = view.GraphQLView._plain_post

    async def counted(self, request):  # type: ignore[no-untyped-def]
        taken.append("short")
        answer = await plain_post(self, request)
        if answer is None:
            taken.append("passed on")
        return answer

    monkeypatch.setattr(view.GraphQLView, "_plain_post", counted)
    short = answers()
    assert taken.count("short") == len(cases) and taken.count("passed on") == 1  # the batch
    monkeypatch.setattr(view.GraphQLView, "_is_plain_post", lambda self, request: False)
    taken.clear()
    full = answers()
    assert not taken
    for case, got, expected in zip(cases, short, full, strict=True):
        assert got == expected, case
    assert short[0][0] == 200 and short[0][2]["data"]["tenant"]["slug"] == tenant.slug  # type: ignore[index]
    assert short[10][0] == 400 and short[15][0] == 400


def test_body_limit_counts_only_bodies_without_a_declared_length() -> None:
    import asyncio

    from service.app import BodyLimit

    seen: list = []

    async def app(scope, receive, send):  # type: ignore[no-untyped-def]
        seen.append(receive)
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if message["type"] != "http.request" or not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})

    def call(headers: list, chunks: list[bytes]) -> tuple[int, object]:
        messages = [{"type": "http.request", "body": c, "more_body": i < len(chunks) - 1} for i, c in enumerate(chunks)]

        async def receive():  # type: ignore[no-untyped-def]
            return messages.pop(0) if messages else {"type": "http.disconnect"}

        sent: list = []

        async def send(message):  # type: ignore[no-untyped-def]
            sent.append(message)

        seen.clear()
        scope = {"type": "http", "method": "POST", "path": "/graphql", "headers": headers, "query_string": b""}
        asyncio.run(BodyLimit(app, max_bytes=10)(scope, receive, send))
        return sent[0]["status"], (seen[0] is receive) if seen else None

    assert call([(b"content-length", b"8")], [b"12345678"]) == (200, True)  # framed by its length
    assert call([(b"content-length", b"11")], [b"12345678901"])[0] == 413
    assert call([(b"transfer-encoding", b"chunked")], [b"123456", b"789"]) == (200, False)  # counted
    assert call([(b"transfer-encoding", b"chunked")], [b"123456", b"78901"])[0] == 413
    assert call([(b"content-length", b"8"), (b"transfer-encoding", b"chunked")], [b"123456", b"78901"])[0] == 413


def test_graphql_posts_skip_the_router_and_fail_as_starlette_fails() -> None:
    """POST /graphql goes straight to the view; anything else through Starlette's router. An
    unexpected error is answered as Starlette's error middleware answers it (500, no detail) and
    raised on to the server, whichever way the request went."""
    import asyncio

    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    from service.app import GraphQLFirst

    calls: list[str] = []

    class View:  # an ASGI app, as the GraphQL view is (a function would be a request endpoint)
        async def __call__(self, scope, receive, send):  # type: ignore[no-untyped-def]
            calls.append(f"view {scope['method']} {scope['path']}")
            if scope.get("query_string") == b"fail":
                raise RuntimeError("secret detail")
            await PlainTextResponse(f"ok {scope['method']}")(scope, receive, send)

    view = View()

    def starlette() -> Starlette:
        return Starlette(routes=[Route("/graphql", view, methods=["GET", "POST"])])

    def call(app, method: str, path: str, query: bytes = b"", root_path: str = "") -> tuple:  # type: ignore[no-untyped-def]
        sent: list = []

        async def receive():  # type: ignore[no-untyped-def]
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message):  # type: ignore[no-untyped-def]
            sent.append(message)

        scope = {"type": "http", "method": method, "path": path, "root_path": root_path, "headers": [],
                 "query_string": query, "http_version": "1.1", "scheme": "http", "server": ("t", 80)}
        raised = None
        try:
            asyncio.run(app(scope, receive, send))
        except RuntimeError as e:
            raised = str(e)
        start = next(m for m in sent if m["type"] == "http.response.start")
        body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
        return start["status"], dict(start["headers"]).get(b"content-type"), body, raised

    cases = [("POST", "/graphql", b""), ("POST", "/graphql", b"fail"), ("GET", "/graphql", b""),
             ("GET", "/graphql", b"fail"), ("PUT", "/graphql", b""), ("POST", "/graphql/", b""),
             ("POST", "/other", b"")]
    for method, path, query in cases:
        calls.clear()
        theirs = call(starlette(), method, path, query)
        their_calls = list(calls)
        calls.clear()
        ours = call(GraphQLFirst(starlette(), view), method, path, query)
        assert ours == theirs, (method, path, query)
        assert calls == their_calls
    assert call(GraphQLFirst(starlette(), view), "POST", "/graphql", b"fail")[1:] == (
        b"text/plain; charset=utf-8", b"Internal Server Error", "secret detail")

    # Which way each request went: only a POST to /graphql (without a root path) skips the router.
    routed: list[str] = []

    class Router:
        def __init__(self, app):  # type: ignore[no-untyped-def]
            self.app = app

        async def __call__(self, scope, receive, send):  # type: ignore[no-untyped-def]
            routed.append(f"{scope['method']} {scope['path']}")
            await self.app(scope, receive, send)

    app = GraphQLFirst(Router(starlette()), view)
    for method, path, root in (("POST", "/graphql", ""), ("GET", "/graphql", ""), ("POST", "/api/graphql", "/api")):
        call(app, method, path, root_path=root)
    assert routed == ["GET /graphql", "POST /api/graphql"]
