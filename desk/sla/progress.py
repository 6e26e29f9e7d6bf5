"""How far one incident has come toward a rule's threshold, for the incident page.

R4 (6.3) waives a day's fee once a continuous interruption lasts the contract's minimum hours;
the page shows the continuous interruption an incident belongs to, as it stands at as_of.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from desk.sla.incidents import IncidentFacts, MaintenanceWindow
from desk.sla.report import counted_incidents
from desk.sla.terms import ContractTerms
from desk.sla.timeutil import hours
from desk.sla.waivers import continuous_interruptions, qualifying_outages


def continuous_interruption_hours(terms: ContractTerms, incidents: list[IncidentFacts], incident_id: int,
                                  as_of: datetime) -> str | None:
    """Hours ("h.hh") of the continuous interruption the incident is part of: the union of the
    qualifying intervals that overlap or touch it, as the report forms it (R4). None where the
    incident does not qualify."""
    known = counted_incidents(terms, incidents, as_of)
    target = next((i for i in known if i.id == incident_id), None)
    own = qualifying_outages(terms, [target], as_of) if target is not None else []
    if not own:
        return None
    start, end = own[0].start, own[0].end
    for s, e in continuous_interruptions(qualifying_outages(terms, known, as_of)):
        if s <= start and end <= e:
            return str(hours((e - s).total_seconds()))
    return str(hours((end - start).total_seconds()))


def notice_too_short(terms: ContractTerms, window: MaintenanceWindow) -> bool:
    """七.(五): a window announced with less than the minimum notice exempts nothing."""
    clause = terms.planned_maintenance
    return clause is not None and \
        window.window_start - window.notice_at < timedelta(hours=float(clause.min_notice_hours))
