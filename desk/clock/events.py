"""Deriving an incident's pending clock events from its current facts.

Called inside the transaction of every incident change, so the events always match the
incident: restoring or re-attributing it cancels or re-derives what is still pending.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select

from desk.extensions import db
from desk.models import ClockEvent, Incident

DEFAULT_DEADLINE_WARNINGS = (60, 15)  # minutes before the repair deadline


def wanted_events(incident: Incident) -> dict[str, tuple[str, datetime, dict]]:
    """key → (kind, due_at, payload) for every event this incident should still have."""
    from desk.incidents.services import repair_deadline

    wanted: dict[str, tuple[str, datetime, dict]] = {}
    if incident.status in ("merged",) or incident.restored_at is not None:
        return wanted
    deadline = repair_deadline(incident)
    if deadline is not None:
        leads = current_app.config.get("DESK_DEADLINE_WARNINGS", DEFAULT_DEADLINE_WARNINGS)
        for minutes in leads:
            key = f"incident:{incident.id}:repair_deadline:warn:{minutes}"
            wanted[key] = ("repair_deadline_warning", deadline - timedelta(minutes=minutes),
                           {"minutes_left": minutes, "deadline": deadline.isoformat()})
        wanted[f"incident:{incident.id}:repair_deadline:breach"] = (
            "repair_deadline_breach", deadline, {"deadline": deadline.isoformat()})
    return wanted


def sync_incident(incident: Incident) -> None:
    session = db.session
    wanted = wanted_events(incident)
    existing = {
        e.key: e
        for e in session.execute(
            select(ClockEvent).where(ClockEvent.incident_id == incident.id, ClockEvent.status == "pending")
        ).scalars()
    }
    for key, event in existing.items():
        if key not in wanted:
            event.status = "cancelled"
        else:
            kind, due_at, payload = wanted[key]
            event.due_at, event.payload = due_at, payload
    settled = {}
    if wanted:
        settled = {
            e.key: e
            for e in session.execute(
                select(ClockEvent).where(ClockEvent.key.in_(list(wanted)), ClockEvent.status != "pending")
            ).scalars()
        }
    for key, (kind, due_at, payload) in wanted.items():
        if key in existing:
            continue
        if key in settled:
            # Recorded events stay recorded; one cancelled earlier (a disputed restoration) comes back.
            event = settled[key]
            if event.status == "cancelled":
                event.status, event.due_at, event.payload = "pending", due_at, payload
            continue
        session.add(ClockEvent(key=key, contract_id=incident.contract_id, incident_id=incident.id, kind=kind,
                               due_at=due_at, payload=payload))
