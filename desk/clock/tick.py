"""One tick of the SLA clock: record every pending event that has come due, each exactly once.

Each event is recorded in its own transaction together with its audit entry and its outbox
messages, at the instant it was due (not the instant the tick ran), so a tick after downtime
catches up without skipping or doubling anything.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from desk.audit.services import Actor, record
from desk.db import transaction
from desk.extensions import db
from desk.models import ClockEvent, Incident, User
from desk.models.users import user_contract
from desk.outbox.services import enqueue
from desk.timeparse import local

CLOCK = Actor.system("clock")
TEXTS = {
    "repair_deadline_warning": "【预警】工单{number} 距修复时限还有{minutes}分钟（{deadline}，四.(三)）",
    "repair_deadline_breach": "【超时】工单{number} 已超过修复时限 {deadline}（四.(三)）",
}


@dataclass(frozen=True)
class TickResult:
    recorded: int
    cancelled: int


def due_event_ids(now: datetime, limit: int) -> list[int]:
    """The indexed query (status, due_at): its cost follows what is due, not how many incidents exist."""
    return list(db.session.execute(
        select(ClockEvent.id).where(ClockEvent.status == "pending", ClockEvent.due_at <= now)
        .order_by(ClockEvent.due_at, ClockEvent.id).limit(limit)
    ).scalars())


def _recipients(incident: Incident) -> list[User]:
    """The assigned engineer and the carrier managers of the contract: those who can still act."""
    managers = db.session.execute(
        select(User).join(user_contract, user_contract.c.user_id == User.id)
        .where(user_contract.c.contract_id == incident.contract_id, User.role == "carrier_manager",
               User.active.is_(True)).order_by(User.id)
    ).scalars().all()
    people = [incident.assigned_engineer] if incident.assigned_engineer else []
    return people + [m for m in managers if m not in people]


def record_event(event_id: int, now: datetime) -> str:
    """Record one event; returns "recorded", "cancelled" or "skipped" (already settled elsewhere)."""
    from desk.clock.events import wanted_events
    from desk.incidents.services import incident_snapshot

    with transaction() as session:
        event = session.get(ClockEvent, event_id)
        if event is None or event.status != "pending" or event.due_at > now:
            return "skipped"
        incident = session.get(Incident, event.incident_id) if event.incident_id else None
        # The facts may have changed since the event was derived (a restoration): re-check them.
        if incident is None or event.key not in wanted_events(incident):
            event.status = "cancelled"
            return "cancelled"
        event.status, event.recorded_at = "recorded", event.due_at
        record(CLOCK, f"clock.{event.kind}", "incident", incident.id, contract_id=incident.contract_id,
               incident_id=incident.id, after={"event": event.key, **(event.payload or {}),
                                               "incident": incident_snapshot(incident)}, at=event.due_at)
        template = TEXTS.get(event.kind)
        if template:
            ticket = incident.tickets[0] if incident.tickets else None
            deadline = (event.payload or {}).get("deadline")
            text = template.format(
                number=ticket.number if ticket else incident.id,
                minutes=(event.payload or {}).get("minutes_left", ""),
                deadline=f"{local(datetime.fromisoformat(deadline), incident.contract.timezone):%m-%d %H:%M}"
                if deadline else "",
            )
            for person in _recipients(incident):
                enqueue(person.phone, text, f"{event.key}:user:{person.id}")
        return "recorded"


def tick(now: datetime, limit: int = 500) -> TickResult:
    recorded = cancelled = 0
    for event_id in due_event_ids(now, limit):
        outcome = record_event(event_id, now)
        recorded += outcome == "recorded"
        cancelled += outcome == "cancelled"
    return TickResult(recorded, cancelled)
