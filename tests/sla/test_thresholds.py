"""The instants the clock acts on: strikes (R2), the day-waiver (R4) and period-waiver (R5) thresholds."""
from datetime import timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from desk.sla.incidents import IncidentFacts, MaintenanceWindow
from desk.sla.repair_deadline import repair_deadline_met
from desk.sla.report import build_report
from desk.sla.strikes import is_strike
from desk.sla.thresholds import breach_at, day_waiver_crossings, period_waiver_crossings, strike_at
from desk.sla.terms import terms_from_mapping
from tests.sla.conftest import QMGA, SHANGHAI, XJGAT, incident, local

WARN_DAY, WARN_MONTH = Decimal("2.5"), Decimal(60)


def reached(crossings):
    return [(c.level, c.at) for c in crossings]


def test_carrier_interruption_is_a_strike_from_its_report(xjgat):
    i = incident("2025-06-10T09:00", "2025-06-10T10:00")
    assert strike_at(xjgat, i) == local("2025-06-10T09:00")
    assert strike_at(xjgat, incident("2025-06-10T09:00", cause="undetermined", confirmed=False)) \
        == local("2025-06-10T09:00")


def test_third_party_becomes_a_strike_when_its_deadline_passes_unrepaired(xjgat):
    assert strike_at(xjgat, incident("2025-06-10T09:00", cause="third_party")) == local("2025-06-10T13:00")
    assert strike_at(xjgat, incident("2025-06-10T09:00", "2025-06-10T14:00", cause="third_party")) \
        == local("2025-06-10T13:00")
    # Restored exactly at the deadline: met (R1 is inclusive), no strike.
    assert strike_at(xjgat, incident("2025-06-10T09:00", "2025-06-10T13:00", cause="third_party")) is None


def test_no_strike_for_degradation_exempt_causes_or_outside_the_period(xjgat, qmga):
    assert strike_at(xjgat, incident("2025-06-10T09:00", kind="degradation")) is None
    assert strike_at(xjgat, incident("2025-06-10T09:00", cause="customer")) is None
    assert strike_at(xjgat, incident("2025-03-10T09:00")) is None  # before the service period
    assert strike_at(qmga, incident("2025-06-10T09:00")) is None  # no R2 clause in that contract


def test_day_waiver_threshold_and_warning_of_the_spec_example(qmga):
    crossings = day_waiver_crossings(qmga, [
        incident("2025-06-03T10:00", "2025-06-03T13:30"),
        incident("2025-06-08T09:00", "2025-06-08T11:59"),  # 2.98 h: warned, never reached
        incident("2025-06-10T09:00", "2025-06-10T20:00", cause="customer"),  # exempt
    ], WARN_DAY)
    assert reached(crossings) == [("warning", local("2025-06-03T12:30")), ("reached", local("2025-06-03T13:00")),
                                  ("warning", local("2025-06-08T11:30"))]
    assert crossings[1].since == local("2025-06-03T10:00") and crossings[1].month == "2025-06"


def test_day_waiver_of_an_open_interruption_and_of_touching_ones(qmga):
    assert reached(day_waiver_crossings(qmga, [incident("2025-06-03T10:00")], None)) == \
        [("reached", local("2025-06-03T13:00"))]
    touching = [incident("2025-06-03T10:00", "2025-06-03T11:30"), incident("2025-06-03T11:30")]
    assert reached(day_waiver_crossings(qmga, touching, None)) == [("reached", local("2025-06-03T13:00"))]
    exactly = [incident("2025-06-05T23:00", "2025-06-06T02:00")]
    crossing = day_waiver_crossings(qmga, exactly, None)[0]
    assert crossing.at == local("2025-06-06T02:00") and crossing.month == "2025-06"


def test_period_waiver_reached_when_the_month_reaches_72_hours(qmga):
    incidents = [incident("2025-06-01T00:00", "2025-06-02T12:00"),  # 36 h
                 incident("2025-06-10T00:00")]                      # open: 36 h more by 06-11 12:00
    crossings = period_waiver_crossings(qmga, incidents, [(2025, 6)], WARN_MONTH)
    assert reached(crossings) == [("warning", local("2025-06-11T00:00")), ("reached", local("2025-06-11T12:00"))]
    # The report agrees: at that instant the month's cumulative outage is exactly 72 h.
    totals = build_report(qmga, incidents, [], 2025, 6, local("2025-06-11T12:00"))["totals"]
    assert totals["outage_hours"] == "72.00"


