"""R2 strikes and R3 the termination right (六.(六))."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Iterable

from desk.sla.incidents import CARRIER_LIKE, REPORT_ORDER, IncidentFacts, PaymentFacts, effective_cause
from desk.sla.repair_deadline import repair_deadline_met
from desk.sla.terms import ContractTerms
from desk.sla.timeutil import money

HUNDRED = Decimal(100)


def is_strike(terms: ContractTerms, incident: IncidentFacts, as_of: datetime) -> bool:
    """An interruption caused by the carrier (or not yet attributed), or a third party's one the
    carrier failed to handle in time (R1 missed): 因乙方原因或乙方未能及时处理故障."""
    if incident.kind != "interruption":
        return False
    cause = incident.cause
    if cause == "planned_maintenance":  # the only cause whose effect needs the terms (七.(五))
        cause = effective_cause(terms, incident, as_of)
    if cause in CARRIER_LIKE:
        return True
    return cause == "third_party" and repair_deadline_met(terms, incident, as_of) is False


def strike_numbers(terms: ContractTerms, incidents: Iterable[IncidentFacts], as_of: datetime) -> dict[int, int]:
    """incident id → strike number, counted over the whole service period in reported_at order.

    `incidents` must already be limited to the service period and to reported_at ≤ as_of.
    """
    if not terms.has_strikes:
        return {}
    numbers: dict[int, int] = {}
    for incident in sorted(incidents, key=REPORT_ORDER):
        # The kind is tested here as well: a report asks this of every incident of the service
        # period, and a call saved on each degradation shows at 100,000 of them.
        if incident.kind == "interruption" and is_strike(terms, incident, as_of):
            numbers[incident.id] = len(numbers) + 1
    return numbers


def strike_penalty(terms: ContractTerms) -> Decimal:
    """Each strike costs a percentage of the total amount, once, whatever its length."""
    if terms.incident_penalty is None:
        return Decimal("0.00")
    return money(terms.total_amount * terms.incident_penalty.percent_of_total / HUNDRED)


@dataclass(frozen=True)
class TerminationRight:
    stands: bool
    refund: Decimal
    penalty: Decimal


def termination_right(terms: ContractTerms, strikes_to_date: int, payments: Iterable[PaymentFacts],
                      as_of: datetime) -> TerminationRight:
    """From the threshold strike on, the customer may terminate: refund of fees paid, plus a penalty."""
    clause = terms.strike_termination
    if clause is None or strikes_to_date < clause.threshold:
        return TerminationRight(False, Decimal("0.00"), Decimal("0.00"))
    refund = money(sum((p.amount for p in payments if p.paid_at <= as_of), Decimal(0)))
    penalty = money(terms.total_amount * clause.penalty_percent_of_total / HUNDRED)
    return TerminationRight(True, refund, penalty)
