"""One tick of the SLA clock: record every pending event that has come due, each exactly once.

Each event is recorded together with its audit entry and its outbox messages, at the instant it
was due (not the instant the tick ran), so a tick after downtime catches up without skipping or
doubling anything. The due events are recorded in batches (BATCH), one transaction each. A batch
is first written in one savepoint; if anything in it fails, that savepoint is rolled back and the
events are recorded again one by one, each in a savepoint of its own. So, as issue #5 asks:

- an event's status change, audit entry and messages commit together or not at all: they are
  written in the same savepoint, and only the batch's commit makes any of them visible;
- a failure on one event (a unique key taken, a bug in a handler) rolls back its own savepoint
  alone: it is logged, stays pending with nothing of it written, and the rest of the batch commits;
- a crash before the commit loses the batch's uncommitted work only: every event of it is still
  pending, with nothing written, and the next tick records each once.

A batch takes the audit chain's lock, then claims its rows (FOR UPDATE SKIP LOCKED on PostgreSQL),
so a second scheduler takes other rows or none, and reads what its events need in a few queries
instead of a dozen an event. The outbox dispatcher sends what a committed batch queued.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Callable

from sqlalchemy import Row, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from desk.audit.services import Actor, hold_chain, record
from desk.db import among, transaction
from desk.extensions import db
from desk.models import ClockEvent, Contract, ContractClause, Incident, OutboxMessage, Ticket, User
from desk.models.contracts import terms_for
from desk.models.users import user_contract
from desk.outbox.services import ON_DUTY_ROLES, enqueue
from desk.sla.terms import ContractTerms
from desk.timeparse import local

CLOCK = Actor.system("clock")
log = logging.getLogger("desk.clock")
# Events recorded in one transaction. A batch holds the audit chain's lock (and, on SQLite, the
# write lock) until it commits: 100 events take a few tens of milliseconds.
BATCH = 100
CAUSE_WORDS = {"carrier": "乙方原因", "undetermined": "原因未定", "third_party": "第三方原因（未及时处理）",
               "planned_maintenance": "计划维护（通知不足）"}
OVERRUN_WORDS = "计划维护（超出维护窗口）"  # noticed in time, still open at the window's end (七.(五))


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


class Batch:
    """What a batch's events need, read once: their contracts and terms, their incidents with their
    first tickets' numbers, the contracts' active people, and which of the messages they may queue
    exist already.

    What is only read to be quoted (clauses, ticket numbers, people) comes as plain rows, not ORM
    objects: 100 events of 100 contracts meant 600 clause objects, built and then expired at the
    commit, for six numbers a contract."""

    def __init__(self, session: Session, events: list[ClockEvent], now: datetime) -> None:
        self.now = now  # the tick's instant: what the events' messages may still claim
        contract_ids = {e.contract_id for e in events}
        incident_ids = {e.incident_id for e in events if e.incident_id is not None}
        # Loaded into the session: incident.contract and session.get() then find them without a query.
        self.contracts = {c.id: c for c in session.execute(
            select(Contract).where(among(Contract.id, contract_ids))).scalars()}
        self._clauses: dict[int, dict[str, dict]] = {}
        for contract_id, name, params in session.execute(
                select(ContractClause.contract_id, ContractClause.name, ContractClause.params)
                .where(among(ContractClause.contract_id, contract_ids)).order_by(ContractClause.name)):
            self._clauses.setdefault(contract_id, {})[name] = dict(params)
        self._terms: dict[int, ContractTerms] = {}
        self.incidents = {i.id: i for i in session.execute(
            select(Incident).where(among(Incident.id, incident_ids)).options(
                joinedload(Incident.assigned_engineer), joinedload(Incident.maintenance_notice))
        ).scalars()} if incident_ids else {}
        self._first_ticket: dict[int, int] = {}
        if incident_ids:
            # Incident.tickets' order (reported_at), the id settling a tie.
            for incident_id, ticket_id in session.execute(
                    select(Ticket.incident_id, Ticket.id).where(among(Ticket.incident_id, incident_ids))
                    .order_by(Ticket.incident_id, Ticket.reported_at, Ticket.id)):
                self._first_ticket.setdefault(incident_id, ticket_id)
        self._people: dict[int, list[Row]] = {}
        for person in session.execute(
                select(user_contract.c.contract_id, User.id, User.phone, User.role, User.on_duty)
                .join(user_contract, user_contract.c.user_id == User.id)
                .where(among(user_contract.c.contract_id, contract_ids), User.active.is_(True)).order_by(User.id)):
            self._people.setdefault(person.contract_id, []).append(person)
        keys = set()
        for event in events:
            incident = self.incidents.get(event.incident_id)
            engineer = [incident.assigned_engineer] if incident is not None and incident.assigned_engineer else []
            keys.update(f"{event.key}:user:{u.id}" for u in self._people.get(event.contract_id, []) + engineer)
        self.queued = set(session.execute(
            select(OutboxMessage.dedupe_key).where(among(OutboxMessage.dedupe_key, keys))).scalars()) if keys else set()
        # Messages known not to be queued yet: they are inserted without looking for them one by one.
        self.unqueued = keys - self.queued

    def terms(self, contract_id: int) -> ContractTerms:
        """The contract's terms, built once from the batch's rows when an event first asks: inside
        that event's savepoint, so a contract whose stored terms no longer parse fails its own
        events alone."""
        terms = self._terms.get(contract_id)
        if terms is None:
            contract = self.contracts[contract_id]
            terms = self._terms[contract_id] = terms_for(contract.as_mapping(self._clauses.get(contract_id, {})))
        return terms

    def first_ticket_number(self, incident: Incident) -> str:
        """As incidents.services.first_ticket_number, from the batch's rows."""
        ticket_id = self._first_ticket.get(incident.id)
        return Ticket.format_number(ticket_id) if ticket_id is not None else str(incident.id)

    def people(self, contract_id: int, roles: tuple[str, ...]) -> list[Row]:
        """The contract's active people in those roles, as (contract_id, id, phone, role, on_duty) rows."""
        return [u for u in self._people.get(contract_id, []) if u.role in roles]

    def both_managers(self, contract_id: int) -> list[Row]:
        """The contract managers of both sides: the carrier's and the police's."""
        return self.people(contract_id, ("carrier_manager", "unit_manager"))

    def on_duty_engineers(self, contract_id: int) -> list[Row]:
        return [u for u in self.people(contract_id, ON_DUTY_ROLES) if u.on_duty]


