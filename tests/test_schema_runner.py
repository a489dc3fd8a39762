"""The schema's extension runner: hooks entered in the extensions' order, left in reverse, errors
passed through them, and hooks that are plain callables still run."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Iterator

import pytest
import strawberry
from strawberry.extensions import SchemaExtension

from service.schema import Schema

calls: list[str] = []


class First(SchemaExtension):
    async def on_operation(self) -> AsyncIterator[None]:
        calls.append("first op in")
        yield
        calls.append(f"first op out {len(self.execution_context.result.errors or [])}")

    def on_parse(self) -> Iterator[None]:
        calls.append("first parse in")
        yield
        calls.append("first parse out")

    def on_execute(self) -> Iterator[None]:
        calls.append("first execute in")
        yield
        calls.append("first execute out")


class Second(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        calls.append("second op in")
        yield
        calls.append("second op out")

    def on_validate(self) -> Iterator[None]:
        calls.append("second validate in")
        yield
        calls.append("second validate out")


class Plain(SchemaExtension):
    def on_execute(self) -> None:  # type: ignore[override]
        calls.append("plain execute")


@strawberry.type
class Query:
    @strawberry.field
    def ok(self) -> int:
        return 1

    @strawberry.field
    def broken(self) -> int:
        raise ValueError("boom")


@pytest.mark.parametrize("plain", [False, True])
def test_hooks_run_in_order_and_unwind_in_reverse(plain: bool) -> None:
    calls.clear()
    schema = Schema(query=Query, extensions=[First, Second, *([Plain] if plain else [])])
    result = asyncio.run(schema.execute("{ ok broken }"))
    assert result.data is None or result.data.get("ok") == 1
    assert [e.message for e in result.errors or []] == ["boom"]
    expected = [
        "first op in", "second op in",
        "first parse in", "first parse out",
        "second validate in", "second validate out",
        "first execute in", *(["plain execute"] if plain else []), "first execute out",
        "second op out", "first op out 1",
    ]
    assert calls == expected


def test_sync_execution_refuses_async_hooks_and_runs_sync_ones() -> None:
    calls.clear()
    result = Schema(query=Query, extensions=[Second]).execute_sync("{ ok }")
    assert result.data == {"ok": 1}
    assert calls == ["second op in", "second validate in", "second validate out", "second op out"]
    # An async hook in sync execution: refused as strawberry's own runner refuses it.
    outcomes = []
    for cls in (Schema, strawberry.Schema):
        try:
            result = cls(query=Query, extensions=[First]).execute_sync("{ ok }")
            outcomes.append(re.sub(r" at 0x[0-9a-f]+", "", repr(result)))
        except RuntimeError as e:
            outcomes.append(type(e).__name__ + str(e).split(".on_")[-1])
    assert outcomes[0] == outcomes[1]


# -- the phase's exit semantics against strawberry's own context managers (contextlib's) --------
seen: list[str] = []


def _hook_class(label: str, outcome: str, is_async: bool) -> type:
    """A hook that records what it was resumed with, then ends, suppresses or replaces it."""

    def after(error: BaseException | None) -> None:
        seen.append(f"{label} out {type(error).__name__ if error else '-'}")
        if (outcome == "replace" and error is not None) or outcome == "fail":
            raise KeyError(label)

    if is_async:
        async def on_operation(self):  # type: ignore[no-untyped-def]
            seen.append(f"{label} in")
            try:
                yield
            except BaseException as e:  # noqa: BLE001 - the test observes every path
                after(e)
                if outcome == "keep":
                    raise
                return
            after(None)
    else:
        def on_operation(self):  # type: ignore[no-untyped-def]
            seen.append(f"{label} in")
            try:
                yield
            except BaseException as e:  # noqa: BLE001
                after(e)
                if outcome == "keep":
                    raise
                return
            after(None)

    return type(f"Hook_{label}", (SchemaExtension,), {"on_operation": on_operation})


def _body(raised: BaseException | None) -> None:
    seen.append("body")
    if raised is not None:
        raise raised


def _escaped(error: BaseException | None) -> list[str]:
    """What the hooks recorded, then what left the phase (with what it chains to)."""
    if error is None:
        return [*seen, "escaped: none"]
    return [*seen, f"escaped: {type(error).__name__} {error.args} context={type(error.__context__).__name__}"]


async def _phase_outcome(manager, raised: BaseException | None) -> list[str]:  # type: ignore[no-untyped-def]
    seen.clear()
    try:
        async with manager:
            _body(raised)
    except BaseException as e:  # noqa: BLE001
        return _escaped(e)
    return _escaped(None)


@pytest.mark.parametrize("outer", ["keep", "suppress", "replace", "fail"])
@pytest.mark.parametrize("inner", ["keep", "suppress", "replace", "fail"])
@pytest.mark.parametrize("error", [None, ValueError("v"), asyncio.CancelledError()])
@pytest.mark.parametrize("inner_async", [False, True])
def test_phase_exit_matches_strawberrys_context_managers(outer, inner, error, inner_async) -> None:  # type: ignore[no-untyped-def]
    from strawberry.extensions.context import OperationContextManager

    from service.schema import _Phase

    def extensions() -> list[SchemaExtension]:
        return [_hook_class("outer", outer, True)(), _hook_class("inner", inner, inner_async)()]

    ours = asyncio.run(_phase_outcome(_Phase(extensions(), "on_operation", OperationContextManager), error))
    theirs = asyncio.run(_phase_outcome(OperationContextManager(extensions()), error))
    assert ours == theirs
    assert ours[:3] == ["outer in", "inner in", "body"]


def test_a_hook_failing_on_entry_leaves_the_ones_entered_before_it() -> None:
    from strawberry.extensions.context import OperationContextManager

    from service.schema import _Phase

    class Broken(SchemaExtension):
        def on_operation(self):  # type: ignore[no-untyped-def]
            raise OSError("no")
            yield  # a generator hook, never reached

    phase = _Phase([_hook_class("outer", "keep", True)(), Broken()], "on_operation", OperationContextManager)
    got = asyncio.run(_phase_outcome(phase, None))
    assert got == ["outer in", "outer out OSError", "escaped: OSError ('no',) context=NoneType"]


def _sync_phase_outcome(manager, raised: BaseException | None) -> list[str]:  # type: ignore[no-untyped-def]
    seen.clear()
    try:
        with manager:
            _body(raised)
    except BaseException as e:  # noqa: BLE001
        return _escaped(e)
    return _escaped(None)


@pytest.mark.parametrize("outer", ["keep", "suppress", "replace", "fail"])
@pytest.mark.parametrize("inner", ["keep", "suppress", "replace", "fail"])
@pytest.mark.parametrize("error", [None, ValueError("v")])
def test_sync_phase_exit_matches_strawberrys_context_managers(outer, inner, error) -> None:  # type: ignore[no-untyped-def]
    from strawberry.extensions.context import OperationContextManager

    from service.schema import _Phase

    def extensions() -> list[SchemaExtension]:
        return [_hook_class("outer", outer, False)(), _hook_class("inner", inner, False)()]

    ours = _sync_phase_outcome(_Phase(extensions(), "on_operation", OperationContextManager), error)
    theirs = _sync_phase_outcome(OperationContextManager(extensions()), error)
    assert ours == theirs
    assert ours[:3] == ["outer in", "inner in", "body"]


class Reports(SchemaExtension):
    def get_results(self) -> dict[str, int]:  # type: ignore[override]
        return {"reports": 1}


class ReportsLater(SchemaExtension):
    async def get_results(self) -> dict[str, int]:  # type: ignore[override]
        await asyncio.sleep(0)
        return {"later": 2, "reports": 3}


def test_extension_results_as_strawberry_gives_them() -> None:
    """Extensions without results of their own are skipped; the others' results, sync or async,
    are merged in order, as strawberry's runner merges them."""
    for extensions in ([First, Reports, Second, ReportsLater], [ReportsLater, Reports], [First, Second]):
        ours = asyncio.run(Schema(query=Query, extensions=extensions).execute("{ ok }"))
        theirs = asyncio.run(strawberry.Schema(query=Query, extensions=extensions).execute("{ ok }"))
        assert ours.extensions == theirs.extensions
    assert ours.extensions == {}
    assert asyncio.run(Schema(query=Query, extensions=[Reports, ReportsLater]).execute("{ ok }")).extensions == {
        "reports": 3, "later": 2}
