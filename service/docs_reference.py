"""The API guide's reference page (/docs/reference/), rendered from the live schema's descriptions
at serve time, so it always says what the running service does; and the guide's static pages."""

from __future__ import annotations

import html
import sys
from functools import lru_cache
from pathlib import Path

from graphql import (
    GraphQLArgument,
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputField,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLType,
    GraphQLUnionType,
    get_named_type,
    print_ast,
)
from graphql.type import specified_scalar_types

from service.schema import build_schema, sdl

_REPO_GUIDE = Path(__file__).resolve().parent.parent / "docs" / "guide"
# Where the container image puts the guide (deploy/Dockerfile): the package is installed, not checked out.
_INSTALLED_GUIDE = Path(sys.prefix) / "share" / "groupbuy" / "guide"

_NAV = [("index.html", "Guide"), ("auth.html", "Authentication"), ("lifecycles.html", "Lifecycles"),
        ("errors.html", "Errors"), ("conventions.html", "Conventions"), ("webhooks.html", "Webhooks"),
        ("exports.html", "Exports"), ("settings.html", "Settings"), ("operations.html", "Operations"),
        ("client-code.html", "Client code"), ("reference/", "Reference")]


def guide_dir() -> Path:
    return _REPO_GUIDE if _REPO_GUIDE.is_dir() else _INSTALLED_GUIDE


def _e(text: str | None) -> str:
    return html.escape(text or "")


def _type_ref(type_: GraphQLType) -> str:
    """`[Order!]!` with the named type linked to its section."""
    named = get_named_type(type_)
    text = _e(str(type_))
    if named.name in specified_scalar_types:
        return f"<code>{text}</code>"
    link = f'<a href="#{named.name}">{named.name}</a>'
    return f"<code>{text.replace(named.name, link, 1)}</code>"


def _default(arg: GraphQLArgument | GraphQLInputField) -> str:
    node = arg.ast_node
    if node is not None and node.default_value is not None:
        return f" = <code>{_e(print_ast(node.default_value))}</code>"
    return ""


def _arguments(field: GraphQLField) -> str:
    if not field.args:
        return ""
    items = "".join(
        f"<li><code>{_e(name)}</code>: {_type_ref(arg.type)}{_default(arg)} — {_e(arg.description)}</li>"
        for name, arg in field.args.items())
    return f"<ul class=\"args\">{items}</ul>"


def _deprecated(reason: str | None) -> str:
    return f' <span class="deprecated">Deprecated: {_e(reason)}</span>' if reason else ""


def _fields(type_: GraphQLObjectType | GraphQLInterfaceType, root: str | None = None) -> str:
    out = []
    for name, field in type_.fields.items():
        anchor = f' id="{root}.{name}"' if root else ""
        out.append(f"<dt{anchor}>{_e(name)}: {_type_ref(field.type)}</dt>"
                   f"<dd>{_e(field.description)}{_deprecated(field.deprecation_reason)}{_arguments(field)}</dd>")
    return f"<dl class=\"fields\">{''.join(out)}</dl>"


_KINDS = ((GraphQLObjectType, "type"), (GraphQLInterfaceType, "interface"), (GraphQLInputObjectType, "input"),
          (GraphQLEnumType, "enum"), (GraphQLScalarType, "scalar"), (GraphQLUnionType, "union"))


def _section(type_: GraphQLNamedType) -> str:
    kind = next(name for cls, name in _KINDS if isinstance(type_, cls))
    head = (f'<section class="ref-type" id="{type_.name}"><h3>{_e(type_.name)} <span class="ref-kind">{kind}</span>'
            f"</h3><p>{_e(type_.description)}</p>")
    if isinstance(type_, GraphQLObjectType | GraphQLInterfaceType):
        if type_.interfaces:
            head += "<p>Implements " + ", ".join(_type_ref(i) for i in type_.interfaces) + ".</p>"
        body = _fields(type_)
    elif isinstance(type_, GraphQLInputObjectType):
        body = "<dl class=\"fields\">" + "".join(
            f"<dt>{_e(n)}: {_type_ref(f.type)}{_default(f)}</dt><dd>{_e(f.description)}</dd>"
            for n, f in type_.fields.items()) + "</dl>"
    elif isinstance(type_, GraphQLEnumType):
        body = "<dl class=\"fields\">" + "".join(
            f"<dt>{_e(n)}</dt><dd>{_e(v.description)}{_deprecated(v.deprecation_reason)}</dd>"
            for n, v in type_.values.items()) + "</dl>"
    elif isinstance(type_, GraphQLUnionType):
        body = "<p>One of " + ", ".join(_type_ref(t) for t in type_.types) + ".</p>"
    else:
        body = ""
    return head + body + "</section>"


def render_reference(schema: GraphQLSchema) -> str:
    """The whole reference as one HTML page: queries, mutations, then every type by name."""
    nav = "\n".join(f'<a href="../{h}"{" aria-current=page" if h == "reference/" else ""}>{t}</a>' for h, t in _NAV)
    parts = [
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        "<title>Reference · groupbuy API guide</title>\n<link rel=\"stylesheet\" href=\"../guide.css\">\n</head>\n"
        f"<body>\n<header><nav>\n{nav}\n</nav></header>\n<main>\n<h1>Reference</h1>\n"
        "<p>Generated from the running service's schema and its descriptions; the same schema is served as "
        "<a href=\"../schema.graphql\"><code>/docs/schema.graphql</code></a>.</p>",
    ]
    named = [t for n, t in sorted(schema.type_map.items())
             if not n.startswith("__") and n not in specified_scalar_types]
    roots = [schema.query_type, schema.mutation_type]
    parts.append("<p>" + " · ".join(
        f'<a href="#{t.name}">{t.name}</a>' for t in named if t not in roots) + "</p>")
    for root, title in ((schema.query_type, "Queries"), (schema.mutation_type, "Mutations")):
        if root is not None:
            parts.append(f'<h2 id="{root.name}">{title}</h2><p>{_e(root.description)}</p>{_fields(root, root.name)}')
    parts.append("<h2>Types</h2>")
    parts.extend(_section(t) for t in named if t not in roots)
    parts.append("</main>\n</body>\n</html>\n")
    return "\n".join(parts)


@lru_cache(maxsize=1)
def reference_html() -> str:
    return render_reference(build_schema(introspection=True)._schema)


@lru_cache(maxsize=1)
def public_sdl() -> str:
    return sdl()
