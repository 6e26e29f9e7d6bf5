"""One tick of the SLA clock: record every pending event that has come due, each exactly once.

Each event is recorded in its own transaction together with its audit entry and its outbox
messages, at the instant it was due (not the instant the tick ran), so a tick after downtime
catches up without skipping or doubling anything. A crash inside that transaction leaves the
event pending for the next tick; the outbox dispatcher sends what a committed one queued.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Callable

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from desk.audit.services import Actor, record
from desk.incidents.services import first_ticket_number
from desk.db import transaction
from desk.extensions import db
from desk.models import ClockEvent, Contract, Incident, User
from desk.models.users import user_contract
from desk.outbox.services import enqueue, on_duty_engineers
from desk.timeparse import local

CLOCK = Actor.system("clock")
log = logging.getLogger("desk.clock")
CAUSE_WORDS = {"carrier": "乙方原因", "undetermined": "原因未定", "third_party": "第三方原因（未及时处理）",
               "planned_maintenance": "计划维护（通知不足）"}


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


def contract_people(contract_id: int, roles: tuple[str, ...]) -> list[User]:
    return list(db.session.execute(
        select(User).join(user_contract, user_contract.c.user_id == User.id)
        .where(user_contract.c.contract_id == contract_id, User.role.in_(roles), User.active.is_(True))
        .order_by(User.id)
    ).scalars())


def both_managers(contract_id: int) -> list[User]:
    """The contract managers of both sides: the carrier's and the police's."""
    return contract_people(contract_id, ("carrier_manager", "unit_manager"))


def _send(event: ClockEvent, people: list[User], text: str) -> None:
    if not (event.payload or {}).get("notify", True):
        return  # learned long after it was due: recorded, not announced (see events.DEFAULT_NOTIFY_WITHIN)
    seen = set()
    for person in people:
        if person.id not in seen:
            seen.add(person.id)
            enqueue(person.phone, text, f"{event.key}:user:{person.id}")


def _when(at: datetime | str, contract: Contract) -> str:
    at = datetime.fromisoformat(at) if isinstance(at, str) else at
    return f"{local(at, contract.timezone):%m-%d %H:%M}"


def _on_deadline_warning(event: ClockEvent, incident: Incident) -> dict:
    minutes = event.payload["minutes_left"]
    text = f"【预警】工单{first_ticket_number(incident)} 距修复时限还有{minutes}分钟" \
           f"（{_when(event.payload['deadline'], incident.contract)}，四.(三)）"
    engineer = [incident.assigned_engineer] if incident.assigned_engineer else []
    _send(event, engineer + contract_people(incident.contract_id, ("carrier_manager",)), text)
    return {}


def _on_deadline_breach(event: ClockEvent, incident: Incident) -> dict:
    text = f"【超时】工单{first_ticket_number(incident)} 已超过修复时限 {_when(event.due_at, incident.contract)}（四.(三)）"
    engineer = [incident.assigned_engineer] if incident.assigned_engineer else []
    # Both sides: the carrier's engineer and manager, the police unit's contract managers.
    _send(event, engineer + both_managers(incident.contract_id), text)
    return {}


def _on_strike(event: ClockEvent, incident: Incident) -> dict:
    """R2: announce the strike with its number and penalty; at R3's threshold, the termination right."""
    from desk.reports.services import incident_facts, payment_facts
    from desk.sla.report import counted_incidents
    from desk.sla.strikes import strike_numbers, strike_penalty, termination_right

    contract = incident.contract
    terms = contract.terms()
    # Just past the due instant: a third party's fault is a strike once its deadline has passed.
    as_of = event.due_at + timedelta(microseconds=1)
    numbers = strike_numbers(terms, counted_incidents(terms, incident_facts(contract, as_of), as_of), as_of)
    number = numbers.get(incident.id)
    penalty = strike_penalty(terms)
    # Strikes are numbered in reported_at order (R2), so a late third-party strike may take a lower number.
    text = f"【违约】合同{contract.code} 第{number}次违约（累计{len(numbers)}次）：工单{first_ticket_number(incident)}" \
           f"（{CAUSE_WORDS.get(incident.cause, incident.cause)}），违约金{penalty}元（六.(六)）"
    if not incident.cause_confirmed:
        text += "，原因待双方确认"
    _send(event, both_managers(contract.id), text)
    clause = terms.strike_termination
    if clause is not None and number is not None and len(numbers) >= clause.threshold:
        _raise_termination_right(event, contract, len(numbers), termination_right(
            terms, len(numbers), payment_facts(contract, as_of), as_of))
    return {"strike_number": number, "penalty": str(penalty)}


