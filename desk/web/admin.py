"""Administration: users, contracts and their units (loaded and edited as TOML), API tokens."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, request, session, url_for
from flask_login import login_user
from sqlalchemy import select

from desk.auth import services as auth
from desk.auth.sessions import SESSION_KEY
from desk.contracts.services import all_contracts, get_contract, load_contract_text
from desk.errors import DeskError, NotFound, ValidationFailed
from desk.extensions import db
from desk.models import ApiToken, Unit, User
from desk.web import forms
from desk.web.helpers import actor, allowed, check_form, page, refusal_page, user

bp = Blueprint("admin", __name__, url_prefix="/admin")


bp.register_error_handler(DeskError, refusal_page)


def _user_form() -> forms.UserForm:
    form = forms.UserForm()
    form.unit.choices = forms.options([("", "—")] + [(u.code, f"{u.name} ({u.code})") for u in
                                                     db.session.execute(select(Unit).order_by(Unit.code)).scalars()])
    form.contracts.choices = forms.options((c.code, c.code) for c in all_contracts())
    return form


def _users_page(status: int = 200, error: DeskError | None = None, form=None):
    users = db.session.execute(select(User).order_by(User.role, User.username)).scalars().all()
    return page("admin/users.html", status, users=users, form=form or _user_form(), error=error,
                active_form=forms.UserActiveForm(), password_form=forms.PasswordResetForm())


@bp.get("/")
@allowed("admin")
def index():
    return _users_page()


@bp.post("/users")
@allowed("admin")
def create_user():
    form = _user_form()
    try:
        check_form(form, "the user was not created")
        auth.create_user(actor(), username=form.username.data, password=form.password.data, role=form.role.data,
                         display_name=form.display_name.data or "", unit_code=form.unit.data or None,
                         contract_codes=list(form.contracts.data or []), phone=form.phone.data or "",
                         on_duty=bool(form.on_duty.data))
    except DeskError as exc:
        db.session.rollback()
        return _users_page(exc.status, exc, form)
    flash("User created.", "ok")
    return redirect(url_for("admin.index"), 303)


@bp.post("/users/<int:user_id>/active")
@allowed("admin")
def set_active(user_id: int):
    form = forms.UserActiveForm()
    try:
        check_form(form)
        auth.set_user_active(actor(), user_id, form.active.data == "1")
    except DeskError as exc:
        db.session.rollback()
        return _users_page(exc.status, exc)
    flash("Saved.", "ok")
    return redirect(url_for("admin.index"), 303)


@bp.post("/users/<int:user_id>/password")
@allowed("admin")
def reset_password(user_id: int):
    form = forms.PasswordResetForm()
    try:
        check_form(form)
        # A reset ends the old password's sessions; the admin's own, on this browser, goes on.
        own = user_id == user().id
        keep = session.get(SESSION_KEY) if own else None
        auth.reset_password(actor(), user_id, form.password.data, keep_token=keep)
        if own:
            login_user(user())  # the cookie's mark of the new password
    except DeskError as exc:
        db.session.rollback()
        return _users_page(exc.status, exc)
    flash("Password changed.", "ok")
    return redirect(url_for("admin.index"), 303)


@bp.get("/contracts")
@allowed("admin")
def contracts():
    return page("admin/contracts.html", contracts=all_contracts(), form=forms.ContractTomlForm())


@bp.post("/contracts")
@allowed("admin")
def load_contract():
    form = forms.ContractTomlForm()
    try:
        check_form(form, "the contract was not loaded")
        contract = load_contract_text(form.toml.data, actor())
    except DeskError as exc:
        db.session.rollback()
        return page("admin/contracts.html", exc.status, contracts=all_contracts(), form=form, error=exc)
    flash("Contract loaded.", "ok")
    return redirect(url_for("admin.contract", code=contract.code), 303)


@bp.get("/contracts/<code>")
@allowed("admin")
def contract(code: str):
    found = get_contract(code)
    form = forms.ContractTomlForm(data={"toml": found.source_toml})
    return page("admin/contract.html", contract=found, form=form)


def _tokens_page(status: int = 200, error: DeskError | None = None, form=None, plaintext: str | None = None):
    if form is None:
        form = forms.TokenForm()
    form.contracts.choices = forms.options((c.code, c.code) for c in all_contracts())
    tokens = db.session.execute(select(ApiToken).order_by(ApiToken.id.desc())).scalars().all()
    return page("admin/tokens.html", status, tokens=tokens, form=form, error=error, plaintext=plaintext,
                revoke_form=forms.ActionForm())


@bp.get("/tokens")
@allowed("admin")
def tokens():
    return _tokens_page()


@bp.post("/tokens")
@allowed("admin")
def create_token():
    form = forms.TokenForm()
    form.contracts.choices = forms.options((c.code, c.code) for c in all_contracts())
    try:
        check_form(form, "the token was not created")
        _, plaintext = auth.create_api_token(actor(), form.name.data, list(form.contracts.data))
    except DeskError as exc:
        db.session.rollback()
        return _tokens_page(exc.status, exc, form)
    # Shown once, in this response only; the database keeps its hash.
    return _tokens_page(201, plaintext=plaintext)


@bp.post("/tokens/<int:token_id>/revoke")
@allowed("admin")
def revoke_token(token_id: int):
    token = db.session.get(ApiToken, token_id)
    try:
        check_form(forms.ActionForm())
        if token is None:
            raise NotFound("no such token")
        auth.revoke_api_token(actor(), token.prefix)
    except DeskError as exc:
        db.session.rollback()
        return _tokens_page(exc.status, exc)
    flash("Token revoked.", "ok")
    return redirect(url_for("admin.tokens"), 303)


def _outbox_page(status: int = 200, error: DeskError | None = None):
    from desk.outbox import services as outbox

    chosen = request.args.get("status") or None
    delivery = request.args.get("delivery") or None
    if delivery not in (None, "undelivered"):
        raise ValidationFailed(f"delivery: one of undelivered, not {delivery!r}")
    page_number = request.args.get("page", "1")
    if not page_number.isdigit():
        raise ValidationFailed("page: a whole number from 1")
    rows = outbox.messages_with_status(chosen, int(page_number), undelivered=delivery is not None)
    return page("admin/outbox.html", status, rows=rows, delivery_state=outbox.delivery_state,
                counts=outbox.status_counts(), undelivered=outbox.undelivered_count(), chosen=chosen,
                delivery=delivery, page_number=int(page_number), page_size=outbox.PAGE_SIZE, error=error,
                requeue_form=forms.ActionForm())


@bp.get("/outbox")
@allowed("admin")
def outbox():
    """Outbound SMS by status, with attempts, Twilio's last error and the delivery Twilio reported."""
    return _outbox_page()


@bp.post("/outbox/<int:message_id>/requeue")
@allowed("admin")
def requeue_message(message_id: int):
    from desk.outbox.services import requeue

    try:
        check_form(forms.ActionForm())
        requeue(actor(), message_id)
    except DeskError as exc:
        db.session.rollback()
        return _outbox_page(exc.status, exc)
    flash("The message will be sent again.", "ok")
    return redirect(url_for("admin.outbox", status="pending"), 303)
