"""Every refusal the API sends is in the catalog in zh-CN and en, across the whole service: read
from the Python sources (each message given to fail, Collector.add, FieldError, PermissionDenied,
AuthError, argument_error and the like, or msg) and from the SQL functions (service/**/sql/*.sql:
the 'message' of a refusal's JSON), so a new refusal without its translations fails here rather
than reaching a Chinese caller as its code's general text."""

from __future__ import annotations

import ast
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from service.i18n import Msg, _by_english, localize
from service.i18n.catalog import CODES, LANGUAGES, MESSAGES
from tests.coupon_fixtures import ORDER_PLACE, make_shop
from tests.group_buy_fixtures import GROUP_JOIN, GROUP_PLACE, group_batch, pay
from tests.ordering_fixtures import bulk_customers, make_world

ROOT = Path(__file__).resolve().parents[1]
PY_SOURCES = sorted(p for p in (ROOT / "service").rglob("*.py") if "web" not in p.relative_to(ROOT).parts[1:2])
SQL_SOURCES = sorted((ROOT / "service").glob("**/sql/*.sql"))
# Where the message is among a call's positional arguments (also accepted as `message=`).
MESSAGE_ARG = {"fail": 1, "add": 1, "FieldError": 1, "PermissionDenied": 0, "AuthError": 1,
               "argument_error": 1, "_invalid": 1, "msg": 0}
# Helpers given a message id rather than a text.
ID_ARG = {"_illegal": 1, "_limited": 1}
CJK = re.compile(r"[\u4e00-\u9fff]")


def _name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    return func.attr if isinstance(func, ast.Attribute) else None


def _constants() -> dict[str, str]:
    """Module-level string constants of the service by name (NOT_A_CUSTOMER = "..."), for messages
    given by name; a name bound to different texts in two modules is left out."""
    found: dict[str, set[str]] = {}
    for source in PY_SOURCES:
        for node in ast.parse(source.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name) \
                    and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
                found.setdefault(node.targets[0].id, set()).add(node.value.value)
    return {name: next(iter(texts)) for name, texts in found.items() if len(texts) == 1}


def _texts(arg: ast.expr, constants: dict[str, str]) -> Iterator[tuple[str, str]]:
    """("text" | "id" | "dynamic", value) of a message argument: a literal, a concatenation of
    literals, either branch of a conditional, msg("id", ...), a named constant; an f-string is
    "dynamic" (its text cannot be translated: it must become msg(id, ...))."""
    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
        yield "text", arg.value
    elif isinstance(arg, ast.BinOp) and isinstance(arg.op, ast.Add):
        parts = [*_texts(arg.left, constants), *_texts(arg.right, constants)]
        if len(parts) == 2 and all(kind == "text" for kind, _ in parts):
            yield "text", parts[0][1] + parts[1][1]
        else:
            yield "dynamic", ast.unparse(arg)
    elif isinstance(arg, ast.IfExp):
        yield from _texts(arg.body, constants)
        yield from _texts(arg.orelse, constants)
    elif isinstance(arg, ast.Call) and _name(arg.func) == "msg" and arg.args:
        first = arg.args[0]
        if isinstance(first, ast.Constant) and isinstance(first.value, str):
            yield "id", first.value
    elif isinstance(arg, ast.JoinedStr):
        yield "dynamic", ast.unparse(arg)
    elif isinstance(arg, (ast.Name, ast.Attribute)):
        name = arg.id if isinstance(arg, ast.Name) else arg.attr
        if name in constants and name.isupper():
            yield "text", constants[name]
        # else a message passed along (e.message, a parameter): checked where it is made


def messages_in(tree: ast.AST, constants: dict[str, str]) -> Iterator[tuple[int, str, str]]:
    """(line, kind, value) of every message given in `tree`."""
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = _name(node.func) or ""
        if name in ID_ARG and len(node.args) > ID_ARG[name]:
            arg = node.args[ID_ARG[name]]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                yield node.lineno, "id", arg.value
            continue
        at = MESSAGE_ARG.get(name)
        if at is None:
            continue
        if name == "add" and not (node.args and _name(node.args[0]) in _CODE_NAMES):
            continue  # a set's or a session's add, not Collector.add(ErrorCode.X, message, field)
        for arg in [*node.args[at:at + 1], *(k.value for k in node.keywords if k.arg == "message")]:
            if name == "msg":  # its id (its parameters are filled in, not translated)
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    yield node.lineno, "id", arg.value
            else:
                for kind, value in _texts(arg, constants):
                    yield node.lineno, kind, value


