"""Assembling the monthly SLA report (spec §5) from the database and the engine."""
from __future__ import annotations

import json
import re
from datetime import datetime
from decimal import Decimal

from sqlalchemy import and_, or_, select

from desk.contracts.services import get_contract
from desk.errors import ValidationFailed
from desk.extensions import db
from desk.models import Contract, FrozenReport, Incident, MaintenanceNotice, Payment, TerminationDecision, utcnow
from desk.sla.incidents import IncidentFacts, MaintenanceWindow, PaymentFacts
from desk.reports.csv_report import render_csv
from desk.reports.hashing import report_hash
from desk.reports.meta import Decision
from desk.reports.meta import Payment as MetaPayment
from desk.reports.meta import ReportMeta
from desk.reports.pdf_report import render_pdf
from desk.reports.xlsx_report import render_xlsx
from desk.sla.report import build_report, counted_incidents
from desk.sla.series import outage_series, strikes_timeline
from desk.sla.timeutil import local_month, month_bounds
from desk.sla.waivers import month_outage_seconds, qualifying_outages

MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
# Every caller takes the month's bounds as instants (month_bounds, month_range): year 0 is no date, and
# 9999-12 ends in year 10000. These years keep both ends, shifted by any time zone, inside the calendar.
YEARS = range(1970, 9999)


def parse_month(text: str) -> tuple[int, int]:
    match = MONTH.match(text or "")
    if not match:
        raise ValidationFailed(f"month: {text!r} is not of the form YYYY-MM")
    year, month = int(match.group(1)), int(match.group(2))
    if year not in YEARS:
        raise ValidationFailed(f"month: must be from {YEARS[0]}-01 to {YEARS[-1]}-12")
    return year, month


def incident_facts(contract: Contract, as_of: datetime) -> list[IncidentFacts]:
    """Every incident of the contract reported up to as_of (merged duplicates excluded)."""
    return incident_facts_where(contract, Incident.reported_at <= as_of)


def incident_facts_where(contract: Contract, *conditions) -> list[IncidentFacts]:
    """The contract's incidents (merged duplicates excluded) that meet the conditions, as engine facts."""
    rows = db.session.execute(
        select(
            Incident.id, Incident.external_id, Incident.reported_at, Incident.started_at,
            Incident.restored_at, Incident.kind, Incident.cause, Incident.cause_confirmed,
            Incident.affected_cards, MaintenanceNotice.notice_at, MaintenanceNotice.window_start,
            MaintenanceNotice.window_end,
        )
        .outerjoin(MaintenanceNotice, MaintenanceNotice.id == Incident.maintenance_notice_id)
        .where(Incident.contract_id == contract.id, Incident.status != "merged", *conditions)
        .order_by(Incident.reported_at, Incident.id)
    )
    return [
        IncidentFacts(
            id=r[0], external_id=r[1], reported_at=r[2], started_at=r[3], restored_at=r[4], kind=r[5],
            cause=r[6], cause_confirmed=r[7], affected_cards=r[8],
            maintenance=MaintenanceWindow(r[9], r[10], r[11]) if r[9] is not None else None,
        )
        for r in rows
    ]


def payment_facts(contract: Contract, as_of: datetime) -> list[PaymentFacts]:
    rows = db.session.execute(
        select(Payment.paid_at, Payment.amount)
        .where(Payment.contract_id == contract.id, Payment.paid_at <= as_of)
        .order_by(Payment.paid_at)
    )
    return [PaymentFacts(paid_at=r[0], amount=r[1]) for r in rows]


def frozen_report(contract: Contract, month: str) -> FrozenReport | None:
    return db.session.execute(
        select(FrozenReport).where(FrozenReport.contract_id == contract.id, FrozenReport.month == month)
    ).scalar_one_or_none()


def monthly_report(code: str, month: str, as_of: datetime | None = None) -> dict:
    """The report of spec §5. A frozen month, asked without as_of, is the stored document exactly."""
    year, mon = parse_month(month)
    contract = get_contract(code)
    if as_of is None:
        frozen = frozen_report(contract, month)
        if frozen is not None:
            return json.loads(frozen.report_json)
        as_of = utcnow()
    elif as_of.tzinfo is None:
        raise ValidationFailed("as_of must carry a time zone offset")
    return build_report(
        contract.terms(), incident_facts(contract, as_of), payment_facts(contract, as_of), year, mon, as_of,
        frozen=frozen_report(contract, month) is not None,
    )


