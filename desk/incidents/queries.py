"""Reading incidents for the desk's pages: lists within a user's scope, the engineer queue,
the timeline from the audit log, and the rule consequences taken from the engine's report."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from desk.audit.services import history
from desk.auth.permissions import contract_ids, incident_scope
from desk.errors import ValidationFailed
from desk.extensions import db
from desk.incidents.services import repair_deadline
from desk.models import (STATUSES, AuditEntry, Contract, Incident, OutboxDelivery, OutboxMessage, Ticket, Unit,
                         User, utcnow)
from desk.models.incidents import OPEN_STATUSES
from desk.sla.timeutil import month_bounds
from desk.timeparse import local

LIST_LIMIT = 200


@dataclass(frozen=True)
class Filters:
    contract: str = ""
    unit: str = ""
    status: str = ""
    month: str = ""
    q: str = ""


def month_range(month: str, tz: str) -> tuple[datetime, datetime]:
    """A local calendar month as UTC instants [start, end)."""
    from desk.reports.services import parse_month

    return month_bounds(*parse_month(month), ZoneInfo(tz))


def visible_contracts(user: User) -> list[Contract]:
    ids = contract_ids(user)
    query = select(Contract).order_by(Contract.code)
    if ids is not None:
        query = query.where(Contract.id.in_(ids or {-1}))
    return list(db.session.execute(query).scalars())


def visible_units(user: User) -> list[Unit]:
    if user.role == "unit_reporter":
        return [user.unit] if user.unit else []
    ids = [c.id for c in visible_contracts(user)]
    return list(db.session.execute(select(Unit).where(Unit.contract_id.in_(ids or [-1])).order_by(Unit.code)).scalars())


def find_incidents(user: User, filters: Filters, tz: str) -> list[Incident]:
    """The incidents a user may see, narrowed by the filters; newest first."""
    errors = []
    query = select(Incident).where(incident_scope(user))
    if filters.contract:
        query = query.join(Contract, Contract.id == Incident.contract_id).where(Contract.code == filters.contract)
    if filters.unit:
        unit_ids = select(Unit.id).where(Unit.code == filters.unit)
        query = query.where(Incident.unit_id.in_(unit_ids))
    if filters.status:
        if filters.status not in STATUSES:
            errors.append(f"status: one of {', '.join(STATUSES)}")
        query = query.where(Incident.status == filters.status)
    if filters.month:
        try:
            start, end = month_range(filters.month, tz)
        except ValidationFailed as exc:
            errors.extend(exc.errors)
        else:
            query = query.where(Incident.reported_at >= start, Incident.reported_at < end)
    if filters.q:
        number = filters.q.strip().lstrip("#")
        if not number.isdigit():
            errors.append("ticket number: digits only, e.g. 000042")
        else:
            query = query.where(Incident.id.in_(select(Ticket.incident_id).where(Ticket.id == int(number))))
    if errors:
        raise ValidationFailed("the filter was not understood", errors=errors)
    return list(db.session.execute(query.order_by(Incident.reported_at.desc(), Incident.id.desc())
                                   .limit(LIST_LIMIT)).scalars())


@dataclass(frozen=True)
class QueueItem:
    incident: Incident
    repair_deadline: datetime | None
    seconds_left: int | None


def queue(user: User, filters: Filters, tz: str, *, now: datetime | None = None) -> list[QueueItem]:
    """Open incidents of the user's contracts, the one whose repair deadline comes first on top."""
    now = now or utcnow()
    if filters.status and filters.status not in OPEN_STATUSES:
        raise ValidationFailed("the queue holds open incidents only: status open or acknowledged")
    incidents = [i for i in find_incidents(user, filters, tz) if i.status in OPEN_STATUSES]
    items = []
    for incident in incidents:
        deadline = repair_deadline(incident)
        left = int((deadline - now).total_seconds()) if deadline is not None else None
        items.append(QueueItem(incident, deadline, left))
    far = now + timedelta(days=36500)
    return sorted(items, key=lambda it: (it.repair_deadline or far, it.incident.reported_at, it.incident.id))


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    action: str
    actor: str
    detail: dict = field(default_factory=dict)
    # The desk itself (the clock, the hotline, the CLI, an API token), named by a code the page translates.
    by_system: bool = False


