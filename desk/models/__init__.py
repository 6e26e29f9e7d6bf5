"""All tables of the desk; importing this package registers them with the metadata."""
from desk.models.audit import AuditEntry
from desk.models.clock import ClockEvent, ClockResync, FrozenReport, SchedulerLease
from desk.models.contracts import Contract, ContractClause, Payment, TerminationDecision, Unit, UnitPhone
from desk.models.hotline import HotlineCall, HotlinePinFailure
from desk.models.incidents import (
    CHANNELS,
    STATUSES,
    Attachment,
    CauseProposal,
    Comment,
    Incident,
    MaintenanceNotice,
    Ticket,
)
from desk.models.outbox import OutboxDelivery, OutboxMessage
from desk.models.types import utcnow
from desk.models.users import ROLES, ApiToken, LoginAttempt, User, WebSession

__all__ = [
    "ApiToken", "Attachment", "AuditEntry", "CHANNELS", "CauseProposal", "ClockEvent", "Comment",
    "Contract", "ContractClause", "FrozenReport", "HotlineCall", "HotlinePinFailure", "Incident", "LoginAttempt",
    "MaintenanceNotice", "OutboxDelivery", "OutboxMessage",
    "Payment", "ROLES", "STATUSES", "ClockResync", "SchedulerLease", "TerminationDecision", "Ticket", "Unit",
    "UnitPhone", "User", "WebSession", "utcnow",
]