ADJUSTED_TOTALS = ("penalties", "day_waiver_total", "period_waiver_total")


def report_adjustments(code: str, month: str, as_of: datetime | None = None) -> list[dict]:
    """Corrections to frozen earlier months, stated in this month's report.

    A frozen month stays as signed; if its figures have moved since (a fact behind it changed, or
    one learned or arising after its end: a restoration, a deadline passing), the difference between
    its figures as known at this report's as_of (default now) and what was signed, less what earlier
    reports already stated, is listed here, once.
    """
    year, mon = parse_month(month)
    contract = get_contract(code)
    terms = contract.terms()
    # Never earlier than this month's start: an earlier instant would take back what was stated.
    as_of = max(as_of or utcnow(), month_bounds(year, mon, terms.tz)[0])
    earlier = db.session.execute(
        select(FrozenReport).where(FrozenReport.contract_id == contract.id, FrozenReport.month < month)
        .order_by(FrozenReport.month)
    ).scalars().all()
    stated: dict[tuple[str, str], Decimal] = {}
    for frozen in earlier:
        for row in json.loads(frozen.adjustments_json or "[]"):
            key = (row["month"], row["item"])
            stated[key] = stated.get(key, Decimal(0)) + Decimal(row["difference"])
    unsettled = _unsettled_months(contract, [f.month for f in earlier if f.corrected_at is None])
    facts = None
    rows = []
    for frozen in earlier:
        if frozen.corrected_at is None and frozen.month not in unsettled:
            continue
        if facts is None:  # one as_of for every month: the facts are read once
            facts = incident_facts(contract, as_of), payment_facts(contract, as_of)
        f_year, f_mon = parse_month(frozen.month)
        signed = json.loads(frozen.report_json)
        now = build_report(terms, *facts, f_year, f_mon, as_of)
        for item in ADJUSTED_TOTALS:
            before = Decimal(signed["totals"][item]) + stated.get((frozen.month, item), Decimal(0))
            after = Decimal(now["totals"][item])
            if after != before:
                rows.append({"month": frozen.month, "item": item, "frozen": str(before), "now": str(after),
                             "difference": str(after - before)})
    return rows


def _unsettled_months(contract: Contract, months: list[str]) -> set[str]:
    """The months, of those given, whose figures could move after their end with no write after the
    freeze: an incident had begun by the month's end (its signed as_of) but was open then, or was
    reported only after it (entered before the freeze at 00:10). Time alone changes such a month: a
    continuous interruption reaches 3 h after month end (6.3, R4), a third party's repair deadline
    passes after it (四.(三), 六.(六), R2). Writes after the freeze mark their months
    (mark_corrections). One query for all the months: the few incidents it returns are checked here.
    """
    if not months:
        return set()
    tz = contract.terms().tz
    ends = {month: month_bounds(*parse_month(month), tz)[1] for month in months}
    rows = db.session.execute(
        select(Incident.started_at, Incident.restored_at, Incident.reported_at).where(
            Incident.contract_id == contract.id, Incident.status != "merged",
            or_(*(and_(Incident.started_at <= end, or_(Incident.restored_at.is_(None), Incident.restored_at > end,
                                                       Incident.reported_at > end))
                  for end in ends.values())),
        )
    ).all()
    return {month for month, end in ends.items()
            if any(started <= end and (restored is None or restored > end or reported > end)
                   for started, restored, reported in rows)}


def mark_corrections(contract_id: int, instants: list[datetime]) -> None:
    """A fact changed that a frozen month's figures rest on: mark those months for adjustment."""
    from desk.sla.timeutil import months_between

    contract = db.session.get(Contract, contract_id)
    tz = contract.terms().tz
    months = months_between(min(instants), max(instants), tz)
    if months[0] >= "%04d-%02d" % local_month(utcnow(), tz):
        return  # a month is frozen only after it ends: this month and later have nothing to mark
    db.session.execute(
        FrozenReport.__table__.update()
        .where(FrozenReport.contract_id == contract_id, FrozenReport.month.in_(months),
               FrozenReport.corrected_at.is_(None))
        .values(corrected_at=utcnow())
    )


