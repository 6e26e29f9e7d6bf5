"""Queueing outbound messages inside the caller's transaction."""
from __future__ import annotations

import logging
import re
from datetime import datetime

from sqlalchemy import Row, and_, bindparam, case, func, insert, select

from desk.audit.services import Actor, record, snapshot
from desk.db import in_transaction, transaction
from desk.errors import InvalidTransition, NotFound, ValidationFailed
from desk.extensions import db
from desk.models import OutboxDelivery, OutboxMessage, User, utcnow
from desk.models.outbox import DELIVERY_ERROR_MESSAGE_LENGTH, DELIVERY_RANKS, OUTBOX_STATUSES
from desk.models.users import user_contract

log = logging.getLogger(__name__)


def enqueue(to: str, body: str, dedupe_key: str, channel: str = "sms", *,
            expires_at: datetime | None = None, incident_id: int | None = None) -> OutboxMessage | None:
    """Queue one message; a second call with the same key is a no-op (the event was processed before).

    `incident_id`: the incident the message is about, whose page shows it (a ticket's message: the
    ticket's incident). Messages whose keys name a row this transaction created go through
    enqueue_new, which need not look for them first."""
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
    message = OutboxMessage(channel=channel, to=to, body=body, dedupe_key=dedupe_key, expires_at=expires_at,
                            incident_id=incident_id)
    session.add(message)
    return message


def enqueue_new(messages: list[tuple[str, str, str]], *, incident_id: int | None = None) -> None:
    """Queue messages whose keys name a row this transaction created, so none can be queued yet:
    (to, body, dedupe_key) each, SMS, in one INSERT through the connection. A filing queues one
    for every on-duty engineer; as ORM objects they cost the commit a second flush. The unique
    key still stands guard."""
    if not in_transaction():
        raise RuntimeError("outbox messages are queued inside the transaction of their event")
    # The other columns take the model's defaults (pending, due now), as an ORM insert would.
    rows = [{"channel": "sms", "to": to, "body": body, "dedupe_key": key, "incident_id": incident_id}
            for to, body, key in messages if to]
    if rows:
        db.session.execute(_INSERT_MESSAGE, rows)


_INSERT_MESSAGE = insert(OutboxMessage.__table__)


ON_DUTY_ROLES = ("carrier_engineer", "carrier_manager")


def on_duty_engineers(contract_id: int) -> list[Row]:
    """Whom to tell of a new or reopened fault: the contract's active on-duty carrier staff, as
    (id, phone) rows. Not User objects: every filing asks, and loading whole users cost more."""
    return list(db.session.execute(_ON_DUTY, {"contract_id": contract_id}))


# Built once, of the tables' columns: a plain statement, not an ORM query (every filing asks).
_user = User.__table__.c
_ON_DUTY = (
    select(_user.id, _user.phone)
    .join(user_contract, user_contract.c.user_id == _user.id)
    .where(user_contract.c.contract_id == bindparam("contract_id"), _user.role.in_(ON_DUTY_ROLES),
           _user.on_duty.is_(True), _user.active.is_(True))
    .order_by(_user.id)
)


# What an admin sees and may do: the messages by status, and sending a failed one again.
STATUS_ORDER = ("failed", "not_sent_no_credentials", "expired", "sending", "pending", "sent")
PAGE_SIZE = 100


def status_counts() -> dict[str, int]:
    counts = dict(db.session.execute(
        select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).all())
    return {status: counts.get(status, 0) for status in STATUS_ORDER}


# Twilio's statuses that say the phone will not get the message.
UNDELIVERED = ("undelivered", "failed", "canceled")
_delivery_of_message = and_(OutboxMessage.provider_id != "", OutboxDelivery.message_sid == OutboxMessage.provider_id)


def _with_delivery():
    """Messages each with Twilio's last report of it, or None."""
    return select(OutboxMessage, OutboxDelivery).outerjoin(OutboxDelivery, _delivery_of_message)


