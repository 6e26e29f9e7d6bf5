"""The instants at which the contract's clocks cross a threshold: what the SLA clock acts on.

The report (report.py) says what a month came to; this module says *when* each threshold is, or
will be, crossed, from the facts as recorded now. An interruption still open is taken to run on,
so every threshold it would reach has a definite instant; that instant holds unless the facts
change first (a restoration, another cause), and then the clock derives the events again.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Callable, Iterable

from desk.sla.incidents import CARRIER_LIKE, IncidentFacts, effective_cause, exempt_until
from desk.sla.intervals import union
from desk.sla.repair_deadline import repair_deadline_at
from desk.sla.terms import ContractTerms
from desk.sla.timeutil import month_bounds
from desk.sla.waivers import charged_bounds

# An open interruption's end: later than any instant the desk will ever compare it with.
ONGOING = datetime(9999, 1, 1, tzinfo=timezone.utc)


@dataclass(frozen=True)
class Crossing:
    """One threshold instant: `rule` day_waiver (R4) or period_waiver (R5), `level` warning or reached."""

    rule: str
    level: str
    at: datetime
    hours: Decimal       # the threshold (for a warning: the warning's own mark)
    since: datetime      # R4: start of the continuous interruption; R5: start of the local month
    month: str           # the local month the crossing belongs to (YYYY-MM)


def in_service_period(terms: ContractTerms, incident: IncidentFacts) -> bool:
    lo, hi = terms.service_period
    return lo <= incident.reported_at < hi


def strike_at(terms: ContractTerms, incident: IncidentFacts) -> datetime | None:
    """R2: the instant an incident becomes a strike, or None if, on the facts as recorded, it is not one.

    A carrier (or not yet attributed) interruption is a strike from its report; a third party's one
    only from the instant its repair deadline passed unrepaired (乙方未能及时处理故障, 六.(六)); a
    planned maintenance overrunning its window, from the window's end (七.(五)).
    """
    if not terms.has_strikes or incident.kind != "interruption" or not in_service_period(terms, incident):
        return None
    cause = effective_cause(terms, incident, ONGOING)
    if cause in CARRIER_LIKE:
        return _after_window(terms, incident, incident.reported_at)
    if cause == "third_party":
        return breach_at(terms, incident)
    return None


def breach_at(terms: ContractTerms, incident: IncidentFacts) -> datetime | None:
    """R1: the instant the repair deadline is missed (the report counts it from the instant after), or
    None if, on the facts as recorded, it is not: restored by then, exempt, or no such clause."""
    deadline = repair_deadline_at(terms, incident, ONGOING)
    if deadline is None:
        return None
    at = _after_window(terms, incident, deadline)
    return at if incident.restored_at is None or incident.restored_at > at else None


def _after_window(terms: ContractTerms, incident: IncidentFacts, at: datetime) -> datetime:
    """七.(五): a planned maintenance still open at its window's end is exempt up to that instant and
    the carrier's after it, so nothing of it falls due before; other incidents as they are."""
    until = exempt_until(terms, incident)
    return at if until is None or at >= until else until


Span = tuple[datetime, datetime, datetime | None]  # (start, end, counted after: None, or a window's end)


def _spans(terms: ContractTerms, incidents: Iterable[IncidentFacts]) -> list[Span]:
    """Qualifying interruptions (R4/R5) as intervals; an open one runs to ONGOING. A planned maintenance
    overrunning its window joins the report's union only after the window's end, but from its start (七.(五))."""
    spans = []
    for i in incidents:
        if i.kind != "interruption" or not in_service_period(terms, i):
            continue
        if effective_cause(terms, i, ONGOING) not in CARRIER_LIKE:
            continue
        end = i.restored_at or ONGOING
        spans.append((min(i.started_at, end), end, exempt_until(terms, i)))
    return spans


def _as_reported(terms: ContractTerms, spans: list[Span],
                 crossings_of: Callable[[list[tuple[datetime, datetime]]], list[Crossing]]) -> list[Crossing]:
    """Each crossing at the first instant the report can show it. Every overrunning maintenance's window
    end opens a new view of the union; a threshold already passed when its view opens is due at that
    instant, a warning already passed is not given."""
    views = sorted({after for _, _, after in spans if after is not None})
    found: dict[tuple, Crossing] = {}
    for lo, hi in zip([None, *views], [*views, None]):
        seen = [(s, e) for s, e, after in spans if after is None or (lo is not None and after <= lo)]
        for c in crossings_of(seen):
            if lo is not None and c.at < lo:
                if c.level == "warning":
                    continue  # passed while the maintenance was exempt: no warning, as for R1's
                c = replace(c, at=lo, month=_month(lo, terms) if c.rule == "day_waiver" else c.month)
            if hi is None or c.at < hi:
                found.setdefault((c.rule, c.level, c.since, c.month), c)
    return sorted(found.values(), key=lambda c: c.at)


def _month(at: datetime, terms: ContractTerms) -> str:
    return f"{at.astimezone(terms.tz):%Y-%m}"


def _marks(threshold, warning_hours) -> list[tuple[str, Decimal]]:
    """The threshold, and the warning mark before it when one is set below it."""
    marks = [("reached", Decimal(threshold))]
    if warning_hours is not None and Decimal(warning_hours) < Decimal(threshold):
        marks.append(("warning", Decimal(warning_hours)))
    return marks


def day_waiver_crossings(terms: ContractTerms, incidents: Iterable[IncidentFacts],
                         warning_hours: Decimal | None) -> list[Crossing]:
    """R4: each continuous interruption reaching the day-waiver threshold (and the warning before it).

    A crossing is listed if the interruption lasted, or while open would last, until that mark;
    the threshold is inclusive (exactly 3 h waives, spec §4).
    """
    clause = terms.outage_day_waiver
    if clause is None:
        return []
    marks = _marks(clause.min_continuous_hours, warning_hours)
    first, last = terms.service_period

    def crossings_of(spans):
        crossings = []
        for start, end in union(spans):
            if start >= last or end <= first:  # no day of it is charged, so none is waived (6.3)
                continue
            for level, mark in marks:
                at = start + timedelta(hours=float(mark))
                if at <= end:
                    crossings.append(Crossing("day_waiver", level, at, mark, start, _month(at, terms)))
        return crossings

    return _as_reported(terms, _spans(terms, incidents), crossings_of)


def period_waiver_crossings(terms: ContractTerms, incidents: Iterable[IncidentFacts], months: Iterable[tuple[int, int]],
                            warning_hours: Decimal | None) -> list[Crossing]:
    """R5: the instant a local month's cumulative outage reaches the threshold (and the warning mark).

    Cumulative outage is the union of qualifying intervals clipped to the month's part of the
    service period, as in the report.
    """
    clause = terms.outage_period_waiver
    if clause is None:
        return []
    marks = _marks(clause.min_monthly_hours, warning_hours)
    months = list(months)

    def crossings_of(spans):
        continuous = union(spans)
        crossings = []
        for year, month in months:
            since = month_bounds(year, month, terms.tz)[0]
            lo, hi = charged_bounds(terms, year, month)
            for level, mark in marks:
                needed = timedelta(hours=float(mark))
                elapsed = timedelta(0)
                for start, end in continuous:
                    s, e = max(start, lo), min(end, hi)
                    if s >= e:
                        continue
                    if elapsed + (e - s) >= needed:
                        at = s + (needed - elapsed)
                        crossings.append(Crossing("period_waiver", level, at, mark, since, f"{year:04d}-{month:02d}"))
                        break
                    elapsed += e - s
        return crossings

    return _as_reported(terms, _spans(terms, incidents), crossings_of)
