"""The client's first screen as one module, joined at request time from the plain ES modules in
service/web (no build step for the developer: edit a file, reload).

Over HTTP/1.1 a browser opens at most six connections to a host, so the first screen's ten files
took two round trips after the page on a slow link; joined, they take one. Each module becomes a
function scope in the joined file, in import order, whose exports are an object; its `import { a }
from './x.js'` reads that object. The modules' own addresses answer with a module that re-exports
the joined file's objects, so a screen loaded later imports the very same instances (one
language, one session), not second copies.

Only what the client's modules use is understood: named imports, namespace imports, side-effect
imports, and `export` before function/class/const declarations or as a list. Anything else
(default exports, `export let`, re-exports, import.meta, cycles) raises BundleError, and the
client is then served as separate files.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

MODULES = "__groupbuyModules"

_IMPORT_NAMED = re.compile(r"^import\s*\{([^}]*)\}\s*from\s*'([^']+)'\s*;?[ \t]*$", re.MULTILINE)
_IMPORT_NS = re.compile(r"^import\s*\*\s*as\s+([A-Za-z_$][\w$]*)\s+from\s*'([^']+)'\s*;?[ \t]*$", re.MULTILINE)
_IMPORT_BARE = re.compile(r"^import\s*'([^']+)'\s*;?[ \t]*$", re.MULTILINE)
_IMPORT_ANY = re.compile(r"^import\b(?!\s*\()", re.MULTILINE)
_EXPORT_DECL = re.compile(r"^export\s+((?:async\s+)?function\*?|class|const)\s+([A-Za-z_$][\w$]*)", re.MULTILINE)
_EXPORT_LIST = re.compile(r"^export\s*\{([^}]*)\}\s*;?[ \t]*$", re.MULTILINE)
_EXPORT_ANY = re.compile(r"^export\b", re.MULTILINE)
_DYNAMIC_IMPORT = re.compile(r"\bimport\('(\.{1,2}/[^']+)'\)")
_NAME = re.compile(r"^[A-Za-z_$][\w$]*$")


class BundleError(ValueError):
    """A module uses a form the joiner does not handle: serve the files separately."""


def resolve(importer: str, specifier: str) -> str:
    """`specifier` imported by `importer` (both relative to the client's directory)."""
    if not specifier.startswith(("./", "../")):
        raise BundleError(f"{importer}: only relative imports are joined ({specifier!r})")
    parts: list[str] = []
    for part in (Path(importer).parent / specifier).as_posix().split("/"):
        if part == "..":
            if not parts:
                raise BundleError(f"{importer}: {specifier!r} leaves the client's directory")
            parts.pop()
        elif part not in ("", "."):
            parts.append(part)
    return "/".join(parts)


def _names(listed: str, where: str) -> list[tuple[str, str]]:
    """`a, b as c` -> [("a", "a"), ("b", "c")]"""
    pairs = []
    for item in (part.strip() for part in listed.split(",")):
        if not item:
            continue
        bits = item.split()
        if len(bits) == 1:
            pairs.append((bits[0], bits[0]))
        elif len(bits) == 3 and bits[1] == "as":
            pairs.append((bits[0], bits[2]))
        else:
            raise BundleError(f"{where}: cannot read {item!r}")
        if not all(_NAME.match(b) for b in (pairs[-1][0], pairs[-1][1])) or pairs[-1][0] == "default":
            raise BundleError(f"{where}: cannot read {item!r}")
    return pairs


@dataclass
class _Module:
    name: str
    body: str
    imports: list[str] = field(default_factory=list)
    exports: list[tuple[str, str]] = field(default_factory=list)  # (local, exported)


def _parse(directory: Path, name: str) -> _Module:
    text = (directory / name).read_text(encoding="utf-8")
    if "import.meta" in text:
        raise BundleError(f"{name}: import.meta")
    module = _Module(name, text)

    def named(m: re.Match[str]) -> str:
        target = resolve(name, m.group(2))
        module.imports.append(target)
        pairs = ", ".join(a if a == b else f"{a}: {b}" for a, b in _names(m.group(1), name))
        return f"const {{ {pairs} }} = {MODULES}[{json.dumps(target)}];"

    def namespace(m: re.Match[str]) -> str:
        target = resolve(name, m.group(2))
        module.imports.append(target)
        return f"const {m.group(1)} = {MODULES}[{json.dumps(target)}];"

    def bare(m: re.Match[str]) -> str:
        module.imports.append(resolve(name, m.group(1)))
        return ""

    text = _IMPORT_NAMED.sub(named, text)
    text = _IMPORT_NS.sub(namespace, text)
    text = _IMPORT_BARE.sub(bare, text)
    if _IMPORT_ANY.search(text):
        raise BundleError(f"{name}: an import form that is not joined")

    def declared(m: re.Match[str]) -> str:
        module.exports.append((m.group(2), m.group(2)))
        return f"{m.group(1)} {m.group(2)}"

    def listed(m: re.Match[str]) -> str:
        module.exports.extend(_names(m.group(1), name))
        return ""

    text = _EXPORT_DECL.sub(declared, text)
    text = _EXPORT_LIST.sub(listed, text)
    if _EXPORT_ANY.search(text):
        raise BundleError(f"{name}: an export form that is not joined (default, let, var, re-export)")
    # A screen loaded later is found from the joined file's address (the entry's directory).
    module.body = _DYNAMIC_IMPORT.sub(lambda m: f"import({json.dumps('./' + resolve(name, m.group(1)))})", text)
    return module


@dataclass
class Bundle:
    entry: str
    order: list[str]  # the joined modules, dependencies first, the entry last
    exports: dict[str, list[str]]  # module -> its exported names
    text: str

    def shim(self, name: str) -> str:
        """The module answered at `name`'s own address: the joined file's instance of it."""
        depth = name.count("/")
        entry = ("../" * depth or "./") + self.entry
        names = ", ".join(self.exports[name])
        return (f"// {name} is part of {self.entry} (service/web_bundle.py): the same instance.\n"
                f"import {{ {MODULES} }} from {json.dumps(entry)};\n"
                f"export const {{ {names} }} = {MODULES}[{json.dumps(name)}];\n")


def bundle(directory: Path, entry: str = "app.js") -> Bundle:
    modules: dict[str, _Module] = {}
    order: list[str] = []
    visiting: list[str] = []

    def walk(name: str) -> None:
        if name in order:
            return
        if name in visiting:
            raise BundleError(f"an import cycle: {' -> '.join([*visiting, name])}")
        if not (directory / name).is_file():
            raise BundleError(f"{name}: no such file")
        visiting.append(name)
        modules[name] = module = _parse(directory, name)
        for target in module.imports:
            walk(target)
        visiting.pop()
        order.append(name)

    walk(entry)
    parts = [f"// The client's first screen, joined from {len(order)} modules (service/web_bundle.py).",
             f"const {MODULES} = {{}};", f"export {{ {MODULES} }};"]
    for name in order:
        module = modules[name]
        if name == entry:
            parts.append(f"// ---- {name}\n{module.body}")
            exported = ", ".join(a if a == b else f"{a} as {b}" for a, b in module.exports)
            members = ", ".join(b if a == b else f"{b}: {a}" for a, b in module.exports)
            if exported:
                parts.append(f"export {{ {exported} }};")
            parts.append(f"{MODULES}[{json.dumps(name)}] = Object.freeze({{ {members} }});")
        else:
            members = ", ".join(b if a == b else f"{b}: {a}" for a, b in module.exports)
            parts.append(f"// ---- {name}\n{MODULES}[{json.dumps(name)}] = (() => {{\n{module.body}\n"
                         f"return Object.freeze({{ {members} }});\n}})();")
    return Bundle(entry, order, {n: [b for _, b in modules[n].exports] for n in order}, "\n".join(parts) + "\n")
