"""Bursts: many reports of one outage in a short time (a storm of hotline calls).

The desk does not merge them by itself — two units may really have two faults — but offers the
engineer one incident: the reports of a contract that arrived within DESK_BURST_MINUTES of each
other, to be merged into the first, so that 六.(六) counts the outage once, not every call.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import cache

from flask import current_app
from sqlalchemy import DateTime, String, bindparam, exists, func, select, type_coerce

from desk.extensions import db
from desk.models import Incident
from desk.models.incidents import OPEN_STATUSES, STATUSES


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
    if incident.status not in OPEN_STATUSES:
        return None
    return chain_of(incident.id, nearby_open(incident.contract_id, incident.reported_at))


def nearby_open(contract_id: int, at) -> list[tuple[int, object]]:
    """The contract's open incidents reported within a day of `at`, as (id, reported_at) pairs in
    report order: read as pairs, not as incidents, since in a storm every new report finds all the
    earlier ones open. Chained reports could reach further back; a day bounds the query, far
    beyond any window."""
    return [(incident_id, reported_at) for incident_id, reported_at, _ in _nearby_rows(contract_id, at)]


def _nearby_rows(contract_id: int, at) -> list[tuple[int, datetime, int | None]]:
    """nearby_open's rows with each report's stored burst head. The times are read as the database
    gives them and converted here in C (datetime.fromisoformat on SQLite's text), not by the column
    type's per-row processing, which cost several times more on a long storm's rows."""
    sqlite = db.session.get_bind().dialect.name == "sqlite"
    raw = type_coerce(Incident.reported_at, String if sqlite else DateTime(timezone=True))
    rows = db.session.execute(
        select(Incident.id, raw, Incident.burst_head_id)
        .where(Incident.contract_id == contract_id, Incident.status.in_(OPEN_STATUSES),
               Incident.reported_at >= at - timedelta(days=1), Incident.reported_at <= at + timedelta(days=1))
        .order_by(Incident.reported_at, Incident.id)
    )
    if not sqlite:
        return [tuple(row) for row in rows]
    parse, utc = datetime.fromisoformat, timezone.utc
    return [(incident_id, parse(text).replace(tzinfo=utc), head) for incident_id, text, head in rows]


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
    head_ticket_id: int | None = None  # the first ticket of the chain's first report
    strays: tuple[int, ...] = ()  # after a full read: open reports pointing at that first, not in its chain


def hint_for(contract_id: int, at: datetime) -> Hint:
    """The burst a new report at `at` joins, as chain_of defines it.

    In a storm every report finds all the earlier ones open, so reading the chain report by report
    makes the storm's n-th filing pay for the n − 1 before it. A report appended to the end of a
    chain instead follows its predecessor's stored head (_appended). Each report pointing at a head
    joined within the window of the head or of another such report; while none of them has closed,
    the chain they form is unbroken, and while no open report stands within the window before the
    head, it starts there. Anything else (a report filed back in time, a report of the chain closed
    since) reads the chain in full, and the filing points the chain's reports at its first again
    (services._rehead_burst), which makes the checks hold for the next.

    Another worker's report of the same storm, committed after this one's read, keeps the head it
    was given: it is in the chain, and clearing it would fail the next check, and the next."""
    quick = _appended(contract_id, at)
    if quick is not None:
        return quick
    rows = _nearby_rows(contract_id, at)
    nearby = [(incident_id, reported_at) for incident_id, reported_at, _ in rows]
    # The new report (id 0 here) comes after any existing report of the same instant.
    chain = chain_of(0, [p for p in nearby if p[1] <= at] + [(0, at)] + [p for p in nearby if p[1] > at])
    if chain is None:
        return Hint(None, 0, (), True)
    head, members = chain[0] or None, set(chain)
    # A closure that split the chain leaves reports beyond the break pointing at its first.
    strays = tuple(i for i, _, points_at in rows if head and points_at == head and i not in members)
    return Hint(head, len(chain) - 1, tuple(i for i in chain if i), True,
                first_ticket_id(head) if head else None, strays)


def _appended(contract_id: int, at: datetime) -> Hint | None:
    """The hint from the stored heads, or None when they cannot be trusted here. Two statements,
    each reading a few index entries however long the storm: the last report, and then whether a
    report pointing at its head has closed, whether an open report stands within the window before
    that head, and the reports pointing at it, counted up to COUNTED.

    The chain's last report may be a little later than the new one: another worker's report of
    the same storm, committed while this one was being read. The new report then falls inside the
    chain, which is as good as at its end."""
    gap = window()
    last_query, checks_query, later_query = _appended_queries()
    params = {"contract": contract_id, "since": at - gap, "until": at + gap, "beyond": at + gap + timedelta(days=1)}
    last = db.session.execute(last_query, params).first()
    if last is None:
        return None if db.session.execute(later_query, params).scalar() else Hint(None, 0, (), False)
    if last.later or last.status not in OPEN_STATUSES or last.head_at > at:
        return None  # a report beyond the window's reach after it, or the new report would come first
    checks = db.session.execute(checks_query, {"contract": contract_id, "head": last.id,
                                               "before": last.head_at - gap, "head_at": last.head_at}).one()
    if checks.closed or checks.before:
        return None
    return Hint(last.id, checks.pointing + 1, (), False, last.ticket)


# The SMS counts a chain's reports up to this many; the incident page shows them all.
COUNTED = 200


def counted(others: int) -> str:
    """How many reports the SMS says came before: "200余" (200-odd) past COUNTED."""
    return f"{others}" if others <= COUNTED else f"{COUNTED}余"
CLOSED = tuple(s for s in STATUSES if s not in OPEN_STATUSES)


@cache
def _appended_queries():
    """_appended's statements, built once: aliases of a table this wide cost more to build than
    to run. Of the tables' columns, not the mapped classes': plain statements skip the ORM's
    compile step on every filing."""
    from desk.models import Ticket

    incident, ticket = Incident.__table__.c, Ticket.__table__.c
    when = incident.reported_at.type
    contract, head_id = bindparam("contract"), bindparam("head")
    since, until = bindparam("since", type_=when), bindparam("until", type_=when)
    of_contract = (incident.contract_id == contract, incident.status.in_(OPEN_STATUSES))
    # Any open report after the window's reach, up to a day (the full read's bound): the chain
    # could reach it through the last report.
    later = exists().where(*of_contract, incident.reported_at > until,
                           incident.reported_at <= bindparam("beyond", type_=when))
    last = (
        select(incident.id, incident.reported_at, incident.burst_head_id)
        .where(*of_contract, incident.reported_at >= since, incident.reported_at <= until)
        .order_by(incident.reported_at.desc(), incident.id.desc()).limit(1).subquery()
    )
    head_table = Incident.__table__.alias("head")
    head = head_table.c
    last_query = (
        select(last.c.reported_at, later.label("later"), head.id, head.reported_at.label("head_at"), head.status,
               select(func.min(ticket.id)).where(ticket.incident_id == head.id).scalar_subquery().label("ticket"))
        .select_from(last)
        .join(head_table, head.id == func.coalesce(last.c.burst_head_id, last.c.id))
    )
    # A closure inside the chain may have broken it (the reports pointing at the head stay open
    # until a full read re-points them).
    closed = exists().where(incident.burst_head_id == head_id, incident.status.in_(CLOSED))
    # An open report within the window before the head, not pointing at it: the head is not the
    # chain's first (two reports filed at once, neither seeing the other, both start a chain).
    before = exists().where(*of_contract, incident.reported_at >= bindparam("before", type_=when),
                            incident.reported_at <= bindparam("head_at", type_=when), incident.id != head_id,
                            func.coalesce(incident.burst_head_id, 0) != head_id)
    pointing = select(incident.id).where(incident.burst_head_id == head_id).limit(COUNTED).subquery()
    checks_query = select(closed.label("closed"), before.label("before"),
                          select(func.count()).select_from(pointing).scalar_subquery().label("pointing"))
    return last_query, checks_query, select(later)


def first_ticket_id(incident_id: int) -> int | None:
    from desk.models import Ticket

    return db.session.execute(select(func.min(Ticket.id)).where(Ticket.incident_id == incident_id)).scalar()
