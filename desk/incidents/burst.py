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
    if incident.status not in OPEN:
        return None
    gap = window()
    # Chained reports could reach further back; a day bounds the query, far beyond any window.
    nearby = list(db.session.execute(
        select(Incident).where(Incident.contract_id == incident.contract_id, Incident.status.in_(OPEN),
                               Incident.reported_at >= incident.reported_at - timedelta(days=1),
                               Incident.reported_at <= incident.reported_at + timedelta(days=1))
        .order_by(Incident.reported_at, Incident.id)
    ).scalars())
    cluster: list[Incident] = []
    for candidate in nearby:
        if cluster and candidate.reported_at - cluster[-1].reported_at > gap:
            if any(c.id == incident.id for c in cluster):
                break
            cluster = []
        cluster.append(candidate)
    if len(cluster) < 2 or not any(c.id == incident.id for c in cluster):
        return None
    return Burst(survivor=cluster[0], duplicates=cluster[1:], minutes=int(gap.total_seconds() // 60))
