"""A crash while an event is being recorded leaves nothing half-written: the event stays pending,
with no audit entry and no message, and the next tick records it once."""
from sqlalchemy import func, select

import desk.clock.tick as clock_tick
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

    monkeypatch.setattr(clock_tick, "enqueue", crash)
    result = tick(utcnow())
    assert calls and result.recorded == 0
    db.session.rollback()
    assert count(ClockEvent, ClockEvent.status == "pending") == due
    assert count(AuditEntry, AuditEntry.action.like("clock.%")) == 0
    assert count(OutboxMessage) == queued

    monkeypatch.undo()
    assert tick(utcnow()).recorded == due
    assert tick(utcnow()).recorded == 0
    assert count(AuditEntry, AuditEntry.action.like("clock.%")) == due
    keys = db.session.execute(select(OutboxMessage.dedupe_key)).scalars().all()
    assert len(keys) > queued and len(keys) == len(set(keys))
