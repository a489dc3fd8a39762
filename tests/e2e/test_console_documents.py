"""Every GraphQL document of the console (service/web/console/*.js) is valid against the committed
schema, once the schema has its root fields: a renamed field or a wrong argument fails here, not in
an operator's browser. Documents whose root fields the schema does not have yet are the screens'
"not available" parts; they are checked as soon as the API lands."""

from __future__ import annotations

import re
from pathlib import Path

from graphql import build_schema, parse, validate
from graphql.language import FieldNode, OperationDefinitionNode

ROOT = Path(__file__).resolve().parents[2]
CONSOLE = ROOT / "service" / "web" / "console"
CONSTANT = re.compile(r"^const (\w+) = `([^`]*)`;", re.M)
DOCUMENT = re.compile(r"`\s*((?:query|mutation) \w+[^`]*)`")


def documents() -> list[tuple[str, str]]:
    out = []
    for path in sorted(CONSOLE.glob("*.js")):
        text = path.read_text(encoding="utf-8")
        constants = {"ERR": "errors { code field message }"}
        for name, value in CONSTANT.findall(text):
            if not value.lstrip().startswith(("query", "mutation")):
                constants[name] = value
        for doc in DOCUMENT.findall(text):
            for _ in range(3):  # constants may name constants
                doc = re.sub(r"\$\{(\w+)\}", lambda m, c=constants: c.get(m.group(1), m.group(0)), doc)
            out.append((path.name, doc))
    return out


def test_console_documents_are_valid_against_the_schema() -> None:
    schema = build_schema((ROOT / "schema.graphql").read_text(encoding="utf-8"))
    roots = {"query": schema.query_type, "mutation": schema.mutation_type}
    found = documents()
    assert len(found) > 40, len(found)  # the extraction found the console's documents
    checked = 0
    for name, doc in found:
        ast = parse(doc)
        op = next(d for d in ast.definitions if isinstance(d, OperationDefinitionNode))
        root = roots[op.operation.value]
        fields = [s.name.value for s in op.selection_set.selections if isinstance(s, FieldNode)]
        if not all(f.startswith("__") or f in root.fields for f in fields):
            continue
        errors = validate(schema, ast)
        assert not errors, (name, doc, [e.message for e in errors])
        checked += 1
    assert checked > 30, checked
