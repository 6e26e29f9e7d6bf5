"""The fault form, the ticket/incident page and every action taken on it.

Each action view: find the incident within the user's scope (404 outside it), check the role
(403), read the form, call one service; a refusal re-renders the page with the message and
nothing written.
"""
from __future__ import annotations

from flask import Blueprint, Response, current_app, flash, redirect, request, url_for
from flask_login import login_required

from desk.auth.permissions import check_incident, require, units_for_filing
from desk.errors import DeskError, NotFound, ValidationFailed
from desk.extensions import db
from desk.incidents import services
from desk.incidents.queries import incident_page
from desk.models import Attachment, Unit
from desk.web import forms
from desk.web.helpers import actor, check_form, instant, page, page_forms, refusal_page, user

bp = Blueprint("incidents", __name__)


bp.register_error_handler(DeskError, refusal_page)


@bp.errorhandler(413)
def _too_large(_exc):
    limit = current_app.config["MAX_CONTENT_LENGTH"] // (1024 * 1024)
    return page("error.html", 413, error=ValidationFailed(f"attachments: the upload is larger than {limit} MB"))


def _uploads(field: str) -> list[services.Upload]:
    return [services.Upload(f.filename or "", f.mimetype or "", f.read())
            for f in request.files.getlist(field) if f and (f.filename or "")]


@bp.route("/tickets/new", methods=["GET", "POST"])
@login_required
def new_ticket():
    require(user(), "file_ticket")
    units = units_for_filing(user())
    form = forms.FaultForm()
    form.unit.choices = forms.options((u.id, f"{u.name} ({u.code}) — {u.contract.code}") for u in units)
    if request.method == "GET":
        return page("fault_form.html", form=form, units=units)
    try:
        check_form(form, "the fault report was refused")
        unit = db.session.get(Unit, form.unit.data)
        ticket = services.file_fault(
            actor(), unit=unit, kind=form.kind.data, description=form.description.data or "",
            location=form.location.data or "", affected_cards=form.affected_cards.data,
            started_at=instant(form.started_at.data, "started_at", unit.contract.timezone if unit else None),
            uploads=_uploads("attachments"),
        )
    except DeskError as exc:
        db.session.rollback()
        return page("fault_form.html", exc.status, form=form, units=units, error=exc)
    return redirect(url_for("incidents.show", incident_id=ticket.incident_id, filed=ticket.id), 303)


@bp.get("/tickets/<int:ticket_id>")
@login_required
def ticket(ticket_id: int):
    found = services.get_ticket(ticket_id)
    check_incident(user(), found.incident if found else None)
    return redirect(url_for("incidents.show", incident_id=found.incident_id))


# The page's forms that take typing, by the action they post to.
PAGE_FORMS = {"restore": forms.RestoreForm, "set_started": forms.StartedForm, "propose_cause": forms.CauseForm,
              "dispute_restoration": forms.DisputeForm, "confirm_cause": forms.DecideCauseForm,
              "dispute_cause": forms.DecideCauseForm, "comment": forms.CommentForm}


def _render(incident, status: int = 200, error: DeskError | None = None, action: str | None = None, posted=None):
    """The page; after a refusal, the refused form keeps what was typed."""
    filed = request.args.get("filed", type=int)
    view = incident_page(user(), incident, filed_ticket_id=filed)
    return page("incident.html", status, v=view, error=error, forms=page_forms(PAGE_FORMS, action, posted))


@bp.get("/incidents/<int:incident_id>")
@login_required
def show(incident_id: int):
    incident = check_incident(user(), services.get_incident(incident_id))
    return _render(incident)


def _act(incident_id: int, action: str, form, run, done: str):
    """Check the form and run the action; a refusal renders the page (on the POST's URL, so a reload
    posts the same refused values again) with the error and the form as it was filled in."""
    incident = check_incident(user(), services.get_incident(incident_id), action)
    try:
        run(incident, form)
    except DeskError as exc:
        db.session.rollback()
        return _render(services.get_incident(incident_id), exc.status, exc, action, form)
    flash(done, "ok")
    return redirect(url_for("incidents.show", incident_id=incident_id), 303)


@bp.post("/incidents/<int:incident_id>/acknowledge")
@login_required
def acknowledge(incident_id: int):
    def run(incident, form):
        check_form(form)
        services.acknowledge(actor(), incident)
    return _act(incident_id, "acknowledge", forms.ActionForm(), run, "Acknowledged.")


@bp.post("/incidents/<int:incident_id>/assign")
@login_required
def assign(incident_id: int):
    def run(incident, form):
        form.engineer.choices = forms.options((e.id, e.username) for e in services.engineers_for(incident.contract_id))
        check_form(form)
        services.assign(actor(), incident, form.engineer.data)
    return _act(incident_id, "assign", forms.AssignForm(), run, "Assigned.")