# Audit actions that are bookkeeping beside another entry of the same change.
_HIDDEN = {"incident.opened", "cause_proposal.created", "cause_proposal.confirmed", "cause_proposal.disputed"}


def timeline(incident: Incident) -> list[TimelineEntry]:
    """What happened, from the audit log: who did what when, with the fields that changed."""
    entries = []
    names = dict(db.session.execute(select(User.id, User.display_name)).all())
    for e in history(incident.id):
        if e.action in _HIDDEN:
            continue
        detail = _changes(e)
        if detail.get("assigned_engineer_id") is not None:
            detail["assigned_engineer_id"] = names.get(detail["assigned_engineer_id"], detail["assigned_engineer_id"])
        entries.append(TimelineEntry(e.at, e.action, names.get(e.actor_id) or e.actor_label, detail,
                                     by_system=e.actor_id is None))
    return entries


def _changes(entry: AuditEntry) -> dict:
    before, after = entry.before or {}, entry.after or {}
    if entry.entity != "incident":
        return dict(after)
    return {k: v for k, v in after.items() if before.get(k) != v and k not in ("status",)} if before else {}


@dataclass(frozen=True)
class ClockRow:
    """One SLA clock event as the pages show it: what, when, and whether it has happened yet."""

    kind: str
    due_at: datetime
    status: str                  # pending (still to come) or recorded (happened at due_at)
    detail: dict
    incident_id: int | None = None
    ticket_number: str | None = None


def _clock_row(event, numbers: dict[int, str] | None = None) -> ClockRow:
    payload = {k: v for k, v in (event.payload or {}).items() if k in CLOCK_DETAIL}
    number = (numbers or {}).get(event.incident_id) if event.incident_id else None
    return ClockRow(event.kind, event.due_at, event.status, payload, event.incident_id, number)


# What a clock event's payload shows on a page (the rest is bookkeeping).
CLOCK_DETAIL = ("minutes_left", "strike_number", "penalty", "hours", "month", "refund", "strikes", "report_hash")


def incident_clock(incident: Incident) -> list[ClockRow]:
    """The incident's SLA clock: what has been recorded and what is still to come, in time order."""
    from desk.models import ClockEvent

    events = db.session.execute(
        select(ClockEvent).where(ClockEvent.incident_id == incident.id, ClockEvent.status != "cancelled")
        .order_by(ClockEvent.due_at, ClockEvent.id)
    ).scalars()
    return [_clock_row(e) for e in events]


def contract_clock(contract: Contract, now: datetime, *, upcoming: int = 10, recent: int = 20
                   ) -> tuple[list[ClockRow], list[ClockRow]]:
    """The contract's next pending events and its latest recorded ones (both indexed by due_at)."""
    from desk.models import ClockEvent

    def rows(query):
        events = list(db.session.execute(query).scalars())
        ids = {e.incident_id for e in events if e.incident_id}
        numbers = {}
        if ids:
            for incident_id, ticket_id in db.session.execute(
                    select(Ticket.incident_id, func.min(Ticket.id)).where(Ticket.incident_id.in_(ids))
                    .group_by(Ticket.incident_id)):
                numbers[incident_id] = Ticket.format_number(ticket_id)
        return [_clock_row(e, numbers) for e in events]

    base = select(ClockEvent).where(ClockEvent.contract_id == contract.id)
    coming = rows(base.where(ClockEvent.status == "pending").order_by(ClockEvent.due_at).limit(upcoming))
    happened = rows(base.where(ClockEvent.status == "recorded", ClockEvent.due_at <= now)
                    .order_by(ClockEvent.due_at.desc(), ClockEvent.id.desc()).limit(recent))
    return coming, happened


