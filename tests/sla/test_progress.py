"""desk.sla.progress: one incident's way toward R4's threshold, and 七.(五)'s notice check."""
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from desk.sla.incidents import IncidentFacts, MaintenanceWindow
from desk.sla.progress import continuous_interruption_hours, notice_too_short
from desk.sla.terms import terms_from_mapping

TZ = ZoneInfo("Asia/Shanghai")
TERMS = terms_from_mapping({
    "code": "T", "title": "t", "customer": "c", "carrier": "k", "timezone": "Asia/Shanghai",
    "service_start": date(2025, 6, 1), "service_end": date(2028, 5, 31), "total_amount": "588600.00",
    "cards": 60, "monthly_fee": "16350.00",
    "clauses": {"outage_day_waiver": {"min_continuous_hours": 3}, "outage_period_waiver": {"min_monthly_hours": 72},
                "planned_maintenance": {"min_notice_hours": 72}},
})


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2025, 6, day, hour, minute, tzinfo=TZ)


def incident(id, start, end, *, kind="interruption", cause="carrier", maintenance=None):
    return IncidentFacts(id=id, external_id=None, reported_at=start, started_at=start, restored_at=end, kind=kind,
                         cause=cause, cause_confirmed=True, affected_cards=60, maintenance=maintenance)


def test_exactly_three_hours_across_midnight():
    facts = [incident(1, at(5, 23), at(6, 2))]  # spec §4: exactly 3 h
    assert continuous_interruption_hours(TERMS, facts, 1, at(30, 0)) == "3.00"


def test_touching_interruptions_are_one_continuous_interruption():
    facts = [incident(1, at(8, 9), at(8, 10)), incident(2, at(8, 10), at(8, 11, 30))]
    assert continuous_interruption_hours(TERMS, facts, 1, at(30, 0)) == "2.50"
    assert continuous_interruption_hours(TERMS, facts, 2, at(30, 0)) == "2.50"


def test_exempt_and_degradation_do_not_count():
    facts = [incident(1, at(10, 9), at(10, 20), cause="customer"), incident(2, at(11, 9), at(11, 20), kind="degradation")]
    assert continuous_interruption_hours(TERMS, facts, 1, at(30, 0)) is None
    assert continuous_interruption_hours(TERMS, facts, 2, at(30, 0)) is None


def test_an_open_interruption_counts_up_to_as_of():
    facts = [incident(1, at(12, 8), None, cause="undetermined")]
    assert continuous_interruption_hours(TERMS, facts, 1, at(12, 9, 30)) == "1.50"
    # A restoration after as_of counts as still open (spec §5).
    facts = [incident(1, at(12, 8), at(12, 20))]
    assert continuous_interruption_hours(TERMS, facts, 1, at(12, 10)) == "2.00"


def test_planned_maintenance_with_short_notice_is_the_carriers():
    short = MaintenanceWindow(at(13, 0), at(14, 0), at(14, 6))
    enough = MaintenanceWindow(at(10, 0), at(14, 0), at(14, 6))
    assert notice_too_short(TERMS, short) and not notice_too_short(TERMS, enough)
    facts = [incident(1, at(14, 1), at(14, 5), cause="planned_maintenance", maintenance=short),
             incident(2, at(14, 1), at(14, 5), cause="planned_maintenance", maintenance=enough)]
    assert continuous_interruption_hours(TERMS, facts, 1, at(30, 0)) == "4.00"
    assert continuous_interruption_hours(TERMS, facts, 2, at(30, 0)) is None


def test_without_the_clause_no_notice_is_short():
    terms = terms_from_mapping({**{k: getattr(TERMS, k) for k in ("code", "title", "customer", "carrier", "timezone",
                                                                 "service_start", "service_end", "cards")},
                                "total_amount": "1.00", "clauses": {}})
    assert not notice_too_short(terms, MaintenanceWindow(at(13, 0), at(13, 1), at(13, 2)))
    assert Decimal(continuous_interruption_hours(terms, [incident(1, at(1, 0), at(1, 1))], 1, at(2, 0))) == 1
