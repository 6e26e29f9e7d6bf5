"""The only ways incidents and tickets change: each function owns its transaction,
checks the actor's right, writes the audit entry and queues notifications together."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from desk.audit.services import Actor, record, snapshot
from desk.db import transaction
from desk.errors import ValidationFailed
from desk.extensions import db
from desk.models import Incident, MaintenanceNotice, Ticket, Unit, utcnow
from desk.outbox.services import enqueue, on_duty_engineers
from desk.sla.incidents import KINDS, IncidentFacts, MaintenanceWindow
from desk.sla.repair_deadline import repair_deadline_at

INCIDENT_FIELDS = (
    "status", "reported_at", "started_at", "restored_at", "kind", "cause", "cause_confirmed",
    "affected_cards", "summary", "unit_id", "assigned_engineer_id", "maintenance_notice_id",
    "merged_into_id", "acknowledged_at", "confirmed_at",
)
MAX_DESCRIPTION = 4000
MAX_LOCATION = 300
# A report may be back-dated by a clock that is a little ahead; beyond this it is an error.
CLOCK_SKEW = timedelta(minutes=5)


def incident_snapshot(incident: Incident) -> dict:
    return snapshot(incident, INCIDENT_FIELDS)


def facts_of(incident: Incident) -> IncidentFacts:
    notice = incident.maintenance_notice
    return IncidentFacts(
        id=incident.id,
        external_id=incident.external_id,
        reported_at=incident.reported_at,
        started_at=incident.started_at,
        restored_at=incident.restored_at,
        kind=incident.kind,
        cause=incident.cause,
        cause_confirmed=incident.cause_confirmed,
        affected_cards=incident.affected_cards,
        maintenance=MaintenanceWindow(notice.notice_at, notice.window_start, notice.window_end) if notice else None,
    )


def repair_deadline(incident: Incident) -> datetime | None:
    """四.(三): the instant the repair clock runs out, or None where the contract has no such clause."""
    return repair_deadline_at(incident.contract.terms(), facts_of(incident))


def after_incident_change(incident: Incident, actor: Actor, action: str, before: dict | None,
                          *, at: datetime | None = None) -> None:
    """Every change to an incident ends here, inside its transaction: the audit entry, and the
    SLA clock re-derives the incident's pending events."""
    db.session.flush()
    record(actor, action, "incident", incident.id, contract_id=incident.contract_id,
           incident_id=incident.id, before=before, after=incident_snapshot(incident), at=at)
    from desk.clock.events import sync_incident

    sync_incident(incident)


def _check_report(unit: Unit, kind: str, affected_cards: int | None, description: str, location: str,
                  started_at: datetime | None, reported_at: datetime) -> tuple[int, datetime]:
    errors = []
    contract = unit.contract
    if kind not in KINDS:
        errors.append(f"kind: must be one of {', '.join(KINDS)}, not {kind!r}")
    cards = contract.cards if affected_cards is None else affected_cards
    if not isinstance(cards, int) or isinstance(cards, bool) or not 1 <= cards <= contract.cards:
        errors.append(f"affected_cards: must be a whole number from 1 to {contract.cards}")
    if len(description or "") > MAX_DESCRIPTION:
        errors.append(f"description: at most {MAX_DESCRIPTION} characters")
    if len(location or "") > MAX_LOCATION:
        errors.append(f"location: at most {MAX_LOCATION} characters")
    started = started_at or reported_at
    if started > reported_at:
        errors.append("started_at: the interruption cannot begin after it is reported")
    if not unit.active:
        errors.append(f"unit {unit.code} is not active")
    if errors:
        raise ValidationFailed("the fault report was refused", errors=errors)
    return cards, started


def file_ticket(actor: Actor, *, unit: Unit, kind: str, channel: str, description: str = "",
                location: str = "", affected_cards: int | None = None, started_at: datetime | None = None,
                reported_at: datetime | None = None, idempotency_key: str | None = None,
                caller_phone: str = "", recording_url: str = "", reporter_id: int | None = None,
                ) -> tuple[Ticket, bool]:
    """File a fault report: a new ticket and the incident it opens. Returns (ticket, created).

    The same idempotency key (a retried webhook or API call) returns the first ticket instead.
    """
    if idempotency_key:
        existing = ticket_by_key(idempotency_key)
        if existing is not None:
            return existing, False
    now = utcnow()
    reported_at = reported_at or now
    if reported_at > now + CLOCK_SKEW:
        raise ValidationFailed("reported_at is in the future")
    cards, started = _check_report(unit, kind, affected_cards, description, location, started_at, reported_at)
    try:
        with transaction() as session:
            incident = Incident(
                contract_id=unit.contract_id, unit_id=unit.id, reported_at=reported_at, started_at=started,
                kind=kind, affected_cards=cards, summary=(description or "")[:200], status="open",
            )
            session.add(incident)
            session.flush()
            ticket = Ticket(
                incident=incident, contract_id=unit.contract_id, unit_id=unit.id, channel=channel,
                reported_at=reported_at, kind=kind, affected_cards=cards, location=location or "",
                description=description or "", reporter_id=reporter_id, caller_phone=caller_phone or "",
                recording_url=recording_url or "", idempotency_key=idempotency_key,
            )
            session.add(ticket)
            session.flush()
            record(actor, "ticket.filed", "ticket", ticket.id, contract_id=unit.contract_id,
                   incident_id=incident.id, after=snapshot(ticket, ("channel", "kind", "affected_cards",
                                                                   "location", "description", "reported_at")))
            after_incident_change(incident, actor, "incident.opened", None, at=reported_at)
            _notify_new_ticket(ticket, incident)
    except IntegrityError:
        # Two deliveries of the same webhook raced: the other one won, return its ticket.
        db.session.rollback()
        if idempotency_key:
            existing = ticket_by_key(idempotency_key)
            if existing is not None:
                return existing, False
        raise
    return ticket, True


def _notify_new_ticket(ticket: Ticket, incident: Incident) -> None:
    deadline = repair_deadline(incident)
    from desk.timeparse import local

    tz = incident.contract.timezone
    text = f"【报障】工单{ticket.number} {ticket.unit.name if ticket.unit else ''} " \
           f"{'业务中断' if ticket.kind == 'interruption' else '业务受损'}"
    if deadline is not None:
        text += f"，修复时限 {local(deadline, tz):%m-%d %H:%M}"
    for engineer in on_duty_engineers(incident.contract_id):
        enqueue(engineer.phone, text, f"ticket:{ticket.id}:new:user:{engineer.id}")


def ticket_by_key(key: str) -> Ticket | None:
    return db.session.execute(select(Ticket).where(Ticket.idempotency_key == key)).scalar_one_or_none()


def get_ticket(ticket_id: int) -> Ticket | None:
    return db.session.get(Ticket, ticket_id)


def maintenance_notice_for(contract_id: int, notice_at: datetime, window_start: datetime,
                           window_end: datetime) -> MaintenanceNotice:
    notice = db.session.execute(
        select(MaintenanceNotice).where(
            MaintenanceNotice.contract_id == contract_id,
            MaintenanceNotice.notice_at == notice_at,
            MaintenanceNotice.window_start == window_start,
            MaintenanceNotice.window_end == window_end,
        )
    ).scalar_one_or_none()
    if notice is None:
        notice = MaintenanceNotice(contract_id=contract_id, notice_at=notice_at,
                                   window_start=window_start, window_end=window_end)
        db.session.add(notice)
        db.session.flush()
    return notice