def messages_with_status(status: str | None, page: int = 1, *,
                         undelivered: bool = False) -> list[tuple[OutboxMessage, OutboxDelivery | None]]:
    """Newest first, each with what Twilio last reported of its delivery (None: nothing yet);
    every status when `status` is None; only those Twilio could not deliver when `undelivered`."""
    if status is not None and status not in OUTBOX_STATUSES:
        raise ValidationFailed(f"status: one of {', '.join(OUTBOX_STATUSES)}, not {status!r}")
    if page < 1:
        raise ValidationFailed("page: a whole number from 1")
    query = _with_delivery().order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc())
    if status is not None:
        query = query.where(OutboxMessage.status == status)
    if undelivered:
        query = query.where(OutboxDelivery.status.in_(UNDELIVERED))
    return [tuple(row) for row in db.session.execute(query.limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE))]


def messages_about(incident_ids: list[int]) -> list[tuple[OutboxMessage, OutboxDelivery | None]]:
    """What was sent about these incidents, oldest first, each with Twilio's last delivery report:
    one query, however many messages (the incident page lists them all)."""
    query = (_with_delivery().where(OutboxMessage.incident_id.in_(incident_ids or [-1]))
             .order_by(OutboxMessage.created_at, OutboxMessage.id))
    return [tuple(row) for row in db.session.execute(query)]


def undelivered_count() -> int:
    return db.session.execute(
        select(func.count()).select_from(OutboxMessage).join(OutboxDelivery, _delivery_of_message)
        .where(OutboxDelivery.status.in_(UNDELIVERED))
    ).scalar_one()


def delivery_state(message: OutboxMessage, delivery: OutboxDelivery | None) -> str | None:
    """What the admin page says of a sent message's delivery: delivered, undelivered, sent (the
    carrier took it, no receipt from the phone yet) or none (no callback, or Twilio still has it);
    None for a message the desk has not sent."""
    if message.status != "sent":
        return None
    if delivery is None or DELIVERY_RANKS[delivery.status] < DELIVERY_RANKS["sent"]:
        return "none"
    if delivery.status in UNDELIVERED:
        return "undelivered"
    return "sent" if delivery.status == "sent" else "delivered"


# Twilio's SIDs: two capital letters (SM for an SMS, MM for an MMS) and 32 hexadecimal digits.
MESSAGE_SID = re.compile(r"[A-Z]{2}[0-9a-fA-F]{32}")
ERROR_CODE = re.compile(r"[0-9]{1,9}")


def record_delivery(message_sid: str, status: str, error_code: str = "", error_message: str = "", *,
                    now: datetime | None = None) -> bool:
    """Twilio's status callback for a message it accepted: keep its latest status by SID.

    Callbacks come out of order and may repeat: a status is stored only over a lower-ranked one
    (sent never replaces delivered), so the outcome is the same in any order and any number of
    times. True when the stored status changed. A SID the outbox does not (yet) hold is kept too:
    the callback may come before the dispatcher commits the SID Twilio gave it. Not audited:
    Twilio's report about a message is no decision of anyone's."""
    problems = []
    if not MESSAGE_SID.fullmatch(message_sid or ""):
        problems.append(f"MessageSid: {message_sid!r} is not a Twilio message SID" if message_sid
                        else "MessageSid: missing")
    if status not in DELIVERY_RANKS:
        problems.append(f"MessageStatus: one of {', '.join(DELIVERY_RANKS)}, not {status!r}" if status
                        else "MessageStatus: missing")
    if error_code and not ERROR_CODE.fullmatch(error_code):
        problems.append(f"ErrorCode: {error_code!r} is not a Twilio error code (digits)")
    if problems:
        raise ValidationFailed("the status callback was not recorded", errors=problems)
    values = {"message_sid": message_sid, "status": status, "error_code": int(error_code) if error_code else None,
              "error_message": (error_message or "")[:DELIVERY_ERROR_MESSAGE_LENGTH], "updated_at": now or utcnow()}
    with transaction() as session:
        if session.get_bind().dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        stored_rank = case(DELIVERY_RANKS, value=OutboxDelivery.status)
        statement = insert(OutboxDelivery).values(**values)
        statement = statement.on_conflict_do_update(
            index_elements=[OutboxDelivery.message_sid],
            set_={name: statement.excluded[name] for name in values if name != "message_sid"},
            where=stored_rank < DELIVERY_RANKS[status],
        )
        changed = session.execute(statement).rowcount == 1
    if not changed:
        log.info("outbox: Twilio reported %s for %s, which had a status as far or further; kept", status,
                 message_sid)
    return changed


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
