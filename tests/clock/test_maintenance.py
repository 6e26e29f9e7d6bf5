"""A planned maintenance inside a window announced in time (七.(五)) is exempt only while it stays
inside: still open at the window's end, the clock acts on it as the report counts it, the carrier's."""
from datetime import timedelta

import pytest
from sqlalchemy import update

from desk.clock.tick import tick
from desk.extensions import db
from desk.contracts.maintenance import create_maintenance_notice
from desk.incidents.services import propose_cause, restore
from desk.models import Incident, utcnow
from desk.reports.services import monthly_report
from desk.sla.timeutil import local_month
from tests.clock.conftest import events, hours_ago, messages


@pytest.fixture
def overrun(world):
    """An interruption from the start of a window 1 h ago – 1 h ahead, announced four days before it."""
    now = utcnow()
    start, end = now - timedelta(hours=1), now + timedelta(hours=1)
    incident = world.file("XJGAT", start)
    notice, warnings = create_maintenance_notice(world.actor("cm"), incident.contract, window_start=start,
                                                 window_end=end, description="核心网割接",
                                                 notice_at=start - timedelta(days=4))
    assert warnings == []
    propose_cause(world.actor("eng"), incident, "planned_maintenance", "割接通知已发",
                  maintenance_notice_id=notice.id)
    return incident, end


def pending(incident):
    return {e.kind: e.due_at for e in events(incident_id=incident.id, status="pending")}


def report(incident, as_of):
    month = "%04d-%02d" % local_month(incident.reported_at, incident.contract.terms().tz)
    return monthly_report(incident.contract.code, month, as_of)["totals"]


def test_still_open_at_the_windows_end_it_strikes_there_and_misses_its_deadline(world, overrun):
    incident, end = overrun
    for h in (10, 9):  # two strikes before it: the third raises the termination right (六.(六))
        earlier = world.file("XJGAT", hours_ago(h))
        restore(world.actor("eng"), earlier, earlier.reported_at + timedelta(minutes=30))
    deadline = incident.reported_at + timedelta(hours=4)  # R1, after the window
    assert pending(incident) == {"strike": end, "repair_deadline_warning": deadline - timedelta(minutes=15),
                                 "repair_deadline_breach": deadline}
    assert [e.due_at for e in events(incident_id=incident.id, kind="repair_deadline_warning")] == [
        deadline - timedelta(minutes=60), deadline - timedelta(minutes=15)]

    tick(utcnow())
    tick(end - timedelta(seconds=1))
    assert not events(incident_id=incident.id, status="recorded")
    assert report(incident, end)["strikes_to_date"] == 2  # exempt up to the window's end

    assert tick(end).recorded == 1
    [strike] = events(incident_id=incident.id, kind="strike")
    assert strike.status == "recorded" and strike.recorded_at == end and strike.payload["strike_number"] == 3
    totals = report(incident, end + timedelta(microseconds=1))  # as the report counts it from then on
    assert totals["strikes_to_date"] == 3 and totals["termination_right"]
    third = messages("%第3次违约%")
    assert sorted(m.to for m in third) == ["+8613800000001", "+8613800000003"]
    assert "超出维护窗口" in third[0].body
    [right] = events(kind="termination_right")
    assert right.due_at == end and len(messages("【解约权】%")) == 2  # raised at once (R3)

    assert tick(deadline - timedelta(minutes=60)).recorded == 1
    assert messages("【预警】%距修复时限还有60分钟%")
    assert tick(deadline).recorded == 2
    [breach] = events(incident_id=incident.id, kind="repair_deadline_breach")
    assert breach.status == "recorded" and breach.recorded_at == deadline
    assert report(incident, deadline + timedelta(microseconds=1))["repair_deadline_missed"] == 1


def test_warnings_due_inside_the_window_are_not_given_the_breach_waits_for_its_end(world):
    # A window of 5 h from 1 h ago: the deadline (3 h ahead) falls inside it.
    now = utcnow()
    start, end = now - timedelta(hours=1), now + timedelta(hours=4)
    incident = world.file("XJGAT", start)
    notice, _ = create_maintenance_notice(world.actor("cm"), incident.contract, window_start=start,
                                          window_end=end, description="基站搬迁", notice_at=start - timedelta(days=3))
    propose_cause(world.actor("eng"), incident, "planned_maintenance", "搬迁通知已发", maintenance_notice_id=notice.id)
    assert pending(incident) == {"strike": end, "repair_deadline_breach": end}
    assert tick(end).recorded == 2
    # The message names the deadline that was missed, not the window's end.
    deadline = incident.reported_at + timedelta(hours=4)
    [breach] = events(incident_id=incident.id, kind="repair_deadline_breach")
    assert breach.payload["deadline"] == deadline.isoformat() and messages("【超时】%")


def test_restored_inside_the_window_cancels_what_was_pending(world, overrun):
    incident, end = overrun
    assert pending(incident)
    restore(world.actor("eng"), incident, utcnow())
    assert not pending(incident)
    assert {e.status for e in events(incident_id=incident.id)} == {"cancelled"}
    assert tick(end + timedelta(hours=5)).recorded == 0 and not messages("%违约%")


def test_a_restoration_written_without_a_re_derivation_is_caught_when_the_event_falls_due(world, overrun):
    incident, end = overrun
    # Restored inside the window by a path that left the pending events as they were (still_wanted).
    db.session.execute(update(Incident).where(Incident.id == incident.id)
                       .values(status="restored", restored_at=end - timedelta(minutes=5)))
    db.session.commit()
    assert set(pending(incident)) == {"strike", "repair_deadline_warning", "repair_deadline_breach"}
    result = tick(end + timedelta(hours=5))
    assert (result.recorded, result.cancelled) == (0, 4)
    assert not messages("%违约%") and not messages("【超时】%")


def test_restored_after_the_windows_end_keeps_its_strike_not_its_breach(world, overrun):
    incident, end = overrun
    assert tick(end).recorded == 1
    restore(world.actor("eng"), incident, end + timedelta(minutes=30), now=end + timedelta(hours=1))
    assert [e.status for e in events(incident_id=incident.id, kind="strike")] == ["recorded"]
    assert not pending(incident)  # restored before the deadline (R1 met), so no warning or breach