class Writes:
    """What one savepoint of a batch writes to its events and the outbox, sent at the savepoint's
    end in two executemany statements through the connection, not flushed as ORM objects: in a
    batch of 100 events the ORM's flush was a fifth of the tick. Rolled back with the savepoint
    like anything else written in it; the claimed ClockEvent objects are only read."""

    _EVENTS = ClockEvent.__table__
    _RECORD = update(_EVENTS).where(_EVENTS.c.id == bindparam("event_id")).values(
        status="recorded", recorded_at=bindparam("event_due_at", type_=_EVENTS.c.recorded_at.type),
        payload=bindparam("new_payload", type_=_EVENTS.c.payload.type))

    def __init__(self) -> None:
        self.recorded: list[dict] = []
        self.cancelled: list[int] = []
        self.messages: list[dict] = []

    def record(self, event: ClockEvent, payload: dict) -> None:
        """Recorded at the instant it was due, not when the tick ran: a tick after downtime catches up."""
        self.recorded.append({"event_id": event.id, "event_due_at": event.due_at, "new_payload": payload})

    def cancel(self, event: ClockEvent) -> None:
        self.cancelled.append(event.id)

    def queue(self, to: str, body: str, dedupe_key: str, expires_at: datetime | None = None,
              incident_id: int | None = None) -> None:
        """A message no earlier tick queued (the batch looked its key up): as enqueue, not to nobody."""
        if to:
            self.messages.append({"channel": "sms", "to": to, "body": body, "dedupe_key": dedupe_key,
                                  "expires_at": expires_at, "incident_id": incident_id})

    def send(self, session: Session) -> None:
        connection = session.connection()
        if self.recorded:
            connection.execute(self._RECORD, self.recorded)
        if self.cancelled:
            connection.execute(update(self._EVENTS).where(among(self._EVENTS.c.id, self.cancelled))
                               .values(status="cancelled"))
        if self.messages:
            # The outbox's unique key still stands guard against a message queued twice.
            connection.execute(insert(OutboxMessage.__table__), self.messages)


