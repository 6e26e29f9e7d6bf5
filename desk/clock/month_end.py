"""Month end: each contract's report of the month just over is frozen at 00:10 on the 1st (local).

The frozen document is stored with its hash and never changed afterwards: both parties sign the
same figures. Corrections entered later, and what arises after month end (an interruption reaching
3 h, a deadline passing), show in the next month's report as adjustments (docs/clock.md).
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta

from sqlalchemy import select

from desk.db import transaction
from desk.errors import ValidationFailed
from desk.extensions import db
from desk.models import ClockEvent, Contract, FrozenReport
from desk.reports.hashing import canonical_json, report_hash
from desk.sla.timeutil import add_months, local_month, month_bounds

FREEZE_AFTER = timedelta(minutes=10)  # 00:10 on the 1st: late entries of the last evening are in


def freeze_due_at(contract: Contract, year: int, month: int) -> datetime:
    return month_bounds(year, month, contract.terms().tz)[1] + FREEZE_AFTER


def months_to_freeze(contract: Contract, now: datetime) -> list[tuple[int, int]]:
    """The month in progress and the one before it, where the service period covers them."""
    first = (contract.service_start.year, contract.service_start.month)
    last = (contract.service_end.year, contract.service_end.month)
    now_month = local_month(now, contract.terms().tz)
    return [m for m in (add_months(*now_month, -1), now_month) if first <= m <= last]


def ensure_freeze_events(now: datetime) -> int:
    """Schedule the freeze of every contract's current and previous month; returns how many it added.

    Run at the scheduler's start and every hour: the previous month covers a desk that was down
    over the month end. The unique key makes a second run, or a second scheduler, a no-op.
    """
    added = 0
    for contract in db.session.execute(select(Contract).order_by(Contract.id)).scalars().all():
        for year, month in months_to_freeze(contract, now):
            key = f"contract:{contract.id}:freeze:{year:04d}-{month:02d}"
            with transaction() as session:
                if session.execute(select(ClockEvent.id).where(ClockEvent.key == key)).scalar() is not None:
                    continue
                if frozen_exists(contract.id, f"{year:04d}-{month:02d}"):
                    continue
                session.add(ClockEvent(key=key, contract_id=contract.id, incident_id=None, kind="report_freeze",
                                       due_at=freeze_due_at(contract, year, month),
                                       payload={"month": f"{year:04d}-{month:02d}", "notify": True}))
                added += 1
    return added


def frozen_exists(contract_id: int, month: str) -> bool:
    return db.session.execute(
        select(FrozenReport.id).where(FrozenReport.contract_id == contract_id, FrozenReport.month == month)
    ).scalar() is not None


def freeze_month(contract: Contract, month: str) -> FrozenReport:
    """Store the month's report as it stood at the month's end; inside the caller's transaction."""
    from desk.reports.services import incident_facts, parse_month, payment_facts
    from desk.sla.report import build_report

    year, mon = parse_month(month)
    if frozen_exists(contract.id, month):
        raise ValidationFailed(f"{contract.code} {month} is already frozen")
    as_of = month_bounds(year, mon, contract.terms().tz)[1]
    report = build_report(contract.terms(), incident_facts(contract, as_of), payment_facts(contract, as_of),
                          year, mon, as_of, frozen=True)
    from desk.reports.services import meta_as_of, report_adjustments

    adjustments = report_adjustments(contract.code, month, as_of)
    meta = meta_as_of(contract, report, adjustments).snapshot()
    frozen = FrozenReport(contract_id=contract.id, month=month, report_json=canonical_json(report).decode("utf-8"),
                          report_hash=report_hash(report), adjustments_json=json.dumps(adjustments),
                          meta_json=json.dumps(meta, ensure_ascii=False))
    db.session.add(frozen)
    db.session.flush()
    return frozen
