"""Installs are reproducible: requirements/lock.txt pins, with hashes, every dependency of the project
and its dev extra; requirements/runtime.txt is its runtime part; make and the image install from them."""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
LOCK = ROOT / "requirements" / "lock.txt"
RUNTIME_LOCK = ROOT / "requirements" / "runtime.txt"
# What the lock is compiled for (make lock): the interpreter and platform of make test and the image.
TARGET = {"python_version": "3.11", "python_full_version": "3.11.0", "sys_platform": "linux",
          "platform_system": "Linux", "os_name": "posix", "implementation_name": "cpython",
          "platform_python_implementation": "CPython", "platform_machine": "x86_64"}


def _pins(path: Path) -> dict[str, tuple[str, list[str]]]:
    """name -> (version, hashes). Fails on any requirement that is not `name==version` with hashes."""
    pins: dict[str, tuple[str, list[str]]] = {}
    text = re.sub(r"\\\n", " ", path.read_text())
    for line in text.splitlines():
        line = line.split(" #", 1)[0].strip()
        if line.startswith("#"):
            continue
        if not line:
            continue
        match = re.fullmatch(r"([A-Za-z0-9_.\-]+)==(\S+)((?:\s+--hash=sha256:[0-9a-f]{64})+)", line)
        assert match, f"{path.name}: not pinned with hashes: {line!r}"
        name = canonicalize_name(match.group(1))
        assert name not in pins, f"{path.name}: {name} twice"
        pins[name] = (match.group(2), re.findall(r"sha256:([0-9a-f]{64})", match.group(3)))
    return pins


def _direct(*extras: str) -> list[Requirement]:
    reqs = [Requirement(r) for r in PYPROJECT["project"]["dependencies"]]
    for extra in extras:
        reqs += [Requirement(r) for r in PYPROJECT["project"]["optional-dependencies"][extra]]
    return reqs


def _assert_covered(reqs: list[Requirement], pins: dict[str, tuple[str, list[str]]], where: str) -> None:
    for req in reqs:
        if req.marker and not req.marker.evaluate(TARGET):
            continue
        name = canonicalize_name(req.name)
        assert name in pins, f"{req} is not in {where}: run make lock"
        version, _ = pins[name]
        assert req.specifier.contains(version, prereleases=True), (
            f"{where} pins {name}=={version}, outside pyproject's {req}: run make lock")
        # An extra's own requirements (uvicorn[standard], ...) are locked too.
        for extra in req.extras:
            for dep in metadata.requires(req.name) or []:
                sub = Requirement(dep)
                if sub.marker and sub.marker.evaluate({**TARGET, "extra": extra}) and \
                        not sub.marker.evaluate({**TARGET, "extra": ""}):
                    assert canonicalize_name(sub.name) in pins, f"{req}'s {sub} is not in {where}"


def test_the_lock_pins_every_dependency_and_the_dev_extra_with_hashes() -> None:
    pins = _pins(LOCK)
    assert len(pins) > 40
    _assert_covered(_direct("dev"), pins, "requirements/lock.txt")


def test_the_runtime_lock_is_the_lock_without_the_dev_extra() -> None:
    pins, runtime = _pins(LOCK), _pins(RUNTIME_LOCK)
    _assert_covered(_direct(), runtime, "requirements/runtime.txt")
    for name, pin in runtime.items():
        assert pins.get(name) == pin, f"runtime.txt and lock.txt disagree on {name}: run make lock"
    assert "pytest" not in runtime and "hypothesis" not in runtime


def test_the_upper_bounds_on_libraries_whose_extension_points_we_use() -> None:
    bounded = {canonicalize_name(r.name): r for r in _direct()}
    for name in ("strawberry-graphql", "graphql-core", "starlette"):
        assert any(s.operator in ("<", "<=", "~=", "==") for s in bounded[name].specifier), bounded[name]


def test_this_environment_is_the_locked_one() -> None:
    """make venv installed exactly the lock: a dependency added to pyproject without make lock, or a
    venv left from another lock, fails here."""
    differ = {}
    for name, (version, _) in _pins(LOCK).items():
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            installed = None
        if installed != version:
            differ[name] = (version, installed)
    assert not differ, f"locked vs installed: {differ}"


def _recipe(target: str, makefile: str) -> str:
    match = re.search(rf"^{re.escape(target)}:.*\n((?:\t.*\n)+)", makefile, re.M)
    assert match, target
    return match.group(0)


def test_make_installs_from_the_lock_with_hashes() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^LOCK := requirements/lock\.txt$", makefile, re.M)
    stamp = _recipe("$(STAMP)", makefile)
    prerequisites = stamp.splitlines()[0].split(":", 1)[1].split()
    assert {"pyproject.toml", "$(LOCK)"} <= set(prerequisites)
    installs = [line for line in stamp.splitlines() if "pip install" in line]
    assert installs[0].endswith("--require-hashes -r $(LOCK)"), installs
    assert installs[1].endswith("--no-deps -e ."), installs
    assert len(installs) == 2, installs
    for target in ("run", "test"):
        assert "$(STAMP)" in _recipe(target, makefile).splitlines()[0]
    lock = _recipe("lock", makefile)
    assert "--generate-hashes" in makefile and "$(LOCK_TARGET)" in lock and "--extra dev" in lock
    assert "-o $(LOCK)" in lock and "-o $(RUNTIME_LOCK)" in lock


def test_the_image_installs_from_the_runtime_lock_with_hashes() -> None:
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    installs = re.findall(r"pip install [^\\\n]*", dockerfile)
    assert installs == ["pip install --require-hashes -r requirements/runtime.txt", "pip install --no-deps . "], installs
