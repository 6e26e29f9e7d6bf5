"""Deriving the SLA clock's pending events from the current facts.

Every contractual moment is a `ClockEvent` row with a due instant and a unique key. The rows are
re-derived inside the transaction of every incident change, so they always match the facts:
restoring or re-attributing an incident cancels or re-derives what is still pending. A contract's
outage events (R4/R5), which rest on all its interruptions, are derived by the next tick from a
mark the change leaves (ClockResync), before that tick records what is due. Events already
recorded stay recorded (they happened); a cancelled one whose facts come back is pending again.

Keys:
  incident:<id>:repair_deadline:warn:<minutes>    R1 warning, N minutes before the deadline
  incident:<id>:repair_deadline:breach            R1 missed, at the deadline instant
  incident:<id>:strike                            R2, the instant the incident became a strike
  contract:<id>:day_waiver:<since>:<level>        R4, a continuous interruption at 2.5 h / 3 h
  contract:<id>:period_waiver:<YYYY-MM>:<level>   R5, the month's cumulative outage at 60 h / 72 h
  contract:<id>:termination_right                 R3, written when the threshold strike is recorded
  contract:<id>:freeze:<YYYY-MM>                  the month-end freeze of the report
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from decimal import Decimal

from flask import current_app
from sqlalchemy import delete, func, insert, or_, select
from sqlalchemy.exc import IntegrityError

from desk.db import before_commit, transaction
from desk.extensions import db
from desk.models import ClockEvent, ClockResync, Contract, Incident, utcnow
from desk.sla.incidents import exempt_until
from desk.sla.repair_deadline import repair_deadline_at
from desk.sla.terms import ContractTerms
from desk.sla.thresholds import (
    ONGOING, breach_at, day_waiver_crossings, in_service_period, period_waiver_crossings, strike_at,
)
from desk.sla.timeutil import add_months, local_month, month_bounds

log = logging.getLogger("desk.clock")
DEFAULT_DEADLINE_WARNINGS = (60, 15)  # minutes before the repair deadline
DEFAULT_DAY_WAIVER_WARNING = Decimal("2.5")  # hours of continuous interruption (R4 at 3 h)
DEFAULT_PERIOD_WAIVER_WARNING = Decimal(60)  # hours of cumulative outage in the month (R5 at 72 h)
# An event already this far past due when the desk first learns of it (an import of last year's
# incidents, a restoration entered days late) is recorded for the record but not announced.
NOTIFY_WITHIN = timedelta(hours=24)

OUTAGE_KINDS = ("day_waiver_warning", "day_waiver_reached", "period_waiver_warning", "period_waiver_reached")

Wanted = dict[str, tuple[str, datetime, dict]]  # key → (kind, due_at, payload)


def _config(name: str, default):
    return current_app.config.get(name, default)


def wanted_events(incident: Incident, terms: ContractTerms | None = None) -> Wanted:
    """The incident's own events (R1 warnings and breach, R2 strike) that its facts call for.

    `terms`: its contract's, when the caller has them (the clock's batch reads them as rows)."""
    from desk.incidents.services import facts_of

    wanted: Wanted = {}
    if incident.status == "merged":
        return wanted  # its tickets now belong to the survivor, whose events count
    terms = incident.contract.terms() if terms is None else terms
    facts = facts_of(incident)
    if not in_service_period(terms, facts):
        return wanted  # spec §2: reported outside the service period, it counts for nothing
    restored = incident.restored_at
    # An open incident runs on: a planned maintenance then overruns its window, the carrier's from its
    # end on (七.(五)); nothing of it is due before that instant.
    deadline = repair_deadline_at(terms, facts, ONGOING)
    if deadline is not None:
        until = exempt_until(terms, facts)
        for minutes in _config("DESK_DEADLINE_WARNINGS", DEFAULT_DEADLINE_WARNINGS):
            warn_at = deadline - timedelta(minutes=minutes)
            if (restored is None or restored > warn_at) and (until is None or warn_at >= until):
                wanted[f"incident:{incident.id}:repair_deadline:warn:{minutes}"] = (
                    "repair_deadline_warning", warn_at, {"minutes_left": minutes, "deadline": deadline.isoformat()})
        breach = breach_at(terms, facts)  # restored exactly at the deadline is met (R1)
        if breach is not None:
            wanted[f"incident:{incident.id}:repair_deadline:breach"] = (
                "repair_deadline_breach", breach, {"deadline": deadline.isoformat()})
    strike = strike_at(terms, facts)
    if strike is not None:
        wanted[f"incident:{incident.id}:strike"] = ("strike", strike, {"cause": incident.cause})
    return wanted


def wanted_contract_events(contract: Contract, around: datetime) -> tuple[Wanted, datetime]:
    """R4 and R5 threshold events of the contract for the months around `around`.

    Returns the events and the instant from which they were derived; events due before it are
    outside this derivation and left alone.
    """
    from desk.reports.services import incident_facts_where

    terms = contract.terms()
    if terms.outage_day_waiver is None and terms.outage_period_waiver is None:
        return {}, around
    months = [add_months(*local_month(around, terms.tz), delta) for delta in (-1, 0, 1)]
    since = month_bounds(*months[0], terms.tz)[0]
    # Only interruptions open, or restored within the window, can cross a threshold in it.
    facts = incident_facts_where(contract, Incident.kind == "interruption",
                                 or_(Incident.restored_at.is_(None), Incident.restored_at >= since))
    wanted: Wanted = {}
    day_warn = _config("DESK_DAY_WAIVER_WARNING_HOURS", DEFAULT_DAY_WAIVER_WARNING)
    for c in day_waiver_crossings(terms, facts, day_warn):
        if c.at >= since:
            key = f"contract:{contract.id}:day_waiver:{c.since:%Y%m%dT%H%M%SZ}:{c.level}"
            wanted[key] = (f"day_waiver_{c.level}", c.at,
                           {"hours": str(c.hours), "since": c.since.isoformat(), "month": c.month})
    period_warn = _config("DESK_PERIOD_WAIVER_WARNING_HOURS", DEFAULT_PERIOD_WAIVER_WARNING)
    for c in period_waiver_crossings(terms, facts, months, period_warn):
        key = f"contract:{contract.id}:period_waiver:{c.month}:{c.level}"
        wanted[key] = (f"period_waiver_{c.level}", c.at, {"hours": str(c.hours), "month": c.month})
    return wanted, since


def _reconcile(pending: list[ClockEvent], wanted: Wanted, contract_id: int, incident_id: int | None,
               *, new: bool = False) -> None:
    session = db.session
    now = utcnow()
    existing = {e.key: e for e in pending}
    for key, event in existing.items():
        if key not in wanted:
            event.status = "cancelled"
        else:
            kind, due_at, payload = wanted[key]
            event.due_at, event.payload = due_at, {**payload, "notify": (event.payload or {}).get("notify", True)}
    missing = [key for key in wanted if key not in existing]
    settled = {}
    if missing and not new:  # a new incident's keys name it: no earlier event can hold them
        settled = {e.key: e for e in session.execute(select(ClockEvent).where(ClockEvent.key.in_(missing))).scalars()}
    rows = []
    for key in missing:
        kind, due_at, payload = wanted[key]
        notify = now - due_at <= NOTIFY_WITHIN
        event = settled.get(key)
        if event is None:
            rows.append({"key": key, "contract_id": contract_id, "incident_id": incident_id, "kind": kind,
                         "due_at": due_at, "status": "pending", "payload": {**payload, "notify": notify},
                         "created_at": now})
        elif event.status == "cancelled":  # e.g. a disputed restoration: the clock runs again
            event.status, event.due_at, event.payload = "pending", due_at, {**payload, "notify": notify}
    if rows:
        # One executemany through the connection (Core: nothing reads them back as objects here);
        # the unique key still stands guard.
        session.connection().execute(insert(ClockEvent.__table__), rows)


def sync_incident(incident: Incident, *, new: bool = False) -> None:
    """Re-derive the incident's events now; mark its contract's outage events for the next tick.

    `new`: the incident was created in this transaction, so it has no events yet."""
    pending = [] if new else list(db.session.execute(
        select(ClockEvent).where(ClockEvent.incident_id == incident.id, ClockEvent.status == "pending")
    ).scalars())
    _reconcile(pending, wanted_events(incident), incident.contract_id, incident.id, new=new)
    terms = incident.contract.terms()
    if terms.outage_day_waiver is None and terms.outage_period_waiver is None:
        return
    # Once per transaction and contract, however many incidents it changed (an import of thousands).
    contract_id = incident.contract_id
    before_commit(("clock.contract", contract_id), lambda: db.session.connection().execute(
        insert(ClockResync.__table__).values(contract_id=contract_id)))


def resync_contracts(around: datetime) -> int:
    """Derive the outage events of every marked contract, once each; returns how many."""
    marked = db.session.execute(
        select(ClockResync.contract_id, func.max(ClockResync.id)).group_by(ClockResync.contract_id)
    ).all()
    db.session.rollback()  # the read is done; each contract gets a write transaction of its own
    for contract_id, upto in marked:
        try:
            with transaction():
                sync_contract(contract_id, around)
                db.session.execute(delete(ClockResync).where(ClockResync.contract_id == contract_id,
                                                             ClockResync.id <= upto))
        except IntegrityError:
            # Another scheduler derived the same events at the same moment; its rows stand.
            continue
        except Exception:
            # One contract's failure (its stored terms no longer parse, a bug) leaves its marks for
            # the next tick and holds up neither the other contracts nor the due events.
            log.exception("clock: outage events of contract %s not derived; retried next tick", contract_id)
            continue
    return len(marked)


def sync_contract(contract_id: int, around: datetime | None = None) -> None:
    contract = db.session.get(Contract, contract_id)
    wanted, since = wanted_contract_events(contract, around or utcnow())
    pending = list(db.session.execute(
        select(ClockEvent).where(ClockEvent.contract_id == contract_id, ClockEvent.incident_id.is_(None),
                                 ClockEvent.kind.in_(OUTAGE_KINDS), ClockEvent.status == "pending",
                                 ClockEvent.due_at >= since)
    ).scalars())
    _reconcile(pending, wanted, contract_id, None)


def still_wanted(event: ClockEvent, terms: ContractTerms | None = None) -> bool:
    """Re-checked when the event comes due: the facts may have changed since it was derived."""
    if event.incident_id is not None:
        incident = db.session.get(Incident, event.incident_id)
        return incident is not None and event.key in wanted_events(incident, terms)
    if event.kind in OUTAGE_KINDS:
        contract = db.session.get(Contract, event.contract_id)
        return event.key in wanted_contract_events(contract, event.due_at)[0]
    return True
