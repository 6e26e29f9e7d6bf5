"""Planned maintenance the carrier announces (七.(五)): an outage inside a window announced early
enough is not the carrier's."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import select

from desk.audit.services import Actor, record, snapshot
from desk.contracts.services import MAX_NOTE, check_actor
from desk.db import transaction
from desk.errors import ValidationFailed
from desk.extensions import db
from desk.models import Contract, MaintenanceNotice, utcnow
from desk.sla.incidents import MaintenanceWindow
from desk.sla.progress import notice_too_short
from desk.timeparse import CLOCK_SKEW


def min_notice_hours(contract: Contract) -> Decimal | None:
    """七.(五): the contract's minimum notice for planned maintenance, or None without the clause."""
    clause = contract.terms().planned_maintenance
    return clause.min_notice_hours if clause is not None else None


def notice_is_short(notice: MaintenanceNotice, contract: Contract) -> bool:
    return notice_too_short(contract.terms(), MaintenanceWindow(notice.notice_at, notice.window_start,
                                                                notice.window_end))


def maintenance_notice_for(contract_id: int, notice_at: datetime, window_start: datetime,
                           window_end: datetime) -> MaintenanceNotice:
    """The notice with these times, written if there is none yet (the paper log's import names
    its windows by their times); inside the caller's transaction."""
    notice = db.session.execute(
        select(MaintenanceNotice).where(
            MaintenanceNotice.contract_id == contract_id,
            MaintenanceNotice.notice_at == notice_at,
            MaintenanceNotice.window_start == window_start,
            MaintenanceNotice.window_end == window_end,
        )
    ).scalar_one_or_none()
    if notice is None:
        notice = MaintenanceNotice(contract_id=contract_id, notice_at=notice_at,
                                   window_start=window_start, window_end=window_end)
        db.session.add(notice)
        db.session.flush()
    return notice


def maintenance_notices_of(contract: Contract) -> list[MaintenanceNotice]:
    return list(db.session.execute(
        select(MaintenanceNotice).where(MaintenanceNotice.contract_id == contract.id)
        .order_by(MaintenanceNotice.window_start.desc())).scalars())


def create_maintenance_notice(actor: Actor, contract: Contract, *, window_start: datetime, window_end: datetime,
                              description: str, notice_at: datetime | None = None,
                              now: datetime | None = None) -> tuple[MaintenanceNotice, list[str]]:
    """Announce a window; returns the notice and warnings (七.(五): under the minimum it is not exempt)."""
    check_actor(actor, contract, "maintenance_notice")
    now = now or utcnow()
    notice_at = notice_at or now
    description = (description or "").strip()
    errors = []
    if window_end <= window_start:
        errors.append("window_end: must be after window_start")
    if notice_at > now + CLOCK_SKEW:
        errors.append("notice_at: cannot be in the future")
    if not description or len(description) > MAX_NOTE:
        errors.append(f"description: 1 to {MAX_NOTE} characters")
    if errors:
        raise ValidationFailed("the maintenance notice was not recorded", errors=errors)
    with transaction() as session:
        notice = MaintenanceNotice(contract_id=contract.id, notice_at=notice_at, window_start=window_start,
                                   window_end=window_end, description=description,
                                   created_by_id=actor.user_id, created_at=now)
        session.add(notice)
        session.flush()
        record(actor, "maintenance_notice.created", "maintenance_notice", notice.id, contract_id=contract.id,
               after=snapshot(notice, ("notice_at", "window_start", "window_end", "description")), at=now)
    warnings = []
    if notice_is_short(notice, contract):
        warnings.append(f"the notice is shorter than the contract's minimum of {min_notice_hours(contract)} hours: "
                        "outages in this window count as the carrier's")
    return notice, warnings
