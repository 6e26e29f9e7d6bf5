"""Queueing outbound messages inside the caller's transaction."""
from __future__ import annotations

from sqlalchemy import select

from desk.db import in_transaction
from desk.extensions import db
from desk.models import OutboxMessage, User


def enqueue(to: str, body: str, dedupe_key: str, channel: str = "sms") -> OutboxMessage | None:
    """Queue one message; a second call with the same key is a no-op (the event was processed before)."""
    if not in_transaction():
        raise RuntimeError("outbox messages are queued inside the transaction of their event")
    if not to:
        return None
    session = db.session
    existing = session.execute(
        select(OutboxMessage).where(OutboxMessage.dedupe_key == dedupe_key)
    ).scalar_one_or_none()
    if existing is not None:
        return existing
    message = OutboxMessage(channel=channel, to=to, body=body, dedupe_key=dedupe_key)
    session.add(message)
    return message


def on_duty_engineers(contract_id: int) -> list[User]:
    from desk.models.users import user_contract

    return list(
        db.session.execute(
            select(User)
            .join(user_contract, user_contract.c.user_id == User.id)
            .where(
                user_contract.c.contract_id == contract_id,
                User.role.in_(("carrier_engineer", "carrier_manager")),
                User.on_duty.is_(True),
                User.active.is_(True),
            )
            .order_by(User.id)
        ).scalars()
    )
