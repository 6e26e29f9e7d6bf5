"""R2 strikes and R3 the termination right (六.(六))."""
from decimal import Decimal

from desk.sla.incidents import PaymentFacts
from desk.sla.strikes import strike_numbers, strike_penalty, termination_right
from desk.sla.terms import terms_from_mapping
from tests.sla.conftest import XJGAT, incident, local


def spec_incidents():
    return [
        incident("2025-05-02T09:00", "2025-05-02T10:00", id=1),
        incident("2025-06-10T09:00", "2025-06-10T14:00", cause="third_party", id=2),
        incident("2025-06-20T09:00", "2025-06-20T12:00", cause="third_party", id=3),
        incident("2025-07-01T09:00", "2025-07-01T19:00", cause="force_majeure", id=4),
        incident("2025-07-15T09:00", "2025-07-15T11:00", cause="undetermined", confirmed=False, id=5),
    ]


def test_spec_example_numbers_strikes(xjgat):
    assert strike_numbers(xjgat, spec_incidents(), local("2025-08-01T00:00")) == {1: 1, 2: 2, 5: 3}
    assert strike_penalty(xjgat) == Decimal("6394.00")


def test_degradation_is_never_a_strike(xjgat):
    assert strike_numbers(xjgat, [incident("2025-06-01T09:00", kind="degradation")], local("2025-07-01T00:00")) == {}


def test_open_third_party_becomes_a_strike_when_its_deadline_passes(xjgat):
    tp = incident("2025-06-10T09:00", cause="third_party", id=9)
    assert strike_numbers(xjgat, [tp], local("2025-06-10T13:00")) == {}
    assert strike_numbers(xjgat, [tp], local("2025-06-10T13:00:01")) == {9: 1}


def test_ties_number_lower_id_first(xjgat):
    a, b = incident("2025-06-10T09:00", id=20), incident("2025-06-10T09:00", id=10)
    assert strike_numbers(xjgat, [a, b], local("2025-07-01T00:00")) == {10: 1, 20: 2}


def test_termination_right_at_threshold_with_refund_of_payments_to_as_of(xjgat):
    payments = [PaymentFacts(local("2025-04-15T10:00"), Decimal("191820.00")),
                PaymentFacts(local("2025-08-01T10:00"), Decimal("415610.00"))]
    assert termination_right(xjgat, 2, payments, local("2025-07-31T00:00")).stands is False
    right = termination_right(xjgat, 3, payments, local("2025-07-31T00:00"))
    assert (right.stands, right.refund, right.penalty) == (True, Decimal("191820.00"), Decimal("191820.00"))
    assert termination_right(xjgat, 3, payments, local("2025-08-02T00:00")).refund == Decimal("607430.00")


def test_other_numbers_two_strikes_and_two_and_a_half_percent():
    terms = terms_from_mapping({**XJGAT, "clauses": {
        "repair_deadline": {"hours": 2}, "incident_penalty": {"percent_of_total": 2.5},
        "strike_termination": {"threshold": 2, "penalty_percent_of_total": 10}}})
    assert strike_penalty(terms) == Decimal("15985.00")
    assert termination_right(terms, 2, [], local("2025-07-01T00:00")).penalty == Decimal("63940.00")
    tp = incident("2025-06-10T09:00", "2025-06-10T11:30", cause="third_party", id=1)
    assert strike_numbers(terms, [tp], local("2025-07-01T00:00")) == {1: 1}  # missed the 2 h deadline
