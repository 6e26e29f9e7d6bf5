"""The scheduler's beat with an injected clock: one active process of several, takeover within a
minute, and the dev server's embedded scheduler started once, in the process that serves."""
from datetime import timedelta

from sqlalchemy import select

from desk.clock import scheduler
from desk.clock.scheduler import ClockService
from desk.extensions import db
from desk.models import ClockEvent, OutboxMessage, utcnow
from tests.clock.conftest import hours_ago


class Clock:
    def __init__(self):
        self.now = utcnow()

    def __call__(self):
        return self.now


def test_one_active_scheduler_records_and_sends_the_other_waits_then_takes_over(world, app):
    world.file("XJGAT", hours_ago(5))
    clock = Clock()
    node_a = ClockService(app, holder="node-a", now=clock)
    node_b = ClockService(app, holder="node-b", now=clock)
    first = node_a.beat()
    assert first.active and first.recorded >= 3
    assert not node_b.beat().active
    clock.now += timedelta(seconds=1)  # the next beat sends what the first one queued
    node_a.beat()
    # Without Twilio credentials the messages are recorded as not sent; the desk works on.
    db.session.rollback()
    statuses = set(db.session.execute(select(OutboxMessage.status)).scalars())
    assert statuses == {"not_sent_no_credentials"}
    # node-a dies. Within a minute node-b holds the lease and the clock runs on.
    world.file("XJGAT", hours_ago(5))
    for seconds in range(10, 70, 10):
        clock.now += timedelta(seconds=10)
        if node_b.beat().active:
            break
    assert seconds <= 60
    db.session.rollback()
    pending = db.session.execute(select(ClockEvent).where(ClockEvent.status == "pending",
                                                          ClockEvent.due_at <= clock.now)).scalars().all()
    assert pending == []


def test_a_stopped_scheduler_hands_over_at_once(world, app):
    clock = Clock()
    node_a = ClockService(app, holder="node-a", now=clock)
    node_b = ClockService(app, holder="node-b", now=clock)
    assert node_a.beat().active
    node_a.stop()
    assert node_b.beat().active


def test_the_dev_server_starts_its_scheduler_once_on_the_first_request(app, client, monkeypatch):
    started = []

    class Recorder:
        def __init__(self, *args, **kwargs):
            started.append(self)

        def add_job(self, *args, **kwargs):
            pass

        def start(self):
            pass

    monkeypatch.setattr(scheduler, "BackgroundScheduler", Recorder)
    monkeypatch.setattr(scheduler, "_embedded", {})
    app.config["DESK_EMBEDDED_SCHEDULER"] = True
    scheduler.init_embedded(app)
    client.get("/login")
    client.get("/login")
    assert len(started) == 1
