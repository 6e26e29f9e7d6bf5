"""The clock acts on every contractual threshold: strikes and the termination right (R2/R3), the
day-waiver and period-waiver thresholds (R4/R5), each recorded once at its due instant."""
from datetime import timedelta
from decimal import Decimal

from desk.clock.tick import tick
from desk.extensions import db
from desk.contracts.payments import record_payment
from desk.incidents.services import confirm_cause, propose_cause, restore
from desk.models import AuditEntry, utcnow
from desk.clock.events import resync_contracts, sync_contract
from desk.db import transaction
from tests.clock.conftest import events, hours_ago, messages
from tests.sla.conftest import SHANGHAI, local


def test_strikes_are_announced_and_the_third_raises_the_termination_right(world):
    contract = world.file("XJGAT", hours_ago(2.5)).contract
    record_payment(world.actor("cm"), contract, paid_at=hours_ago(48), amount=Decimal("159850.00"))
    for h in (2, 1.5):
        world.file("XJGAT", hours_ago(h))
    assert [e.kind for e in events(kind="strike", status="pending")] == ["strike"] * 3
    assert tick(utcnow()).recorded == 3
    strikes = events(kind="strike", status="recorded")
    assert [e.payload["strike_number"] for e in strikes] == [1, 2, 3]
    assert all(e.recorded_at == e.due_at == e.incident.reported_at for e in strikes)
    first = messages("%第1次违约%")
    # Both managers, the carrier's and the police unit's, get each strike with its penalty (六.(六)).
    assert sorted(m.to for m in first) == ["+8613800000001", "+8613800000003"]
    assert "违约金6394.00元" in first[0].body and "原因待双方确认" in first[0].body
    [right] = events(kind="termination_right")
    assert right.status == "recorded" and right.due_at == strikes[2].due_at
    assert right.payload["refund"] == "159850.00" and right.payload["penalty"] == "191820.00"
    announced = messages("【解约权】%")
    assert len(announced) == 2 and "退还已付费用159850.00元" in announced[0].body
    # A fourth strike is announced, the right is not raised twice.
    world.file("XJGAT", hours_ago(1))
    assert tick(utcnow()).recorded == 1
    assert len(events(kind="termination_right")) == 1 and len(messages("【解约权】%")) == 2
    assert messages("%第4次违约%")


def test_third_party_fault_becomes_a_strike_when_its_deadline_passes(world):
    incident = world.file("XJGAT", hours_ago(5))
    propose_cause(world.actor("eng"), incident, "third_party", "光缆被施工挖断")
    confirm_cause(world.actor("um"), incident)
    [strike] = events(kind="strike")
    assert strike.due_at == incident.reported_at + timedelta(hours=4)
    tick(utcnow())
    assert strike.status == "recorded" and strike.payload["strike_number"] == 1
    assert "第三方原因" in messages("%违约%")[0].body


def test_third_party_fault_restored_in_time_is_no_strike(world):
    incident = world.file("XJGAT", hours_ago(1))
    propose_cause(world.actor("eng"), incident, "third_party", "光缆被施工挖断")
    assert events(kind="strike", status="pending")
    restore(world.actor("eng"), incident, incident.reported_at + timedelta(minutes=50))
    assert [e.status for e in events(kind="strike")] == ["cancelled"]
    assert tick(utcnow() + timedelta(hours=5)).recorded == 0


def test_re_attribution_to_an_exempt_cause_cancels_pending_events(world):
    incident = world.file("XJGAT", hours_ago(1))
    assert {e.kind for e in events(status="pending", incident_id=incident.id)} == {
        "strike", "repair_deadline_warning", "repair_deadline_breach"}
    propose_cause(world.actor("eng"), incident, "customer", "用户终端欠费停机")
    assert not events(status="pending", incident_id=incident.id)
    assert tick(utcnow() + timedelta(hours=5)).recorded == 0