def test_period_waiver_not_reached_by_restored_outages_and_counted_per_month(qmga):
    short = [incident("2025-06-01T00:00", "2025-06-02T00:00")]
    assert period_waiver_crossings(qmga, short, [(2025, 6)], WARN_MONTH) == []
    # An interruption open across the month end starts July's count at local midnight.
    spanning = [incident("2025-06-29T00:00")]
    july = period_waiver_crossings(qmga, spanning, [(2025, 7)], None)
    assert reached(july) == [("reached", local("2025-07-04T00:00"))]
    assert july[0].month == "2025-07"


def test_thresholds_count_only_the_service_period(qmga):
    # Begun 06-14, reported on the first day of a period from 06-15: only its hours from 06-15 count.
    mid_june = terms_from_mapping({**QMGA, "service_start": "2025-06-15"})
    early = [incident("2025-06-15T00:30", started="2025-06-12T00:00")]  # open
    crossings = period_waiver_crossings(mid_june, early, [(2025, 6)], None)
    assert reached(crossings) == [("reached", local("2025-06-18T00:00"))]
    assert crossings[0].since == local("2025-06-01T00:00")
    # Restored before it was reported, wholly before the period: nothing of it is waived, no crossing.
    before = [incident("2025-06-01T00:30", "2025-05-31T23:00", started="2025-05-31T18:00")]
    assert day_waiver_crossings(qmga, before, WARN_DAY) == []
    assert build_report(qmga, before, [], 2025, 5, local("2025-07-01T00:00"))["totals"]["day_waivers"] == []
    # An interruption reaching 3 h after the period ended still waives its last day (R4: whole length).
    last = [incident("2028-05-31T23:00", "2028-06-01T02:00")]
    assert reached(day_waiver_crossings(qmga, last, None)) == [("reached", local("2028-06-01T02:00"))]


def test_contract_without_waiver_clauses_has_no_crossings(xjgat):
    open_outage = [incident("2025-06-03T10:00")]
    assert day_waiver_crossings(xjgat, open_outage, WARN_DAY) == []
    assert period_waiver_crossings(xjgat, open_outage, [(2025, 6)], WARN_MONTH) == []


# The clock and the report must agree: a threshold instant is exactly when the report's figure gets there.
JUNE = local("2025-06-02T00:00")
spans = st.lists(st.tuples(st.integers(0, 26 * 24 * 60), st.integers(1, 40 * 60)), min_size=1, max_size=12)


def _facts(pairs):
    from desk.sla.incidents import IncidentFacts

    return [IncidentFacts(id=n + 1, external_id=None, reported_at=JUNE + timedelta(minutes=s),
                          started_at=JUNE + timedelta(minutes=s), restored_at=JUNE + timedelta(minutes=s + d),
                          kind="interruption", cause="carrier", cause_confirmed=True, affected_cards=60,
                          maintenance=None) for n, (s, d) in enumerate(pairs)]


@settings(max_examples=60, deadline=None)
@given(spans)
def test_period_threshold_instant_is_when_the_report_reaches_72_hours(pairs):
    qmga = terms_from_mapping(QMGA)
    facts = _facts(pairs)
    reached = [c for c in period_waiver_crossings(qmga, facts, [(2025, 6)], None)]
    month_total = build_report(qmga, facts, [], 2025, 6, local("2025-07-01T00:00"))["totals"]["outage_hours"]
    if not reached:
        assert Decimal(month_total) < 72
        return
    at = reached[0].at
    assert build_report(qmga, facts, [], 2025, 6, at)["totals"]["outage_hours"] == "72.00"
    assert Decimal(build_report(qmga, facts, [], 2025, 6, at - timedelta(minutes=1))["totals"]["outage_hours"]) < 72


@settings(max_examples=60, deadline=None)
@given(spans)
def test_a_day_threshold_is_crossed_iff_the_report_waives_a_day(pairs):
    qmga = terms_from_mapping(QMGA)
    facts = _facts(pairs)
    crossings = day_waiver_crossings(qmga, facts, None)
    waived = build_report(qmga, facts, [], 2025, 6, local("2025-07-01T00:00"))["totals"]["day_waivers"]
    assert bool(crossings) == bool(waived)
    for c in crossings:  # the day each continuous interruption began is among the waived days
        assert f"{c.since.astimezone(SHANGHAI):%Y-%m-%d}" in {w["date"] for w in waived}