@bp.post("/incidents/<int:incident_id>/merge")
@login_required
def merge(incident_id: int):
    def run(incident, form):
        form.duplicate.validate_choice = False
        check_form(form)
        duplicate = check_incident(user(), services.get_incident(form.duplicate.data), "merge")
        services.merge(actor(), incident, duplicate)
    return _act(incident_id, "merge", forms.MergeForm(), run, "Merged.")


@bp.post("/incidents/<int:incident_id>/started")
@login_required
def started(incident_id: int):
    def run(incident, form):
        check_form(form)
        services.set_started(actor(), incident, instant(form.started_at.data, "started_at",
                                                        incident.contract.timezone))
    return _act(incident_id, "set_started", forms.StartedForm(), run, "Start of the interruption recorded.")


@bp.post("/incidents/<int:incident_id>/restore")
@login_required
def restore(incident_id: int):
    def run(incident, form):
        check_form(form)
        services.restore(actor(), incident, instant(form.restored_at.data, "restored_at",
                                                    incident.contract.timezone))
    return _act(incident_id, "restore", forms.RestoreForm(), run, "Restoration recorded; the unit is asked to confirm.")


@bp.post("/incidents/<int:incident_id>/restoration/confirm")
@login_required
def confirm_restoration(incident_id: int):
    def run(incident, form):
        check_form(form)
        services.confirm_restoration(actor(), incident)
    return _act(incident_id, "confirm_restoration", forms.ActionForm(), run, "Restoration confirmed.")


@bp.post("/incidents/<int:incident_id>/restoration/dispute")
@login_required
def dispute_restoration(incident_id: int):
    def run(incident, form):
        check_form(form)
        services.dispute_restoration(actor(), incident, form.reason.data)
    return _act(incident_id, "dispute_restoration", forms.DisputeForm(), run,
                "Restoration disputed; the incident is open again.")


@bp.post("/incidents/<int:incident_id>/cause")
@login_required
def propose_cause(incident_id: int):
    def run(incident, form):
        form.cause.choices = forms.options((c, c) for c in services.CAUSE_PROPOSALS)
        form.maintenance_notice.validate_choice = False
        check_form(form)
        services.propose_cause(actor(), incident, form.cause.data, form.evidence.data,
                               maintenance_notice_id=form.maintenance_notice.data or None)
    return _act(incident_id, "propose_cause", forms.CauseForm(), run,
                "Cause proposed; the unit's manager is asked to confirm.")


@bp.post("/incidents/<int:incident_id>/cause/confirm")
@login_required
def confirm_cause(incident_id: int):
    def run(incident, form):
        check_form(form)
        services.confirm_cause(actor(), incident, form.note.data or "")
    return _act(incident_id, "confirm_cause", forms.DecideCauseForm(), run, "Cause confirmed.")


@bp.post("/incidents/<int:incident_id>/cause/dispute")
@login_required
def dispute_cause(incident_id: int):
    def run(incident, form):
        check_form(form)
        services.dispute_cause(actor(), incident, form.note.data or "")
    return _act(incident_id, "dispute_cause", forms.DecideCauseForm(), run,
                "Cause disputed; it counts as undetermined.")


@bp.post("/incidents/<int:incident_id>/comments")
@login_required
def comment(incident_id: int):
    def run(incident, form):
        check_form(form)
        services.add_comment(actor(), incident, form.body.data)
    return _act(incident_id, "comment", forms.CommentForm(), run, "Comment added.")


@bp.post("/incidents/<int:incident_id>/attachments")
@login_required
def attach(incident_id: int):
    def run(incident, form):
        check_form(form)
        services.add_attachments(actor(), incident, _uploads("files"))
    return _act(incident_id, "attach", forms.AttachForm(), run, "Attached.")


@bp.get("/attachments/<int:attachment_id>")
@login_required
def attachment(attachment_id: int):
    row = db.session.get(Attachment, attachment_id)
    if row is None:
        raise NotFound("no such attachment")
    check_incident(user(), services.get_incident(row.incident_id))
    inline = row.content_type.startswith("image/")
    response = Response(row.data, mimetype=row.content_type)
    # Download, never render, anything but a picture: an uploaded file cannot run in the desk's origin.
    response.headers["Content-Disposition"] = (
        f"{'inline' if inline else 'attachment'}; filename*=UTF-8''{_quote(row.filename)}")
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


def _quote(name: str) -> str:
    from urllib.parse import quote

    return quote(name, safe="")
