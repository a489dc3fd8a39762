"""The documented graphql-codegen setup (docs/codegen) generates typed TypeScript operations for the
storefront from the committed schema.graphql, and they type-check: the schema stays friendly to
code generation (a rename, a type codegen cannot map, a broken operation fail here)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CODEGEN = ROOT / "docs" / "codegen"

pytestmark = pytest.mark.slow


def _run(args: list[str], cwd: Path, env: dict[str, str]) -> str:
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, f"{' '.join(args)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        pytest.skip("node and npm are not installed: the codegen check needs them (Node 20 or later)")
    work = tmp_path_factory.mktemp("codegen")
    for name in ("package.json", "package-lock.json", "codegen.ts"):
        shutil.copy(CODEGEN / name, work / name)
    shutil.copytree(CODEGEN / "operations", work / "operations")
    env = {**os.environ, "GROUPBUY_SCHEMA": str(ROOT / "schema.graphql"), "GROUPBUY_CODEGEN_OUT": "generated"}
    # npm's cache (~/.npm) makes repeated installs quick; the lock file pins every package.
    _run([npm, "ci", "--no-audit", "--no-fund", "--prefer-offline"], work, env)
    _run([npm, "run", "--silent", "codegen"], work, env)
    _run([npm, "run", "--silent", "typecheck"], work, env)
    return work / "generated"


def test_the_storefront_operations_are_generated_and_type_check(generated: Path) -> None:
    operations = (generated / "operations.ts").read_text()
    for name in ("OpenBatchesQuery", "OpenBatchesQueryVariables", "RegisterMutation", "RegisterMutationVariables",
                 "SignInMutation", "PlaceOrderMutation", "PlaceOrderMutationVariables", "MyOrdersQuery",
                 "NearestPickupPointsQuery", "OrderPlaceInput", "ErrorCode", "OrderStatus"):
        assert f"export type {name} " in operations, name
    # Money and times stay strings; descriptions reach the generated code as doc comments.
    assert "price: { amount: string, currency: string }" in operations
    assert "The same key from the same customer returns the same order" in operations
    schema = (generated / "schema.ts").read_text()
    for name in ("export type Order = Node & {", "export type Batch = Node & {", "export type Mutation = {",
                 "export type Money = {"):
        assert name in schema, name


def test_the_operations_are_the_ones_the_guide_names() -> None:
    page = (ROOT / "docs" / "guide" / "client-code.html").read_text()
    assert "docs/codegen/" in page and "PlaceOrderMutation" in page
    assert {p.name for p in (CODEGEN / "operations").glob("*.graphql")} >= {
        "catalog.graphql", "register.graphql", "place-order.graphql", "my-orders.graphql"}
