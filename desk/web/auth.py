"""Signing in and out, the language switch, and the home page each role starts from."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, redirect, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user

from desk.auth.services import login, set_locale
from desk.auth.sessions import SESSION_KEY, end_session, start_session
from desk.errors import DeskError, ValidationFailed
from desk.web.forms import LanguageForm, LoginForm
from desk.web.helpers import check_form, page, user
from desk.web.i18n import LANGUAGES

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str | None:
    """Only a path on this site: never an open redirect to another host."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def home_for(person) -> str:
    if person.role == "admin":
        return url_for("admin.index")
    if person.role in ("carrier_engineer", "carrier_manager"):
        return url_for("lists.queue")
    return url_for("lists.incidents")


@bp.get("/")
def index():
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    return redirect(home_for(user()))


@bp.route("/login", methods=["GET", "POST"], endpoint="login")
def login_page():
    if current_user.is_authenticated:
        return redirect(home_for(user()))
    form = LoginForm()
    if request.method == "GET":
        return page("login.html", form=form)
    try:
        check_form(form)
        person = login(form.username.data, form.password.data, request.remote_addr or "")
        token = start_session(person, request.user_agent.string, request.remote_addr or "")
    except DeskError as exc:
        return page("login.html", 401 if isinstance(exc, ValidationFailed) else exc.status, form=form, error=exc)
    locale = session.get("locale")
    session.clear()  # a fresh session on sign-in: nothing carried over from before (session fixation)
    login_user(person)
    session[SESSION_KEY] = token
    if locale in LANGUAGES and locale != person.locale:
        session["locale"] = locale
    return redirect(_safe_next(request.args.get("next")) or home_for(person))


@bp.post("/logout")
@login_required
def logout():
    # A POST, so CSRFProtect guards it: no page can sign a user out behind their back. The row is
    # revoked, so a copy of this cookie signs no one in either; the user's other devices go on.
    end_session(session.get(SESSION_KEY))
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"))


@bp.post("/language")
def language():
    form = LanguageForm()
    try:
        check_form(form)
        if form.locale.data not in LANGUAGES:
            raise ValidationFailed(f"language: {form.locale.data!r} is not offered")
        if current_user.is_authenticated:
            set_locale(user(), form.locale.data)
    except DeskError as exc:
        return page("error.html", exc.status, error=exc)
    session["locale"] = form.locale.data
    return redirect(_safe_next(request.form.get("next")) or url_for("auth.index"), 303)
