"""R4 day waivers and R5 the period waiver (6.3)."""
from __future__ import annotations

import heapq
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Iterable, NamedTuple

from desk.sla.incidents import CARRIER_LIKE, IncidentFacts, effective_cause
from desk.sla.intervals import clip, seconds, union
from desk.sla.terms import ContractTerms
from desk.sla.timeutil import days_in_month, local_days, local_midnight, money_share, month_bounds

MICROSECOND = timedelta(microseconds=1)
MICROSECONDS_A_DAY = 86_400_000_000


class Outage(NamedTuple):
    """One qualifying interval: a carrier-side interruption as known at as_of.

    A named tuple, not a dataclass: a report builds one per interruption of the service period
    (100,000 of them in the benchmark), and a tuple is several times cheaper to make.
    """

    start: datetime
    end: datetime
    cards: int


def qualifying_outages(terms: ContractTerms, incidents: Iterable[IncidentFacts], as_of: datetime) -> list[Outage]:
    """Interruptions whose effective cause is the carrier's, from started_at to restoration (or as_of)."""
    # Written out for speed: a report runs this over every incident of the service period.
    result, cards = [], terms.cards
    for i in incidents:
        if i.kind != "interruption" or i.reported_at > as_of:
            continue
        cause = i.cause
        if cause == "planned_maintenance":  # the only cause whose effect needs the terms (七.(五))
            cause = effective_cause(terms, i, as_of)
        if cause not in CARRIER_LIKE:
            continue
        end = i.restored_at
        if end is None or end > as_of:  # i.restored_by(as_of), not yet restored
            end = as_of
        start = i.started_at
        result.append(Outage(start if start < end else end, end,
                             i.affected_cards if i.affected_cards < cards else cards))
    return result


def continuous_interruptions(outages: Iterable[Outage]) -> list[tuple[datetime, datetime]]:
    return union((o.start, o.end) for o in outages)


Spans = list[tuple[datetime, datetime]]


def charged_bounds(terms: ContractTerms, year: int, month: int) -> tuple[datetime, datetime]:
    """The local month's part of the service period, [lo, hi): fees are charged there only, so only
    there can they be waived (6.3). Empty (lo >= hi) for a month outside the period."""
    lo, hi = month_bounds(year, month, terms.tz)
    first, last = terms.service_period
    return max(lo, first), min(hi, last)


def month_outage_seconds(outages: Iterable[Outage], year: int, month: int, terms: ContractTerms,
                         continuous: Spans | None = None) -> float:
    """R5's cumulative figure: the union of qualifying intervals clipped to the local month, within
    the service period.

    `continuous` is that union when the caller has it already (a report needs it three times). With
    it, `outages` need hold only those overlapping the month, here and in the waivers below: an
    interruption's length is the union's, and only the month's outages weigh on its cards.
    """
    lo, hi = charged_bounds(terms, year, month)
    if lo >= hi:
        return 0.0
    return seconds(clip(continuous_interruptions(outages) if continuous is None else continuous, lo, hi))


def day_waivers(terms: ContractTerms, outages: list[Outage], year: int, month: int,
                continuous: Spans | None = None) -> list[tuple[date, Decimal]]:
    """Every local day of the month, within the service period, overlapped by a continuous
    interruption of ≥ N hours. The interruption's length is its whole length, even where it runs
    outside the period (spec R4); only the days inside the period are waived."""
    clause = terms.outage_day_waiver
    lo, hi = charged_bounds(terms, year, month)
    if clause is None or terms.monthly_fee is None or lo >= hi:
        return []
    tz = terms.tz
    threshold = timedelta(hours=float(clause.min_continuous_hours))
    days: set[date] = set()
    for start, end in continuous_interruptions(outages) if continuous is None else continuous:
        if end - start >= threshold and start < hi and end > lo:
            s, e = max(start, lo), min(end, hi)
            days.update(local_days(s, e, tz))
    if not days:
        return []
    cards = _most_cards_per_day(outages, days, tz)
    # Day fee = monthly fee ÷ cards ÷ days × affected cards, one exact quotient per line item (6.3).
    card_days = terms.cards * days_in_month(year, month)
    return [(day, money_share(terms.monthly_fee, min(cards[day], terms.cards), card_days)) for day in sorted(days)]


def _most_cards_per_day(outages: list[Outage], days: set[date], tz) -> dict[date, int]:
    """The largest card count among the outages overlapping each of `days` (an outage overlaps a
    local day when it starts before the day ends and ends after it begins).

    One pass over the outages, visiting only the days each one spans within `days`' range,
    instead of scanning every outage for every day.
    """
    first_day, last_day = min(days), max(days)
    lo, hi = local_midnight(first_day, tz), local_midnight(last_day + timedelta(days=1), tz)
    most: dict[date, int] = {}
    for o in outages:
        if o.start >= hi or o.end <= lo:  # overlaps none of the days
            continue
        first = max(o.start.astimezone(tz).date(), first_day)
        last = min((o.end - timedelta(microseconds=1)).astimezone(tz).date(), last_day)
        day = first
        while day <= last:
            if day in days and o.cards > most.get(day, 0):
                most[day] = o.cards
            day += timedelta(days=1)
    return most


def _card_microseconds(outages: list[Outage], lo: datetime, hi: datetime, skip_days: set[date], tz) -> int:
    """∫ (largest card count among outages covering t) dt over [lo, hi), skipping waived days, in
    card-microseconds: an exact integer, the instants' own resolution."""
    points: list[tuple[datetime, int, int]] = []  # (instant, +1 start / -1 end, cards)
    for o in outages:
        s, e = max(o.start, lo), min(o.end, hi)
        if s < e:
            points.append((s, 1, o.cards))
            points.append((e, -1, o.cards))
    if not points:
        return 0
    day = lo.astimezone(tz).date()
    while local_midnight(day, tz) < hi:  # day boundaries split the sweep so waived days drop out
        points.append((local_midnight(day, tz), 0, 0))
        day += timedelta(days=1)
    points.sort(key=lambda p: p[0])
    active: list[int] = []  # max-heap of card counts (negated), lazy deletion
    removed: dict[int, int] = {}
    total = 0
    prev = None
    for instant, kind, cards in points:
        if prev is not None and instant > prev:
            while active and removed.get(-active[0], 0):
                removed[-active[0]] -= 1
                heapq.heappop(active)
            if active and prev.astimezone(tz).date() not in skip_days:
                total += -active[0] * ((instant - prev) // MICROSECOND)
        if kind == 1:
            heapq.heappush(active, -cards)
        elif kind == -1:
            removed[cards] = removed.get(cards, 0) + 1
        prev = instant
    return total


def period_waiver(terms: ContractTerms, outages: list[Outage], year: int, month: int,
                  waived_days: Iterable[date], continuous: Spans | None = None) -> Decimal:
    """≥ N hours of outage in the month: the fees of the interrupted period, except days already waived."""
    clause = terms.outage_period_waiver
    if clause is None or terms.monthly_fee is None:
        return Decimal("0.00")
    if month_outage_seconds(outages, year, month, terms, continuous) < float(clause.min_monthly_hours) * 3600:
        return Decimal("0.00")
    lo, hi = charged_bounds(terms, year, month)  # not empty: the month has outage seconds
    card_microseconds = _card_microseconds(outages, lo, hi, set(waived_days), terms.tz)
    # The exact sum, rounded once (spec R5): monthly fee × card-time ÷ (cards × the month's length).
    return money_share(terms.monthly_fee, card_microseconds,
                       terms.cards * days_in_month(year, month) * MICROSECONDS_A_DAY)
