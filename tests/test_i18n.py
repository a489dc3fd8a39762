"""Messages in the caller's language: the catalog is complete (every error code, every catalog
message and every notification template in zh-CN and en), the API answers payload errors and
authentication errors in the language of Accept-Language with the same codes, and notifications
are rendered in the reader's language naming the batch and the pickup point."""

from __future__ import annotations

import re
import string
import uuid

import pytest

from service import global_id
from service.errors import ErrorCode, FieldError
from service.i18n import LANGUAGES, Msg, localize, msg, notification, parse_accept_language
from service.i18n.catalog import CODES, MESSAGES, NOTIFICATIONS
from service.notify.events import WebhookEvent
from tests.conftest import run_db
from tests.ordering_fixtures import (
    ORDER_PLACE,
    make_world,
    offer_input,
    open_batch_with_offers,
    place_input,
)

CJK = re.compile(r"[\u4e00-\u9fff]")
PICKUP = """
mutation($p: ID!, $c: String!) {
  pickupConfirm(pickupPointId: $p, pickupCode: $c) { order { id } errors { code field message } }
}"""
NOTIFICATIONS_QUERY = "{ notifications(first: 10) { edges { node { event title body } } } }"


def _names(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def _check_language(lang: str, text: str, where: str) -> list[str]:
    if not text.strip():
        return [f"{where}: no {lang} text"]
    if lang == "zh-CN" and not CJK.search(text):
        return [f"{where}: the zh-CN text is not Chinese: {text!r}"]
    if lang == "en" and CJK.search(text.replace("拼团", "")):  # the product's term, in English texts too
        return [f"{where}: the en text has Chinese in it: {text!r}"]
    return []


def catalog_problems() -> list[str]:
    """Everything missing or wrong in the catalog, enumerated from it and from the enums."""
    problems: list[str] = []
    for code in ErrorCode:
        texts = CODES.get(code.value)
        if texts is None:
            problems.append(f"ErrorCode.{code.name}: no general text")
            continue
        for lang in LANGUAGES:
            problems += _check_language(lang, texts.get(lang, ""), f"ErrorCode.{code.name}")
    for id, texts in MESSAGES.items():
        names = {lang: _names(texts.get(lang, "")) for lang in LANGUAGES}
        for lang in LANGUAGES:
            problems += _check_language(lang, texts.get(lang, ""), f"message {id}")
        if len({frozenset(n) for n in names.values()}) > 1:
            problems.append(f"message {id}: the languages name different parameters {names}")
    for event in [e.value for e in WebhookEvent] + list(NOTIFICATIONS):
        texts = NOTIFICATIONS.get(event)  # type: ignore[assignment]  # per-language (title, body) pairs
        if texts is None:
            problems.append(f"notification {event}: no template")
            continue
        for lang in LANGUAGES:
            title, body = texts.get(lang, ("", ""))  # type: ignore[misc]  # a (title, body) pair
            problems += _check_language(lang, title, f"notification {event} title")
            problems += _check_language(lang, body, f"notification {event} body")
        if len({frozenset(_names(texts[lang][1])) for lang in LANGUAGES if lang in texts}) > 1:  # type: ignore[index]  # a (title, body) pair
            problems.append(f"notification {event}: the languages name different parameters")
    return problems


def test_every_code_message_and_template_is_in_both_languages() -> None:
    assert catalog_problems() == []


def test_a_status_named_in_a_chinese_refusal_is_in_chinese() -> None:
    """A refusal that names a state ("A REJECTED withdrawal cannot be approved.") says it in the
    reader's words: every state of the things refusals name, in every message that takes one."""
    from service.aftersales.models import AfterSalesStatus
    from service.batches.models import BatchStatus
    from service.leaders.models import LeaderStatus
    from service.ledger.models import WithdrawalStatus
    from service.orders.models import OrderStatus
    from service.procurement.models import PurchaseOrderStatus

    states = [s.value for e in (AfterSalesStatus, BatchStatus, LeaderStatus, WithdrawalStatus, OrderStatus,
                                PurchaseOrderStatus) for s in e]
    taking = [id for id, texts in MESSAGES.items() if {"status", "to"} & _names(texts["en"])]
    assert len(taking) >= 10, taking
    mixed = []
    for id in taking:
        for state in states:
            zh = localize(msg(id, status=state, to=state), lang="zh-CN")
            en = localize(msg(id, status=state, to=state), lang="en")
            if re.search(r"[A-Z]{3,}", zh) or state not in en:
                mixed.append(f"{id} / {state}: {zh}")
    assert mixed == [], "\n".join(mixed)


def test_the_completeness_check_fails_on_a_missing_translation() -> None:
    MESSAGES["test.only_english"] = {"en": "Only English."}
    CODES.pop("NOT_ARRIVED")
    try:
        problems = catalog_problems()
    finally:
        del MESSAGES["test.only_english"]
        CODES["NOT_ARRIVED"] = {"en": "The goods have not arrived at the pickup point yet.",
                                "zh-CN": "货物还没有到达自提点。"}
    assert "message test.only_english: no zh-CN text" in problems
    assert "ErrorCode.NOT_ARRIVED: no general text" in problems
    assert catalog_problems() == []


@pytest.mark.parametrize(("header", "lang"), [
    (None, "en"), ("", "en"), ("zh-CN", "zh-CN"), ("zh", "zh-CN"), ("zh-TW,zh;q=0.9", "zh-CN"),
    ("en-US,en;q=0.9,zh-CN;q=0.8", "en"), ("fr-FR,zh-CN;q=0.5,en;q=0.4", "zh-CN"),
    ("en;q=0.2,zh-CN;q=0.9", "zh-CN"), ("de", "en"), ("zh-CN;q=0", "en"),
])
def test_accept_language(header: str | None, lang: str) -> None:
    assert parse_accept_language(header) == lang


def test_messages_render_per_language_and_plain_english_falls_back() -> None:
    m = msg("pickup.too_many_orders", max=20)
    assert isinstance(m, str) and m == "At most 20 orders at once."  # code reading it as str still works
    assert localize(m, "INVALID", "zh-CN") == "一次最多核销 20 个订单。"
    # Plain English that is a catalog text is translated...
    assert localize("No such order.", "NOT_FOUND", "zh-CN") == "找不到该订单。"
    # ...English unknown to the catalog (a new error somebody raised) shows its code's general text,
    # never an English sentence inside Chinese; in English it is shown as given.
    assert localize("A brand new refusal.", "CONFLICT", "zh-CN") == "当前状态下不能执行此操作。"
    assert localize("A brand new refusal.", "CONFLICT", "en") == "A brand new refusal."
    # A FieldError carries the Msg; a copy keeps the id.
    import copy

    assert isinstance(copy.deepcopy(FieldError(ErrorCode.INVALID, m)).message, Msg)
    with pytest.raises(KeyError):
        msg("no.such.message")


def test_notification_templates_name_the_batch_and_the_point() -> None:
    params = {"batch": "周末水果团", "point": "幸福里便利店"}
    zh = notification("PICK_LIST_READY", params, "zh-CN")
    en = notification("PICK_LIST_READY", params, "en")
    assert zh == ("分拣单已生成", "团期「周末水果团」在自提点「幸福里便利店」的分拣单已生成，请查看并准备到货。")
    assert en is not None and en[0] == "Pick list ready" and "周末水果团" in en[1] and "幸福里便利店" in en[1]
    assert notification("NO_SUCH_EVENT", {}, "en") is None


def test_payload_errors_in_the_language_of_accept_language(gql, tenant, owner_db, make_customer):  # type: ignore[no-untyped-def]
    world = make_world(owner_db, tenant)
    batch = open_batch_with_offers(gql, world, [offer_input(world, 0)])
    customer = make_customer(tenant)
    order = gql.data(ORDER_PLACE, place_input(batch, world, [(0, 1)]), token=customer.token)["orderPlace"]["order"]
    variables = {"p": world.point_gid, "c": order["pickupCode"]}

    def errors(accept: str | None) -> list[dict]:
        headers = {"Accept-Language": accept} if accept else {}
        return gql.data(PICKUP, variables, token=world.leader_token, headers=headers)["pickupConfirm"]["errors"]

    zh, en, default = errors("zh-CN,zh;q=0.9,en;q=0.5"), errors("en-GB"), errors(None)
    assert zh == [{"code": "CONFLICT", "field": ["pickupCode"], "message": "此订单还不能取货（团期尚未截单）。"}]
    expected = "This order is not ready for pickup yet (its batch has not closed)."
    assert en == default == [{"code": "CONFLICT", "field": ["pickupCode"], "message": expected}]

    # A GraphQL error (a permission refused) and an authentication error too, codes unchanged.
    in_payload = gql.data(PICKUP, variables, token=customer.token, headers={"Accept-Language": "zh-CN"})
    assert [(e["code"], CJK.search(e["message"]) is not None) for e in in_payload["pickupConfirm"]["errors"]] == [
        ("FORBIDDEN", True)]
    refused = gql("{ orders { edges { node { id } } } }", tenant=tenant.slug, headers={"Accept-Language": "zh-CN"})
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert CJK.search(refused["errors"][0]["message"]), refused
    bad = gql.post(PICKUP, variables, token="not-a-token", headers={"Accept-Language": "zh-CN"})
    body = bad.json()
    assert body["errors"][0]["extensions"]["code"] == "INVALID_TOKEN"
    assert body["errors"][0]["message"] == "登录凭证无效，请重新登录。"
    assert "Accept-Language" in bad.headers["vary"]


def test_a_page_refused_in_the_callers_language(gql, tenant):  # type: ignore[no-untyped-def]
    from service.config import get_settings

    limit = get_settings().max_page_size
    for query, code in ((f"{{ orders(first: {limit + 1}) {{ edges {{ node {{ id }} }} }} }}", "PAGE_SIZE_EXCEEDED"),
                        ('{ orders(first: 5, after: "not-a-cursor") { edges { node { id } } } }', "INVALID")):
        zh = gql(query, token=tenant.admin_token, headers={"Accept-Language": "zh-CN"})["errors"][0]
        en = gql(query, token=tenant.admin_token, headers={"Accept-Language": "en"})["errors"][0]
        assert zh["extensions"]["code"] == en["extensions"]["code"] == code, (zh, en)
        assert CJK.search(zh["message"]) and not CJK.search(en["message"]), (zh, en)
    assert en["message"] == "The cursor is not valid." and zh["message"] == "分页游标无效，请从第一页重新读取。"


def test_notifications_render_in_the_readers_language(gql, tenant, owner_db):  # type: ignore[no-untyped-def]
    from service.notify.relay import relay_tenant

    world = make_world(owner_db, tenant)
    batch = open_batch_with_offers(gql, world, [offer_input(world, 0)], title="周末水果团")
    batch_id = global_id.decode_as(batch["id"], "Batch")
    owner_db.execute("UPDATE pickup_point SET name = '幸福里便利店' WHERE id = %s", (world.point_id,))
    owner_db.execute(
        "INSERT INTO outbox_event (tenant_id, id, event, subject_type, subject_id, payload) "
        "VALUES (%s, %s, 'PICK_LIST_READY', 'pick_list', %s, jsonb_build_object("
        "'batchId', %s::text, 'pickupPointId', %s::text, 'leaderId', %s::text))",
        (tenant.uuid, uuid.uuid4(), uuid.uuid4(), str(batch_id), str(world.point_id), str(world.leader_id)),
    )
    run_db(lambda engine: relay_tenant(tenant.uuid, engine=engine))

    def bodies(accept: str) -> list[tuple[str, str, str]]:
        edges = gql.data(NOTIFICATIONS_QUERY, token=world.leader_token,
                         headers={"Accept-Language": accept})["notifications"]["edges"]
        return [(e["node"]["event"], e["node"]["title"], e["node"]["body"]) for e in edges
                if e["node"]["event"] == "PICK_LIST_READY"]

    assert bodies("zh-CN") == [("PICK_LIST_READY", "分拣单已生成",
                                "团期「周末水果团」在自提点「幸福里便利店」的分拣单已生成，请查看并准备到货。")]
    assert bodies("en") == [("PICK_LIST_READY", "Pick list ready",
                             "The pick list of batch “周末水果团” for 幸福里便利店 is ready.")]
    # A row from before templates (no params) is still shown, as stored.
    owner_db.execute("UPDATE notification SET params = NULL, title = 'old title', body = 'old body' "
                     "WHERE tenant_id = %s", (tenant.uuid,))
    assert bodies("zh-CN") == [("PICK_LIST_READY", "old title", "old body")]
