"""The contract dashboard: this month's figures as they accrue, the ledger, maintenance notices
and the termination decision."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, request, url_for

from desk.errors import DeskError, ValidationFailed
from desk.extensions import db
from desk.contracts import maintenance, payments, termination
from desk.incidents.queries import dashboard, visible_contracts
from desk.web import forms
from desk.web.helpers import (
    actor, allowed, check_form, contract_for, instant, money, page, page_forms, refusal_page, user,
)

bp = Blueprint("dashboard", __name__)
CONFIRM_EXERCISE = ("tick the confirmation to exercise the termination right: "
                    "that decision is final and cannot be changed afterwards")


bp.register_error_handler(DeskError, refusal_page)


@bp.get("/contracts")
@allowed("view_contract")
def contracts():
    return page("contracts.html", contracts=visible_contracts(user()))


# The dashboard's forms, by the action they post to.
PAGE_FORMS = {"record_payment": forms.PaymentForm, "maintenance_notice": forms.MaintenanceForm,
              "termination_decision": forms.TerminationForm}


def _render(contract, status: int = 200, error: DeskError | None = None, month: str | None = None,
            action: str | None = None, posted=None):
    """The dashboard; after a refusal, the refused form keeps what was typed."""
    view = dashboard(contract, month or request.args.get("month") or None)
    return page("dashboard.html", status, d=view, error=error, forms=page_forms(PAGE_FORMS, action, posted))


@bp.get("/contracts/<code>")
@allowed("view_contract")
def show(code: str):
    contract = contract_for(code)
    try:
        return _render(contract)
    except DeskError as exc:
        return _render(contract, exc.status, exc, month="")


def _act(code: str, action: str, form, run, done: str):
    """Run the action; a refusal renders the dashboard (on the POST's URL: a reload posts the same
    refused values again) with the error and the form as it was filled in."""
    contract = contract_for(code, action)
    try:
        message = run(contract, form)
    except DeskError as exc:
        db.session.rollback()
        return _render(contract, exc.status, exc, action=action, posted=form)
    flash(done, "ok")
    for warning in message or []:
        flash(warning, "warning")
    return redirect(url_for("dashboard.show", code=code), 303)


@bp.post("/contracts/<code>/payments")
@allowed("record_payment")
def record_payment(code: str):
    def run(contract, form):
        check_form(form, "the payment was not recorded")
        payments.record_payment(actor(), contract, paid_at=instant(form.paid_at.data, "paid_at", contract.timezone),
                                amount=money(form.amount.data, "amount"), note=form.note.data or "")
    return _act(code, "record_payment", forms.PaymentForm(), run, "Payment recorded.")


@bp.post("/contracts/<code>/maintenance")
@allowed("maintenance_notice")
def maintenance_notice(code: str):
    def run(contract, form):
        check_form(form, "the maintenance notice was not recorded")
        zone = contract.timezone
        _, warnings = maintenance.create_maintenance_notice(
            actor(), contract, window_start=instant(form.window_start.data, "window_start", zone),
            window_end=instant(form.window_end.data, "window_end", zone),
            notice_at=instant(form.notice_at.data, "notice_at", zone), description=form.description.data)
        return warnings
    return _act(code, "maintenance_notice", forms.MaintenanceForm(), run, "Maintenance notice recorded.")


@bp.post("/contracts/<code>/termination")
@allowed("termination_decision")
def termination_decision(code: str):
    def run(contract, form):
        check_form(form, "the decision was not recorded")
        # Exercising the right is final (六.(六)): the form asks for an explicit confirmation first.
        if form.decision.data == "exercised" and request.form.get("confirm") != "yes":
            raise ValidationFailed("the decision was not recorded", errors=[CONFIRM_EXERCISE])
        termination.record_termination_decision(actor(), contract, form.decision.data, form.note.data or "")
    return _act(code, "termination_decision", forms.TerminationForm(), run, "Decision recorded.")
