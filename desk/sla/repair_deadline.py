"""R1, the repair deadline (四.(三) 乙方应4小时内排除故障)."""
from __future__ import annotations

from datetime import datetime

from desk.sla.incidents import IncidentFacts, is_exempt
from desk.sla.terms import ContractTerms


def repair_deadline_at(terms: ContractTerms, incident: IncidentFacts,
                       as_of: datetime | None = None) -> datetime | None:
    """reported_at + N hours, for every non-exempt incident of either kind; None where R1 does not apply."""
    if terms.repair_deadline is None or is_exempt(terms, incident, as_of):
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
    restored = incident.restored_by(as_of)
    if restored is not None:
        return restored <= deadline
    return False if as_of > deadline else None


def repair_seconds(incident: IncidentFacts, as_of: datetime) -> float | None:
    restored = incident.restored_by(as_of)
    return None if restored is None else (restored - incident.reported_at).total_seconds()
