"""Logging: one JSON object per line in production, readable text in development.

Every record carries the request context — request id, tenant slug, GraphQL operation name; for a
dramatiq actor, the message id and the actor's name as the operation — from context variables set
once per request or message (`log_context`), so nothing has to be passed to loggers.

Secrets and personal data never reach the output: fields whose name says password, token, secret,
key, authorization, cookie, phone or pickup code are replaced by "[redacted]", and the message
text is scrubbed of what those values look like (bearer tokens, JWTs, groupbuy platform tokens and
API keys, `password=...`-style pairs, phone numbers).
"""

from __future__ import annotations

import contextvars
import json as jsonlib
import logging
import re
import sys
import traceback
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import IO, Any

from service.config import get_settings

REDACTED = "[redacted]"

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
tenant_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("tenant", default=None)
operation_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("operation", default=None)
message_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("message_id", default=None)
_CONTEXT = {
    "request_id": request_id_var,
    "tenant": tenant_var,
    "operation": operation_var,
    "message_id": message_id_var,
}

# A field is sensitive when its name (any case, camelCase or snake_case) contains one of these.
_SENSITIVE_NAME = re.compile(
    r"pass(word|wd)?|secret|token|authori[sz]ation|cookie|api_?key|private_?key|signature|phone|mobile|"
    r"pickup_?code|credential",
    re.I,
)
_SCRUB = [
    # name=value / "name": "value" pairs with a sensitive name
    (re.compile(r"""(?P<k>["']?[\w-]*(?:pass(?:word|wd)?|secret|token|api_?key|pickup_?code|phone)[\w-]*["']?"""
                r"""\s*[:=]\s*)(?P<q>["']?)[^"'\s,;&}]+(?P=q)""", re.I),
     lambda m: f"{m.group('k')}{m.group('q')}{REDACTED}{m.group('q')}"),
    (re.compile(r"\b(Bearer|Basic)\s+[\w\-.~+/=]+", re.I), lambda m: f"{m.group(1)} {REDACTED}"),
    (re.compile(r"\beyJ[\w-]+\.[\w-]+\.[\w-]+"), lambda m: REDACTED),  # JWT
    (re.compile(r"\bgb[pk]_[\w-]+"), lambda m: REDACTED),  # platform token, API key
    # phone numbers: mainland mobiles and E.164
    (re.compile(r"(?<![\w+])(?:\+?86[- ]?)?1[3-9]\d{9}(?!\d)"), lambda m: REDACTED),
    (re.compile(r"(?<![\w+])\+[1-9]\d{7,14}(?!\d)"), lambda m: REDACTED),
]
# Attributes every LogRecord has: anything else was passed with `extra=`.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName"}


# A request id a client sends (X-Request-Id) is kept only when it looks like one: it goes into
# every log line of the request, where line breaks or terminal escapes would forge or hide text.
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:@+=/-]{1,128}")
# C0 and C1 controls (line breaks, ESC), DEL, and the Unicode line and paragraph separators.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def request_id_from(header: str | None) -> str:
    """The client's request id when it is 1-128 plain characters, else a new one."""
    if header and _REQUEST_ID.fullmatch(header):
        return header
    return uuid.uuid4().hex


def printable(text: str) -> str:
    """text with control characters escaped (\\x1b, \\n), so it stays on one line and cannot
    drive a terminal."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100
                        else f"\\u{ord(m.group()):04x}", text)


def scrub(text: str) -> str:
    for pattern, replacement in _SCRUB:
        text = pattern.sub(replacement, text)
    return text


def redact(value: Any, name: str = "") -> Any:
    """A copy of value with sensitive fields replaced, recursively."""
    if name and _SENSITIVE_NAME.search(name):
        return REDACTED
    if isinstance(value, Mapping):
        return {str(k): redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [redact(v) for v in value]
    if isinstance(value, str):
        return scrub(value)
    if value is None or isinstance(value, (bool, int, float)):
        return value
    return scrub(str(value))


@contextmanager
def log_context(**fields: str | None) -> Iterator[None]:
    """Set request_id, tenant, operation and/or message_id for the records logged inside the block."""
    unknown = set(fields) - set(_CONTEXT)
    if unknown:
        raise TypeError(f"unknown log context fields: {sorted(unknown)}")
    tokens = [(_CONTEXT[k], _CONTEXT[k].set(v)) for k, v in fields.items()]
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)


def current_context() -> dict[str, str]:
    return {k: v for k, var in _CONTEXT.items() if (v := var.get()) is not None}


class ContextFilter(logging.Filter):
    """Copies the request context onto each record (record.request_id, .tenant, .operation)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, var in _CONTEXT.items():
            if not hasattr(record, key):
                setattr(record, key, var.get())
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": scrub(record.getMessage()),
        }
        for key in _CONTEXT:
            value = getattr(record, key, None)
            if value is not None:
                out[key] = scrub(str(value))
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in _CONTEXT and not key.startswith("_"):
                out[key] = redact(value, key)
        if record.exc_info:
            out["exc"] = scrub("".join(traceback.format_exception(*record.exc_info)))
        elif record.exc_text:
            out["exc"] = scrub(record.exc_text)
        return jsonlib.dumps(out, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """One line per record (a traceback follows on its own lines): the message and the context
    have their control characters escaped, so no value can start a line of its own."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s%(ctx)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        ctx = " ".join(f"{k}={printable(str(v))}" for k in _CONTEXT if (v := getattr(record, k, None)) is not None)
        record.ctx = f" [{ctx}]" if ctx else ""
        return scrub(super().format(record))

    def formatMessage(self, record: logging.LogRecord) -> str:
        # A copy: the record is shared with other handlers, which get the message as it is.
        escaped = logging.makeLogRecord(vars(record))
        escaped.message = printable(record.message)
        return super().formatMessage(escaped)


class _Handler(logging.StreamHandler[IO[str]]):
    """Marks the handler configure_logging installed, so a second call replaces it."""


def is_configured() -> bool:
    return any(isinstance(h, _Handler) for h in logging.getLogger().handlers)


def configure_from_settings(stream: IO[str] | None = None, *, replace_all: bool = False) -> logging.Handler:
    """configure_logging as the settings say: JSON unless in development (GROUPBUY_LOG_JSON
    overrides either way), at GROUPBUY_LOG_LEVEL. replace_all drops every other root handler
    too (a dramatiq worker process's own basicConfig handler)."""
    s = get_settings()
    if replace_all:
        logging.getLogger().handlers.clear()
    return configure_logging(json=s.log_json if s.log_json is not None else not s.is_dev,
                             level=s.log_level, stream=stream)


def configure_logging(
    json: bool, level: str | int = "INFO", stream: IO[str] | None = None
) -> logging.Handler:
    """Send every log record to stream (stderr) as JSON lines, or as text; returns the handler."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if isinstance(handler, _Handler):
            root.removeHandler(handler)
    handler = _Handler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if json else TextFormatter())
    handler.addFilter(ContextFilter())
    root.addHandler(handler)
    root.setLevel(level if isinstance(level, int) else level.upper())
    # uvicorn's and dramatiq's loggers propagate to the root: one format for everything.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "dramatiq"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    return handler
