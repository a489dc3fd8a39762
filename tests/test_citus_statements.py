"""The quick check, in `make test`, of what Citus refuses in the SQL the service sends: found by
`make test-citus` (tests/citus/test_domain_*.py run the domain tests on a cluster), caught here
at once on one node, where each of these runs fine.

- A volatile function (clock_timestamp(), random(), gen_random_uuid()) in an UPDATE's or a
  DELETE's statement: "functions used in UPDATE queries on distributed tables must not be
  VOLATILE". Read the clock into a variable first, or use statement_timestamp().
- A clock inside CASE or COALESCE in an UPDATE: "non-IMMUTABLE functions are not allowed in CASE
  or COALESCE statements". Filter the rows instead, or pass the moment as a value.
- The tenant set with set_config() by code that does not also set it the Citus way
  (service.db.citus_set_tenant): set_config() stays on the coordinator, the shards' row-level
  security sees no tenant, and every query silently finds nothing.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SERVICE = ROOT / "service"

VOLATILE = re.compile(r"\b(clock_timestamp|random|gen_random_uuid|timeofday)\s*\(", re.I)
CLOCK = re.compile(r"\b(clock_timestamp|statement_timestamp|now|transaction_timestamp|timeofday)\s*\(|"
                   r"\bcurrent_timestamp\b|\blocaltimestamp\b", re.I)
# A modification's start: UPDATE <table> [alias] SET, ON CONFLICT ... DO UPDATE SET, DELETE FROM.
MODIFICATION = re.compile(r"\bUPDATE\s+(?:ONLY\s+)?\w+(?:\s+(?:AS\s+)?(?!SET\b)\w+)?\s+SET\b|"
                          r"\bDO\s+UPDATE\s+SET\b|\bDELETE\s+FROM\b", re.I)
# A SET clause's fragment built apart from its statement (e.g. "decided_at = clock_timestamp()").
ASSIGNED_CLOCK = re.compile(r"(?<![:<>!=])=\s*(?:coalesce\s*\([^()]*,\s*)?clock_timestamp\s*\(", re.I)
SETS_TENANT = re.compile(r"set_config\(\s*'app\.tenant_id'")


def _statement_from(text: str, start: int) -> str:
    """From a modification's keyword to its end: a `;` or the parenthesis that closes it (a CTE)."""
    depth = 0
    for i in range(start, len(text)):
        c = text[i]
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth < 0:
                return text[start:i]
        elif c == ";" and depth == 0:
            return text[start:i]
    return text[start:]


def _balanced(text: str, open_at: int) -> str:
    depth = 0
    for i in range(open_at, len(text)):
        if text[i] == "(":
            depth += 1
        elif text[i] == ")":
            depth -= 1
            if depth == 0:
                return text[open_at:i + 1]
    return text[open_at:]


def _clock_in_case_or_coalesce(statement: str) -> str | None:
    for m in re.finditer(r"\bcoalesce\s*\(", statement, re.I):
        inner = _balanced(statement, m.end() - 1)
        if CLOCK.search(inner):
            return "COALESCE" + inner
    for m in re.finditer(r"\bCASE\b(.*?)\bEND\b", statement, re.I | re.S):
        if CLOCK.search(m.group(1)):
            return m.group(0)
    return None


def problems_in(sql: str) -> list[str]:
    found = []
    for m in MODIFICATION.finditer(sql):
        statement = _statement_from(sql, m.start())
        if VOLATILE.search(statement):
            found.append(f"a volatile function in a modification: {' '.join(statement.split())[:160]}")
        inside = _clock_in_case_or_coalesce(statement)
        if inside:
            found.append(f"a clock inside CASE/COALESCE in a modification: {' '.join(inside.split())[:160]}")
    if ASSIGNED_CLOCK.search(sql) and not found:
        found.append(f"clock_timestamp() assigned in a SET fragment: {' '.join(sql.split())[:160]}")
    return found


def _strings(tree: ast.AST) -> Iterator[str]:
    """Every string literal, f-strings with their holes as `?`, `+` concatenations joined."""
    def text_of(node: ast.AST) -> str | None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        if isinstance(node, ast.JoinedStr):
            return "".join(v.value if isinstance(v, ast.Constant) else "?" for v in node.values)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            left, right = text_of(node.left), text_of(node.right)
            if left is not None and right is not None:
                return left + right
        return None

    inside_joined: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr | ast.BinOp):
            inside_joined.update(id(n) for n in ast.walk(node) if n is not node)
    for node in ast.walk(tree):
        if id(node) in inside_joined:
            continue
        value = text_of(node)
        if value:
            yield value


def sources() -> Iterator[tuple[str, list[str]]]:
    for path in sorted(SERVICE.rglob("*.sql")):
        yield str(path.relative_to(ROOT)), [path.read_text()]
    for path in sorted(SERVICE.rglob("*.py")):
        yield str(path.relative_to(ROOT)), list(_strings(ast.parse(path.read_text())))


def test_the_checks_see_what_citus_refuses() -> None:
    assert problems_in("UPDATE delivery SET enqueued_at = clock_timestamp() WHERE id = 1")
    assert problems_in("WITH x AS (UPDATE t c SET a = 1 WHERE c.at < clock_timestamp() RETURNING 1) SELECT 1")
    assert problems_in("DELETE FROM n WHERE created_at < clock_timestamp() - interval '1 day'")
    assert problems_in("UPDATE n SET read_at = COALESCE(read_at, statement_timestamp()) WHERE id = 1")
    assert problems_in("UPDATE d SET at = CASE WHEN s = 'X' THEN statement_timestamp() END")
    assert problems_in("decided_at = clock_timestamp(), reason = :r")
    assert problems_in("INSERT INTO t VALUES (1) ON CONFLICT (id) DO UPDATE SET at = clock_timestamp()")
    assert not problems_in("v_now := clock_timestamp(); UPDATE t SET at = v_now WHERE id = 1;")
    assert not problems_in("SELECT id FROM t WHERE at <= clock_timestamp() FOR UPDATE")
    assert not problems_in("UPDATE t SET at = statement_timestamp() WHERE at < statement_timestamp()")
    assert not problems_in("SELECT 1; UPDATE t SET a = 1 WHERE id = 2; SELECT clock_timestamp()")


def test_no_modification_uses_what_citus_refuses() -> None:
    found = [f"{where}: {p}" for where, texts in sources() for text in texts for p in problems_in(text)]
    assert not found, "\n".join(found)


def test_code_that_sets_the_tenant_itself_sets_it_on_the_shards_too() -> None:
    """PL/pgSQL functions may (they run where their rows are, delegated by tenant); Python code that
    sets it with set_config() must also use citus_set_tenant."""
    missing = [str(p.relative_to(ROOT)) for p in sorted(SERVICE.rglob("*.py"))
               if SETS_TENANT.search(p.read_text()) and "citus_set_tenant" not in p.read_text()]
    assert not missing, missing
