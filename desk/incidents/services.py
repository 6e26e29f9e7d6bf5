"""The only ways incidents and tickets change: each function owns its transaction,
checks the actor's right, writes the audit entry and queues notifications together."""
from __future__ import annotations

import hashlib
import re
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Iterator

from sqlalchemy import bindparam, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from desk.audit.services import Actor, record, snapshot
from desk.contracts.services import sms_number
from desk.db import transaction
from desk.auth.permissions import check_incident, check_unit_for_filing
from desk.errors import InvalidTransition, NotFound, ValidationFailed
from desk.extensions import db
from desk.incidents.burst import Hint, counted, hint_for, window
from desk.models import (
    Attachment, CauseProposal, Comment, Contract, Incident, MaintenanceNotice, Ticket, Unit, User, utcnow,
)
from desk.models.incidents import OPEN_STATUSES
from desk.models.users import CARRIER_ROLES
from desk.outbox.services import enqueue, enqueue_new, on_duty_engineers
from desk.sla.incidents import CAUSES, KINDS, IncidentFacts, MaintenanceWindow
from desk.sla.repair_deadline import repair_deadline_at
from desk.sla.thresholds import in_service_period
from desk.timeparse import CLOCK_SKEW

INCIDENT_FIELDS = (
    "status", "reported_at", "started_at", "restored_at", "kind", "cause", "cause_confirmed",
    "affected_cards", "summary", "unit_id", "assigned_engineer_id", "maintenance_notice_id",
    "merged_into_id", "acknowledged_at", "confirmed_at",
)
MAX_DESCRIPTION = 4000
MAX_LOCATION = 300
# How long before its report a filed interruption may say it began. R4/R5 waive fees from
# started_at on (六.(六)): a mistyped year would waive every month since. Later corrections
# go through set_started, by the carrier, and are audited.
MAX_BACKDATE = timedelta(days=7)


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
    """四.(三): the instant the repair clock runs out, or None where the contract has no such clause
    or the report falls outside its service period (spec §2: it counts for nothing)."""
    terms, facts = incident.contract.terms(), facts_of(incident)
    if not in_service_period(terms, facts):
        return None
    return repair_deadline_at(terms, facts)


def after_incident_change(incident: Incident, actor: Actor, action: str, before: dict | None,
                          *, at: datetime | None = None, new: bool = False) -> None:
    """Every change to an incident ends here, inside its transaction: the audit entry, and the
    SLA clock re-derives the incident's pending events."""
    db.session.flush()
    record(actor, action, "incident", incident.id, contract_id=incident.contract_id,
           incident_id=incident.id, before=before, after=incident_snapshot(incident), at=at)
    from desk.clock.events import sync_incident
    from desk.reports.services import mark_corrections

    sync_incident(incident, new=new)
    # Every month the incident's figures touch, before and after the change (6.3, 六.(六)).
    instants = [incident.reported_at, incident.started_at, incident.restored_at or utcnow()]
    if before:
        instants += [datetime.fromisoformat(before[k]) for k in ("reported_at", "started_at", "restored_at")
                     if isinstance(before.get(k), str)]
    mark_corrections(incident.contract_id, instants)


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
    elif started < reported_at - MAX_BACKDATE:
        errors.append(f"started_at: at most {MAX_BACKDATE.days} days before the report")
    else:
        errors += before_service(contract, started)
    if not unit.active:
        errors.append(f"unit {unit.code} is not active")
    if errors:
        raise ValidationFailed("the fault report was refused", errors=errors)
    return cards, started


def before_service(contract: Contract, started_at: datetime) -> list[str]:
    """No interruption of a contract's service before the service began: there was no fee to waive."""
    if started_at < contract.terms().service_period[0]:
        return [f"started_at: before the contract's service began ({contract.service_start:%Y-%m-%d})"]
    return []


@dataclass(frozen=True)
class IntakeReads:
    """What filing a report reads, read before it takes its turn to write: in a storm every
    writer waits for the one holding the write lock, so the lock is held for the inserts alone."""

    engineers: tuple[tuple[int, str], ...]  # the contract's on-duty engineers: (id, phone)
    burst: Hint                             # the burst the report joins, for the engineer's SMS