def test_day_waiver_warning_then_threshold_while_the_interruption_is_open(world):
    incident = world.file("QMGA", utcnow() - timedelta(minutes=1))
    start = incident.started_at
    assert tick(start).recorded == 0  # the tick derives the contract's outage events first
    pending = events(contract_id=incident.contract_id, incident_id=None, status="pending")
    day = [e for e in pending if e.kind.startswith("day_waiver")]
    assert [(e.kind, e.due_at - start) for e in day] == [
        ("day_waiver_warning", timedelta(hours=2.5)), ("day_waiver_reached", timedelta(hours=3))]
    assert tick(start + timedelta(hours=2, minutes=29)).recorded == 0
    assert tick(start + timedelta(hours=2, minutes=30)).recorded == 1
    assert messages("【预警】%连续中断已达2.5小时%")
    result = tick(start + timedelta(hours=3, minutes=20))  # a late tick: recorded at the due instant
    reached = events(kind="day_waiver_reached")[0]
    assert result.recorded >= 1 and reached.status == "recorded"
    assert reached.recorded_at == start + timedelta(hours=3)
    texts = [m.body for m in messages("【减免】%")]
    assert texts and "当日服务费减免" in texts[0]
    # The police side hears it too: QMGA's unit manager and the carrier's manager.
    assert {m.to for m in messages("【减免】%")} >= {"+8613800000001", "+8613800000004"}


def test_restored_before_the_threshold_cancels_it_restored_after_keeps_it(world):
    short = world.file("QMGA", hours_ago(2.5))
    resync_contracts(utcnow())
    assert [e.kind for e in events(status="pending") if e.kind.startswith("day_waiver")] == ["day_waiver_warning",
                                                                                              "day_waiver_reached"]
    restore(world.actor("eng"), short, short.started_at + timedelta(hours=2))
    resync_contracts(utcnow())
    assert not [e for e in events(status="pending") if e.kind.startswith("day_waiver")]
    # The clock was down while a long interruption crossed 3 h; it was restored before the next tick.
    long = world.file("QMGA", hours_ago(4))
    restore(world.actor("eng"), long, long.started_at + timedelta(hours=3, minutes=30))
    tick(utcnow())
    reached = [e for e in events(kind="day_waiver_reached") if e.status == "recorded"]
    assert [e.due_at for e in reached] == [long.started_at + timedelta(hours=3)]


def test_period_waiver_warning_and_threshold_follow_the_months_cumulative_outage(world):
    first = world.file("QMGA", local("2026-06-01T00:00"))
    restore(world.actor("eng"), first, local("2026-06-02T12:00"))  # 36 h
    world.file("QMGA", local("2026-06-10T00:00"))  # open: the month reaches 60 h, then 72 h
    resync_contracts(utcnow())  # what the next tick does: this month's and its neighbours' events
    with transaction():
        sync_contract(first.contract_id, around=local("2026-06-15T00:00"))
    june = {e.kind: e.due_at for e in events(status="pending") if e.payload.get("month") == "2026-06"
            and e.kind.startswith("period_waiver")}
    assert june == {"period_waiver_warning": local("2026-06-11T00:00"),
                    "period_waiver_reached": local("2026-06-11T12:00")}
    # Still open months later: each month's count starts at its local midnight and reaches 72 h on the 4th.
    this_month = f"{utcnow().astimezone(SHANGHAI):%Y-%m}"
    [current] = [e for e in events(kind="period_waiver_reached") if e.payload["month"] == this_month]
    assert current.due_at == local(f"{this_month}-04T00:00")
    # Learned months late: recorded at their due instants, but not announced (nobody can act on them).
    tick(local("2026-06-12T00:00"))
    recorded = events(status="recorded", kind="period_waiver_reached")
    assert [e.recorded_at for e in recorded] == [local("2026-06-11T12:00")]
    assert not messages("%2026-06累计中断%")


def test_each_clock_event_is_audited_at_its_due_instant(world):
    incident = world.file("XJGAT", hours_ago(5))
    tick(utcnow())
    entries = db.session.query(AuditEntry).filter(AuditEntry.action.like("clock.%")).all()
    assert {e.action for e in entries} == {"clock.strike", "clock.repair_deadline_warning",
                                          "clock.repair_deadline_breach"}
    breach = next(e for e in entries if e.action == "clock.repair_deadline_breach")
    assert breach.at == incident.reported_at + timedelta(hours=4)


def test_a_filing_marks_its_contract_and_the_next_tick_derives_it_once(world):
    from desk.models import ClockResync

    for minutes in (30, 20, 10):  # a storm: each filing leaves a mark, derives no contract event itself
        world.file("QMGA", utcnow() - timedelta(minutes=minutes))
    assert db.session.query(ClockResync).count() == 3
    assert not [e for e in events() if e.incident_id is None and e.kind.startswith(("day_", "period_"))]
    world.file("XJGAT", utcnow())  # no waiver clauses in the pool contract: nothing to derive, no mark
    assert db.session.query(ClockResync).count() == 3
    tick(utcnow())
    db.session.rollback()
    assert db.session.query(ClockResync).count() == 0
    assert {e.kind for e in events(status="pending") if e.incident_id is None} >= {
        "day_waiver_warning", "day_waiver_reached", "period_waiver_warning", "period_waiver_reached"}


