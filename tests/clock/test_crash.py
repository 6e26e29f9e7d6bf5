"""A crash while an event is being recorded leaves nothing half-written: the event stays pending,
with no audit entry and no message, and the next tick records it once. A failure on one event of a
batch rolls back that event alone; the others commit."""
import pytest
from sqlalchemy import func, select

import desk.clock.tick as clock_tick
from desk.audit.services import verify_chain
from desk.clock.tick import tick
from desk.extensions import db
from desk.models import AuditEntry, ClockEvent, OutboxMessage, utcnow
from tests.clock.conftest import hours_ago


def count(model, *where):
    return db.session.execute(select(func.count()).select_from(model).where(*where)).scalar_one()


def test_crash_between_recording_and_notifying_then_recovery(world, monkeypatch):
    world.file("XJGAT", hours_ago(4.5))  # warnings, breach and strike all due
    due = count(ClockEvent, ClockEvent.status == "pending")
    queued = count(OutboxMessage)  # the new-ticket SMS to the engineer on duty
    calls = []

    def crash(*args, **kwargs):
        calls.append(args)
        raise ConnectionError("the process died while queueing the notification")

    monkeypatch.setattr(clock_tick.Writes, "queue", crash)
    result = tick(utcnow())
    # The two warnings, past their deadline by now, are recorded without a message; the breach and
    # the strike, whose messages crashed, are not.
    assert calls and result.recorded == 2
    db.session.rollback()
    assert count(ClockEvent, ClockEvent.status == "pending") == due - 2
    assert count(AuditEntry, AuditEntry.action.like("clock.%")) == 2
    assert count(OutboxMessage) == queued

    monkeypatch.undo()
    assert tick(utcnow()).recorded == due - 2
    assert tick(utcnow()).recorded == 0
    assert count(AuditEntry, AuditEntry.action.like("clock.%")) == due
    keys = db.session.execute(select(OutboxMessage.dedupe_key)).scalars().all()
    assert len(keys) > queued and len(keys) == len(set(keys))
    assert verify_chain() is None  # a batch's entries, written in one statement, link in id order


def _failing_on(key_part: str, calls: list, twice: bool = False):
    """Queueing as the tick does it, but the event whose key holds `key_part` fails after queueing:
    a plain exception, or (twice) the same message queued twice, which the database refuses."""
    real = clock_tick.Writes.queue

    def queue(writes, to, body, dedupe_key, expires_at=None, incident_id=None):
        real(writes, to, body, dedupe_key, expires_at, incident_id)
        if key_part in dedupe_key:
            calls.append(dedupe_key)
            if not twice:
                raise ConnectionError("the handler failed after queueing its message")
            real(writes, to, body, dedupe_key, expires_at, incident_id)  # the unique key refuses it when the savepoint writes
    return queue


@pytest.mark.parametrize("twice", [False, True], ids=["exception", "integrity error"])
def test_a_failure_on_one_event_rolls_back_that_event_alone(world, monkeypatch, twice):
    first = world.file("XJGAT", hours_ago(4.5))
    world.file("QMGA", hours_ago(4.5))
    failing = f"incident:{first.id}:repair_deadline:breach:"
    calls = []
    monkeypatch.setattr(clock_tick.Writes, "queue", _failing_on(failing, calls, twice))
    # One batch: the breach of the first incident fails; the events before and after it commit.
    now = utcnow()
    recorded = tick(now).recorded
    assert calls and recorded >= 4  # warnings, breaches and strikes of both
    db.session.rollback()
    breach = db.session.execute(select(ClockEvent).where(ClockEvent.key == failing[:-1])).scalar_one()
    assert breach.status == "pending" and breach.recorded_at is None
    assert count(ClockEvent, ClockEvent.status == "pending", ClockEvent.due_at <= now) == 1
    assert count(AuditEntry, AuditEntry.action.like("clock.%")) == recorded
    assert count(AuditEntry, AuditEntry.action == "clock.repair_deadline_breach",
                 AuditEntry.incident_id == first.id) == 0
    assert count(OutboxMessage, OutboxMessage.dedupe_key.like(f"{failing}%")) == 0
    assert verify_chain() is None  # the entries after the rolled-back one link to the one before it

    monkeypatch.undo()
    assert tick(now).recorded == 1
    assert count(AuditEntry, AuditEntry.action.like("clock.%")) == recorded + 1
    assert count(OutboxMessage, OutboxMessage.dedupe_key.like(f"{failing}%")) > 0
    assert verify_chain() is None


def test_a_contract_whose_stored_terms_fail_holds_up_only_its_own_events(world, caplog):
    """A clause stored unreadable (hand-edited in the database) fails that contract's events, each in
    its savepoint, logged and left pending; the other contract's events of the batch are recorded."""
    from sqlalchemy import update

    from desk.models import ContractClause

    broken = world.file("XJGAT", hours_ago(4.5))
    sound = world.file("QMGA", hours_ago(4.5))
    db.session.execute(update(ContractClause).where(ContractClause.contract_id == broken.contract_id,
                                                    ContractClause.name == "repair_deadline")
                       .values(params={"hours": "four"}))
    db.session.commit()
    now = utcnow()
    recorded = tick(now).recorded
    db.session.rollback()
    assert recorded > 0 and recorded == count(ClockEvent, ClockEvent.contract_id == sound.contract_id,
                                              ClockEvent.status == "recorded")
    assert count(ClockEvent, ClockEvent.contract_id == broken.contract_id, ClockEvent.status == "recorded") == 0
    assert count(ClockEvent, ClockEvent.contract_id == broken.contract_id, ClockEvent.status == "pending",
                 ClockEvent.due_at <= now) > 0
    assert "not recorded; retried next tick" in caplog.text
    assert verify_chain() is None


def test_a_contract_whose_stored_terms_fail_holds_up_neither_the_clock_nor_the_others(world, caplog):
    """The same for the outage thresholds (R4/R5) a tick derives first: the broken contract's mark
    stays for the next tick, and the rest of the tick goes on."""
    from sqlalchemy import update

    from desk.models import ClockResync, ContractClause

    sound = world.file("XJGAT", hours_ago(4.5))
    broken = world.file("QMGA", hours_ago(4.5))
    assert count(ClockResync, ClockResync.contract_id == broken.contract_id) > 0  # it has waiver clauses
    db.session.execute(update(ContractClause).where(ContractClause.contract_id == broken.contract_id,
                                                    ContractClause.name == "outage_day_waiver")
                       .values(params={"min_continuous_hours": "three"}))
    db.session.commit()
    recorded = tick(utcnow()).recorded
    db.session.rollback()
    assert recorded > 0 and recorded == count(ClockEvent, ClockEvent.contract_id == sound.contract_id,
                                              ClockEvent.status == "recorded")
    assert count(ClockResync, ClockResync.contract_id == broken.contract_id) > 0
    assert f"outage events of contract {broken.contract_id} not derived" in caplog.text
