"""R1, the repair deadline (四.(三) 乙方应4小时内排除故障)."""
from __future__ import annotations

from datetime import datetime

from desk.sla.incidents import EXEMPT, IncidentFacts, effective_cause
from desk.sla.terms import ContractTerms


def repair_deadline_at(terms: ContractTerms, incident: IncidentFacts,
                       as_of: datetime | None = None) -> datetime | None:
    """reported_at + N hours, for every non-exempt incident of either kind; None where R1 does not apply."""
    if terms.repair_deadline is None:
        return None
    cause = incident.cause
    if cause == "planned_maintenance":  # the only cause whose effect needs the terms (七.(五))
        cause = effective_cause(terms, incident, as_of)
    if cause in EXEMPT:
        return None
    return incident.reported_at + terms.repair_deadline.span


def repair_deadline_met(terms: ContractTerms, incident: IncidentFacts, as_of: datetime) -> bool | None:
    """True/False once decided at as_of; None where R1 does not apply or the clock still runs.

    Thresholds are inclusive: restored exactly at the deadline is met. Still open after the
    deadline is missed, from the instant it passed.
    """
    deadline = repair_deadline_at(terms, incident, as_of)
    if deadline is None:
        return None
    restored = incident.restored_at
    if restored is not None and restored <= as_of:  # restored_by(as_of), written out: reports ask this a lot
        return restored <= deadline
    return False if as_of > deadline else None


def repair_seconds(incident: IncidentFacts, as_of: datetime) -> float | None:
    restored = incident.restored_by(as_of)
    return None if restored is None else (restored - incident.reported_at).total_seconds()
