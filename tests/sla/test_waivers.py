"""R4 day waivers and R5 the period waiver (6.3), on spec §4's worked example and its boundaries."""
from decimal import Decimal

from desk.sla.report import build_report
from desk.sla.terms import terms_from_mapping
from tests.sla.conftest import QMGA, incident, local, two_hour_outages

JULY = local("2025-07-01T00:10")


def totals(terms, incidents, year=2025, month=6, as_of=JULY):
    return build_report(terms, incidents, [], year, month, as_of)["totals"]


def test_spec_worked_example(qmga):
    t = totals(qmga, [
        incident("2025-06-03T10:00", "2025-06-03T13:30"),
        incident("2025-06-05T23:00", "2025-06-06T02:00"),
        incident("2025-06-08T09:00", "2025-06-08T11:59"),
        incident("2025-06-10T09:00", "2025-06-10T20:00", cause="customer"),
        incident("2025-06-12T08:00", "2025-06-12T12:00", cards=6),
    ])
    assert t["day_waivers"] == [{"date": "2025-06-03", "amount": "545.00"}, {"date": "2025-06-05", "amount": "545.00"},
                                {"date": "2025-06-06", "amount": "545.00"}, {"date": "2025-06-12", "amount": "54.50"}]
    assert (t["day_waiver_total"], t["period_waiver_total"], t["outage_hours"]) == ("1689.50", "0.00", "13.48")


def test_three_hours_exactly_waives_one_second_less_does_not(qmga):
    assert totals(qmga, [incident("2025-06-03T10:00", "2025-06-03T13:00")])["day_waiver_total"] == "545.00"
    assert totals(qmga, [incident("2025-06-03T10:00", "2025-06-03T12:59:59")])["day_waiver_total"] == "0.00"


def test_touching_intervals_form_one_continuous_interruption(qmga):
    t = totals(qmga, [incident("2025-06-03T10:00", "2025-06-03T11:30"),
                      incident("2025-06-03T11:30", "2025-06-03T13:00")])
    assert t["day_waiver_total"] == "545.00"


def test_outage_across_months_waives_each_day_in_its_own_month(qmga):
    outage = [incident("2025-06-30T23:00", "2025-07-01T02:00")]
    # At 00:10 on 1 July the outage was still open and only 1 h 10 min long: nothing yet.
    assert totals(qmga, outage)["day_waivers"] == []
    june = totals(qmga, outage, as_of=local("2025-07-02T00:00"))
    july = totals(qmga, outage, month=7, as_of=local("2025-08-01T00:00"))
    assert june["day_waivers"] == [{"date": "2025-06-30", "amount": "545.00"}]
    # July has 31 days: 16,350 ÷ 31 = 527.419… → 527.42
    assert july["day_waivers"] == [{"date": "2025-07-01", "amount": "527.42"}]
    assert june["outage_hours"] == "1.00" and july["outage_hours"] == "2.00"


def test_seventy_two_hours_exactly_gives_the_period_waiver(qmga):
    # Nine 8-hour carrier outages on separate days, 6 cards each: 72 h, and each ≥ 3 h waives its day...
    # so use 2.5 h outages (no day waiver) to see R5 alone: 29 × 2.5 h = 72.5 h.
    outages = [incident(f"2025-06-{d:02d}T08:00", f"2025-06-{d:02d}T10:30", cards=6) for d in range(1, 30)]
    t = totals(qmga, outages)
    assert t["outage_hours"] == "72.50" and t["day_waiver_total"] == "0.00"
    # 16,350 ÷ 60 ÷ 30 ÷ 24 per card-hour × 6 cards × 72.5 h
    expected = (Decimal("16350") / 60 / 30 / 24 * 6 * Decimal("72.5")).quantize(Decimal("0.01"))
    assert t["period_waiver_total"] == str(expected)
    exact = [incident(f"2025-06-{d:02d}T08:00", f"2025-06-{d:02d}T10:30", cards=6) for d in range(1, 29)]
    assert totals(qmga, exact + [incident("2025-06-29T08:00", "2025-06-29T10:00", cards=6)])["period_waiver_total"] != "0.00"
    # one second short of 72 h: shown as 72.00 h, but thresholds compare exact seconds
    short = totals(qmga, exact + [incident("2025-06-29T08:00", "2025-06-29T09:59:59", cards=6)])
    assert short["outage_hours"] == "72.00" and short["period_waiver_total"] == "0.00"


