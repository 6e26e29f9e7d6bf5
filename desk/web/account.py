"""The signed-in user's own account: the browsers they are signed in on, and ending the others."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, session, url_for
from flask_login import login_required

from desk.auth.sessions import SESSION_KEY, end_other_sessions, open_sessions
from desk.errors import DeskError
from desk.web.forms import ActionForm
from desk.web.helpers import actor, check_form, page, refusal_page, user

bp = Blueprint("account", __name__, url_prefix="/account")
bp.register_error_handler(DeskError, refusal_page)


@bp.get("/sessions")
@login_required
def sessions():
    return page("sessions.html", sessions=open_sessions(user().id, session.get(SESSION_KEY)), form=ActionForm())


@bp.post("/sessions/end-others")
@login_required
def end_others():
    check_form(ActionForm())  # a refusal (no CSRF token) is the blueprint's error page
    ended = end_other_sessions(actor(), session.get(SESSION_KEY))
    if ended:
        flash("Signed out everywhere else.", "ok")
    else:
        flash("You were signed in nowhere else.", "ok")
    return redirect(url_for("account.sessions"), 303)