def _raise_termination_right(strike: ClockEvent, contract: Contract, strikes: int, right) -> None:
    """R3: raised once, at the strike that reaches the threshold; the desk never terminates by itself."""
    key = f"contract:{contract.id}:termination_right"
    if db.session.execute(select(ClockEvent.id).where(ClockEvent.key == key)).scalar() is not None:
        return
    event = ClockEvent(key=key, contract_id=contract.id, incident_id=None, kind="termination_right",
                       due_at=strike.due_at, status="recorded", recorded_at=strike.due_at,
                       payload={"strikes": strikes, "refund": str(right.refund), "penalty": str(right.penalty),
                                "notify": (strike.payload or {}).get("notify", True)})
    db.session.add(event)
    db.session.flush()
    record(CLOCK, "clock.termination_right", "contract", contract.id, contract_id=contract.id,
           after=event.payload, at=strike.due_at)
    text = f"【解约权】合同{contract.code} 已达{strikes}次违约，甲方有权解除合同：退还已付费用{right.refund}元，" \
           f"另付违约金{right.penalty}元（六.(六)）。是否行使由甲方决定并在平台记录。"
    _send(event, both_managers(contract.id), text)


def _on_outage_threshold(event: ClockEvent, contract: Contract) -> dict:
    """R4 / R5 (6.3): the moment an interruption or the month's outage reaches a waiver threshold."""
    terms = contract.terms()
    p = event.payload
    if event.kind.startswith("day_waiver"):
        threshold = terms.outage_day_waiver.min_continuous_hours
        head = f"合同{contract.code} 连续中断已达{Decimal(p['hours']).normalize()}小时（自{_when(p['since'], contract)}）"
        tail = "，当日服务费减免（6.3）" if event.kind.endswith("reached") else \
            f"，达到{threshold}小时将减免当日服务费（6.3）"
    else:
        threshold = terms.outage_period_waiver.min_monthly_hours
        head = f"合同{contract.code} {p['month']}累计中断已达{Decimal(p['hours']).normalize()}小时"
        tail = "，中断期间服务费减免（6.3）" if event.kind.endswith("reached") else \
            f"，达到{threshold}小时将减免中断期间服务费（6.3）"
    tag = "【减免】" if event.kind.endswith("reached") else "【预警】"
    _send(event, both_managers(contract.id) + on_duty_engineers(contract.id), tag + head + tail)
    return {}


def _on_freeze(event: ClockEvent, contract: Contract) -> dict:
    from desk.clock.month_end import freeze_month

    frozen = freeze_month(contract, event.payload["month"])
    text = f"【月报】合同{contract.code} {frozen.month} SLA月报已定稿，可下载签字（校验码 {frozen.report_hash[:12]}）"
    _send(event, both_managers(contract.id), text)
    return {"report_hash": frozen.report_hash}


INCIDENT_HANDLERS: dict[str, Callable[[ClockEvent, Incident], dict]] = {
    "repair_deadline_warning": _on_deadline_warning,
    "repair_deadline_breach": _on_deadline_breach,
    "strike": _on_strike,
}
CONTRACT_HANDLERS: dict[str, Callable[[ClockEvent, Contract], dict]] = {
    "day_waiver_warning": _on_outage_threshold, "day_waiver_reached": _on_outage_threshold,
    "period_waiver_warning": _on_outage_threshold, "period_waiver_reached": _on_outage_threshold,
    "report_freeze": _on_freeze,
}


def record_event(event_id: int, now: datetime) -> str:
    """Record one event; returns "recorded", "cancelled" or "skipped" (already settled elsewhere)."""
    from desk.clock.events import still_wanted
    from desk.incidents.services import incident_snapshot

    with transaction() as session:
        # FOR UPDATE: a second scheduler reaching the same row waits, then sees it settled.
        event = session.get(ClockEvent, event_id, with_for_update=True, populate_existing=True)
        if event is None or event.status != "pending" or event.due_at > now:
            return "skipped"
        if not still_wanted(event):
            event.status = "cancelled"
            return "cancelled"
        event.status, event.recorded_at = "recorded", event.due_at
        if event.incident_id is not None:
            incident = session.get(Incident, event.incident_id)
            outcome = INCIDENT_HANDLERS[event.kind](event, incident)
            subject = {"incident": incident_snapshot(incident)}
            entity, entity_id = "incident", incident.id
        else:
            contract = session.get(Contract, event.contract_id)
            outcome = CONTRACT_HANDLERS[event.kind](event, contract)
            subject, entity, entity_id = {}, "contract", contract.id
        if outcome:
            event.payload = {**event.payload, **outcome}
        record(CLOCK, f"clock.{event.kind}", entity, entity_id, contract_id=event.contract_id,
               incident_id=event.incident_id, after={"event": event.key, **event.payload, **subject},
               at=event.due_at)
        return "recorded"


def tick(now: datetime, limit: int = 500) -> TickResult:
    from desk.clock.events import resync_contracts

    resync_contracts(now)
    recorded = cancelled = 0
    for event_id in due_event_ids(now, limit):
        try:
            outcome = record_event(event_id, now)
        except IntegrityError:
            # Another scheduler wrote the same unique row (a termination right, a message) first;
            # this event's transaction rolled back whole and the next tick settles it.
            log.warning("clock: event %s collided with another scheduler; retried next tick", event_id)
            continue
        except Exception:
            # A crash while recording (the database gone, a bug) rolled the event back whole: it stays
            # pending with nothing of it written, and is retried next tick. The others go on.
            log.exception("clock: event %s not recorded; retried next tick", event_id)
            continue
        recorded += outcome == "recorded"
        cancelled += outcome == "cancelled"
    return TickResult(recorded, cancelled)