# 七.(五): a planned maintenance inside a window announced early enough is exempt only while it stays
# inside; still open at the window's end it is the carrier's (spec §2). The QA case on XJGAT-POOL-2025:
# window 06-10 10:00–12:00 announced 06-01, interruption from 10:00.
WINDOW = MaintenanceWindow(local("2025-06-01T09:00"), local("2025-06-10T10:00"), local("2025-06-10T12:00"))
TICK = timedelta(microseconds=1)


def maintenance(restored=None, *, window=WINDOW, reported="2025-06-10T10:00", started=None):
    return incident(reported, restored, started=started, cause="planned_maintenance", maintenance=window)


def strike_counted(terms, facts, as_of):
    month = facts.reported_at.astimezone(SHANGHAI)
    rows = build_report(terms, [facts], [], month.year, month.month, as_of)["incidents"]
    return rows[0]["strike_number"] is not None


def test_open_maintenance_overrunning_its_window_strikes_at_the_windows_end(xjgat):
    open_one = maintenance()
    end = WINDOW.window_end
    assert strike_at(xjgat, open_one) == end
    # The report agrees: exempt up to the window's end, a strike from the instant after (as the tick reads it).
    assert not strike_counted(xjgat, open_one, end)
    assert strike_counted(xjgat, open_one, end + TICK)
    assert build_report(xjgat, [open_one], [], 2025, 6, local("2025-06-10T14:00"))["totals"]["strikes_to_date"] == 1
    # Restored after the window's end: the same instant, as the report saw it while it was open.
    assert strike_at(xjgat, maintenance("2025-06-10T13:00")) == end


def test_maintenance_restored_inside_its_window_is_no_strike_and_misses_no_deadline(xjgat):
    for restored in ("2025-06-10T11:00", "2025-06-10T12:00"):  # the window's end is inside it
        assert strike_at(xjgat, maintenance(restored)) is None
        assert breach_at(xjgat, maintenance(restored)) is None


def test_overrunning_maintenance_misses_its_deadline_at_the_deadline_or_the_windows_end(xjgat):
    # R1: reported_at + 4 h = 14:00, after the window: missed there, unless restored by then.
    assert breach_at(xjgat, maintenance()) == local("2025-06-10T14:00")
    assert breach_at(xjgat, maintenance("2025-06-10T14:00")) is None
    assert breach_at(xjgat, maintenance("2025-06-10T14:00:01")) == local("2025-06-10T14:00")
    # A long window (to 20:00) holds the deadline's miss until its end; restored after it, missed there.
    long = MaintenanceWindow(WINDOW.notice_at, WINDOW.window_start, local("2025-06-10T20:00"))
    assert breach_at(xjgat, maintenance(window=long)) == long.window_end
    assert breach_at(xjgat, maintenance("2025-06-10T21:00", window=long)) == long.window_end
    assert strike_at(xjgat, maintenance(window=long)) == long.window_end
    assert repair_deadline_met(xjgat, maintenance(window=long), long.window_end) is None
    assert repair_deadline_met(xjgat, maintenance(window=long), long.window_end + TICK) is False


def test_short_notice_or_a_start_before_the_window_is_the_carriers_from_the_report(xjgat):
    short = MaintenanceWindow(local("2025-06-08T10:00"), WINDOW.window_start, WINDOW.window_end)
    assert strike_at(xjgat, maintenance(window=short)) == local("2025-06-10T10:00")
    early = maintenance(started="2025-06-10T09:59")
    assert strike_at(xjgat, early) == local("2025-06-10T10:00")
    assert breach_at(xjgat, early) == local("2025-06-10T14:00")


# Any planned maintenance, any window: the instants the clock acts on are those the report turns at.
@settings(max_examples=200, deadline=None)
@given(notice=st.integers(0, 200), length=st.integers(1, 600), start=st.integers(-120, 700),
       report=st.integers(0, 300), repair=st.one_of(st.none(), st.integers(0, 900)))
