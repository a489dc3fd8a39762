"""service/logs.py: JSON lines with the request context, and nothing secret or personal in them."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from service.logs import REDACTED, configure_logging, log_context


@pytest.fixture
def capture() -> Iterator[tuple[io.StringIO, logging.Logger]]:
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    stream = io.StringIO()
    handler = configure_logging(json=True, level="DEBUG", stream=stream)
    try:
        yield stream, logging.getLogger("service.test")
    finally:
        root.removeHandler(handler)
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)


def lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_one_json_object_per_line_with_the_request_context(capture) -> None:
    stream, log = capture
    with log_context(request_id="req-1", tenant="acme", operation="OrderPlace"):
        log.info("order placed", extra={"order_id": "o-1", "lines": 2})
    log.warning("outside a request")
    first, second = lines(stream)
    assert first["msg"] == "order placed" and first["level"] == "INFO" and first["logger"] == "service.test"
    assert (first["request_id"], first["tenant"], first["operation"]) == ("req-1", "acme", "OrderPlace")
    assert first["order_id"] == "o-1" and first["lines"] == 2 and first["ts"].endswith("+00:00")
    assert "request_id" not in second and "tenant" not in second


def test_nested_context_is_restored(capture) -> None:
    stream, log = capture
    with log_context(request_id="outer", tenant="acme"):
        with log_context(operation="Inner"):
            log.info("inner")
        log.info("outer")
    inner, outer = lines(stream)
    assert inner["operation"] == "Inner" and inner["request_id"] == "outer"
    assert "operation" not in outer


SECRETS = {
    "password": "hunter2-pw",
    "token": "tok-abcdef",
    "pickup_code": "483920",
    "phone": "13812345678",
}


def test_sensitive_fields_are_redacted(capture) -> None:
    stream, log = capture
    log.info("login", extra={**SECRETS, "variables": {"pickupCode": "112233", "input": {"newPassword": "x"}},
                             "login": "alice"})
    (record,) = lines(stream)
    for key in SECRETS:
        assert record[key] == REDACTED
    assert record["variables"] == {"pickupCode": REDACTED, "input": {"newPassword": REDACTED}}
    assert record["login"] == "alice"
    out = stream.getvalue()
    for value in [*SECRETS.values(), "112233"]:
        assert value not in out


@pytest.mark.parametrize("message, secret", [
    ("Authorization: Bearer gbk_live_abcdefghijkl", "gbk_live_abcdefghijkl"),
    ("platform token gbp_Zm9vYmFy-123 used", "gbp_Zm9vYmFy-123"),
    ("jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl refused", "eyJhbGciOiJIUzI1NiJ9"),
    ("customer 13812345678 ordered", "13812345678"),
    ("call +8613812345678 now", "8613812345678"),
    ("confirm pickup_code=483920 at point 7", "483920"),
    ('variables {"password": "s3cret!"}', "s3cret!"),
])
def test_messages_are_scrubbed(capture, message: str, secret: str) -> None:
    stream, log = capture
    log.info("%s", message)
    (record,) = lines(stream)
    assert secret not in stream.getvalue()
    assert REDACTED in record["msg"]


def test_exceptions_are_logged_and_scrubbed(capture) -> None:
    stream, log = capture
    try:
        raise ValueError("bad password=hunter2-pw")
    except ValueError:
        log.exception("failed")
    (record,) = lines(stream)
    assert "ValueError" in record["exc"] and "hunter2-pw" not in stream.getvalue()


def test_text_mode_keeps_the_context_and_scrubs() -> None:
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    stream = io.StringIO()
    handler = configure_logging(json=False, stream=stream)
    try:
        with log_context(request_id="r-9", tenant="acme"):
            logging.getLogger("service.test").info("phone 13812345678")
    finally:
        root.removeHandler(handler)
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)
    out = stream.getvalue()
    assert "request_id=r-9 tenant=acme" in out and "13812345678" not in out


def test_configure_twice_installs_one_handler() -> None:
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    try:
        first = configure_logging(json=True, stream=io.StringIO())
        second = configure_logging(json=True, stream=io.StringIO())
        assert first not in root.handlers and second in root.handlers
    finally:
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)


def test_unknown_context_fields_are_refused() -> None:
    with pytest.raises(TypeError):
        with log_context(user="alice"):
            pass


# -- the request id a client sends ---------------------------------------------------------------


@pytest.mark.parametrize("given", [
    "abc\r\n2026-01-01 00:00:00 ERROR service.auth: forged",
    "ok\x1b[2J\x1b[31mred",
    "x" * 129,
    "",
    "spaces are not ids",
    "line\u2028separator",
])
def test_a_request_id_that_is_not_plain_is_replaced(given: str) -> None:
    from service.logs import request_id_from

    replaced = request_id_from(given)
    assert replaced != given and len(replaced) == 32 and replaced.isalnum()


@pytest.mark.parametrize("given", ["req-observability-1", "0f3c9a1e5b7d4c2a9e8f6b4d2c0a1e3f",
                                   "1-67a2b3c4-abcdef012345", "trace:span/1+2=="])
def test_a_plain_request_id_is_kept(given: str) -> None:
    from service.logs import request_id_from

    assert request_id_from(given) == given


def test_text_lines_cannot_be_forged_or_drive_a_terminal() -> None:
    stream = io.StringIO()
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    handler = configure_logging(json=False, level="INFO", stream=stream)
    try:
        with log_context(request_id="r1\r\n2026-01-01 00:00:00,000 ERROR forged [request_id=x]: \x1b[2J"):
            logging.getLogger("service.test").info("name %s", "evil\nWARNING next line\x1b]0;title\x07")
    finally:
        root.removeHandler(handler)
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)
    out = stream.getvalue()
    assert out.count("\n") == 1 and "\r" not in out and "\x1b" not in out and "\x07" not in out
    assert "\\x0d\\x0a2026" in out and "evil\\x0aWARNING" in out
