"""The monthly SLA report (spec §5), built from the rules."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Iterable

from desk.sla.incidents import REPORT_ORDER, IncidentFacts, PaymentFacts, require_aware
from desk.sla.repair_deadline import repair_deadline_met, repair_seconds
from desk.sla.strikes import strike_numbers, strike_penalty, termination_right
from desk.sla.terms import ContractTerms
from desk.sla.timeutil import hours, iso, month_bounds
from desk.sla.waivers import (
    charged_bounds, continuous_interruptions, day_waivers, month_outage_seconds, period_waiver, qualifying_outages,
)

ZERO = Decimal("0.00")


def counted_incidents(terms: ContractTerms, incidents: Iterable[IncidentFacts], as_of: datetime) -> list[IncidentFacts]:
    """Incidents known at as_of whose report falls inside the service period (spec §2)."""
    lo, hi = terms.service_period
    known = [i for i in incidents if lo <= i.reported_at < hi and i.reported_at <= as_of]
    known.sort(key=REPORT_ORDER)
    return known


def build_report(terms: ContractTerms, incidents: Iterable[IncidentFacts], payments: Iterable[PaymentFacts],
                 year: int, month: int, as_of: datetime, *, frozen: bool = False) -> dict:
    require_aware(as_of, "as_of")
    payments = list(payments)
    known = counted_incidents(terms, incidents, as_of)
    month_start, month_end = month_bounds(year, month, terms.tz)
    in_month = [i for i in known if month_start <= i.reported_at < month_end]

    strikes = strike_numbers(terms, known, as_of)
    penalty = strike_penalty(terms)
    outages = qualifying_outages(terms, known, as_of)
    continuous = continuous_interruptions(outages)  # one union for R4 and R5
    # The union above measures each continuous interruption over all the outages; only those that
    # overlap the month inside the service period can weigh on its cards and seconds (6.3).
    charged_start, charged_end = charged_bounds(terms, year, month)
    outages = [o for o in outages if o.start < charged_end and o.end > charged_start]
    days = day_waivers(terms, outages, year, month, continuous)
    period = period_waiver(terms, outages, year, month, [d for d, _ in days], continuous)
    outage_seconds = month_outage_seconds(outages, year, month, terms, continuous)
    right = termination_right(terms, len(strikes), payments, as_of)

    rows, met, missed, penalties, strikes_in_month = [], 0, 0, ZERO, 0
    for i in in_month:
        deadline_met = repair_deadline_met(terms, i, as_of)
        met += deadline_met is True
        missed += deadline_met is False
        number = strikes.get(i.id)
        item_penalty = penalty if number is not None else ZERO
        strikes_in_month += number is not None
        penalties += item_penalty
        repair = repair_seconds(i, as_of)
        rows.append({
            "id": i.id, "external_id": i.external_id, "reported_at": iso(i.reported_at),
            "started_at": iso(i.started_at), "restored_at": iso(i.restored_by(as_of)), "kind": i.kind,
            "cause": i.cause, "cause_confirmed": i.cause_confirmed, "affected_cards": i.affected_cards,
            "repair_deadline_met": deadline_met, "repair_hours": None if repair is None else str(hours(repair)),
            "strike_number": number, "penalty": str(item_penalty),
        })

    day_total = sum((a for _, a in days), ZERO)
    month_over = as_of >= month_end
    # Figures stay provisional until the month is over and every cause behind them is agreed (spec §2).
    unsettled = any(_contributes(i, strikes, (month_start, month_end), (charged_start, charged_end), as_of)
                    for i in known if not i.cause_confirmed or i.cause == "undetermined")
    return {
        "contract": terms.code, "month": f"{year:04d}-{month:02d}", "timezone": terms.timezone,
        "as_of": iso(as_of), "final": bool(frozen and month_over), "provisional": (not month_over) or unsettled,
        "incidents": rows,
        "totals": {
            "incidents": len(rows),
            "interruptions": sum(1 for i in in_month if i.kind == "interruption"),
            "repair_deadline_met": met,
            "repair_deadline_missed": missed,
            "outage_hours": str(hours(Decimal(str(outage_seconds)))),
            "strikes_in_month": strikes_in_month,
            "penalties": str(penalties),
            "day_waivers": [{"date": d.isoformat(), "amount": str(a)} for d, a in days],
            "day_waiver_total": str(day_total),
            "period_waiver_total": str(period),
            "waiver_total": str(day_total + period),
            "strikes_to_date": len(strikes),
            "termination_right": right.stands,
            "termination_refund": str(right.refund),
            "termination_penalty": str(right.penalty),
        },
    }


def _contributes(incident: IncidentFacts, strikes: dict[int, int], month: tuple[datetime, datetime],
                 charged: tuple[datetime, datetime], as_of: datetime) -> bool:
    """Whether an incident weighs on the month's figures: a strike to date, reported in the month, or
    an interruption overlapping the month's part of the service period (`charged`)."""
    return (incident.id in strikes or month[0] <= incident.reported_at < month[1]
            or (incident.kind == "interruption" and charged[0] < charged[1] and incident.started_at < charged[1]
                and (incident.restored_by(as_of) or as_of) > charged[0]))