def merged_into_this(incident: Incident) -> list[Incident]:
    return list(db.session.execute(select(Incident).where(Incident.merged_into_id == incident.id)
                                   .order_by(Incident.id)).scalars())


def merge_candidates(incident: Incident) -> list[Incident]:
    """Other open incidents of the same contract: what an engineer may merge into this one."""
    return list(db.session.execute(
        select(Incident).where(Incident.contract_id == incident.contract_id, Incident.id != incident.id,
                               Incident.status.in_(OPEN_STATUSES + ("restored",)))
        .order_by(Incident.reported_at.desc()).limit(50)
    ).scalars())


@dataclass(frozen=True)
class Consequences:
    """What the rules say about one incident so far, every figure from the engine's report."""

    month: str
    provisional: bool
    row: dict | None                 # the incident's line of the monthly report (spec §5)
    totals: dict                     # the month's totals as they accrue
    strike_threshold: int | None     # 六.(六)
    continuous_hours: str | None     # this interruption toward R4's threshold
    day_waiver_hours: Decimal | None  # 6.3
    period_waiver_hours: Decimal | None  # 6.3


def consequences(incident: Incident, now: datetime) -> Consequences | None:
    from desk.reports.services import monthly_report
    from desk.sla.progress import continuous_interruption_hours

    if incident.status == "merged":
        return None
    contract = incident.contract
    month = f"{local(incident.reported_at, contract.timezone):%Y-%m}"
    report = monthly_report(contract.code, month, now if now < month_end(month, contract.timezone) else None)
    row = next((r for r in report["incidents"] if r["id"] == incident.id), None)
    terms = contract.terms()
    from desk.reports.services import incident_facts

    hours = continuous_interruption_hours(terms, incident_facts(contract, now), incident.id, now)
    return Consequences(
        month=month,
        # The incident's own figures settle once both sides agree on its cause (spec §2); the month's
        # report stays provisional until the month is over as well.
        provisional=not incident.cause_confirmed or incident.cause == "undetermined",
        row=row,
        totals=report["totals"],
        strike_threshold=terms.strike_termination.threshold if terms.strike_termination else None,
        continuous_hours=hours,
        day_waiver_hours=terms.outage_day_waiver.min_continuous_hours if terms.outage_day_waiver else None,
        period_waiver_hours=terms.outage_period_waiver.min_monthly_hours if terms.outage_period_waiver else None,
    )


def month_end(month: str, tz: str) -> datetime:
    return month_range(month, tz)[1]


@dataclass(frozen=True)
class Notification:
    """An SMS about the incident as its page shows it: `to` as the viewer may see it, `delivery_state`
    as desk.outbox.services.delivery_state says (None: not sent by the desk)."""
    message: OutboxMessage
    delivery: OutboxDelivery | None
    to: str
    delivery_state: str | None


# Unit users see a number's last digits only: enough to know their own, not to learn an engineer's
# private mobile or another caller's. Carrier staff and admins see it whole, to call one not reached.
SHOWN_DIGITS = 4
FULL_NUMBERS = ("carrier_engineer", "carrier_manager", "admin")


def masked_phone(phone: str) -> str:
    return "*" * max(len(phone) - SHOWN_DIGITS, 0) + phone[-SHOWN_DIGITS:]


def notifications(user: User, incident_ids: list[int]) -> list[Notification]:
    """The SMS sent about these incidents (the page's own and those merged into it), oldest first."""
    from desk.outbox.services import delivery_state, messages_about

    whole = user.role in FULL_NUMBERS
    return [Notification(message, delivery, message.to if whole else masked_phone(message.to),
                         delivery_state(message, delivery))
            for message, delivery in messages_about(incident_ids)]


@dataclass(frozen=True)
class IncidentPage:
    incident: Incident
    repair_deadline: datetime | None
    consequences: Consequences | None
    timeline: list[TimelineEntry]
    causes: list
    comments: list
    attachments: list
    merged: list[Incident]
    merge_candidates: list[Incident]
    engineers: list[User]
    notices: list
    short_notices: set[int]
    filed: Ticket | None
    now: datetime
    clock: list[ClockRow] = field(default_factory=list)
    burst: object = None             # desk.incidents.burst.Burst: reports to offer as one incident
    notifications: list[Notification] = field(default_factory=list)