def python_messages() -> list[tuple[str, str, str]]:
    """(where, kind, value) of every message the service's Python code gives."""
    constants = _constants()
    return [(f"{source.relative_to(ROOT)}:{line}", kind, value)
            for source in PY_SOURCES
            for line, kind, value in messages_in(ast.parse(source.read_text(encoding="utf-8")), constants)]


_CODE_NAMES = {"INVALID", "NOT_FOUND", "FORBIDDEN", "CONFLICT", "ALREADY_EXISTS", "BATCH_NOT_OPEN", "OUT_OF_STOCK",
               "LIMIT_EXCEEDED", "INVALID_CREDENTIALS", "RATE_LIMITED", "NOT_ARRIVED", "GROUP_FULL",
               "COUPON_EXHAUSTED", "COUPON_LIMIT_REACHED", "COUPON_NOT_APPLICABLE", "COUPON_EXPIRED",
               "INSUFFICIENT_BALANCE", "code"}

# A refusal's message in SQL: 'message', '<text>' or 'message', format('<text with %s>', ...), and
# v_message := '<text>'; a literal is '...' with '' for a quote, possibly '...' || '...'.
_LITERAL = r"'(?:[^']|'')*'(?:\s*\|\|\s*'(?:[^']|'')*')*"
_SQL_MESSAGE = re.compile(rf"(?:'message'\s*,\s*(?P<format>format\(\s*)?|v_message\s*:=\s*)(?P<text>{_LITERAL})")


def _sql_text(literal: str) -> str:
    return "".join(part[1:-1].replace("''", "'") for part in re.findall(r"'(?:[^']|'')*'", literal))


def sql_messages() -> list[tuple[str, str, str]]:
    """(where, kind, text) of every refusal message in the SQL functions; kind "format" for a
    text with %s (a catalog message with a parameter where each %s is)."""
    found = []
    for source in SQL_SOURCES:
        text = source.read_text(encoding="utf-8")
        for m in _SQL_MESSAGE.finditer(text):
            where = f"{source.relative_to(ROOT)}:{text.count(chr(10), 0, m.start()) + 1}"
            found.append((where, "format" if m.group("format") else "text", _sql_text(m.group("text"))))
    return found


def _complete(texts: dict[str, str] | None) -> bool:
    return texts is not None and all(texts.get(lang, "").strip() for lang in LANGUAGES) \
        and bool(CJK.search(texts["zh-CN"]))


def missing_messages() -> tuple[int, list[str]]:
    """How many messages were found, and those without zh-CN and en texts in the catalog."""
    found = python_messages() + sql_messages()
    by_english = {text: MESSAGES[id] for text, id in _by_english().items()}  # what localize() translates
    by_format = {re.sub(r"\{[a-z_]+\}", "%s", texts["en"]): texts for texts in MESSAGES.values()}
    missing = []
    for where, kind, value in found:
        if kind == "dynamic":
            missing.append(f"{where}: {value} (built at run time: give msg(id, ...))")
            continue
        texts = MESSAGES.get(value) if kind == "id" else by_format.get(value) if kind == "format" \
            else by_english.get(value)
        if not _complete(texts):
            missing.append(f"{where}: {value!r}")
    return len(found), missing


def test_every_refusal_is_in_the_catalog_in_both_languages() -> None:
    count, missing = missing_messages()
    assert count >= 300, f"the scan found only {count} messages: it is looking in the wrong place"
    assert len(sql_messages()) >= 30, "the SQL scan finds too few messages"
    assert missing == [], (f"{len(missing)} refusals without zh-CN and en texts in service/i18n/catalog.py:\n"
                           + "\n".join(missing))


def test_a_refusal_formatted_in_sql_is_read_back_as_its_catalog_message() -> None:
    from service.orders.placement import _sql_message

    formatted = [(where, text) for where, kind, text in sql_messages() if kind == "format"]
    assert len(formatted) >= 3
    for where, text in formatted:
        sent = text.replace("%s", "7")
        read = _sql_message(sent)
        assert isinstance(read, Msg) and read == sent, f"{where}: {text!r} is not read back (orders/placement.py)"
        assert "7" in localize(read, "INVALID", "zh-CN") and CJK.search(localize(read, "INVALID", "zh-CN"))


