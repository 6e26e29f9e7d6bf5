"""The SLA clock's state: every contractual moment as a row with a due instant and a unique key."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from desk.extensions import db
from desk.models.types import UTCDateTime, utcnow


class ClockEvent(db.Model):
    __tablename__ = "clock_event"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'recorded', 'cancelled')", name="status_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # e.g. "incident:42:repair_deadline:breach" — one event per incident, kind and threshold.
    key: Mapped[str] = mapped_column(String(200), unique=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contract.id", ondelete="CASCADE"))
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incident.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(60))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    recorded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    payload: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    incident = relationship("Incident")


# The tick's query: pending events due by now, oldest first.
Index("ix_clock_event_due", ClockEvent.status, ClockEvent.due_at)


class ClockResync(db.Model):
    """A contract whose outage events (R4/R5) are to be derived again, by the next tick.

    Appended by every change to one of its incidents; the tick derives each marked contract once,
    from all its interruptions, and deletes the marks it consumed. Deriving inside every filing
    instead would make the n-th report of a storm pay for the n − 1 before it.
    """

    __tablename__ = "clock_resync"

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contract.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SchedulerLease(db.Model):
    """One row per lease; the holder renews it, another process takes over once it expires."""

    __tablename__ = "scheduler_lease"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(120))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class FrozenReport(db.Model):
    """A month's SLA report as it stood at month end: stored, hashed, never changed afterwards."""

    __tablename__ = "frozen_report"
    __table_args__ = (UniqueConstraint("contract_id", "month"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contract.id", ondelete="CASCADE"))
    month: Mapped[str] = mapped_column(String(7))  # YYYY-MM
    report_json: Mapped[str] = mapped_column(Text)
    report_hash: Mapped[str] = mapped_column(String(64))
    frozen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Set when a fact behind this month changes after the freeze. Such months, and those with an
    # incident still open at their end (time alone changes them), are recomputed for the
    # adjustments of later reports (docs/clock.md).
    corrected_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The adjustments to earlier months this month's report stated when it was frozen (JSON list),
    # so each correction is stated once, in the first report after it was made.
    adjustments_json: Mapped[str] = mapped_column(Text, default="[]")
    # What the renderers took from the database when it was frozen (ReportMeta.snapshot): the words,
    # the payments to date and the chart series, so its downloads stay the signed documents.
    # NULL for a month frozen before it was kept: those are rendered from the database.
    meta_json: Mapped[str | None] = mapped_column(Text)
