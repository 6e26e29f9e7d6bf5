"""Chinese by default, English on request: the chosen language is kept on the user (and in the
session before sign-in). The catalogue is a Python dict, so a fresh checkout needs no compile step;
messages are written in English in the code and templates, and ZH gives their Chinese."""
from __future__ import annotations

from string import Formatter

from flask import Flask, session
from flask_babel import Babel, get_locale
from flask_login import current_user

from desk.web.catalogue import LABELS, PATTERNS, ZH

LANGUAGES = ("zh", "en")


def select_locale() -> str:
    if current_user and current_user.is_authenticated and current_user.locale in LANGUAGES:
        return current_user.locale
    chosen = session.get("locale")
    return chosen if chosen in LANGUAGES else "zh"


def language() -> str:
    locale = get_locale()
    return "en" if locale is not None and locale.language == "en" else "zh"


def gettext(message: str, **values) -> str:
    text = ZH.get(message, message) if language() == "zh" else message
    return text % values if values else text


def label(value) -> str:
    """The words for a code (a kind, cause, status, role or audit action) in the page's language."""
    pair = LABELS.get(str(value))
    if pair is None:
        return str(value)
    return pair[1] if language() == "zh" else pair[0]


class _Words(Formatter):
    """Fills a pattern's Chinese template; {status:label} gives a code's words."""

    def format_field(self, value, format_spec):
        return label(value) if format_spec == "label" else super().format_field(value, format_spec)


_WORDS = _Words()


def _known(text: str) -> str | None:
    """The Chinese for a whole message: an exact entry, else the first pattern matching it."""
    if text in ZH:
        return ZH[text]
    for pattern, template in PATTERNS:
        if match := pattern.fullmatch(text):
            return _WORDS.format(template, **match.groupdict())
    return None


def _field(name: str) -> str | None:
    """A field's name (affected_cards, amount, Description, line 3) in Chinese, if known."""
    if name in LABELS:
        return LABELS[name][1]
    return _known(name)


def _zh(text: str) -> str | None:
    known = _known(text)
    if known is not None:
        return known
    # "field: problem", possibly nested ("attachments: a.png: the file is empty")
    field, sep, rest = text.partition(": ")
    if not sep:
        return None
    words, problem = _field(field), _zh(rest)
    if words is None and problem is None:
        return None
    return f"{words or field}：{problem or rest}"


def translate_error(text: str) -> str:
    """A service's message in the page's language: services write English, with their values in it."""
    if language() != "zh":
        return text
    return in_chinese(text)


def in_chinese(text: str) -> str:
    """A service's message in Chinese where the catalogue has it (the hotline's SMS replies too)."""
    return _zh(text) or text


def init_i18n(app: Flask) -> None:
    Babel(app, locale_selector=select_locale, default_locale="zh", configure_jinja=False)
    app.jinja_env.globals.update(_=gettext, label=label, language=language, translate_error=translate_error)
