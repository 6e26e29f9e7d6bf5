"""Incidents and payments as facts, and the effective cause the rules act on (spec §2)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from operator import attrgetter

from desk.sla.terms import ContractTerms

KINDS = ("interruption", "degradation")
CAUSES = ("carrier", "customer", "third_party", "force_majeure", "planned_maintenance", "undetermined")
EXEMPT = ("customer", "force_majeure", "planned_maintenance")
# Interruptions with these effective causes are the carrier's: strikes (R2) and waivers (R4, R5).
CARRIER_LIKE = ("carrier", "undetermined")


# The order strikes are counted in (R2): by report time, then by id. A C-level key: reports sort
# every incident of the service period with it.
REPORT_ORDER = attrgetter("reported_at", "id")


def require_aware(value: datetime | None, name: str) -> None:
    if value is not None and value.tzinfo is None:
        raise ValueError(f"{name} must be timezone-aware")


@dataclass(frozen=True)
class MaintenanceWindow:
    notice_at: datetime
    window_start: datetime
    window_end: datetime


@dataclass(frozen=True, slots=True)
class IncidentFacts:
    id: int
    external_id: str | None
    reported_at: datetime
    started_at: datetime
    restored_at: datetime | None
    kind: str
    cause: str
    cause_confirmed: bool
    affected_cards: int
    maintenance: MaintenanceWindow | None = None

    def __post_init__(self):
        # The common case in one test: the clock builds these for every open incident of a contract.
        if self.reported_at.tzinfo is None or self.started_at.tzinfo is None or (
                self.restored_at is not None and self.restored_at.tzinfo is None):
            for name in ("reported_at", "started_at", "restored_at"):
                require_aware(getattr(self, name), name)

    def restored_by(self, as_of: datetime) -> datetime | None:
        """The restoration as known at as_of: a later one counts as still open."""
        return self.restored_at if self.restored_at is not None and self.restored_at <= as_of else None


@dataclass(frozen=True)
class PaymentFacts:
    paid_at: datetime
    amount: Decimal


def exempt_until(terms: ContractTerms, incident: IncidentFacts) -> datetime | None:
    """七.(五): the end of the window that exempts a planned maintenance started inside it, announced
    early enough; None for any other incident. Restored by that instant it is exempt; still open
    after it, the carrier's (spec §2)."""
    if incident.cause != "planned_maintenance":
        return None
    clause, window = terms.planned_maintenance, incident.maintenance
    if clause is None or window is None:
        return None
    if window.window_start - window.notice_at < timedelta(hours=float(clause.min_notice_hours)):
        return None
    return window.window_end if incident.started_at >= window.window_start else None


def effective_cause(terms: ContractTerms, incident: IncidentFacts, as_of: datetime | None = None) -> str:
    """七.(五): planned maintenance is exempt only inside a window announced early enough;
    otherwise, and where the contract has no such clause, it is the carrier's."""
    if incident.cause != "planned_maintenance":
        return incident.cause
    until = exempt_until(terms, incident)
    if until is None:
        return "carrier"
    end = incident.restored_at if as_of is None else incident.restored_by(as_of)
    end = end or as_of or incident.started_at
    return "carrier" if end > until else "planned_maintenance"
