"""The clock's tick: due events recorded once, at their due instant, with their notifications."""
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from desk.audit.services import Actor
from desk.auth.services import create_user
from desk.clock.tick import tick
from desk.extensions import db
from desk.incidents.services import file_ticket, restore
from desk.models import AuditEntry, ClockEvent, FrozenReport, OutboxMessage, Unit, utcnow


@pytest.fixture
def filed(contracts_running_on):
    create_user(Actor.system("test"), username="cm", password="secret-pass-1", role="carrier_manager",
                contract_codes=["XJGAT-POOL-2025"], phone="+8613800000009")
    unit = db.session.execute(select(Unit).where(Unit.code == "XJGAT")).scalar_one()
    reported = utcnow() - timedelta(hours=6)
    # A degradation: R1's events alone (an interruption would also be a strike, R2).
    ticket, _ = file_ticket(Actor.system("test"), unit=unit, kind="degradation", channel="api",
                            reported_at=reported)
    return ticket, reported


def events(status=None):
    query = select(ClockEvent).order_by(ClockEvent.due_at)
    if status:
        query = query.where(ClockEvent.status == status)
    return db.session.execute(query).scalars().all()


def test_catch_up_records_each_event_once_at_its_due_instant(filed):
    ticket, reported = filed
    assert {e.kind for e in events("pending")} == {"repair_deadline_warning", "repair_deadline_breach"}
    # The scheduler was down for six hours: one tick catches up on all three events.
    result = tick(utcnow())
    assert result.recorded == 3
    recorded = events("recorded")
    assert all(e.recorded_at == e.due_at for e in recorded)
    breach = next(e for e in recorded if e.kind == "repair_deadline_breach")
    assert breach.due_at == reported + timedelta(hours=4)
    # The warnings' deadline had passed when the clock came back: recorded, not texted (a false
    # 距修复时限还有60分钟); the breach is.
    messages = db.session.execute(select(OutboxMessage.body)).scalars().all()
    assert len(messages) == 1 and "已超过修复时限" in messages[0]
    assert tick(utcnow()).recorded == 0
    assert db.session.execute(select(func.count()).select_from(OutboxMessage)).scalar_one() == 1
    audits = db.session.execute(select(AuditEntry.action).where(AuditEntry.action.like("clock.%"))).scalars().all()
    assert sorted(audits) == ["clock.repair_deadline_breach", "clock.repair_deadline_warning",
                              "clock.repair_deadline_warning"]


def test_nothing_is_recorded_before_it_is_due(filed):
    ticket, reported = filed
    assert tick(reported + timedelta(hours=2, minutes=59)).recorded == 0
    assert tick(reported + timedelta(hours=3)).recorded == 1  # the 60-minute warning


def test_a_report_after_the_service_period_gets_no_clock(contracts):
    # The XJGAT pool's service ended on 2026-03-31: a report now counts for nothing (spec §2), so
    # no deadline is shown or warned of, though the ticket is filed for the engineers to see.
    from desk.incidents.services import repair_deadline

    unit = db.session.execute(select(Unit).where(Unit.code == "XJGAT")).scalar_one()
    ticket, _ = file_ticket(Actor.system("test"), unit=unit, kind="interruption", channel="api",
                            reported_at=utcnow() - timedelta(hours=6))
    assert repair_deadline(ticket.incident) is None and not events()
    assert tick(utcnow()).recorded == 0


def test_restoring_cancels_pending_events(filed):
    ticket, reported = filed
    restore(Actor.system("test"), ticket.incident, reported + timedelta(hours=1))
    assert not events("pending")
    assert tick(utcnow()).recorded == 0
    assert db.session.execute(select(func.count()).select_from(OutboxMessage)).scalar_one() == 0


def test_cli_tick(filed, runner):
    result = runner.invoke(args=["clock-tick"])
    # The command also schedules month-end freezes: last month's, where a contract covers it, is due.
    frozen = db.session.execute(select(func.count()).select_from(FrozenReport)).scalar_one()
    assert result.exit_code == 0 and f"{3 + frozen} events recorded" in result.output
    bad = runner.invoke(args=["clock-tick", "--now", "soon"])
    assert bad.exit_code == 1 and "--now" in bad.output


def test_cli_tick_refuses_an_instant_ahead_of_the_clock(filed, runner):
    for ahead in ("9999-12-31T23:59", (utcnow() + timedelta(hours=5)).isoformat()):
        result = runner.invoke(args=["clock-tick", "--now", ahead])
        assert result.exit_code == 1 and "--now" in result.output and "later than the current time" in result.output
        assert "Traceback" not in result.output
    # Nothing was recorded: the filing's deadline events still wait for their time.
    assert not events("recorded") and len(events("pending")) == 3