def intake_reads(unit: Unit, reported_at: datetime | None = None) -> IntakeReads:
    """Read before the write transaction (the caller's, if it opens one around file_ticket)."""
    reported_at = reported_at or utcnow()
    unit.contract.terms()  # the contract and its clauses, loaded now rather than under the lock
    return IntakeReads(
        engineers=tuple((e.id, e.phone) for e in on_duty_engineers(unit.contract_id)),
        burst=hint_for(unit.contract_id, reported_at),
    )


def file_ticket(actor: Actor, *, unit: Unit, kind: str, channel: str, description: str = "",
                location: str = "", affected_cards: int | None = None, started_at: datetime | None = None,
                reported_at: datetime | None = None, idempotency_key: str | None = None,
                caller_phone: str = "", recording_url: str = "", reporter_id: int | None = None,
                reads: IntakeReads | None = None) -> tuple[Ticket, bool]:
    """File a fault report: a new ticket and the incident it opens. Returns (ticket, created).

    The same idempotency key with the same report (a retried webhook or API call) returns the
    first ticket instead, before anything is checked or written; with another report it is
    refused (see first_filed). A caller that opens its own transaction around this passes `reads`
    taken before it.
    """
    report = {"unit": unit.id, "kind": kind, "description": description or "", "location": location or "",
              "affected_cards": affected_cards, "started_at": started_at}
    if idempotency_key and (first := first_filed(idempotency_key, report)) is not None:
        return first, False
    now = utcnow()
    reported_at = reported_at or now
    if reported_at > now + CLOCK_SKEW:
        raise ValidationFailed("reported_at is in the future")
    cards, started = _check_report(unit, kind, affected_cards, description, location, started_at, reported_at)
    reads = reads or intake_reads(unit, reported_at)
    contract = unit.contract
    try:
        # Nothing read here is then changed: the unit and contract stay loaded (see transaction).
        with transaction(keep_loaded=True) as session:
            # By id, not by object: adding them then walks no loaded contract, clauses or units
            # (the save-update cascade); the contract and unit stay in the identity map.
            incident = Incident(
                contract_id=contract.id, unit_id=unit.id, reported_at=reported_at, started_at=started,
                kind=kind, affected_cards=cards, summary=(description or "")[:200], status="open",
                burst_head_id=reads.burst.head_id,
            )
            ticket = Ticket(
                incident=incident, contract_id=contract.id, unit_id=unit.id, channel=channel,
                reported_at=reported_at, kind=kind, affected_cards=cards, location=location or "",
                description=description or "", reporter_id=reporter_id, caller_phone=caller_phone or "",
                recording_url=recording_url or "", idempotency_key=idempotency_key,
            )
            session.add_all((incident, ticket))
            session.flush()
            if reads.burst.full_read and reads.burst.others:
                _rehead_burst(reads.burst.head_id or incident.id, reads.burst.chain + (incident.id,),
                              reads.burst.strays)
            record(actor, "ticket.filed", "ticket", ticket.id, contract_id=contract.id,
                   incident_id=incident.id, after=snapshot(ticket, ("channel", "kind", "affected_cards",
                                                                   "location", "description", "reported_at")),
                   at=reported_at)
            after_incident_change(incident, actor, "incident.opened", None, at=reported_at, new=True)
            _notify_new_ticket(ticket, incident, reads)
    except IntegrityError:
        # Two deliveries of the same key raced and the other one committed first: the unique key
        # refused this one, which is answered as a replay of it.
        db.session.rollback()
        if idempotency_key and (first := first_filed(idempotency_key, report)) is not None:
            return first, False
        raise
    return ticket, True


def _rehead_burst(head_id: int, chain: tuple[int, ...], strays: tuple[int, ...]) -> None:
    """After the burst was read in full: its reports point at its first; the first, the reports a
    closure cut off from it, and the closed reports that were not in the chain as read point
    nowhere. Then the reports pointing at a head are one unbroken chain again
    (desk.incidents.burst.hint_for). A closed report of the chain as read keeps its pointer: it
    closed while this filing was read, and the next check must see it.
    A derived shortcut, not the incident's record: no version, audit entry or updated_at."""
    table = Incident.__table__
    keep = {"updated_at": table.c.updated_at}
    db.session.execute(update(table).where(table.c.id.in_([i for i in chain if i != head_id]))
                       .values(burst_head_id=head_id, **keep))
    db.session.execute(update(table).where(table.c.id.in_((head_id, *strays))).values(burst_head_id=None, **keep))
    db.session.execute(update(table).where(table.c.burst_head_id == head_id, table.c.status.not_in(OPEN_STATUSES),
                                           table.c.id.not_in(chain)).values(burst_head_id=None, **keep))


