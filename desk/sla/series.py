"""Chart series for the monthly report, from the same rules as its figures."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Iterable

from desk.sla.incidents import IncidentFacts
from desk.sla.intervals import clip, seconds
from desk.sla.report import counted_incidents
from desk.sla.strikes import strike_numbers
from desk.sla.terms import ContractTerms
from desk.sla.timeutil import hours, local_midnight, month_bounds
from desk.sla.waivers import charged_bounds, continuous_interruptions, qualifying_outages


def outage_series(terms: ContractTerms, incidents: Iterable[IncidentFacts], year: int, month: int,
                  as_of: datetime) -> tuple[list[tuple[date, Decimal]], list[tuple[datetime, Decimal]]]:
    """(qualifying outage hours per local day, cumulative outage hours at each change) for the month."""
    known = counted_incidents(terms, incidents, as_of)
    lo, hi = month_bounds(year, month, terms.tz)
    charged = charged_bounds(terms, year, month)  # as the report's outage hours: the service period's only
    spans = clip(continuous_interruptions(qualifying_outages(terms, known, as_of)), *charged) \
        if charged[0] < charged[1] else []
    daily = []
    day = lo.astimezone(terms.tz).date()
    while local_midnight(day, terms.tz) < hi:
        d0, d1 = local_midnight(day, terms.tz), local_midnight(day + timedelta(days=1), terms.tz)
        daily.append((day, hours(Decimal(str(seconds(clip(spans, d0, d1)))))))
        day += timedelta(days=1)
    curve, total = [(lo, Decimal("0.00"))], 0.0
    for start, end in spans:
        curve.append((start, hours(Decimal(str(total)))))
        total += (end - start).total_seconds()
        curve.append((end, hours(Decimal(str(total)))))
    curve.append((min(hi, max(as_of, lo)), hours(Decimal(str(total)))))
    return daily, curve


def strikes_timeline(terms: ContractTerms, incidents: Iterable[IncidentFacts],
                     as_of: datetime) -> list[tuple[datetime, int, bool]]:
    """(reported_at, strike number, provisional) for every strike of the service period to date."""
    known = counted_incidents(terms, incidents, as_of)
    by_id = {i.id: i for i in known}
    numbers = strike_numbers(terms, known, as_of)
    return [(by_id[i].reported_at, n, not by_id[i].cause_confirmed or by_id[i].cause == "undetermined")
            for i, n in sorted(numbers.items(), key=lambda kv: kv[1])]