def _send(event: ClockEvent, people: list, text: str, batch: Batch, writes: Writes, *,
          expires_at: datetime | None = None) -> None:
    """To each person once (a User or a batch's row: an id and a phone); `expires_at`: see OutboxMessage."""
    if not (event.payload or {}).get("notify", True):
        return  # learned long after it was due: recorded, not announced (see events.NOTIFY_WITHIN)
    seen = set()
    for person in people:
        if person.id not in seen:
            seen.add(person.id)
            key = f"{event.key}:user:{person.id}"
            if key in batch.unqueued:
                writes.queue(person.phone, text, key, expires_at, event.incident_id)
            elif key not in batch.queued:  # a key the batch did not look for (a termination right's)
                enqueue(person.phone, text, key, expires_at=expires_at, incident_id=event.incident_id)


def _when(at: datetime | str, contract: Contract) -> str:
    at = datetime.fromisoformat(at) if isinstance(at, str) else at
    return f"{local(at, contract.timezone):%m-%d %H:%M}"


def _on_deadline_warning(event: ClockEvent, incident: Incident, batch: Batch, writes: Writes) -> dict:
    deadline = datetime.fromisoformat(event.payload["deadline"])
    if not incident.is_open or deadline <= batch.now:
        # Restored since it fell due, or the deadline already passed (the clock was down, or a
        # disputed restoration revived it late): recorded, not texted; a breach is (四.(三)).
        return {}
    minutes = event.payload["minutes_left"]
    text = f"【预警】工单{batch.first_ticket_number(incident)} 距修复时限还有{minutes}分钟" \
           f"（{_when(deadline, incident.contract)}，四.(三)）"
    # The engineer who has it; with nobody assigned, every engineer on duty for the contract, since
    # a ticket that nobody has taken is the one most at risk of the deadline.
    engineers = [incident.assigned_engineer] if incident.assigned_engineer else \
        batch.on_duty_engineers(incident.contract_id)
    # Sent late (Twilio down), 距修复时限还有60分钟 would be false after the deadline: it expires then.
    _send(event, engineers + batch.people(incident.contract_id, ("carrier_manager",)), text, batch, writes,
          expires_at=deadline)
    return {}


def _on_deadline_breach(event: ClockEvent, incident: Incident, batch: Batch, writes: Writes) -> dict:
    # The deadline itself: an overrunning maintenance misses it only at its window's end (七.(五)).
    deadline = _when(event.payload["deadline"], incident.contract)
    text = f"【超时】工单{batch.first_ticket_number(incident)} 已超过修复时限 {deadline}（四.(三)）"
    engineer = [incident.assigned_engineer] if incident.assigned_engineer else []
    # Both sides: the carrier's engineer and manager, the police unit's contract managers.
    _send(event, engineer + batch.both_managers(incident.contract_id), text, batch, writes)
    return {}


def _on_strike(event: ClockEvent, incident: Incident, batch: Batch, writes: Writes) -> dict:
    """R2: announce the strike with its number and penalty; at R3's threshold, the termination right."""
    from desk.incidents.services import facts_of
    from desk.reports.services import incident_facts, payment_facts
    from desk.sla.incidents import exempt_until
    from desk.sla.report import counted_incidents
    from desk.sla.strikes import strike_numbers, strike_penalty, termination_right

    contract = incident.contract
    terms = batch.terms(contract.id)
    # Just past the due instant: a third party's fault is a strike once its deadline has passed.
    as_of = event.due_at + timedelta(microseconds=1)
    numbers = strike_numbers(terms, counted_incidents(terms, incident_facts(contract, as_of), as_of), as_of)
    number = numbers.get(incident.id)
    penalty = strike_penalty(terms)
    overrun = exempt_until(terms, facts_of(incident)) is not None
    cause = OVERRUN_WORDS if overrun else CAUSE_WORDS.get(incident.cause, incident.cause)
    # Strikes are numbered in reported_at order (R2), so a late third-party strike may take a lower number.
    text = f"【违约】合同{contract.code} 第{number}次违约（累计{len(numbers)}次）：工单{batch.first_ticket_number(incident)}" \
           f"（{cause}），违约金{penalty}元（六.(六)）"
    if not incident.cause_confirmed:
        text += "，原因待双方确认"
    _send(event, batch.both_managers(contract.id), text, batch, writes)
    clause = terms.strike_termination
    if clause is not None and number is not None and len(numbers) >= clause.threshold:
        _raise_termination_right(event, contract, len(numbers), termination_right(
            terms, len(numbers), payment_facts(contract, as_of), as_of), batch, writes)
    return {"strike_number": number, "penalty": str(penalty)}


