from datetime import date, datetime
from decimal import Decimal

import pytest

from desk.sla.terms import CLAUSES, TermsError, terms_from_mapping
from tests.sla.conftest import QMGA, XJGAT


def test_seed_terms(xjgat, qmga):
    assert xjgat.repair_deadline.hours == 4 and xjgat.strike_termination.threshold == 3
    assert xjgat.monthly_fee is None and xjgat.outage_day_waiver is None
    assert qmga.monthly_fee == Decimal("16350.00") and qmga.repair_deadline is None


@pytest.mark.parametrize("change, fragment", [
    ({"cards": 0}, "cards"),
    ({"cards": True}, "cards"),
    ({"total_amount": "-1"}, "total_amount"),
    ({"timezone": "Mars/Base"}, "timezone"),
    ({"service_end": "2024-01-01"}, "service_end"),
    ({"clauses": {"repair_deadline": {"hours": 0}}}, "repair_deadline.hours"),
    ({"clauses": {"repair_deadline": {"minutes": 5}}}, "minutes"),
    ({"clauses": {"warp_drive": {}}}, "warp_drive"),
    ({"clauses": {"incident_penalty": {"percent_of_total": 101}}}, "percentage"),
    ({"clauses": {"strike_termination": {"threshold": 2.5, "penalty_percent_of_total": 30}}}, "whole number"),
    ({"colour": "red"}, "colour"),
])
def test_every_bad_field_is_named(change, fragment):
    with pytest.raises(TermsError) as exc:
        terms_from_mapping({**XJGAT, **change})
    assert any(fragment in e for e in exc.value.errors), exc.value.errors


# Every numeric clause parameter, a value that fits within its bound, and one just beyond it.
PARAMETERS = [
    ("repair_deadline", "hours", 8784, "8784.01"),
    ("incident_penalty", "percent_of_total", 100, "100.01"),
    ("strike_termination", "threshold", 100, 101),
    ("strike_termination", "penalty_percent_of_total", 100, "100.01"),
    ("outage_day_waiver", "min_continuous_hours", 8784, "8784.01"),
    ("outage_period_waiver", "min_monthly_hours", 744, "744.01"),
    ("planned_maintenance", "min_notice_hours", 8784, "8784.01"),
]


def _with_clause(name: str, key: str, value) -> dict:
    base = {**QMGA, "clauses": {**QMGA["clauses"], **XJGAT["clauses"]}}
    clause = {**base["clauses"].get(name, {}), key: value}
    return {**base, "clauses": {**base["clauses"], name: clause}}


def test_the_bounds_cover_every_clause_parameter():
    assert {(name, key) for name, key, *_ in PARAMETERS} == {
        (name, key) for name, (_, spec) in CLAUSES.items() for key in spec}


@pytest.mark.parametrize("name, key, largest, beyond", PARAMETERS)
def test_every_clause_parameter_is_bounded(name, key, largest, beyond):
    """1e30 hours was taken, and then every filing, report and tick of the contract raised
    OverflowError (a deadline as a timedelta); each parameter has a bound a contract keeps."""
    assert terms_from_mapping(_with_clause(name, key, largest))
    for value in (beyond, 1e30, "1e999999"):
        with pytest.raises(TermsError) as exc:
            terms_from_mapping(_with_clause(name, key, value))
        assert any(e.startswith(f"clauses.{name}.{key}: ") and "at most" in e
                   for e in exc.value.errors), exc.value.errors


@pytest.mark.parametrize("change, message", [
    ({"code": "  "}, "code: blank"),
    ({"code": ""}, "code: blank"),
    ({"code": "\t\u3000"}, "code: blank"),
    ({"code": " XJGAT-POOL-2025"}, "code: spaces before or after"),
    ({"title": " "}, "title: blank"),
    ({"customer": 7}, "customer: must be text"),
    ({"title": "专" * 301}, "title: 301 characters, at most 300"),
    ({"code": "X" * 65}, "code: 65 characters, at most 64"),
    ({"code": "XJGAT/POOL"}, "code: letters, digits, '-', '_' and '.' only"),
    ({"code": 'XJGAT"POOL'}, "code: letters, digits, '-', '_' and '.' only"),
    ({"code": "-XJGAT"}, "code: letters, digits, '-', '_' and '.' only"),
])
def test_blank_or_padded_text_is_named(change, message):
    """A blank code passed the check for a missing one, and then loading met the units of another
    contract and said they belonged to it, never that the code was blank."""
    with pytest.raises(TermsError) as exc:
        terms_from_mapping({**XJGAT, **change})
    assert message in exc.value.errors


def test_missing_keys_are_all_named():
    with pytest.raises(TermsError) as exc:
        terms_from_mapping({"code": "X"})
    assert {"title: required", "cards: required", "timezone: required"} <= set(exc.value.errors)


def test_waiver_clauses_need_a_monthly_fee():
    data = {k: v for k, v in QMGA.items() if k != "monthly_fee"}
    with pytest.raises(TermsError, match="monthly_fee"):
        terms_from_mapping(data)


def test_money_never_passes_through_float():
    """A float is read by its shortest repr; one with more than two decimals (0.1 + 0.2 is
    0.30000000000000004) is refused rather than rounded, as the money column would refuse it."""
    assert terms_from_mapping({**XJGAT, "total_amount": 588600.1}).total_amount == Decimal("588600.1")
    with pytest.raises(TermsError, match="total_amount: at most two decimals"):
        terms_from_mapping({**XJGAT, "total_amount": 0.1 + 0.2})


@pytest.mark.parametrize("change, message", [
    ({"cards": 100000000000000000000}, "cards: must be a whole number from 1 to 10,000,000"),
    ({"cards": 10_000_001}, "cards: must be a whole number from 1 to 10,000,000"),
    ({"total_amount": "1e30"}, "total_amount: at most 999,999,999,999.99"),
    ({"total_amount": "1000000000000.00"}, "total_amount: at most 999,999,999,999.99"),
    ({"total_amount": "588600.005"}, "total_amount: at most two decimals (whole fen)"),
    ({"total_amount": "1e-999999"}, "total_amount: at most two decimals (whole fen)"),
    ({**QMGA, "monthly_fee": "16350.001"}, "monthly_fee: at most two decimals (whole fen)"),
    ({**QMGA, "monthly_fee": 1e30}, "monthly_fee: at most 999,999,999,999.99"),
    ({"service_start": datetime(2025, 6, 1, 10)}, "service_start: a date (YYYY-MM-DD), not a date and time"),
    ({"service_end": datetime(2026, 3, 31)}, "service_end: a date (YYYY-MM-DD), not a date and time"),
    ({"service_end": date(9999, 12, 31)}, "service_end: a date from 2000-01-01 to 2099-12-31"),
    ({"service_start": "0001-01-01"}, "service_start: a date from 2000-01-01 to 2099-12-31"),
])
def test_top_level_values_the_columns_or_the_calendar_cannot_hold_are_named(change, message):
    """Each of these was taken and then crashed the write (OverflowError, "money has more than
    two decimals", datetime compared with date) or every later reading of the service period."""
    with pytest.raises(TermsError) as exc:
        terms_from_mapping({**XJGAT, **change})
    assert message in exc.value.errors


def test_the_largest_values_are_taken():
    terms = terms_from_mapping({**XJGAT, "cards": 10_000_000, "total_amount": "999999999999.99",
                                "service_start": date(2000, 1, 1), "service_end": "2099-12-31"})
    assert terms.service_period[1].year == 2099 and terms.total_amount == Decimal("999999999999.99")
