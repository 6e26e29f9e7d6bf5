"""Incidents (the fault itself) and tickets (each report of it), with their evidence."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from desk.extensions import db
from desk.models.types import UTCDateTime, utcnow
from desk.sla.incidents import CAUSES, KINDS

CHANNELS = ("web", "hotline", "sms", "api", "import")
# open → acknowledged → restored → confirmed; a dispute sends a restored incident back to open.
STATUSES = ("open", "acknowledged", "restored", "confirmed", "merged")
OPEN_STATUSES = ("open", "acknowledged")  # the repair clock runs; the others end it


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class MaintenanceNotice(db.Model):
    """七.(五): a maintenance window announced to the customer; valid with enough notice."""

    __tablename__ = "maintenance_notice"
    __table_args__ = (CheckConstraint("window_end > window_start", name="window_ordered"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contract.id", ondelete="CASCADE"), index=True)
    notice_at: Mapped[datetime] = mapped_column(UTCDateTime)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime)
    window_end: Mapped[datetime] = mapped_column(UTCDateTime)
    description: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Incident(db.Model):
    __tablename__ = "incident"
    __table_args__ = (
        UniqueConstraint("contract_id", "external_id"),
        CheckConstraint(_in("kind", KINDS), name="kind_known"),
        CheckConstraint(_in("cause", CAUSES), name="cause_known"),
        CheckConstraint(_in("status", STATUSES), name="status_known"),
        CheckConstraint("affected_cards >= 1", name="cards_positive"),
        CheckConstraint("started_at <= reported_at", name="started_before_report"),
        CheckConstraint("restored_at IS NULL OR restored_at >= started_at", name="restored_after_start"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contract.id", ondelete="CASCADE"))
    external_id: Mapped[str | None] = mapped_column(String(120))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"), index=True)
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    restored_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    kind: Mapped[str] = mapped_column(String(20))
    cause: Mapped[str] = mapped_column(String(32), default="undetermined")
    cause_confirmed: Mapped[bool] = mapped_column(default=False)
    affected_cards: Mapped[int]
    summary: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default="open")
    maintenance_notice_id: Mapped[int | None] = mapped_column(ForeignKey("maintenance_notice.id"))
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("incident.id"))
    # The first report of the burst this one joined when it was filed (None: it started one or
    # stood alone). A shortcut for the next report's burst hint, checked before it is trusted
    # (desk.incidents.burst.hint_for); the chain itself is always derivable from the open reports.
    burst_head_id: Mapped[int | None] = mapped_column()
    assigned_engineer_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # Optimistic locking: two engineers saving the same incident cannot silently overwrite each other.
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}

    contract = relationship("Contract")
    unit = relationship("Unit")
    maintenance_notice = relationship("MaintenanceNotice")
    assigned_engineer = relationship("User", foreign_keys=[assigned_engineer_id])
    tickets: Mapped[list[Ticket]] = relationship(back_populates="incident", order_by="Ticket.reported_at")

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


Index("ix_incident_contract_reported", Incident.contract_id, Incident.reported_at, Incident.id)
Index("ix_incident_contract_status", Incident.contract_id, Incident.status)
Index("ix_incident_burst_head", Incident.burst_head_id, Incident.status)


class Ticket(db.Model):
    """One report of a fault (web form, hotline call, SMS, API, import)."""

    __tablename__ = "ticket"
    __table_args__ = (
        CheckConstraint(_in("channel", CHANNELS), name="channel_known"),
        CheckConstraint(_in("kind", KINDS), name="kind_known"),
        CheckConstraint("affected_cards >= 1", name="cards_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incident.id"), index=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contract.id", ondelete="CASCADE"), index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime)
    kind: Mapped[str] = mapped_column(String(20))
    affected_cards: Mapped[int]
    location: Mapped[str] = mapped_column(String(300), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    reporter_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    caller_phone: Mapped[str] = mapped_column(String(32), default="")
    recording_url: Mapped[str] = mapped_column(String(500), default="")
    # Idempotency: a retried webhook (CallSid/MessageSid) or API request never makes a second ticket.
    idempotency_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    incident: Mapped[Incident] = relationship(back_populates="tickets")
    unit = relationship("Unit")
    reporter = relationship("User")

    @property
    def number(self) -> str:
        """The ticket number people read and key in: digits only, so it works on a phone keypad."""
        return self.format_number(self.id)

    @staticmethod
    def format_number(ticket_id: int) -> str:
        """The number people read and key: the id, six digits."""
        return f"{ticket_id:06d}"


class CauseProposal(db.Model):
    """The cause history: a side proposes a cause with evidence; the other confirms or disputes."""

    __tablename__ = "cause_proposal"
    __table_args__ = (
        CheckConstraint(_in("cause", CAUSES), name="cause_known"),
        CheckConstraint("status IN ('proposed', 'confirmed', 'disputed', 'superseded')", name="status_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incident.id", ondelete="CASCADE"), index=True)
    cause: Mapped[str] = mapped_column(String(32))
    evidence: Mapped[str] = mapped_column(Text, default="")
    maintenance_notice_id: Mapped[int | None] = mapped_column(ForeignKey("maintenance_notice.id"))
    status: Mapped[str] = mapped_column(String(16), default="proposed")
    proposed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    proposed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_note: Mapped[str] = mapped_column(Text, default="")


class Comment(db.Model):
    __tablename__ = "comment"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incident.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    author = relationship("User")


class Attachment(db.Model):
    """A photo or document attached to an incident, kept in the database so backups hold it."""

    __tablename__ = "attachment"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incident.id", ondelete="CASCADE"), index=True)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int]
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