def test_maintenance_strike_and_breach_instants_match_the_report(notice, length, start, report, repair):
    xjgat = terms_from_mapping(XJGAT)
    window_start = local("2025-06-10T10:00")
    window = MaintenanceWindow(window_start - timedelta(hours=notice), window_start,
                               window_start + timedelta(minutes=length))
    started = window_start + timedelta(minutes=start)
    facts = IncidentFacts(id=1, external_id=None, reported_at=started + timedelta(minutes=report),
                          started_at=started, restored_at=None if repair is None else started + timedelta(minutes=repair),
                          kind="interruption", cause="planned_maintenance", cause_confirmed=True,
                          affected_cards=60, maintenance=window)
    strike, breach = strike_at(xjgat, facts), breach_at(xjgat, facts)
    # Half-minute instants: never exactly on a threshold, where the clock and the report take different sides.
    for minute in range(-130, 1800, 7):
        as_of = window_start + timedelta(minutes=minute, seconds=30)
        counted = facts.reported_at <= as_of and is_strike(xjgat, facts, as_of)
        assert counted == (strike is not None and as_of > strike)
        assert (repair_deadline_met(xjgat, facts, as_of) is False) == (breach is not None and as_of > breach)


# R4/R5 on a contract with both 6.3 and 七.(五): an overrunning maintenance joins the report's outages
# (from its start) only after its window's end, so a threshold it helped pass is due no earlier.
QMGA_NOTICED = {**QMGA, "clauses": {**QMGA["clauses"], "planned_maintenance": {"min_notice_hours": 72}}}


def test_an_overrunning_maintenance_reaches_the_day_waiver_at_its_windows_end():
    terms = terms_from_mapping(QMGA_NOTICED)
    window = MaintenanceWindow(local("2025-06-01T09:00"), local("2025-06-10T10:00"), local("2025-06-10T14:00"))
    open_one = maintenance(window=window)
    # 12:30 and 13:00 fall inside the window: the threshold is due at its end, the warning not given.
    assert reached(day_waiver_crossings(terms, [open_one], WARN_DAY)) == [("reached", window.window_end)]
    assert build_report(terms, [open_one], [], 2025, 6, window.window_end)["totals"]["day_waivers"] == []
    waived = build_report(terms, [open_one], [], 2025, 6, window.window_end + TICK)["totals"]["day_waivers"]
    assert [w["date"] for w in waived] == ["2025-06-10"]
    # Restored inside the window: exempt, no crossing; running past 13:00 after its window, from its start.
    assert day_waiver_crossings(terms, [maintenance("2025-06-10T14:00", window=window)], WARN_DAY) == []
    short = MaintenanceWindow(window.notice_at, window.window_start, local("2025-06-10T11:00"))
    assert reached(day_waiver_crossings(terms, [maintenance(window=short)], None)) == [
        ("reached", local("2025-06-10T13:00"))]


noticed_spans = st.lists(st.tuples(st.integers(0, 20 * 24 * 60), st.integers(1, 40 * 60), st.booleans(),
                                   st.one_of(st.none(), st.integers(0, 30 * 60))), min_size=1, max_size=8)


def _noticed_facts(rows):
    """(start, length, open, window length or None for a carrier one): maintenance windows open at the start."""
    facts = []
    for n, (s, d, is_open, window) in enumerate(rows):
        start = JUNE + timedelta(minutes=s)
        noticed = None if window is None else MaintenanceWindow(
            start - timedelta(days=4), start, start + timedelta(minutes=window))
        facts.append(IncidentFacts(
            id=n + 1, external_id=None, reported_at=start, started_at=start,
            restored_at=None if is_open else start + timedelta(minutes=d), kind="interruption",
            cause="carrier" if window is None else "planned_maintenance", cause_confirmed=True,
            affected_cards=60, maintenance=noticed))
    return facts


@settings(max_examples=80, deadline=None)
@given(noticed_spans)
def test_waiver_thresholds_are_due_when_the_report_turns_with_maintenance_windows(rows):
    terms = terms_from_mapping(QMGA_NOTICED)
    facts = _noticed_facts(rows)
    month_end = local("2025-07-01T00:00")

    def totals(as_of):
        return build_report(terms, facts, [], 2025, 6, as_of)["totals"]

    days = [c.at for c in day_waiver_crossings(terms, facts, None) if c.at < month_end]
    if days:  # the first threshold: nothing waived a minute before, a day waived just after
        assert totals(days[0] - timedelta(minutes=1))["day_waivers"] == []
        assert totals(days[0] + TICK)["day_waivers"] != []
    else:
        assert totals(month_end)["day_waivers"] == []
    period = period_waiver_crossings(terms, facts, [(2025, 6)], None)
    if period:
        assert Decimal(totals(period[0].at - timedelta(minutes=1))["outage_hours"]) < 72
        assert Decimal(totals(period[0].at + TICK)["outage_hours"]) >= 72
    else:
        assert Decimal(totals(month_end)["outage_hours"]) < 72
