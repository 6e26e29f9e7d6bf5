"""The state of a hotline call between Twilio's webhook requests (one row per CallSid)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from desk.extensions import db
from desk.models.types import UTCDateTime, utcnow

CALL_PURPOSES = ("", "report", "status")
# in_progress → filed | status_given | refused | abandoned (the caller hung up before a ticket was filed)
CALL_OUTCOMES = ("in_progress", "filed", "status_given", "refused", "abandoned")


class HotlineCall(db.Model):
    __tablename__ = "hotline_call"
    __table_args__ = (
        CheckConstraint("purpose IN ('', 'report', 'status')", name="purpose_known"),
        CheckConstraint("outcome IN ('in_progress', 'filed', 'status_given', 'refused', 'abandoned')",
                        name="outcome_known"),
        CheckConstraint("kind IS NULL OR kind IN ('interruption', 'degradation')", name="kind_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    call_sid: Mapped[str] = mapped_column(String(64), unique=True)
    from_phone: Mapped[str] = mapped_column(String(32), default="")
    purpose: Mapped[str] = mapped_column(String(16), default="")
    # Set once the caller is identified: by the registered number, or by unit code and PIN.
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"), index=True)
    # The unit code as keyed (keypad digits) while the PIN is asked for.
    keyed_code: Mapped[str] = mapped_column(String(64), default="")
    failed_identifications: Mapped[int] = mapped_column(default=0)
    # No input or a wrong key at the current step; the call ends politely after three.
    misses: Mapped[int] = mapped_column(default=0)
    kind: Mapped[str | None] = mapped_column(String(20))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("ticket.id"))
    outcome: Mapped[str] = mapped_column(String(20), default="in_progress")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    unit = relationship("Unit")
    ticket = relationship("Ticket")


class HotlinePinFailure(db.Model):
    """A wrong PIN keyed for a unit code. The lock counts these per code over the last hour: a
    call's own counter belongs to the last code it keyed, so a caller who ends each call with
    another code would never have been counted against the code they were guessing."""
    __tablename__ = "hotline_pin_failure"

    id: Mapped[int] = mapped_column(primary_key=True)
    keyed_code: Mapped[str] = mapped_column(String(64))
    call_id: Mapped[int] = mapped_column(ForeignKey("hotline_call.id"))
    failed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


Index("ix_hotline_pin_failure_code_time", HotlinePinFailure.keyed_code, HotlinePinFailure.failed_at)
