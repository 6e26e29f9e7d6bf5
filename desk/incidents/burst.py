"""Bursts: many reports of one outage in a short time (a storm of hotline calls).

The desk does not merge them by itself — two units may really have two faults — but offers the
engineer one incident: the reports of a contract that arrived within DESK_BURST_MINUTES of each
other, to be merged into the first, so that 六.(六) counts the outage once, not every call.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from datetime import datetime, timedelta, timezone

from flask import current_app
from sqlalchemy import DateTime, String, bindparam, exists, func, select, type_coerce

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
    beyond any window.

    At the end of a 5,000-report storm that is 5,000 rows for every new report, so the times are
    read as the database gives them and converted here in C (datetime.fromisoformat on SQLite's
    text), not by the column type's per-row processing, which cost several times more."""
    sqlite = db.session.get_bind().dialect.name == "sqlite"
    raw = type_coerce(Incident.reported_at, String if sqlite else DateTime(timezone=True))
    rows = db.session.execute(
        select(Incident.id, raw)
        .where(Incident.contract_id == contract_id, Incident.status.in_(OPEN),
               Incident.reported_at >= at - timedelta(days=1), Incident.reported_at <= at + timedelta(days=1))
        .order_by(Incident.reported_at, Incident.id)
    )
    if not sqlite:
        return list(rows)
    parse, utc = datetime.fromisoformat, timezone.utc
    return [(incident_id, parse(text).replace(tzinfo=utc)) for incident_id, text in rows]


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


@dataclass(frozen=True)
class Hint:
    """What a new report's SMS says of its burst, and what the report stores for the next one."""

    head_id: int | None      # the chain's first report, when the new one joins a chain it does not start
    others: int              # the open reports already in its chain
    chain: tuple[int, ...]   # after a full read: the chain's existing reports, to point at its first again
    full_read: bool          # whether the chain had to be read report by report
    head_ticket_id: int | None = None  # the first ticket of the chain's first report, when known


def hint_for(contract_id: int, at: datetime) -> Hint:
    """The burst a new report at `at` joins, as chain_of defines it.

    In a storm every report finds all the earlier ones open, so reading the chain report by report
    makes the storm's n-th filing pay for the n − 1 before it. A report appended to the end of a
    chain instead follows its predecessor's stored head, and trusts it only when the open reports
    from a window before that head to the predecessor are exactly the head and the reports pointing
    at it, all still open: each of those joined within the window of one of them, so the chain is
    unbroken and starts there. Anything else (a report filed back in time, a report of the chain
    closed since) reads the chain in full, and the filing points the chain's reports, and only
    them, at its first again (services._rehead_burst), which makes the check hold for the next."""
    quick = _appended(contract_id, at)
    if quick is not None:
        return quick
    nearby = nearby_open(contract_id, at)
    # The new report (id 0 here) comes after any existing report of the same instant.
    chain = chain_of(0, [p for p in nearby if p[1] <= at] + [(0, at)] + [p for p in nearby if p[1] > at])
    if chain is None:
        return Hint(None, 0, (), True)
    return Hint(chain[0] or None, len(chain) - 1, tuple(i for i in chain if i), True)


def _appended(contract_id: int, at: datetime) -> Hint | None:
    """The hint from the stored heads, or None when they cannot be trusted here. Two indexed
    reads in a storm, whatever its length: the counts run inside the database."""
    gap = window()
    found_query, later_query, in_reach_query = _appended_queries()
    params = {"contract": contract_id, "at": at, "since": at - gap, "until": at + gap}
    found = db.session.execute(found_query, params).first()
    if found is None:
        return None if db.session.execute(later_query, params).scalar() else Hint(None, 0, (), False)
    if found.later or found.status not in OPEN or found.pointing != found.pointing_open:
        return None
    in_reach = db.session.execute(in_reach_query, {"contract": contract_id, "since": found.head_at - gap,
                                                   "at": found.reported_at}).scalar()
    if in_reach != found.pointing_open + 1:
        return None
    return Hint(found.id, in_reach, (), False, found.ticket)


@cache
def _appended_queries():
    """_appended's statements, built once: aliases of a table this wide cost more to build than
    to run."""
    from sqlalchemy.orm import aliased

    from desk.models import Ticket

    contract, at = bindparam("contract"), bindparam("at", type_=Incident.reported_at.type)
    since, until = bindparam("since", type_=Incident.reported_at.type), bindparam("until", type_=Incident.reported_at.type)
    of_contract = (Incident.contract_id == contract, Incident.status.in_(OPEN))
    later = exists().where(*of_contract, Incident.reported_at > at, Incident.reported_at <= until)
    previous = (
        select(Incident.id, Incident.reported_at, Incident.burst_head_id)
        .where(*of_contract, Incident.reported_at >= since, Incident.reported_at <= at)
        .order_by(Incident.reported_at.desc(), Incident.id.desc()).limit(1).subquery()
    )
    head, member = aliased(Incident), aliased(Incident)
    pointing = select(func.count()).where(member.burst_head_id == head.id)
    found = (
        select(previous.c.reported_at, later.label("later"), head.id, head.reported_at.label("head_at"),
               head.status, pointing.scalar_subquery().label("pointing"),
               pointing.where(member.status.in_(OPEN)).scalar_subquery().label("pointing_open"),
               select(func.min(Ticket.id)).where(Ticket.incident_id == head.id).scalar_subquery().label("ticket"))
        .select_from(previous)
        .join(head, head.id == func.coalesce(previous.c.burst_head_id, previous.c.id))
    )
    in_reach = select(func.count()).where(*of_contract, Incident.reported_at >= since, Incident.reported_at <= at)
    return found, select(later), in_reach


def first_ticket_id(incident_id: int) -> int | None:
    from desk.models import Ticket

    return db.session.execute(select(func.min(Ticket.id)).where(Ticket.incident_id == incident_id)).scalar()
