"""Texts in the caller's language: a catalog of messages by id (service.i18n.catalog), the request's
language (from Accept-Language), and the rendering of error messages and notifications in it.

Domain code raises `msg("pickup.not_ready")`; a `Msg` is also a `str` (its English text), so code that
reads messages as strings keeps working. A plain English string is accepted too: when it is the English
text of a catalog message it is translated; otherwise, in another language, its code's general text is
shown rather than a sentence in English.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache
from typing import Any

from service.i18n.catalog import CODES, LANGUAGES, MESSAGES, NOTIFICATIONS, REASON, WORDS

DEFAULT = "en"
_language: ContextVar[str] = ContextVar("language", default=DEFAULT)


class _Blank(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return ""


def _fill(template: str, params: Mapping[str, Any], lang: str) -> str:
    values = _Blank({k: WORDS.get(str(v), {}).get(lang, v) if isinstance(v, str) else v
                     for k, v in params.items()})
    return template.format_map(values)


class Msg(str):
    """A catalog message: its English text as a string, with its id and parameters."""

    id: str
    params: dict[str, Any]

    def __new__(cls, id: str, **params: Any) -> Msg:
        if id not in MESSAGES:
            raise KeyError(f"no message {id!r} in the catalog")
        self = super().__new__(cls, _fill(MESSAGES[id]["en"], params, "en"))
        self.id = id
        self.params = params
        return self

    def __reduce__(self) -> Any:  # a copy or pickle keeps the id
        return (_rebuild, (self.id, self.params))


def _rebuild(id: str, params: dict[str, Any]) -> Msg:
    return Msg(id, **params)


def msg(id: str, **params: Any) -> Msg:
    return Msg(id, **params)


@lru_cache(maxsize=1)
def _by_english() -> dict[str, str]:
    """English text -> message id, for messages without parameters (plain English given by code)."""
    return {texts["en"]: id for id, texts in MESSAGES.items() if "{" not in texts["en"]}


@lru_cache(maxsize=256)
def parse_accept_language(header: str | None) -> str:
    """The supported language the header prefers most (q-values honoured); English when none."""
    best, best_q = DEFAULT, -1.0
    for position, part in enumerate((header or "").split(",")):
        tag, _, rest = part.strip().partition(";")
        tag = tag.strip().lower()
        q = 1.0
        if rest.strip().startswith("q="):
            try:
                q = float(rest.strip()[2:])
            except ValueError:
                q = 0.0
        lang = "zh-CN" if tag.startswith("zh") else "en" if tag.startswith("en") else None
        # Earlier tags win ties: subtract a little per position.
        score = q - position * 1e-6
        if lang and q > 0 and score > best_q:
            best, best_q = lang, score
    return best


def current_language() -> str:
    return _language.get()


def set_language(lang: str) -> Any:
    return _language.set(lang if lang in LANGUAGES else DEFAULT)


def reset_language(token: Any) -> None:
    _language.reset(token)


@contextmanager
def language(lang: str) -> Iterator[None]:
    token = set_language(lang)
    try:
        yield
    finally:
        reset_language(token)


def localize(text: str, code: str | None = None, lang: str | None = None) -> str:
    """`text` (a Msg or plain English) in `lang` (the request's by default)."""
    lang = lang or current_language()
    if isinstance(text, Msg):
        return _fill(MESSAGES[text.id].get(lang) or MESSAGES[text.id]["en"], text.params, lang)
    id = _by_english().get(text)
    if id is not None:
        return MESSAGES[id].get(lang) or text
    if lang == "en":
        return text
    general = CODES.get(code or "")
    return general[lang] if general and lang in general else text


def notification(event: str, params: Mapping[str, Any], lang: str | None = None) -> tuple[str, str] | None:
    """(title, body) of a notification template in `lang`; None for an unknown template."""
    lang = lang or current_language()
    texts = NOTIFICATIONS.get(event)
    if texts is None:
        return None
    title, body = texts.get(lang) or texts["en"]
    values = {k: v for k, v in params.items() if v not in (None, "")}
    reason = values.pop("reason", None)
    values["reason"] = _fill(REASON[lang], {"reason": str(reason)[:200]}, lang) if reason else ""
    return _fill(title, values, lang), " ".join(_fill(body, values, lang).split())


__all__ = ["LANGUAGES", "Msg", "current_language", "language", "localize", "msg", "notification",
           "parse_accept_language", "reset_language", "set_language"]
