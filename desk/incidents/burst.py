"""Bursts: many reports of one outage in a short time (a storm of hotline calls).

The desk does not merge them by itself — two units may really have two faults — but offers the
engineer one incident: the reports of a contract that arrived within DESK_BURST_MINUTES of each
other, to be merged into the first, so that 六.(六) counts the outage once, not every call.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import select

from desk.extensions import db
from desk.models import Incident

OPEN = ("open", "acknowledged")


@dataclass(frozen=True)
class Burst:
    survivor: Incident          # the first report: the repair clock runs from it
    duplicates: list[Incident]  # the others, to be merged into it
    minutes: int

    def __contains__(self, incident: Incident) -> bool:
        return incident.id == self.survivor.id or any(d.id == incident.id for d in self.duplicates)


def window() -> timedelta:
    return timedelta(minutes=current_app.config.get("DESK_BURST_MINUTES", 30))


def burst_of(incident: Incident) -> Burst | None:
    """The open incidents of the incident's contract reported in a chain of reports each within
    the window of the next, this one among them; None when it stands alone."""
    ids = _chain(incident)
    if ids is None:
        return None
    loaded = {i.id: i for i in db.session.execute(select(Incident).where(Incident.id.in_(ids))).scalars()}
    return Burst(survivor=loaded[ids[0]], duplicates=[loaded[i] for i in ids[1:]],
                 minutes=int(window().total_seconds() // 60))


def _chain(incident: Incident) -> list[int] | None:
    """The ids of the chain, in report order, or None when the incident stands alone."""
    if incident.status not in OPEN:
        return None
    return chain_of(incident.id, nearby_open(incident.contract_id, incident.reported_at))


def nearby_open(contract_id: int, at) -> list[tuple[int, object]]:
    """The contract's open incidents reported within a day of `at`, as (id, reported_at) pairs in
    report order: read as pairs, not as incidents, since in a storm every new report finds all the
    earlier ones open. Chained reports could reach further back; a day bounds the query, far
    beyond any window."""
    return [tuple(row) for row in db.session.execute(
        select(Incident.id, Incident.reported_at)
        .where(Incident.contract_id == contract_id, Incident.status.in_(OPEN),
               Incident.reported_at >= at - timedelta(days=1), Incident.reported_at <= at + timedelta(days=1))
        .order_by(Incident.reported_at, Incident.id)
    ).all()]


def chain_of(incident_id: int, nearby: list[tuple[int, object]]) -> list[int] | None:
    """The chain among `nearby` (in report order) that holds the incident: reports each within the
    window of the next. None when the incident stands alone."""
    gap = window()
    cluster: list[tuple[int, object]] = []
    for candidate_id, reported_at in nearby:
        if cluster and reported_at - cluster[-1][1] > gap:
            if any(c[0] == incident_id for c in cluster):
                break
            cluster = []
        cluster.append((candidate_id, reported_at))
    if len(cluster) < 2 or not any(c[0] == incident_id for c in cluster):
        return None
    return [c[0] for c in cluster]


def first_ticket_id(incident_id: int) -> int | None:
    from sqlalchemy import func

    from desk.models import Ticket

    return db.session.execute(select(func.min(Ticket.id)).where(Ticket.incident_id == incident_id)).scalar()
