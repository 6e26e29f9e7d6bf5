"""The web desk: server-rendered pages for police units and carrier engineers, one blueprint a surface."""
from __future__ import annotations

import re
from functools import cached_property
from urllib.parse import parse_qsl

from flask import Flask, Request, current_app, g, render_template, request, session
from flask_babel import refresh
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException
from werkzeug.formparser import FormDataParser

from desk.db import RETRY_AFTER_SECONDS, forget_failed_transaction
from desk.errors import DeskError, ValidationFailed
from desk.extensions import login_manager
from desk.jsonbody import json_body
from desk.web.helpers import http_error_page, refusal_page

# No inline script or style anywhere, so the policy can forbid them (the countdown is static/desk.js).
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
       "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


class _FormParser(FormDataParser):
    """Urlencoded bodies decoded as multipart ones are: bytes that are not UTF-8 become U+FFFD, which
    refuse_unreadable_text refuses naming the field. Werkzeug keeps such escapes as they came ("%D6%D0"),
    indistinguishable from typed text, and drops the whole form for a raw byte that is not UTF-8."""

    def _parse_urlencoded(self, stream, mimetype, content_length, options):
        items = parse_qsl(stream.read().decode(errors="replace"), keep_blank_values=True, errors="replace")
        return stream, self.cls(items), self.cls()


class DeskRequest(Request):
    form_data_parser_class = _FormParser

    @cached_property
    def args(self):
        # The query string likewise (Werkzeug keeps undecodable escapes there too).
        return self.parameter_storage_class(parse_qsl(self.query_string.decode(errors="replace"),
                                                      keep_blank_values=True, errors="replace"))


def init_web(app: Flask) -> None:
    from desk.auth.sessions import SESSION_KEY, session_for
    from desk.web import account, admin, auth, dashboard, incidents, lists
    from desk.web.i18n import init_i18n
    from desk.web.helpers import init_templates

    app.request_class = DeskRequest
    init_i18n(app)
    init_templates(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in."
    login_manager.session_protection = "basic"

    @login_manager.user_loader
    def _load_user(session_id: str):
        # User.get_id: "<id>:<mark of the password>"; a session of an earlier password loads nobody.
        user_id, _, mark = session_id.partition(":")
        if not user_id.isdigit():
            return None
        # The cookie's token must name a live session row of that user (revoked on sign-out, expired
        # when idle or old); it brings the user, a reporter's unit and its contract in one statement.
        live = session_for(int(user_id), session.get(SESSION_KEY))
        person = live.user if live is not None else None
        return person if person is not None and person.session_is_current(mark) else None

    for module in (auth, account, incidents, lists, dashboard, admin):
        app.register_blueprint(module.bp)

    @app.before_request
    def _fresh_user():
        # The signed-in user is loaded afresh for every request, even where an app context is reused.
        g.pop("_login_user", None)
        refresh()  # and so is the language chosen

    app.register_error_handler(OperationalError, database_unavailable)
    app.register_error_handler(PoolTimeout, database_unavailable)  # every connection busy: same answer
    # Blueprints without a page of their own (sign-in, refusals before any view) still show the reason.
    app.register_error_handler(DeskError, refusal_page)
    app.register_error_handler(HTTPException, http_error_page)
    app.before_request(refuse_unreadable_text)

    @app.after_request
    def _security_headers(response):
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        # Only a user the request already loaded: loading one here would query a database that may be away.
        person = g.get("_login_user")
        if person is not None and person.is_authenticated and request.endpoint != "static":
            # Pages show live figures of one user's scope, attachments and reports what that scope may
            # see: never cached, never shared (a workstation's cache outlives the sign-out).
            response.headers.setdefault("Cache-Control", "no-store")
        return response


def database_unavailable(exc: OperationalError | PoolTimeout):
    """The database is down, unreachable or locked: a 503 page, and nothing of the request was written
    (the service's transaction rolled back). The pool reconnects by itself when the database returns."""
    forget_failed_transaction(exc)
    response = current_app.make_response((render_template("unavailable.html"), 503))
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response.headers["Cache-Control"] = "no-store"
    return response


# What a field may not hold. U+FFFD is what the form parser puts where bytes were not UTF-8: the text
# that was meant is lost, so it is refused rather than stored garbled. (JSON that is not UTF-8 never
# parses, so there a U+FFFD is one the client meant.) A lone surrogate comes only from a JSON escape
# (\ud800); no UTF-8, so no database, can hold one.
UNSTORABLE = {re.compile("\x00"): "contains a NUL character",
              re.compile("[\ud800-\udfff]"): "is not valid Unicode (a lone surrogate)"}
GARBLED = {**UNSTORABLE, re.compile("\ufffd"): "is not UTF-8 text"}


def _unreadable(value, name: str, refused: dict):
    """(field, problem) for every string in a form value or JSON document that the desk cannot keep."""
    if isinstance(value, str):
        for pattern, problem in refused.items():
            if pattern.search(value):
                yield f"{name}: {problem}"
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _unreadable(str(key), f"{name}.{key}" if name else "key", refused)
            yield from _unreadable(item, f"{name}.{key}" if name else str(key), refused)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _unreadable(item, f"{name}[{index}]", refused)


def refuse_unreadable_text():
    """No person types a NUL and PostgreSQL cannot store one; form bytes that are not UTF-8 arrive
    garbled; a lone surrogate cannot be written as UTF-8. Any field, file name or JSON string with one
    is refused before a view reads it, and so is a JSON body that is not UTF-8, not JSON or too deep."""
    problems = [p for key, value in request.args.items(multi=True) for p in _unreadable(value, key, GARBLED)]
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        problems += [p for key, value in request.form.items(multi=True) for p in _unreadable(value, key, GARBLED)]
        problems += [p for key, upload in request.files.items(multi=True)
                     for p in _unreadable(upload.filename or "", f"{key} (file name)", GARBLED)]
    elif request.is_json:
        problems += list(_unreadable(json_body(), "", UNSTORABLE))
    if problems:
        raise ValidationFailed("the request holds text the desk cannot keep", errors=list(dict.fromkeys(problems)))
