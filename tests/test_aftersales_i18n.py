"""Shortage, receiving, refund and after-sales errors speak the caller's language: every message the
after-sales code gives is in the catalog (service/i18n/catalog.py), by its English text or as
msg(id, ...) when it carries a number; a zh-CN caller reads it in Chinese with the number kept."""

from __future__ import annotations

import ast
from pathlib import Path

from service.i18n import _by_english
from tests.shortage_fixtures import closed_batch
from tests.test_aftersales import REQUEST, _picked_up

ROOT = Path(__file__).resolve().parent.parent
SOURCES = [*sorted((ROOT / "service" / "aftersales").glob("*.py")), ROOT / "service" / "schema" / "aftersales.py"]
CONFIRM = """mutation($b: ID!, $p: ID!, $lines: [ReceivedLineInput!]) {
  deliveryConfirm(batchId: $b, pickupPointId: $p, lines: $lines) { errors { code field message } } }"""
ZH = {"Accept-Language": "zh-CN"}


def _messages(tree: ast.AST) -> list[tuple[int, ast.expr]]:
    """The message argument of every fail(code, message, ...) and errors.add(code, message, ...)."""
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or len(node.args) < 2:
            continue
        name = node.func.id if isinstance(node.func, ast.Name) else (
            node.func.attr if isinstance(node.func, ast.Attribute) else None)
        first = node.args[0]
        if name in ("fail", "add") and isinstance(first, ast.Attribute) and isinstance(first.value, ast.Name) \
                and first.value.id == "ErrorCode":
            found.append((node.lineno, node.args[1]))
    return found


def test_every_after_sales_message_is_in_the_catalog() -> None:
    known = _by_english()
    missing = []
    checked = 0
    for path in SOURCES:
        for line, message in _messages(ast.parse(path.read_text(encoding="utf-8"))):
            checked += 1
            where = f"{path.relative_to(ROOT)}:{line}"
            if isinstance(message, ast.Constant) and isinstance(message.value, str):
                if message.value not in known:
                    missing.append(f"{where}: {message.value!r}")
            elif isinstance(message, ast.JoinedStr):
                missing.append(f"{where}: an f-string (use msg(id, ...))")
            elif not (isinstance(message, ast.Call) and isinstance(message.func, ast.Name)
                      and message.func.id == "msg"):
                missing.append(f"{where}: {ast.unparse(message)}")
    assert checked > 40
    assert missing == []


def test_a_chinese_caller_reads_the_refusals_in_chinese(gql, tenant, make_customer, owner_db):  # type: ignore[no-untyped-def]
    closed, customer, order = _picked_up(gql, owner_db, tenant, make_customer, 3, "2.00")
    line = order["lines"][0]["id"]

    def ask(quantity: int, headers: dict | None = None) -> list[tuple[str, list[str], str]]:
        body = gql.data(REQUEST, {"input": {"lineId": line, "quantity": quantity, "reason": "QUALITY"}},
                        token=customer.token, headers=headers)["afterSalesRequest"]
        return [(e["code"], e["field"], e["message"]) for e in body["errors"]]

    assert ask(4, ZH) == [("CONFLICT", ["input", "quantity"], "此商品行只剩 3 件可退款。")]
    assert ask(4) == [("CONFLICT", ["input", "quantity"], "Only 3 unit(s) of this line are left to refund.")]
    owner_db.execute("UPDATE customer_order SET picked_up_at = picked_up_at - interval '49 hours' WHERE number = %s",
                     (order["number"],))
    assert ask(1, ZH) == [("CONFLICT", ["input", "lineId"], "已超过提货后 48 小时的售后申请期限。")]
    assert ask(1) == [("CONFLICT", ["input", "lineId"], "The 48 h after pickup for after-sales requests are over.")]

    other = closed_batch(gql, owner_db, tenant, make_customer, ["1.00"], [[(0, 2)]])
    refused = gql.data(CONFIRM, {"b": other.batch["id"], "p": other.world.point_gid, "lines": [
        {"productId": other.world.product_gid(0), "received": 3, "photoUrls": ["http://x.example/a.jpg"]}]},
        token=other.world.leader_token, headers=ZH)["deliveryConfirm"]["errors"]
    assert [(e["field"], e["message"]) for e in refused] == [
        (["lines", "0", "received"], "须在 0 到发货的 2 件之间。"),
        (["lines", "0", "photoUrls", "0"], "照片须为 https:// 链接，且不超过 500 个字符。")]
