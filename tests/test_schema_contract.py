"""The exported schema is committed (so every API change shows in review) and keeps the
public contract: shared/design/api.graphql wholly, and of api-wave2.graphql the sections of
the features built (`BUILT_WAVE2_SECTIONS`). Additions are free, nothing may break."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from graphql import (
    DefinitionNode,
    ObjectTypeExtensionNode,
    TypeDefinitionNode,
    TypeExtensionNode,
    build_schema,
    find_breaking_changes,
    parse,
)

ROOT = Path(__file__).resolve().parent.parent
CONTRACT = ROOT.parent / "shared" / "design" / "api.graphql"
CONTRACT_WAVE2 = ROOT.parent / "shared" / "design" / "api-wave2.graphql"

# The wave-2 sections (their `# ---- <name>` headers) whose feature is built: their names must be
# kept. A feature adds its section's name here when it lands.
BUILT_WAVE2_SECTIONS: set[str] = {"the brand's console", "shortages and after-sales", "coupons", "social growth", "leader money"}

# What of the contract is still being built, by the issue that delivers it. The test fails
# when a listed name keeps the contract: then delete it, so this list only ever shrinks.
PENDING: dict[str, set[str]] = {}

_HEADER = re.compile(r"^# -{4,}\s*(.+?)\s*$")


def sections(text: str) -> dict[str, str]:
    """The SDL under each `# ---- <name>` header line, by name (what precedes the first: "")."""
    found: dict[str, list[str]] = {"": []}
    current = ""
    for line in text.splitlines():
        header = _HEADER.match(line)
        if header:
            current = header.group(1)
            found.setdefault(current, [])
        else:
            found[current].append(line)
    return {name: "\n".join(lines) for name, lines in found.items()}


def names_in(sdl: str) -> set[str]:
    """The types a piece of SDL defines, and `Type.field` of each field it defines or extends."""
    if not sdl.strip() or not re.search(r"^\s*[a-z]", sdl, re.M):
        return set()
    names: set[str] = set()
    definitions: tuple[DefinitionNode, ...] = tuple(parse(sdl).definitions)
    for node in definitions:
        if not isinstance(node, TypeDefinitionNode | TypeExtensionNode):
            continue
        type_name = node.name.value
        if not isinstance(node, ObjectTypeExtensionNode):
            names.add(type_name)
        for child in [*(getattr(node, "fields", None) or ()), *(getattr(node, "values", None) or ())]:
            names.add(f"{type_name}.{child.name.value}")
    return names


def test_sections_are_read_by_their_headers() -> None:
    text = "type A { x: Int }\n# ------ one\nextend type Query { a: A }\n# ---- two\nenum E { X }\n"
    parts = sections(text)
    assert set(parts) == {"", "one", "two"}
    assert names_in(parts["one"]) == {"Query.a"} and names_in(parts["two"]) == {"E", "E.X"}
    assert names_in("# only a comment\n") == set()


def _exported() -> str:
    from service.schema import sdl

    return sdl()


def test_committed_schema_is_the_codes_schema():
    committed = (ROOT / "schema.graphql").read_text()
    assert committed == _exported(), "schema.graphql is stale: run `make schema` and commit it"


def _subject(description: str) -> str:
    subject = re.match(r"(?:Field |Standard scalar )?([A-Z]\w*(?:\.\w+)?)", description)
    return subject.group(1) if subject else description


@pytest.mark.skipif(not CONTRACT.exists(), reason="the shared contract is not beside this checkout")
def test_contract_is_kept():
    text = CONTRACT.read_text()
    wave2 = sections(CONTRACT_WAVE2.read_text()) if CONTRACT_WAVE2.exists() else {}
    unknown = BUILT_WAVE2_SECTIONS - set(wave2)
    assert not wave2 or not unknown, f"no such sections in api-wave2.graphql: {unknown}"
    # The whole contract is built as one schema (sections name each other's types); only the
    # changes to what api.graphql and the built sections define count.
    contract = build_schema(text + "\n" + "\n".join(wave2.values()))
    unbuilt = set().union(*(names_in(sdl) for name, sdl in wave2.items() if name not in BUILT_WAVE2_SECTIONS))
    exported = build_schema(_exported())
    broken: dict[str, list[str]] = {}
    for change in find_breaking_changes(contract, exported):
        subject = _subject(change.description)
        if subject in unbuilt or subject.split(".")[0] in unbuilt:
            continue
        broken.setdefault(subject, []).append(change.description)
    pending = set().union(*PENDING.values()) if PENDING else set()
    unexpected = {name: d for name, d in broken.items() if name not in pending}
    assert not unexpected, f"breaking changes against the contract: {unexpected}"
    finished = sorted(pending - set(broken))
    assert not finished, f"{finished} now keep the contract: remove them from PENDING"


@pytest.mark.skipif(not CONTRACT_WAVE2.exists(), reason="the shared contract is not beside this checkout")
def test_the_built_sections_are_checked():
    """The console's names are in the checked set: a missing one would be reported."""
    built = set().union(*(names_in(sdl) for name, sdl in sections(CONTRACT_WAVE2.read_text()).items()
                          if name in BUILT_WAVE2_SECTIONS))
    assert {"Query.apiKeys", "Mutation.tenantUpdate", "ApiKey", "AuditEntry.changes"} <= built