def test_period_waiver_skips_days_already_waived(qmga):
    long = [incident("2025-06-01T00:00", "2025-06-04T00:00")]  # 72 h over three whole days, all waived by R4
    t = totals(qmga, long)
    assert t["day_waiver_total"] == "1635.00" and t["period_waiver_total"] == "0.00"
    longer = [incident("2025-06-01T00:00", "2025-06-04T00:00"), incident("2025-06-10T08:00", "2025-06-10T10:00")]
    t = totals(qmga, longer)
    # the 2 h on 06-10 is not waived by R4, so R5 pays it: 545 ÷ 24 × 2
    assert t["period_waiver_total"] == "45.42"


def test_exempt_and_third_party_outages_do_not_count(qmga):
    t = totals(qmga, [incident("2025-06-03T10:00", "2025-06-03T20:00", cause="force_majeure"),
                      incident("2025-06-04T10:00", "2025-06-04T20:00", cause="third_party")])
    assert t["outage_hours"] == "0.00" and t["waiver_total"] == "0.00"


def test_period_waiver_rounds_an_exact_half_cent_up(qmga):
    # 16,350 ÷ 30 ÷ 24 × 72.6 h = 1,648.625 exactly → 1,648.63 (spec §1: half up, R5: rounded once)
    outages = two_hour_outages("2025-06", range(1, 19)) + [incident("2025-06-20T05:00", "2025-06-20T05:36")]
    t = totals(qmga, outages)
    assert (t["outage_hours"], t["day_waiver_total"], t["period_waiver_total"]) == ("72.60", "0.00", "1648.63")
    # February 2026, 7 cards, exactly 72 h: 16,350 ÷ 60 ÷ 28 ÷ 24 × 7 × 72 = 204.375 → 204.38
    t = totals(qmga, two_hour_outages("2026-02", range(1, 19), cards=7), 2026, 2, local("2026-03-01T00:00"))
    assert (t["outage_hours"], t["period_waiver_total"]) == ("72.00", "204.38")


# No fee is charged outside the service period (QMGA-JWT-2025: 2025-06-01 .. 2028-05-31), so
# nothing is waived there; an interruption's length for R4 is still its whole length.
def test_nothing_waived_before_the_service_period_begins(qmga):
    early = [incident("2025-06-01T00:30", "2025-06-01T02:00", started="2025-05-31T22:00", cause="undetermined",
                      confirmed=False)]
    may = build_report(qmga, early, [], 2025, 5, JULY)
    # Its unsettled cause weighs on no figure of May: May is not provisional.
    assert may["incidents"] == [] and may["provisional"] is False
    assert (may["totals"]["outage_hours"], may["totals"]["day_waivers"], may["totals"]["waiver_total"]) \
        == ("0.00", [], "0.00")
    june = totals(qmga, early)
    assert june["day_waivers"] == [{"date": "2025-06-01", "amount": "545.00"}] and june["outage_hours"] == "2.00"


def test_nothing_waived_after_the_service_period_ends(qmga):
    late = [incident("2028-05-31T22:00", "2028-06-01T02:00")]
    may = totals(qmga, late, 2028, 5, local("2028-07-01T00:00"))
    june = totals(qmga, late, 2028, 6, local("2028-07-01T00:00"))
    assert may["day_waivers"] == [{"date": "2028-05-31", "amount": "527.42"}] and may["outage_hours"] == "2.00"
    assert (june["outage_hours"], june["day_waivers"], june["waiver_total"]) == ("0.00", [], "0.00")


def test_continuity_counts_the_whole_interruption_but_waives_only_days_in_the_period(qmga):
    # 3 h in all, 2 h of them in the period: ≥ 3 h continuous (R4), so 06-01 is waived.
    t = totals(qmga, [incident("2025-06-01T00:30", "2025-06-01T02:00", started="2025-05-31T23:00")])
    assert t["day_waivers"] == [{"date": "2025-06-01", "amount": "545.00"}] and t["outage_hours"] == "2.00"


def test_period_hours_count_only_inside_the_service_period(qmga):
    mid_june = terms_from_mapping({**QMGA, "service_start": "2025-06-15"})
    # 25 h from 06-14 00:00, 1 h of it in the period (06-15 waived by R4), and 60 h on 06-16 .. 06-30:
    # 61 h in the period, short of 72 h; the 24 h before it neither count nor waive 06-14.
    outages = [incident("2025-06-15T00:30", "2025-06-15T01:00", started="2025-06-14T00:00")] \
        + two_hour_outages("2025-06", range(16, 31))
    t = totals(mid_june, outages)
    assert t["day_waivers"] == [{"date": "2025-06-15", "amount": "545.00"}]
    assert (t["outage_hours"], t["period_waiver_total"]) == ("61.00", "0.00")
