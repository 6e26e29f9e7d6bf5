"""Chinese by default, English on request: the chosen language is kept on the user (and in the
session before sign-in). The catalogue is a Python dict, so a fresh checkout needs no compile step;
messages are written in English in the code and templates, and ZH gives their Chinese."""
from __future__ import annotations

from flask import Flask, session
from flask_babel import Babel, get_locale
from flask_login import current_user

from desk.web.catalogue import LABELS, ZH

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


def translate_error(text: str) -> str:
    """A service's message, translated where the catalogue knows it; field prefixes kept."""
    if language() != "zh":
        return text
    if text in ZH:
        return ZH[text]
    field, sep, rest = text.partition(": ")
    if sep and rest in ZH:
        return f"{label(field)}：{ZH[rest]}"
    return text


def init_i18n(app: Flask) -> None:
    Babel(app, locale_selector=select_locale, default_locale="zh", configure_jinja=False)
    app.jinja_env.globals.update(_=gettext, label=label, language=language, translate_error=translate_error)
