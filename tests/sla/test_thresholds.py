"""The instants the clock acts on: strikes (R2), the day-waiver (R4) and period-waiver (R5) thresholds."""
from datetime import timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from desk.sla.report import build_report
from desk.sla.thresholds import day_waiver_crossings, period_waiver_crossings, strike_at
from desk.sla.terms import terms_from_mapping
from tests.sla.conftest import QMGA, SHANGHAI, incident, local

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