def test_the_scan_reads_each_shape_of_message() -> None:
    code = """
fail(ErrorCode.INVALID, "Plain.", ["a"])
errors.add(ErrorCode.CONFLICT, "Joined " "by the parser.", ["b"])
errors.add(ErrorCode.CONFLICT, "Joined " + "by a plus.")
FieldError(ErrorCode.INVALID, "Either." if x else "Or.", None)
PermissionDenied(message="By keyword.")
fail(ErrorCode.INVALID, f"Made {at} run time.")
fail(ErrorCode.INVALID, msg("some.id", n=1))
seen.add(item)
"""
    got = [(kind, value) for _, kind, value in messages_in(ast.parse(code), {})]
    assert sorted(got) == sorted([
        ("text", "Plain."), ("text", "Joined by the parser."), ("text", "Joined by a plus."), ("text", "Either."),
        ("text", "Or."), ("text", "By keyword."), ("dynamic", "f'Made {at} run time.'"), ("id", "some.id"),
        ("id", "some.id")])  # fail's message, and the msg() call itself
    sql = """v_code := 'X'; v_message := 'The order is below this coupon''s threshold.';
      'code', 'Y', 'message',
        format('Only %s left.', v_left), 'field', 'f'
      'message', 'A ' || 'joined text.'"""
    assert [(m.group("format") is not None, _sql_text(m.group("text"))) for m in _SQL_MESSAGE.finditer(sql)] == [
        (False, "The order is below this coupon's threshold."), (True, "Only %s left."), (False, "A joined text.")]


ZH = {"Accept-Language": "zh-CN"}


def _refusals(payload: dict[str, Any]) -> list[tuple[str, str]]:
    return [(e["code"], e["message"]) for e in payload["errors"]]


def test_a_coupon_refusal_reads_in_chinese_with_its_own_reason(gql, tenant, owner_db):  # type: ignore[no-untyped-def]
    shop = make_shop(gql, owner_db, tenant, stock=3)  # 9.90, 3.30, 12.00
    template = shop.template(amountOff="10.00", threshold="30.00", budget="100.00")
    ((_, alice),) = shop.customers(owner_db, 1)
    coupon = shop.claim(alice, template["id"])["coupon"]

    def place(lines: list[tuple[int, int]], headers: dict | None = None) -> dict:
        input = {"batchId": shop.batch["id"], "pickupPointId": shop.world.point_gid, "couponId": coupon["id"],
                 "lines": [{"offerId": shop.offer(i), "quantity": q} for i, q in lines],
                 "idempotencyKey": uuid.uuid4().hex}
        return dict(gql.data(ORDER_PLACE, {"input": input}, token=alice, headers=headers)["orderPlace"])

    general = CODES["COUPON_NOT_APPLICABLE"]["zh-CN"]
    assert _refusals(place([(0, 1)], ZH)) == [("COUPON_NOT_APPLICABLE", "订单金额未达到该优惠券的使用门槛。")] != [
        ("COUPON_NOT_APPLICABLE", general)]
    assert _refusals(place([(0, 1)])) == [("COUPON_NOT_APPLICABLE", "The order is below this coupon's threshold.")]
    # A refusal place_order() formats with a number keeps it, in either language.
    assert _refusals(place([(2, 4)], ZH)) == [("OUT_OF_STOCK", "仅剩 3 件。")]
    assert _refusals(place([(2, 4)])) == [("OUT_OF_STOCK", "Only 3 left.")]


def test_a_group_buy_refusal_reads_in_chinese_with_its_own_reason(gql, tenant, owner_db):  # type: ignore[no-untyped-def]
    world = make_world(owner_db, tenant)
    batch = group_batch(gql, world, size=2)
    a, b, c = [token for _, token in bulk_customers(owner_db, tenant, 3)]

    def order(token: str, headers: dict | None = None, **extra: Any) -> dict:
        input = {"batchId": batch["id"], "pickupPointId": world.point_gid, "idempotencyKey": uuid.uuid4().hex,
                 "lines": [{"offerId": batch["offers"][0]["id"], "quantity": 1}], **extra}
        return dict(gql.data(GROUP_PLACE, {"input": input}, token=token, headers=headers)["orderPlace"])

    started = order(a, startGroupBuy=True)
    assert started["errors"] == []
    group = started["order"]["groupBuy"]["id"]
    # Not open for joining until its first order is paid: INVALID, whose general text says nothing of it.
    early = gql.data(GROUP_JOIN, {"id": group}, token=b, headers=ZH)["groupBuyJoin"]
    assert _refusals(early) == [("INVALID", "该拼团已不能加入，请发起新的拼团。")]
    assert pay(gql, world, started["order"]["id"])["errors"] == []
    assert order(b, groupBuyId=group)["errors"] == []  # the second place, held unpaid: the group is full
    full = "该拼团已满员，请发起新的拼团。"
    assert full != CODES["GROUP_FULL"]["zh-CN"]
    assert _refusals(order(c, ZH, groupBuyId=group)) == [("GROUP_FULL", full)]  # group_buy_join() in SQL
    assert _refusals(gql.data(GROUP_JOIN, {"id": group}, token=c, headers=ZH)["groupBuyJoin"]) == [("GROUP_FULL", full)]
    assert _refusals(order(c, groupBuyId=group)) == [("GROUP_FULL", "This group is full: start a new one.")]