def report_meta(contract: Contract, report: dict, lang: str = "zh") -> ReportMeta:
    """The renderers' view of a contract and month: its words, thresholds, payments and chart series.

    The stored document of a frozen month renders from what was stored with it: a payment dated
    before its end, a cause corrected or the contract edited after the freeze changes the next
    report's adjustments, never the signed month's PDF, XLSX or CSV.
    """
    frozen = frozen_report(contract, report["month"])
    if frozen is not None and frozen.meta_json and frozen.report_hash == report_hash(report):
        return ReportMeta.from_snapshot(json.loads(frozen.meta_json), lang=lang,
                                        adjustments=json.loads(frozen.adjustments_json or "[]"))
    return meta_as_of(contract, report, _stated_adjustments(contract, report), lang)


def meta_as_of(contract: Contract, report: dict, adjustments: list[dict], lang: str = "zh") -> ReportMeta:
    """The meta read from the database at the report's as_of."""
    terms = contract.terms()
    as_of = datetime.fromisoformat(report["as_of"])
    year, mon = parse_month(report["month"])
    incidents = incident_facts(contract, as_of)
    daily, curve = outage_series(terms, incidents, year, mon, as_of)
    payments = db.session.execute(
        select(Payment.paid_at, Payment.amount, Payment.note)
        .where(Payment.contract_id == contract.id, Payment.paid_at <= as_of).order_by(Payment.paid_at)
    ).all()
    return ReportMeta(
        contract=contract.code, title=contract.title, customer=contract.customer, carrier=contract.carrier,
        cards=contract.cards, total_amount=contract.total_amount, generated_at=as_of,
        monthly_fee=contract.monthly_fee, timezone=contract.timezone,
        repair_deadline_hours=terms.repair_deadline.hours if terms.repair_deadline else None,
        day_waiver_hours=terms.outage_day_waiver.min_continuous_hours if terms.outage_day_waiver else None,
        period_waiver_hours=terms.outage_period_waiver.min_monthly_hours if terms.outage_period_waiver else None,
        strike_threshold=terms.strike_termination.threshold if terms.strike_termination else None,
        service_start=contract.service_start, service_end=contract.service_end,
        payments_to_date=[MetaPayment(p[0], p[1], p[2]) for p in payments], lang=lang,
        daily_outage_hours=daily, cumulative_outage=curve,
        strikes_timeline=strikes_timeline(terms, incidents, as_of),
        # R5 compares exact seconds (spec §1); the report carries them rounded to 0.01 h.
        outage_seconds=month_outage_seconds(
            qualifying_outages(terms, counted_incidents(terms, incidents, as_of), as_of), year, mon, terms),
        adjustments=adjustments,
        decisions=[Decision(*row) for row in db.session.execute(
            select(TerminationDecision.decided_at, TerminationDecision.decision,
                   TerminationDecision.strikes_at_decision, TerminationDecision.note)
            .where(TerminationDecision.contract_id == contract.id, TerminationDecision.decided_at <= as_of)
            .order_by(TerminationDecision.decided_at, TerminationDecision.id))],
    )


def _stated_adjustments(contract: Contract, report: dict) -> list[dict]:
    """A frozen month states what it stated when frozen; a month in progress, what stands now."""
    frozen = frozen_report(contract, report["month"])
    if frozen is not None and report["final"]:
        return json.loads(frozen.adjustments_json or "[]")
    return report_adjustments(contract.code, report["month"], datetime.fromisoformat(report["as_of"]))


RENDERERS = {"csv": render_csv, "xlsx": render_xlsx, "pdf": render_pdf}
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}


def render_report(contract: Contract, report: dict, fmt: str, lang: str = "zh") -> bytes:
    """The same figures as the JSON, as CSV, XLSX or PDF."""
    if fmt not in RENDERERS:
        raise ValidationFailed(f"format: one of json, {', '.join(RENDERERS)}")
    return RENDERERS[fmt](report, report_meta(contract, report, lang))