def incident_page(user: User, incident: Incident, *, filed_ticket_id: int | None = None,
                  now: datetime | None = None) -> IncidentPage:
    """Everything the ticket/incident page shows, for a user already allowed to see it."""
    from desk.incidents.burst import burst_of
    from desk.contracts.maintenance import maintenance_notices_of, notice_is_short
    from desk.incidents.services import cause_history, engineers_for
    from desk.models import Attachment, Comment

    now = now or utcnow()
    carrier = user.role in ("carrier_engineer", "carrier_manager")
    notices = maintenance_notices_of(incident.contract) if carrier else []
    filed = next((t for t in incident.tickets if t.id == filed_ticket_id), None)
    merged = merged_into_this(incident)
    return IncidentPage(
        incident=incident,
        repair_deadline=repair_deadline(incident),
        consequences=consequences(incident, now),
        timeline=timeline(incident),
        causes=cause_history(incident),
        comments=list(db.session.execute(select(Comment).where(Comment.incident_id == incident.id)
                                         .order_by(Comment.id)).scalars()),
        attachments=list(db.session.execute(
            select(Attachment.id, Attachment.filename, Attachment.content_type, Attachment.size,
                   Attachment.created_at).where(Attachment.incident_id == incident.id).order_by(Attachment.id)).all()),
        merged=merged,
        merge_candidates=merge_candidates(incident) if carrier else [],
        engineers=engineers_for(incident.contract_id) if carrier else [],
        notices=notices,
        short_notices={n.id for n in notices if notice_is_short(n, incident.contract)},
        filed=filed,
        now=now,
        clock=incident_clock(incident),
        burst=burst_of(incident) if carrier else None,
        # A merged report's messages were sent about the incident it was then: shown here too.
        notifications=notifications(user, [incident.id, *(m.id for m in merged)]),
    )


@dataclass(frozen=True)
class Dashboard:
    contract: Contract
    month: str
    report: dict                     # spec §5, as it accrues (or frozen once the month is over)
    strike_threshold: int | None
    payments: list
    payments_total: Decimal
    notices: list
    short_notices: set[int]
    decisions: list
    report_path: str                 # the downloads (PDF/XLSX/CSV) live there
    clock_upcoming: list[ClockRow] = field(default_factory=list)
    clock_recent: list[ClockRow] = field(default_factory=list)


def default_month(contract: Contract, now: datetime) -> str:
    """This month, or the nearest month of the service period when now lies outside it."""
    today = local(now, contract.timezone).date()
    day = min(max(today, contract.service_start), contract.service_end)
    return f"{day:%Y-%m}"


def dashboard(contract: Contract, month: str | None, *, now: datetime | None = None) -> Dashboard:
    """A contract's month: the engine's figures, the ledger, the notices and the decisions taken."""
    from desk.contracts.maintenance import maintenance_notices_of, notice_is_short
    from desk.contracts.payments import payments_of
    from desk.contracts.termination import termination_decisions
    from desk.reports.services import monthly_report

    now = now or utcnow()
    month = month or default_month(contract, now)
    report = monthly_report(contract.code, month, now if now < month_end(month, contract.timezone) else None)
    payments = payments_of(contract)
    notices = maintenance_notices_of(contract)
    clause = contract.terms().strike_termination
    upcoming, recent = contract_clock(contract, now)
    return Dashboard(
        contract=contract, month=month, report=report,
        strike_threshold=clause.threshold if clause is not None else None,
        payments=payments, payments_total=sum((p.amount for p in payments), Decimal("0.00")),
        notices=notices, short_notices={n.id for n in notices if notice_is_short(n, contract)},
        decisions=termination_decisions(contract),
        report_path=f"/contracts/{contract.code}/reports/{month}",
        clock_upcoming=upcoming, clock_recent=recent,
    )