def test_a_warning_that_comes_due_after_the_restoration_is_recorded_but_not_texted(world):
    """The clock was down when the 60-minute warning fell due; the engineer restored service before
    it came back. The warning happened (recorded, at its instant), but telling the managers that
    the deadline is an hour away for a fault already repaired is noise: no SMS."""
    incident = world.file("XJGAT", hours_ago(3.8), kind="degradation")
    restore(world.actor("eng"), incident, hours_ago(0.5))
    tick(utcnow())
    [warning] = events(kind="repair_deadline_warning", status="recorded")
    assert warning.payload["minutes_left"] == 60
    assert not messages("【预警】%")
    # An incident still open at the warning is warned of, as before (nobody assigned: the engineer on duty).
    world.file("XJGAT", hours_ago(3.5), kind="degradation")
    tick(utcnow())
    assert sorted(m.to for m in messages("【预警】%")) == [world.users["cm"].phone, world.users["eng"].phone]


def test_a_deadline_warning_goes_to_the_assigned_engineer_or_with_none_to_those_on_duty(world):
    """Nobody assigned, the warning had reached the carrier managers alone: the engineers on duty,
    the people who could still take the ticket in time, heard nothing of it."""
    from desk.auth.services import create_user
    from desk.incidents.services import assign, repair_deadline

    other = create_user(world.actor("cm"), username="eng2", password="secret-pass-1", role="carrier_engineer",
                        contract_codes=["XJGAT-POOL-2025"], phone="+8613800000005", on_duty=True)
    loose = world.file("XJGAT", hours_ago(3.1), kind="degradation")
    taken = world.file("XJGAT", hours_ago(3.1), kind="degradation")
    assign(world.actor("cm"), taken, world.users["eng"].id)
    tick(utcnow())
    phones = {name: world.users[name].phone for name in ("cm", "eng")} | {"eng2": other.phone}

    def warned(incident):
        number = f"工单{incident.tickets[0].number}"
        return sorted(m.to for m in messages("【预警】%") if number in m.body)

    assert warned(loose) == sorted(phones.values())
    assert warned(taken) == sorted([phones["cm"], phones["eng"]])
    # Each expires at its deadline, if Twilio keeps it in the outbox that long.
    for incident in (loose, taken):
        number = f"工单{incident.tickets[0].number}"
        assert {m.expires_at for m in messages("【预警】%") if number in m.body} == {repair_deadline(incident)}


def test_a_warning_whose_deadline_has_passed_is_recorded_but_not_texted(world):
    """Restored at 1 h, the restoration disputed at 5 h: the incident is open again and its
    warnings (due at 3 h and 3 h 45) come back, but the deadline passed an hour ago. Telling the
    engineer 距修复时限还有60分钟 now would be false; the breach is texted instead."""
    from desk.incidents.services import assign, dispute_restoration

    incident = world.file("XJGAT", hours_ago(5), kind="degradation")
    assign(world.actor("cm"), incident, world.users["eng"].id)
    restore(world.actor("eng"), incident, hours_ago(4))
    dispute_restoration(world.actor("um"), incident, "终端仍无信号")
    tick(utcnow())
    assert len(events(kind="repair_deadline_warning", status="recorded")) == 2
    assert not messages("【预警】%")
    assert {m.to for m in messages("【超时】%")} == {world.users[n].phone for n in ("eng", "cm", "um")}


def test_the_outage_sms_give_the_hours_as_written(world):
    """The month's 60 h warning said 累计中断已达6E+1小时: Decimal("60").normalize() is 6E+1."""
    first = world.file("QMGA", local("2026-06-01T00:00"))
    restore(world.actor("eng"), first, local("2026-06-02T12:00"))  # 36 h
    world.file("QMGA", local("2026-06-10T00:00"))  # open: the month reaches 60 h on the 11th
    with transaction():
        sync_contract(first.contract_id, around=local("2026-06-15T00:00"))
        for event in events(status="pending", kind="period_waiver_warning"):
            event.payload = {**event.payload, "notify": True}  # as if derived before it fell due
    tick(local("2026-06-11T00:00"))
    texts = {m.body for m in messages("【预警】%2026-06累计中断%")}
    assert texts == {"【预警】合同QMGA-JWT-2025 2026-06累计中断已达60小时，达到72小时将减免中断期间服务费（6.3）"}
