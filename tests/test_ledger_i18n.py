"""Every error the ledger and withdrawals raise is in the catalog in zh-CN and en: read from the
source (each message given to fail, PermissionDenied, argument_error, Collector.add or msg), so
a new one without its translations fails here rather than showing a generic Chinese text."""

from __future__ import annotations

import ast
from pathlib import Path

from service.i18n.catalog import LANGUAGES, MESSAGES
from tests.ledger_world import money_world

ROOT = Path(__file__).resolve().parents[1]
SOURCES = [ROOT / "service" / "schema" / "ledger.py", ROOT / "service" / "ledger_exports.py",
           *sorted((ROOT / "service" / "ledger").glob("*.py"))]
# Where the message is among a call's positional arguments.
MESSAGE_ARG = {"fail": 1, "PermissionDenied": 0, "argument_error": 1, "add": 1, "msg": 0}


def _name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    return func.attr if isinstance(func, ast.Attribute) else None


def raised_messages() -> list[tuple[str, str, bool]]:
    """(where, text, is a message id) of every literal message in the ledger's sources."""
    found = []
    for source in SOURCES:
        for node in ast.walk(ast.parse(source.read_text())):
            if not isinstance(node, ast.Call):
                continue
            name = _name(node.func)
            at = MESSAGE_ARG.get(name or "")
            if at is None or len(node.args) <= at:
                continue
            arg = node.args[at]
            where = f"{source.relative_to(ROOT)}:{node.lineno}"
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                found.append((where, arg.value, name == "msg"))
            elif isinstance(arg, ast.Call) and _name(arg.func) == "msg" and arg.args:
                first = arg.args[0]
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    found.append((where, first.value, True))
    return found


def test_every_ledger_error_is_in_the_catalog_in_both_languages() -> None:
    found = raised_messages()
    assert len(found) >= 20, f"the scan found only {len(found)} messages: it is looking in the wrong place"
    by_english = {texts.get("en"): texts for texts in MESSAGES.values()}
    missing = []
    for where, text, is_id in found:
        texts = MESSAGES.get(text) if is_id else by_english.get(text)
        if texts is None or any(not texts.get(lang) for lang in LANGUAGES):
            missing.append(f"{where}: {text!r}")
    assert missing == [], "ledger errors without zh-CN and en texts in service/i18n/catalog.py:\n" + "\n".join(missing)


def test_a_ledger_argument_error_reads_in_chinese(gql, tenant, owner_db):  # type: ignore[no-untyped-def]
    world = money_world(owner_db, tenant.uuid, orders=1)
    zh = {"Accept-Language": "zh-CN"}
    body = gql('{ ledgerEntries(month: "2026/12", first: 5) { totalCount } }', token=world.leader_token, headers=zh)
    assert [e["message"] for e in body["errors"]] == ["月份的格式是 YYYY-MM（例如 2026-12）。"]
    body = gql("{ leaderBalance { available { amount } } }", token=tenant.admin_token, headers=zh)
    assert [e["message"] for e in body["errors"]] == ["管理员请指定团长（leaderId）。"]
    body = gql('{ withdrawalQuote(amount: "-1") { fee { amount } } }', token=world.leader_token, headers=zh)
    assert [e["message"] for e in body["errors"]] == ["请输入大于零的金额，小数位数不超过币种的位数。"]
    # The statement's CSV download too.
    csv = gql.http.get("/exports/leader-statement.csv", params={"leaderId": world.leader_gid, "month": "12/2026"},
                       headers={"Authorization": f"Bearer {world.leader_token}", **zh})
    assert (csv.status_code, csv.json()) == (400, {"error": "INVALID", "message": "月份的格式是 YYYY-MM（例如 2026-12）。"})
