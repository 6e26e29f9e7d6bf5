"""The web desk: server-rendered pages for police units and carrier engineers, one blueprint a surface."""
from __future__ import annotations

from flask import Flask, current_app, g, render_template
from flask_babel import refresh
from sqlalchemy.exc import OperationalError

from desk.db import RETRY_AFTER_SECONDS, forget_failed_transaction
from desk.extensions import db, login_manager

# No inline script or style anywhere, so the policy can forbid them (the countdown is static/desk.js).
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
       "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


def init_web(app: Flask) -> None:
    from desk.models import User
    from desk.web import admin, auth, dashboard, incidents, lists
    from desk.web.i18n import init_i18n
    from desk.web.helpers import init_templates

    init_i18n(app)
    init_templates(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in."
    login_manager.session_protection = "basic"

    @login_manager.user_loader
    def _load_user(user_id: str):
        return db.session.get(User, int(user_id)) if user_id.isdigit() else None

    for module in (auth, incidents, lists, dashboard, admin):
        app.register_blueprint(module.bp)

    @app.before_request
    def _fresh_user():
        # The signed-in user is loaded afresh for every request, even where an app context is reused.
        g.pop("_login_user", None)
        refresh()  # and so is the language chosen

    app.register_error_handler(OperationalError, database_unavailable)

    @app.after_request
    def _security_headers(response):
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        # Only a user the request already loaded: loading one here would query a database that may be away.
        person = g.get("_login_user")
        if person is not None and person.is_authenticated and response.mimetype == "text/html":
            # Pages show live figures of one user's scope: never cached, never shared.
            response.headers.setdefault("Cache-Control", "no-store")
        return response


def database_unavailable(exc: OperationalError):
    """The database is down, unreachable or locked: a 503 page, and nothing of the request was written
    (the service's transaction rolled back). The pool reconnects by itself when the database returns."""
    forget_failed_transaction(exc)
    response = current_app.make_response((render_template("unavailable.html"), 503))
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response.headers["Cache-Control"] = "no-store"
    return response
