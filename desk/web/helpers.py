"""What every page shares: the acting user, reading form input, and display filters.

Filters only format what the engine or the database gives them (an instant in the contract's
zone, a money string); nothing here computes a deadline or an amount.
"""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from functools import wraps

from werkzeug.exceptions import HTTPException

from flask import Flask, current_app, render_template, request
from flask_wtf.csrf import CSRFError
from flask_login import current_user, login_required

from desk.audit.services import Actor
from desk.auth.permissions import check_contract, may, require
from desk.errors import DeskError, NotFound, ValidationFailed
from desk.moneyparse import parse_amount
from desk.timeparse import local, parse_instant


def actor() -> Actor:
    return Actor.of_user(current_user._get_current_object())


def user():
    return current_user._get_current_object()


def contract_for(code: str, action: str = "view_contract"):
    """The contract of a URL's code, if this user may do `action` on it; an unknown code is refused
    as one out of scope (check_contract), so neither tells which codes exist."""
    from desk.contracts.services import get_contract

    try:
        contract = get_contract(code)
    except NotFound:
        contract = None
    return check_contract(user(), contract, action)


def tz() -> str:
    return current_app.config.get("DESK_TIMEZONE", "Asia/Shanghai")


def allowed(action: str):
    """A view the role may open at all (scope is checked on the object by the service)."""
    def decorate(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            require(user(), action)  # a Forbidden the blueprint renders as a page
            return view(*args, **kwargs)
        return wrapped
    return decorate


def check_form(form, message: str = "the form has errors") -> None:
    """WTForms validation as a ValidationFailed naming every field that is wrong."""
    if not form.validate_on_submit():
        errors = []
        for name, problems in form.errors.items():
            label = getattr(getattr(form, name, None), "label", None)
            for problem in problems:
                # The label as written (English); the page translates it, as it does services' field names.
                errors.append(f"{label.text if label else name}: {problem}")
        raise ValidationFailed(message, errors=errors or ["the form was empty"])


def page_forms(classes: dict, action: str | None = None, posted=None) -> dict:
    """A page's forms by the action they post to, empty; after a refusal, the refused one as it was
    filled in. The others get formdata=None, or a FlaskForm would read the same POST."""
    forms = {name: cls(formdata=None) for name, cls in classes.items()}
    if action in forms and posted is not None:
        forms[action] = posted
    return forms


def instant(text: str | None, name: str, zone: str | None = None) -> datetime | None:
    """A local time typed in a form (2025-06-03T10:00) as an aware UTC instant; empty is None."""
    if not text or not text.strip():
        return None
    try:
        return parse_instant(text, zone or tz())
    except ValueError as exc:
        raise ValidationFailed(f"{name}: {exc}")


def money(text: str | None, name: str) -> Decimal:
    """An amount typed in a form (16,350.00 or 16350.00), refused naming the field where it is not one."""
    try:
        return parse_amount(text)
    except ValueError as exc:
        raise ValidationFailed(f"{name}: {exc}")


def _localtime(value: datetime | str | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return local(value, tz()).strftime(fmt)


def _iso(value: datetime | None) -> str:
    return value.isoformat() if value is not None else ""


def _money(value) -> str:
    """Two decimals with thousands separators; the value itself comes from the engine or the ledger."""
    if value is None or value == "":
        return ""
    return f"{Decimal(str(value)):,.2f}"


def _duration(seconds: int | None) -> str:
    if seconds is None:
        return ""
    sign = "-" if seconds < 0 else ""
    seconds = abs(int(seconds))
    return f"{sign}{seconds // 3600}:{seconds % 3600 // 60:02d}"


def init_templates(app: Flask) -> None:
    app.jinja_env.filters.update(localtime=_localtime, iso=_iso, money=_money, duration=_duration)
    app.jinja_env.globals.update(may=lambda action: current_user.is_authenticated and may(user(), action))


def page(template: str, status: int = 200, **context):
    return render_template(template, **context), status


def refusal_page(exc):
    """A service's refusal (DeskError) as the desk's page, with its status and every problem named."""
    return page("error.html", exc.status, error=exc)


# What an HTTP error no service raised says: an address that does not exist, a method it does not
# take, a form whose CSRF token is gone (signed out in another tab). Werkzeug's pages are English
# and bare, outside the desk's layout.
HTTP_MESSAGES = {404: "no such page", 405: "this address does not take this kind of request"}
OTHER_HTTP_ERROR = "the desk could not handle this request"
STALE_FORM = "the form has expired (CSRF): reload the page and send it again"
# Addresses whose callers are programs (the API answers JSON, Twilio's webhooks plain text or TwiML).
NOT_PAGES = ("/api/", "/hotline/")


def http_error_page(exc: HTTPException):
    """An HTTP error as the desk's page, in the user's language, with its status (and Allow on a 405)."""
    if request.path.startswith(NOT_PAGES):
        return exc
    refusal = DeskError(STALE_FORM if isinstance(exc, CSRFError) else HTTP_MESSAGES.get(exc.code, OTHER_HTTP_ERROR))
    refusal.status = exc.code or 500
    headers = [(name, value) for name, value in exc.get_headers() if name.lower() != "content-type"]
    return render_template("error.html", error=refusal), refusal.status, headers