def _notify_new_ticket(ticket: Ticket, incident: Incident, reads: IntakeReads) -> None:
    deadline = repair_deadline(incident)
    from desk.timeparse import local

    tz = incident.contract.timezone
    text = f"【报障】工单{ticket.number} {ticket.unit.name if ticket.unit else ''} " \
           f"{'业务中断' if ticket.kind == 'interruption' else '业务受损'}"
    if deadline is not None:
        text += f"，修复时限 {local(deadline, tz):%m-%d %H:%M}"
    if reads.burst.head_ticket_id is not None:
        # 六.(六) counts outages: tell the engineer this call is likely one already reported.
        minutes = int(window().total_seconds() // 60)
        text += f"；{minutes}分钟内同合同已有{counted(reads.burst.others)}起报障，疑似同一故障，" \
                f"首报工单{Ticket.format_number(reads.burst.head_ticket_id)}，请核实后合并"
    # The keys name this new ticket, so no earlier message can hold them.
    enqueue_new([(phone, text, f"ticket:{ticket.id}:new:user:{engineer_id}") for engineer_id, phone in reads.engineers],
                incident_id=incident.id)


# By id first: nearly every key is new, and an empty ORM query of the whole ticket costs a filing
# more than this one (see docs/performance.md).
_TICKET_ID_BY_KEY = select(Ticket.__table__.c.id).where(Ticket.__table__.c.idempotency_key == bindparam("key"))


def ticket_by_key(key: str) -> Ticket | None:
    ticket_id = db.session.execute(_TICKET_ID_BY_KEY, {"key": key}).scalar()
    return None if ticket_id is None else db.session.get(Ticket, ticket_id)


def first_filed(key: str, report: dict) -> Ticket | None:
    """The ticket first filed with this idempotency key (an API client's Idempotency-Key, Twilio's
    CallSid or MessageSid), or None while the key is new. `report` is what file_ticket was given:
    the unit's id, kind, description and location, and affected_cards and started_at where given.

    A key stands for one report. The same key with another report would be answered with the
    first ticket and the report lost, so it is refused naming what differs, whatever the channel
    (the IETF Idempotency-Key draft answers such a reuse 422)."""
    ticket = ticket_by_key(key)
    if ticket is None:
        return None
    filed = {"unit": ticket.unit_id, "kind": ticket.kind, "description": ticket.description,
             "location": ticket.location, "affected_cards": ticket.affected_cards,
             "started_at": ticket.incident.started_at}
    # Cards and start left out fall to their defaults (all cards, the report's time): not compared.
    differ = [name for name, given in report.items() if given is not None and given != filed[name]]
    if differ:
        raise ValidationFailed(
            f"idempotency key already used for ticket {ticket.number}, a different report",
            errors=[f"{name}: differs from the report first filed with this key" for name in differ])
    return ticket


def get_ticket(ticket_id: int) -> Ticket | None:
    return db.session.get(Ticket, ticket_id)


# ---------------------------------------------------------------------------------------------
# The desk's actions on an incident. Each checks the actor's right (when a person acts), refuses
# an invalid transition with a message before anything is written, and ends in
# after_incident_change inside one transaction.

MAX_COMMENT = 4000
MAX_ATTACHMENTS = 5
MAX_ATTACHMENT_BYTES = 5 * 1024 * 1024
# Photos and documents a police terminal produces; the first bytes must match the claimed type.
# RIFF alone is any RIFF file (WAV, AVI): a WebP says WEBP after the chunk size.
ATTACHMENT_TYPES = {
    "image/jpeg": re.compile(rb"\xff\xd8\xff"),
    "image/png": re.compile(rb"\x89PNG\r\n\x1a\n"),
    "image/webp": re.compile(rb"RIFF.{4}WEBP", re.DOTALL),
    "application/pdf": re.compile(rb"%PDF-"),
    "text/plain": None,
}
CAUSE_PROPOSALS = tuple(c for c in CAUSES if c != "undetermined")


@dataclass(frozen=True)
class Upload:
    filename: str
    content_type: str
    data: bytes


def _now(now: datetime | None) -> datetime:
    return now or utcnow()


def _check(actor: Actor, incident: Incident | None, action: str) -> Incident:
    """People act within their role and scope; system actors (hotline, clock, CLI) are trusted."""
    if actor.user is not None:
        return check_incident(actor.user, incident, action)
    if incident is None:
        raise NotFound("no such incident")
    return incident


def _not_future(value: datetime, now: datetime, name: str) -> None:
    if value > now + CLOCK_SKEW:
        raise ValidationFailed(f"{name}: cannot be in the future")


def _refuse(message: str) -> None:
    raise InvalidTransition(message)


@contextmanager
def _changing(incident: Incident, actor: Actor, action: str, now: datetime) -> Iterator[Session]:
    """One change to an incident: a transaction that ends in after_incident_change with the
    incident as it was before."""
    with transaction() as session:
        before = incident_snapshot(incident)
        yield session
        after_incident_change(incident, actor, action, before, at=now)


def get_incident(incident_id: int) -> Incident | None:
    return db.session.get(Incident, incident_id)


def acknowledge(actor: Actor, incident: Incident, *, now: datetime | None = None) -> Incident:
    """The carrier has taken the fault; the first engineer to take it is assigned."""
    _check(actor, incident, "acknowledge")
    now = _now(now)
    if incident.status != "open":
        _refuse(f"only an open incident can be acknowledged; this one is {incident.status}")
    with _changing(incident, actor, "incident.acknowledged", now):
        incident.status = "acknowledged"
        incident.acknowledged_at = now
        if incident.assigned_engineer_id is None and actor.user is not None and actor.user.is_carrier:
            incident.assigned_engineer_id = actor.user.id
    return incident


def engineers_for(contract_id: int) -> list[User]:
    from desk.models.users import user_contract

    return list(db.session.execute(
        select(User).join(user_contract, user_contract.c.user_id == User.id)
        .where(user_contract.c.contract_id == contract_id, User.role.in_(CARRIER_ROLES), User.active.is_(True))
        .order_by(User.display_name, User.username)
    ).scalars())


def assign(actor: Actor, incident: Incident, engineer_id: int, *, now: datetime | None = None) -> Incident:
    _check(actor, incident, "assign")
    now = _now(now)
    if incident.status in ("merged", "confirmed"):
        _refuse(f"a {incident.status} incident is not assigned any more")
    engineer = next((e for e in engineers_for(incident.contract_id) if e.id == engineer_id), None)
    if engineer is None:
        raise ValidationFailed("engineer: not an active carrier engineer of this contract")
    with _changing(incident, actor, "incident.assigned", now):
        incident.assigned_engineer_id = engineer.id
    return incident


def set_started(actor: Actor, incident: Incident, started_at: datetime, *, now: datetime | None = None) -> Incident:
    """When the interruption really began (R4/R5 count from it); never after the first report."""
    _check(actor, incident, "set_started")
    now = _now(now)
    if incident.status in ("merged", "confirmed"):
        _refuse(f"the times of a {incident.status} incident are settled; dispute the restoration first")
    if started_at > incident.reported_at:
        raise ValidationFailed("started_at: the interruption cannot begin after it was reported")
    if errors := before_service(incident.contract, started_at):
        raise ValidationFailed(errors[0])
    if incident.restored_at is not None and started_at > incident.restored_at:
        _refuse("started_at: cannot be after the restoration")
    with _changing(incident, actor, "incident.started_set", now):
        incident.started_at = started_at
    return incident


def restore(actor: Actor, incident: Incident, restored_at: datetime | None = None, *,
            now: datetime | None = None) -> Incident:
    """Service is back; the unit is asked to confirm. 四.(三) is met iff restored_at ≤ the repair deadline."""
    _check(actor, incident, "restore")
    now = _now(now)
    restored_at = restored_at or now
    if not incident.is_open:
        _refuse(f"only an open incident can be restored; this one is {incident.status}")
    _not_future(restored_at, now, "restored_at")
    if restored_at < incident.started_at:
        _refuse("restored_at: cannot be before the interruption started")
    with _changing(incident, actor, "incident.restored", now):
        incident.status = "restored"
        incident.restored_at = restored_at
        number = first_ticket_number(incident)
        _notify_unit(incident, f"restored:{restored_at.isoformat()}", f"【恢复】工单{number} 已恢复，请登录确认或提出异议",
                     caller_text=f"【恢复】工单{number} 已恢复。如故障仍在，请告知贵单位负责人或再次报障")
    return incident


def confirm_restoration(actor: Actor, incident: Incident, *, now: datetime | None = None) -> Incident:
    _check(actor, incident, "confirm_restoration")
    now = _now(now)
    if incident.status != "restored":
        _refuse(f"only a restored incident can be confirmed; this one is {incident.status}")
    with _changing(incident, actor, "incident.restoration_confirmed", now):
        incident.status = "confirmed"
        incident.confirmed_at = now
    return incident


def dispute_restoration(actor: Actor, incident: Incident, reason: str, *, now: datetime | None = None) -> Incident:
    """The unit says service is not back: the incident reopens and its clock runs again."""
    _check(actor, incident, "dispute_restoration")
    now = _now(now)
    reason = (reason or "").strip()
    if incident.status != "restored":
        _refuse(f"only a restored incident can be disputed; this one is {incident.status}")
    if not reason or len(reason) > MAX_COMMENT:
        raise ValidationFailed(f"reason: say why, in 1 to {MAX_COMMENT} characters")
    with _changing(incident, actor, "incident.restoration_disputed", now) as session:
        incident.status = "open"
        incident.restored_at = None
        incident.confirmed_at = None
        comment = Comment(incident_id=incident.id, author_id=actor.user_id, body=reason, created_at=now)
        session.add(comment)
        session.flush()
        record(actor, "comment.added", "comment", comment.id, contract_id=incident.contract_id,
               incident_id=incident.id, after={"body": reason}, at=now)
        for engineer in on_duty_engineers(incident.contract_id):
            enqueue(engineer.phone, f"【异议】工单{first_ticket_number(incident)} 用户不认可恢复，已重新打开",
                    f"incident:{incident.id}:disputed:{now.isoformat()}:user:{engineer.id}", incident_id=incident.id)
    return incident


def _pending_proposal(incident: Incident) -> CauseProposal | None:
    return db.session.execute(
        select(CauseProposal).where(CauseProposal.incident_id == incident.id, CauseProposal.status == "proposed")
        .order_by(CauseProposal.id.desc()).limit(1)
    ).scalar_one_or_none()


def cause_history(incident: Incident) -> list[CauseProposal]:
    return list(db.session.execute(
        select(CauseProposal).where(CauseProposal.incident_id == incident.id).order_by(CauseProposal.id)
    ).scalars())


def propose_cause(actor: Actor, incident: Incident, cause: str, evidence: str, *,
                  maintenance_notice_id: int | None = None, now: datetime | None = None) -> CauseProposal:
    """The carrier attributes the fault, with evidence; figures stay provisional until the unit confirms."""
    _check(actor, incident, "propose_cause")
    now = _now(now)
    evidence = (evidence or "").strip()
    errors = []
    if incident.status == "merged":
        _refuse("a merged incident has no cause of its own; attribute the incident it was merged into")
    if cause not in CAUSE_PROPOSALS:
        errors.append(f"cause: must be one of {', '.join(CAUSE_PROPOSALS)}")
    if not evidence or len(evidence) > MAX_COMMENT:
        errors.append(f"evidence: describe it in 1 to {MAX_COMMENT} characters")
    notice = None
    if cause == "planned_maintenance":
        notice = db.session.get(MaintenanceNotice, maintenance_notice_id) if maintenance_notice_id else None
        if notice is None or notice.contract_id != incident.contract_id:
            errors.append("maintenance_notice: planned maintenance must link a notice of this contract")  # 七.(五)
    elif maintenance_notice_id:
        errors.append("maintenance_notice: only planned maintenance links a notice")
    if errors:
        raise ValidationFailed("the cause was not proposed", errors=errors)
    with _changing(incident, actor, "incident.cause_proposed", now) as session:
        for earlier in session.execute(select(CauseProposal).where(
                CauseProposal.incident_id == incident.id, CauseProposal.status == "proposed")).scalars():
            earlier.status = "superseded"
        proposal = CauseProposal(incident_id=incident.id, cause=cause, evidence=evidence,
                                 maintenance_notice_id=notice.id if notice else None, status="proposed",
                                 proposed_by_id=actor.user_id, proposed_at=now)
        session.add(proposal)
        incident.cause = cause
        incident.cause_confirmed = False
        incident.maintenance_notice_id = notice.id if notice else None
        session.flush()
        record(actor, "cause_proposal.created", "cause_proposal", proposal.id, contract_id=incident.contract_id,
               incident_id=incident.id, after=snapshot(proposal, ("cause", "evidence", "maintenance_notice_id")),
               at=now)
    return proposal


def _decide_cause(actor: Actor, incident: Incident, action: str, note: str, now: datetime | None,
                  *, confirmed: bool) -> CauseProposal:
    _check(actor, incident, action)
    now = _now(now)
    note = (note or "").strip()
    proposal = _pending_proposal(incident)
    if proposal is None:
        _refuse("there is no proposed cause to decide on")
    if not confirmed and not note:
        raise ValidationFailed("note: say why the cause is disputed")
    if len(note) > MAX_COMMENT:
        raise ValidationFailed(f"note: at most {MAX_COMMENT} characters")
    status = "confirmed" if confirmed else "disputed"
    with _changing(incident, actor, f"incident.cause_{status}", now):
        proposal.status = status
        proposal.decided_by_id, proposal.decided_at, proposal.decision_note = actor.user_id, now, note
        if confirmed:
            incident.cause_confirmed = True
        else:
            # A disputed cause is undetermined again, which counts against the carrier (spec §2).
            incident.cause, incident.cause_confirmed, incident.maintenance_notice_id = "undetermined", False, None
        record(actor, f"cause_proposal.{proposal.status}", "cause_proposal", proposal.id,
               contract_id=incident.contract_id, incident_id=incident.id, after={"note": note}, at=now)
    return proposal


def confirm_cause(actor: Actor, incident: Incident, note: str = "", *, now: datetime | None = None) -> CauseProposal:
    return _decide_cause(actor, incident, "confirm_cause", note, now, confirmed=True)


def dispute_cause(actor: Actor, incident: Incident, note: str, *, now: datetime | None = None) -> CauseProposal:
    return _decide_cause(actor, incident, "dispute_cause", note, now, confirmed=False)


def merge(actor: Actor, survivor: Incident, duplicate: Incident, *, now: datetime | None = None) -> Incident:
    """Several reports of one fault become one incident (六.(六) counts faults, not calls).

    The survivor keeps the earliest report (the repair clock starts at the first one); the
    duplicate stays, marked merged, so the evidence of every report is kept.
    """
    _check(actor, survivor, "merge")
    _check(actor, duplicate, "merge")
    now = _now(now)
    if survivor.id == duplicate.id:
        _refuse("an incident cannot be merged into itself")
    if survivor.contract_id != duplicate.contract_id:
        _refuse("incidents of different contracts cannot be merged")
    for inc in (survivor, duplicate):
        if inc.status in ("merged", "confirmed"):
            _refuse(f"incident {inc.id} is {inc.status} and cannot take part in a merge")
    if survivor.restored_at is not None and duplicate.reported_at > survivor.restored_at:
        _refuse("the duplicate was reported after this incident was restored: it is another fault")
    with transaction():
        before_s, before_d = incident_snapshot(survivor), incident_snapshot(duplicate)
        moved = list(duplicate.tickets)
        for ticket in moved:
            ticket.incident = survivor
        survivor.reported_at = min(survivor.reported_at, duplicate.reported_at)
        survivor.started_at = min(survivor.started_at, duplicate.started_at)
        survivor.affected_cards = max(survivor.affected_cards, duplicate.affected_cards)
        duplicate.status, duplicate.merged_into_id = "merged", survivor.id
        after_incident_change(duplicate, actor, "incident.merged_into", before_d, at=now)
        for ticket in moved:
            record(actor, "ticket.moved", "ticket", ticket.id, contract_id=survivor.contract_id,
                   incident_id=survivor.id, before={"incident_id": duplicate.id},
                   after={"incident_id": survivor.id}, at=now)
        after_incident_change(survivor, actor, "incident.merged", before_s, at=now)
    return survivor


def add_comment(actor: Actor, incident: Incident, body: str, *, now: datetime | None = None) -> Comment:
    _check(actor, incident, "comment")
    now = _now(now)
    body = (body or "").strip()
    if not body or len(body) > MAX_COMMENT:
        raise ValidationFailed(f"comment: 1 to {MAX_COMMENT} characters")
    with transaction() as session:
        comment = Comment(incident_id=incident.id, author_id=actor.user_id, body=body, created_at=now)
        session.add(comment)
        session.flush()
        record(actor, "comment.added", "comment", comment.id, contract_id=incident.contract_id,
               incident_id=incident.id, after={"body": body}, at=now)
    return comment


def check_uploads(uploads: list[Upload]) -> list[Upload]:
    """Every problem with the files at once, before anything is written."""
    uploads = [u for u in uploads if u.filename or u.data]
    errors = []
    if len(uploads) > MAX_ATTACHMENTS:
        errors.append(f"attachments: at most {MAX_ATTACHMENTS} files at a time")
    for u in uploads:
        name = (u.filename or "").strip()
        if not name or len(name) > 255:
            errors.append("attachments: every file needs a name of at most 255 characters")
        if u.content_type not in ATTACHMENT_TYPES:
            errors.append(f"attachments: {name}: only JPEG, PNG, WebP, PDF or plain text, not {u.content_type}")
        elif ATTACHMENT_TYPES[u.content_type] and not ATTACHMENT_TYPES[u.content_type].match(u.data):
            errors.append(f"attachments: {name}: the content is not {u.content_type}")
        if not u.data:
            errors.append(f"attachments: {name}: the file is empty")
        elif len(u.data) > MAX_ATTACHMENT_BYTES:
            errors.append(f"attachments: {name}: larger than {MAX_ATTACHMENT_BYTES // (1024 * 1024)} MB")
    if errors:
        raise ValidationFailed("the attachments were refused", errors=errors)
    return uploads


def _attach(actor: Actor, incident: Incident, uploads: list[Upload], now: datetime) -> list[Attachment]:
    rows = []
    for u in uploads:
        row = Attachment(incident_id=incident.id, uploaded_by_id=actor.user_id, filename=u.filename.strip(),
                         content_type=u.content_type, size=len(u.data), data=u.data, created_at=now)
        db.session.add(row)
        db.session.flush()
        record(actor, "attachment.added", "attachment", row.id, contract_id=incident.contract_id,
               incident_id=incident.id, after={"filename": row.filename, "size": row.size,
                                               "sha256": hashlib.sha256(u.data).hexdigest()}, at=now)
        rows.append(row)
    return rows


def add_attachments(actor: Actor, incident: Incident, uploads: list[Upload], *,
                    now: datetime | None = None) -> list[Attachment]:
    _check(actor, incident, "attach")
    uploads = check_uploads(uploads)
    if not uploads:
        raise ValidationFailed("attachments: choose at least one file")
    with transaction():
        return _attach(actor, incident, uploads, _now(now))


def file_fault(actor: Actor, *, unit: Unit, kind: str, description: str = "", location: str = "",
               affected_cards: int | None = None, started_at: datetime | None = None,
               uploads: list[Upload] | None = None, now: datetime | None = None) -> Ticket:
    """The web fault form: a ticket with its photos, all written together or not at all."""
    if actor.user is not None:
        check_unit_for_filing(actor.user, unit)
    now = _now(now)
    uploads = check_uploads(uploads or [])
    if started_at is not None:
        _not_future(started_at, now, "started_at")
    reads = intake_reads(unit, now)
    with transaction(keep_loaded=True):
        ticket, _ = file_ticket(actor, unit=unit, kind=kind, channel="web", description=description,
                                location=location, affected_cards=affected_cards, started_at=started_at,
                                reported_at=now, reporter_id=actor.user_id, reads=reads)
        _attach(actor, ticket.incident, uploads, now)
    return ticket


def first_ticket_number(incident: Incident) -> str:
    return incident.tickets[0].number if incident.tickets else str(incident.id)


def _notify_unit(incident: Incident, event: str, text: str, *, caller_text: str) -> None:
    """SMS to the unit's people who gave a phone number, and to every number that reported the
    fault by phone or SMS, each number once. The callers have no account on the desk, so they are
    sent `caller_text`, which asks nothing of them there."""
    phones: set[str] = set()
    if incident.unit_id is not None:
        people = db.session.execute(
            select(User).where(User.unit_id == incident.unit_id, User.active.is_(True), User.phone != "")
            .order_by(User.id)
        ).scalars()
        for person in people:
            if person.phone not in phones:
                phones.add(person.phone)
                enqueue(person.phone, text, f"incident:{incident.id}:{event}:user:{person.id}",
                        incident_id=incident.id)
    for ticket in incident.tickets:
        # A landline or a withheld caller takes no SMS (Twilio refuses it with 21211).
        to = sms_number(ticket.caller_phone)
        if to is not None and to not in phones:
            phones.add(to)
            enqueue(to, caller_text, f"incident:{incident.id}:{event}:phone:{ticket.caller_phone}",
                    incident_id=incident.id)
