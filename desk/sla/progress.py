"""How far one incident has come toward a rule's threshold, for the incident page.

R4 (6.3) waives a day's fee once a continuous interruption lasts the contract's minimum hours;
the page shows the continuous interruption an incident belongs to, as it stands at as_of.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from desk.sla.incidents import CARRIER_LIKE, IncidentFacts, MaintenanceWindow, effective_cause
from desk.sla.intervals import Interval, union
from desk.sla.terms import ContractTerms
from desk.sla.timeutil import hours, service_bounds


def qualifying_interval(terms: ContractTerms, incident: IncidentFacts, as_of: datetime) -> Interval | None:
    """R4/R5: an interruption that is the carrier's, from its start to its restoration (or as_of)."""
    start, end = service_bounds(terms.service_start, terms.service_end, terms.tz)
    if incident.kind != "interruption" or not start <= incident.reported_at < end or incident.reported_at > as_of:
        return None
    if effective_cause(terms, incident, as_of) not in CARRIER_LIKE:
        return None
    return incident.started_at, incident.restored_by(as_of) or as_of


def continuous_interruption_hours(terms: ContractTerms, incidents: list[IncidentFacts], incident_id: int,
                                  as_of: datetime) -> str | None:
    """Hours ("h.hh") of the continuous interruption the incident is part of: the union of the
    qualifying intervals that overlap or touch it. None where the incident does not qualify."""
    target = next((i for i in incidents if i.id == incident_id), None)
    own = qualifying_interval(terms, target, as_of) if target is not None else None
    if own is None:
        return None
    intervals = [iv for iv in (qualifying_interval(terms, i, as_of) for i in incidents) if iv is not None]
    for start, end in union(intervals):
        if start <= own[0] and own[1] <= end:
            return str(hours((end - start).total_seconds()))
    return str(hours((own[1] - own[0]).total_seconds()))


def notice_too_short(terms: ContractTerms, window: MaintenanceWindow) -> bool:
    """七.(五): a window announced with less than the minimum notice exempts nothing."""
    clause = terms.planned_maintenance
    return clause is not None and \
        window.window_start - window.notice_at < timedelta(hours=float(clause.min_notice_hours))
