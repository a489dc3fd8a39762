"""No third-party module is modified: every function and class of the libraries we build on is the
library's own after the app is imported and its schema built.

A subprocess imports the app (and builds the schema, serves nothing) and fingerprints every
attribute of every loaded graphql, strawberry, starlette, uvicorn, sqlalchemy and dramatiq module,
and of every class those modules define; a fresh interpreter imports the same modules, in the same
order, without the app, and fingerprints them the same way. Any difference fails. A third run
applies a dummy patch after the app and must be caught, so the check itself is known to work.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LIBRARIES = ("graphql", "strawberry", "starlette", "uvicorn", "sqlalchemy", "dramatiq")

SNAPSHOT = r"""
import inspect, json, sys, types

LIBRARIES = tuple(json.loads(sys.argv[1]))
mode = sys.argv[2]


def owned(name):
    return name.split(".")[0] in LIBRARIES


def code_of(value):
    value = inspect.unwrap(value) if callable(value) else value
    code = getattr(value, "__code__", None)
    return f"{code.co_filename}:{code.co_firstlineno}" if code is not None else ""


def fingerprint(value):
    if isinstance(value, types.ModuleType):
        return "module " + value.__name__
    if isinstance(value, (staticmethod, classmethod)):
        return type(value).__name__ + " " + fingerprint(value.__func__)
    if isinstance(value, property):
        return "property " + " ".join(fingerprint(f) for f in (value.fget, value.fset, value.fdel))
    if inspect.isclass(value) or inspect.isroutine(value):
        name = f"{getattr(value, '__module__', '?')}.{getattr(value, '__qualname__', '?')}"
        return f"{type(value).__name__} {name} {code_of(value)}"
    if callable(value):  # an instance that acts as a function (a partial, a wrapper object)
        return f"callable {type(value).__module__}.{type(value).__qualname__} {code_of(value)}"
    return "value " + type(value).__qualname__  # data may differ (registries, caches): not compared


def snapshot(names):
    found = {}
    for name in names:
        module = sys.modules.get(name)
        if module is None:
            continue
        for attr, value in list(vars(module).items()):
            found[f"{name}:{attr}"] = fingerprint(value)
            if inspect.isclass(value) and value.__module__ == name:
                for member, inner in list(vars(value).items()):
                    if member not in ("__dict__", "__weakref__", "__doc__", "__annotations__"):
                        found[f"{name}:{attr}.{member}"] = fingerprint(inner)
    return found


if mode == "app":
    from service.app import create_app
    from service.schema import schema

    create_app()
    schema()
    if len(sys.argv) > 3:  # the dummy patch the check must catch
        import graphql.execution.values as values

        values.get_variable_values = lambda *args, **kwargs: None
    names = [name for name in list(sys.modules) if owned(name)]
    print(json.dumps({"names": names, "snapshot": snapshot(names)}))
else:
    import importlib

    names = json.loads(sys.stdin.read())
    for name in names:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - a module the app's process only had half-loaded
            pass
    print(json.dumps(snapshot(names)))
"""


def _run(*args: str, stdin: str | None = None) -> dict:
    done = subprocess.run([sys.executable, "-c", SNAPSHOT, json.dumps(LIBRARIES), *args], input=stdin,
                          capture_output=True, text=True, cwd=ROOT, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


# SQLAlchemy compiles its own traversal methods onto its clause classes the first time a clause of
# the class is copied or walked (sqlalchemy.sql.traversals): the library's doing, from its own code.
_SQLALCHEMY_GENERATED = re.compile(r"sqlalchemy\.[\w.]+:\w+\._generated_\w+_traversal")


def _differences(*patch: str) -> list[str]:
    with_app = _run("app", *patch)
    fresh = _run("fresh", stdin=json.dumps(with_app["names"]))
    ours = with_app["snapshot"]
    return sorted(
        f"{key}: {fresh.get(key, '<absent>')} -> {ours.get(key, '<absent>')}"
        for key in set(ours) | set(fresh)
        if ours.get(key) != fresh.get(key)
        and not (_SQLALCHEMY_GENERATED.fullmatch(key) and key not in fresh and ours[key].endswith(" <string>:1"))
    )


def test_the_app_modifies_no_library_module() -> None:
    differences = _differences()
    assert differences == [], "\n".join(differences[:50])


def test_the_check_catches_a_patch() -> None:
    differences = _differences("patch")
    assert any(d.startswith("graphql.execution.values:get_variable_values:") for d in differences), differences
