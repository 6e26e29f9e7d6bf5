"""Outbound messages, written in the same transaction as the event that causes them."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from desk.extensions import db
from desk.models.types import UTCDateTime, utcnow

OUTBOX_STATUSES = ("pending", "sending", "sent", "failed", "not_sent_no_credentials", "expired")
# Twilio's statuses of an outbound message, by how far it got: a status callback that arrives late
# with a lower rank never overwrites a higher one. The terminal ones share the top rank (read, for
# channels that report it, comes after delivered), so the first of them to arrive stays.
DELIVERY_RANKS = {"accepted": 0, "scheduled": 0, "queued": 1, "sending": 2, "sent": 3,
                  "delivered": 4, "undelivered": 4, "failed": 4, "canceled": 4, "read": 5}
# Twilio's ErrorMessage is short; more than this is cut, not refused (the status still counts).
DELIVERY_ERROR_MESSAGE_LENGTH = 500


class OutboxMessage(db.Model):
    __tablename__ = "outbox_message"
    __table_args__ = (
        CheckConstraint(
            "status IN ('pending','sending','sent','failed','not_sent_no_credentials','expired')",
            name="status_known"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16), default="sms")
    to: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)
    # One message per event and recipient, however often the event is processed.
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    status: Mapped[str] = mapped_column(String(32), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str] = mapped_column(Text, default="")
    provider_id: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When a dispatcher took the message for sending; a claim older than the sending timeout
    # belongs to a dispatcher that died and is reconciled with Twilio before any resend.
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A message that says how long is left (a repair-deadline warning) is false after this instant:
    # still unsent then (Twilio was down), it is not sent but marked expired.
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The incident the message is about (None: a contract's notice), so its page can show what was
    # sent to whom. Set null, not cascaded: a message that went out stays evidence.
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incident.id", ondelete="SET NULL"), index=True)


Index("ix_outbox_due", OutboxMessage.status, OutboxMessage.next_attempt_at)
# The admin page finds a delivery's message by its SID.
Index("ix_outbox_message_provider_id", OutboxMessage.provider_id)


class OutboxDelivery(db.Model):
    """What Twilio last reported of a message it accepted (its status callback), by message SID.

    Not a column of outbox_message: a callback may arrive before the dispatcher has committed the
    SID it got from Twilio, and is kept all the same."""

    __tablename__ = "outbox_delivery"
    __table_args__ = (
        CheckConstraint("status IN (" + ",".join(f"'{s}'" for s in DELIVERY_RANKS) + ")", name="status_known"),
    )

    message_sid: Mapped[str] = mapped_column(String(64), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    # Twilio's error code (30003: unreachable handset, …) with undelivered and failed.
    error_code: Mapped[int | None] = mapped_column()
    error_message: Mapped[str] = mapped_column(String(DELIVERY_ERROR_MESSAGE_LENGTH), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
