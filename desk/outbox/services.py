"""Queueing outbound messages inside the caller's transaction."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Row, func, select

from desk.audit.services import Actor, record, snapshot
from desk.db import in_transaction, transaction
from desk.errors import InvalidTransition, NotFound, ValidationFailed
from desk.extensions import db
from desk.models import OutboxMessage, User, utcnow
from desk.models.outbox import OUTBOX_STATUSES


def enqueue(to: str, body: str, dedupe_key: str, channel: str = "sms", *,
            fresh: bool = False, expires_at: datetime | None = None) -> OutboxMessage | None:
    """Queue one message; a second call with the same key is a no-op (the event was processed before).

    `fresh`: no message can hold the key yet, because it names a row this transaction created or
    the caller has looked for it already (the clock looks up a whole batch's keys in one query);
    the unique key still stands guard."""
    if not in_transaction():
        raise RuntimeError("outbox messages are queued inside the transaction of their event")
    if not to:
        return None
    session = db.session
    if not fresh:
        existing = session.execute(
            select(OutboxMessage).where(OutboxMessage.dedupe_key == dedupe_key)
        ).scalar_one_or_none()
        if existing is not None:
            return existing
    message = OutboxMessage(channel=channel, to=to, body=body, dedupe_key=dedupe_key, expires_at=expires_at)
    session.add(message)
    return message


ON_DUTY_ROLES = ("carrier_engineer", "carrier_manager")


def on_duty_engineers(contract_id: int) -> list[Row]:
    """Whom to tell of a new or reopened fault: the contract's active on-duty carrier staff, as
    (id, phone) rows. Not User objects: every filing asks, and loading whole users cost more."""
    from desk.models.users import user_contract

    return list(db.session.execute(
        select(User.id, User.phone)
        .join(user_contract, user_contract.c.user_id == User.id)
        .where(user_contract.c.contract_id == contract_id, User.role.in_(ON_DUTY_ROLES),
               User.on_duty.is_(True), User.active.is_(True))
        .order_by(User.id)
    ))


# What an admin sees and may do: the messages by status, and sending a failed one again.
STATUS_ORDER = ("failed", "not_sent_no_credentials", "expired", "sending", "pending", "sent")
PAGE_SIZE = 100


def status_counts() -> dict[str, int]:
    counts = dict(db.session.execute(
        select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).all())
    return {status: counts.get(status, 0) for status in STATUS_ORDER}


def messages_with_status(status: str | None, page: int = 1) -> list[OutboxMessage]:
    """Newest first; every status when `status` is None."""
    if status is not None and status not in OUTBOX_STATUSES:
        raise ValidationFailed(f"status: one of {', '.join(OUTBOX_STATUSES)}, not {status!r}")
    if page < 1:
        raise ValidationFailed("page: a whole number from 1")
    query = select(OutboxMessage).order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc())
    if status is not None:
        query = query.where(OutboxMessage.status == status)
    return list(db.session.execute(query.limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).scalars())


def requeue(actor: Actor, message_id: int, *, now: datetime | None = None) -> OutboxMessage:
    """Send a failed or unsent message again (e.g. once the number is corrected or credentials set).

    Only a message that is known not to have gone out may be requeued, so this never doubles one."""
    now = now or utcnow()
    with transaction() as session:
        message = session.get(OutboxMessage, message_id)
        if message is None:
            raise NotFound("no such message")
        if message.status not in ("failed", "not_sent_no_credentials"):
            raise InvalidTransition(f"only a failed or unsent message can be sent again; this one is {message.status}")
        before = snapshot(message, ("status", "attempts", "last_error"))
        message.status, message.attempts, message.next_attempt_at, message.claimed_at = "pending", 0, now, None
        record(actor, "outbox.requeued", "outbox_message", message.id, before=before,
               after=snapshot(message, ("status", "attempts", "last_error")), at=now)
    return message
