"""The scheduler as it runs in production, `flask --app wsgi scheduler`, as a real process:
SIGKILLed while 500 repair deadlines come due, then restarted; every breach recorded once at its
due instant, every notification sent once (to Twilio's API on loopback, through the real SDK)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta

from sqlalchemy import func, select

from desk.audit.services import Actor
from desk.extensions import db
from desk.incidents.services import file_ticket
from desk.models import AuditEntry, ClockEvent, OutboxMessage, Unit, utcnow
from tests.clock.twilio_server import TwilioServer
from tests.conftest import ROOT

BREACHES = 500


def _scheduler(database_url: str, twilio: TwilioServer, log) -> subprocess.Popen:
    env = {**os.environ, **twilio.env(), "DATABASE_URL": database_url, "SECRET_KEY": "test-secret",
           "DESK_CLOCK_INTERVAL_SECONDS": "0.5", "DESK_CLOCK_LEASE_SECONDS": "2",
           "DESK_DEADLINE_WARNINGS": "", "DESK_OUTBOX_SENDING_TIMEOUT_SECONDS": "2", "DESK_DEMO": "0"}
    return subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "scheduler"], cwd=ROOT, env=env,
                            stdout=log, stderr=subprocess.STDOUT)


def _recorded() -> int:
    db.session.rollback()
    return db.session.execute(select(func.count()).select_from(ClockEvent).where(
        ClockEvent.kind == "repair_deadline_breach", ClockEvent.status == "recorded")).scalar_one()


def _unsent() -> int:
    db.session.rollback()  # a fresh snapshot: the scheduler process writes, not this one
    return db.session.execute(select(func.count()).select_from(OutboxMessage)
                              .where(OutboxMessage.status != "sent")).scalar_one()


def _wait(condition, seconds: float, what: str, log_path) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    outbox = db.session.execute(select(OutboxMessage.status, OutboxMessage.last_error, func.count())
                                .group_by(OutboxMessage.status, OutboxMessage.last_error)).all()
    raise AssertionError(f"timed out waiting for {what}; outbox {outbox}; scheduler log:\n"
                         f"{log_path.read_text()[-3000:]}")


def test_sigkill_while_deadlines_come_due_then_restart(world, app, database_url, tmp_path):
    app.config["DESK_DEADLINE_WARNINGS"] = ()  # breaches only: one event and one SMS per fault
    for user in world.users.values():  # one recipient: the carrier's manager
        user.on_duty = False
        if user.username != "cm":
            user.phone = ""
    db.session.commit()
    unit = db.session.execute(select(Unit).where(Unit.code == "XJGAT")).scalar_one()
    system = Actor.system("test")
    first_due = utcnow() + timedelta(seconds=25)
    for n in range(BREACHES):  # deadlines 20 ms apart: they come due over 10 s while the scheduler runs
        file_ticket(system, unit=unit, kind="degradation", channel="api",
                    reported_at=first_due + timedelta(milliseconds=20 * n) - timedelta(hours=4))
    assert utcnow() < first_due, "filing took too long for the test's timing"

    log_path = tmp_path / "scheduler.log"
    with TwilioServer() as twilio, open(log_path, "wb") as log:
        process = _scheduler(database_url, twilio, log)
        try:
            _wait(lambda: _recorded() >= 100, 90, "the first hundred breaches", log_path)
            process.send_signal(signal.SIGKILL)
            process.wait(10)
        finally:
            if process.poll() is None:
                process.kill()
        assert _recorded() < BREACHES, "killed too late to prove anything"
        restarted = _scheduler(database_url, twilio, log)
        try:
            _wait(lambda: _recorded() == BREACHES, 120, "every breach", log_path)
            _wait(lambda: _unsent() == 0, 60, "every message sent", log_path)
        finally:
            restarted.send_signal(signal.SIGTERM)
            restarted.wait(20)

        db.session.rollback()
        breaches = db.session.execute(select(ClockEvent).where(ClockEvent.kind == "repair_deadline_breach")).scalars().all()
        assert len(breaches) == BREACHES
        assert all(e.status == "recorded" and e.recorded_at == e.due_at for e in breaches)
        audited = db.session.execute(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "clock.repair_deadline_breach")).scalar_one()
        assert audited == BREACHES
        texts = db.session.execute(select(OutboxMessage.to, OutboxMessage.body).where(
            OutboxMessage.body.like("【超时】%"))).all()
        assert len(texts) == BREACHES
        received = Counter((m["to"], m["body"]) for m in twilio.created)
        assert all(received[(to, body)] == 1 for to, body in texts), "each breach SMS reached Twilio once"
        assert max(received.values()) == 1