def _raise_termination_right(strike: ClockEvent, contract: Contract, strikes: int, right, batch: Batch,
                             writes: Writes) -> None:
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
    _send(event, batch.both_managers(contract.id), text, batch, writes)


def _hours(value) -> str:
    """60 as 60, 2.50 as 2.5: normalize() alone writes 60 as 6E+1."""
    return f"{Decimal(str(value)).normalize():f}"


def _on_outage_threshold(event: ClockEvent, contract: Contract, batch: Batch, writes: Writes) -> dict:
    """R4 / R5 (6.3): the moment an interruption or the month's outage reaches a waiver threshold."""
    terms = batch.terms(contract.id)
    p = event.payload
    if event.kind.startswith("day_waiver"):
        threshold = terms.outage_day_waiver.min_continuous_hours
        head = f"合同{contract.code} 连续中断已达{_hours(p['hours'])}小时（自{_when(p['since'], contract)}）"
        tail = "，当日服务费减免（6.3）" if event.kind.endswith("reached") else \
            f"，达到{_hours(threshold)}小时将减免当日服务费（6.3）"
    else:
        threshold = terms.outage_period_waiver.min_monthly_hours
        head = f"合同{contract.code} {p['month']}累计中断已达{_hours(p['hours'])}小时"
        tail = "，中断期间服务费减免（6.3）" if event.kind.endswith("reached") else \
            f"，达到{_hours(threshold)}小时将减免中断期间服务费（6.3）"
    tag = "【减免】" if event.kind.endswith("reached") else "【预警】"
    people = batch.both_managers(contract.id) + batch.on_duty_engineers(contract.id)
    _send(event, people, tag + head + tail, batch, writes)
    return {}


def _on_freeze(event: ClockEvent, contract: Contract, batch: Batch, writes: Writes) -> dict:
    from desk.clock.month_end import freeze_month

    frozen = freeze_month(contract, event.payload["month"])
    text = f"【月报】合同{contract.code} {frozen.month} SLA月报已定稿，可下载签字（校验码 {frozen.report_hash[:12]}）"
    _send(event, batch.both_managers(contract.id), text, batch, writes)
    return {"report_hash": frozen.report_hash}


INCIDENT_HANDLERS: dict[str, Callable[[ClockEvent, Incident, Batch, Writes], dict]] = {
    "repair_deadline_warning": _on_deadline_warning,
    "repair_deadline_breach": _on_deadline_breach,
    "strike": _on_strike,
}
CONTRACT_HANDLERS: dict[str, Callable[[ClockEvent, Contract, Batch, Writes], dict]] = {
    "day_waiver_warning": _on_outage_threshold, "day_waiver_reached": _on_outage_threshold,
    "period_waiver_warning": _on_outage_threshold, "period_waiver_reached": _on_outage_threshold,
    "report_freeze": _on_freeze,
}


def claim(event_ids: list[int], now: datetime) -> list[ClockEvent]:
    """The batch's events still pending and due, locked until the commit, oldest first.

    PostgreSQL: SKIP LOCKED leaves rows another scheduler is recording to it (they are not pending
    any more once it commits, or pending again for the next tick if it fails); a row it recorded
    before this statement is read as it committed it. SQLite: the write lock already serialises.
    """
    return list(db.session.execute(
        select(ClockEvent).where(among(ClockEvent.id, event_ids), ClockEvent.status == "pending",
                                 ClockEvent.due_at <= now)
        .order_by(ClockEvent.due_at, ClockEvent.id).with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    ).scalars())


def _record(event: ClockEvent, batch: Batch, writes: Writes) -> str:
    """Record one claimed event with its audit entry and messages; "recorded" or "cancelled"."""
    from desk.clock.events import still_wanted
    from desk.incidents.services import incident_snapshot

    if not still_wanted(event, batch.terms(event.contract_id)):
        writes.cancel(event)
        return "cancelled"
    if event.incident_id is not None:
        incident = batch.incidents[event.incident_id]
        outcome = INCIDENT_HANDLERS[event.kind](event, incident, batch, writes)
        subject = {"incident": incident_snapshot(incident)}
        entity, entity_id = "incident", incident.id
    else:
        contract = batch.contracts[event.contract_id]
        outcome = CONTRACT_HANDLERS[event.kind](event, contract, batch, writes)
        subject, entity, entity_id = {}, "contract", contract.id
    payload = {**event.payload, **outcome} if outcome else event.payload
    writes.record(event, payload)
    record(CLOCK, f"clock.{event.kind}", entity, entity_id, contract_id=event.contract_id,
           incident_id=event.incident_id, after={"event": event.key, **payload, **subject}, at=event.due_at)
    return "recorded"


def _record_in_savepoint(session: Session, events: list[ClockEvent], batch: Batch) -> list[str]:
    with session.begin_nested():
        writes = Writes()
        outcomes = [_record(event, batch, writes) for event in events]
        writes.send(session)
    return outcomes


def record_batch(event_ids: list[int], now: datetime) -> list[str]:
    """Record a batch of due events in one transaction: first all in one savepoint; if any of them
    fails, that savepoint is rolled back and the events are recorded again one by one, each in its
    own savepoint.

    Returns the outcome of each event that committed ("recorded" or "cancelled"); an event that
    failed is logged, left pending, and retried by the next tick.
    """
    with transaction() as session:
        # The chain's lock first, before any row: the batch then never holds a row while it waits
        # for a filing that holds the chain, and a second scheduler's batch waits here for this
        # one's commit, then finds what it recorded settled.
        hold_chain()
        events = claim(event_ids, now)
        if not events:
            return []
        batch = Batch(session, events, now)
        try:
            # Most batches fail nowhere. Their writes (status changes, audit entries, messages) then go
            # in a few statements at the savepoint's end, not five round trips an event.
            return _record_in_savepoint(session, events, batch)
        except Exception:
            # Nothing of the batch is written now; the loop below finds and isolates what failed.
            log.info("clock: a batch of %s events failed whole; recording them one by one", len(events))
        outcomes = []
        for event in events:
            try:
                [outcome] = _record_in_savepoint(session, [event], batch)
            except IntegrityError:
                # Another scheduler wrote the same unique row (a termination right, a message) first;
                # this event's savepoint rolled back whole and the next tick settles it.
                log.warning("clock: event %s collided with another scheduler; retried next tick", event.id)
                continue
            except Exception:
                # A bug or a failure while recording rolled this event's savepoint back whole: it stays
                # pending with nothing of it written, and is retried next tick. The others go on.
                log.exception("clock: event %s not recorded; retried next tick", event.id)
                continue
            outcomes.append(outcome)
    return outcomes


def tick(now: datetime, limit: int = 500) -> TickResult:
    from desk.clock.events import resync_contracts

    resync_contracts(now)
    recorded = cancelled = 0
    due = due_event_ids(now, limit)
    for start in range(0, len(due), BATCH):
        try:
            outcomes = record_batch(due[start:start + BATCH], now)
        except Exception:
            # The batch's transaction failed as a whole (the database gone, the commit refused): nothing
            # of it was committed, its events stay pending, and the next tick records each once.
            log.exception("clock: a batch of %s events not recorded; retried next tick", len(due[start:start + BATCH]))
            continue
        recorded += outcomes.count("recorded")
        cancelled += outcomes.count("cancelled")
    return TickResult(recorded, cancelled)
