"""Sending the outbox: each due message is claimed by one dispatcher, sent through Twilio, and its
outcome committed in its own transaction. Any number of dispatcher processes may run at once.

A message goes pending → sending (claimed) → sent, or back to pending with a later
next_attempt_at when Twilio fails in a way that may pass (network, timeout, 5xx, 429), or to
failed when Twilio refuses it for good (a bad number) or after the last attempt. A pending
message past its expires_at (a deadline warning whose deadline has passed) becomes expired.

Delivery is at-least-once with a check: Twilio takes no idempotency key for messages, so a
dispatcher that dies between Twilio's answer and its own commit leaves the message in `sending`
not knowing whether it went out. Once that claim is older than the sending timeout, the next
dispatcher asks Twilio for the recent messages to that number from the desk's number: if one
with the same body was created after the claim, the message is marked sent with that SID;
otherwise it is sent again, or marked expired if it is past its expires_at by then. A duplicate is then only possible if Twilio accepted the message
and its list does not show it yet — a missed fault alert is the worse failure for the desk.

`sent` means Twilio accepted the message. Whether the phone got it comes later, in Twilio's
status callbacks (outbox_delivery), which are asked for when DESK_PUBLIC_URL is set.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable

from flask import current_app
from sqlalchemy import Row, or_, select, update

from desk.db import among, transaction
from desk.extensions import db
from desk.models import OutboxMessage, utcnow

NO_CREDENTIALS = "TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM_NUMBER are not all set"
EXPIRED = "not sent: out of date before it could be sent"
# HTTP statuses after which the same request may succeed later: Twilio's outage, throttling,
# or credentials an operator is fixing. Any other 4xx (e.g. 21211, an invalid number) is final.
RETRYABLE_STATUSES = frozenset({401, 403, 408, 409, 429})
# Where Twilio posts what became of each message it accepted (desk.hotline.views.sms_status).
STATUS_CALLBACK_PATH = "/hotline/sms/status"
# Twilio's clock and the desk's differ a little; a message found at Twilio this long before
# the claim is still taken as the claimed one.
CLOCK_TOLERANCE = timedelta(minutes=2)


@dataclass(frozen=True)
class DispatchResult:
    sent: int = 0
    failed: int = 0
    not_sent: int = 0
    retrying: int = 0
    # Messages left in `sending` by a dispatcher that died, found delivered at Twilio.
    recovered: int = 0
    expired: int = 0

    def __add__(self, other: "DispatchResult") -> "DispatchResult":
        return DispatchResult(*(a + b for a, b in zip(self._values(), other._values())))

    def _values(self) -> tuple[int, ...]:
        return self.sent, self.failed, self.not_sent, self.retrying, self.recovered, self.expired


@dataclass(frozen=True)
class _Claim:
    id: int
    to: str
    body: str
    attempts: int
    claimed_at: datetime


def twilio_client():
    """The real client from configuration, or None without credentials."""
    config = current_app.config
    sid, token = config.get("TWILIO_ACCOUNT_SID"), config.get("TWILIO_AUTH_TOKEN")
    if not sid or not token:
        return None
    from twilio.http.http_client import TwilioHttpClient
    from twilio.rest import Client

    # A hanging Twilio must not hang the scheduler: the request times out and is retried later.
    timeout = config["DESK_OUTBOX_HTTP_TIMEOUT_SECONDS"]
    if config.get("TWILIO_API_BASE_URL"):
        from desk.outbox.gateway import GatewayHttpClient

        return Client(sid, token, http_client=GatewayHttpClient(config["TWILIO_API_BASE_URL"], timeout=timeout))
    return Client(sid, token, http_client=TwilioHttpClient(timeout=timeout))


def backoff(attempts: int) -> timedelta:
    """Doubling delays from the base, capped: 30 s, 1 min, 2 min, … 30 min with the defaults."""
    config = current_app.config
    base = config["DESK_OUTBOX_BACKOFF_SECONDS"]
    cap = config["DESK_OUTBOX_BACKOFF_MAX_SECONDS"]
    return timedelta(seconds=min(cap, base * 2 ** max(0, attempts - 1)))


def dispatch_due(now: datetime, *, limit: int = 100, client=None,
                 clock: Callable[[], datetime] = utcnow) -> DispatchResult:
    """Send up to `limit` messages due at `now`; safe to call from several processes at once.

    Each claim is stamped when it is taken (`clock`, never before `now`): a run that waits long
    on Twilio must not stamp its late claims with its start, or another dispatcher would take a
    message being sent for one abandoned past the sending timeout, and send it again."""
    if now.tzinfo is None:
        raise ValueError("dispatch_due needs an aware datetime")
    if limit < 1:
        raise ValueError("limit must be at least 1")
    expired = DispatchResult(expired=_expire(now))
    from_number = current_app.config.get("TWILIO_FROM_NUMBER", "")
    if client is None:
        client = twilio_client()
    if client is None or not from_number:
        return expired + DispatchResult(not_sent=_record_without_credentials(now, limit))
    result = expired
    for row in _stale_rows(now, limit):
        stamp = max(now, clock())
        taken = _take_over(row, stamp)
        if taken is not None:
            result += _reconcile(*taken, stamp, client, from_number)
    for message_id in _due_ids(now, limit):
        stamp = max(now, clock())
        claim = _claim(message_id, now, stamp)
        if claim is not None:
            result += _send(claim, stamp, client, from_number)
    return result


def _due_ids(now: datetime, limit: int) -> list[int]:
    ids = list(db.session.execute(
        select(OutboxMessage.id).where(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now)
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id).limit(limit)
    ).scalars())
    db.session.rollback()  # end the read; every claim is its own short write transaction
    return ids


def _expire(now: datetime) -> int:
    """Pending messages out of date at `now` are marked expired, visibly, and never sent. Read
    first, so a run with nothing out of date writes nothing."""
    ids = list(db.session.execute(
        select(OutboxMessage.id).where(OutboxMessage.status == "pending", OutboxMessage.expires_at <= now)
    ).scalars())
    db.session.rollback()
    if not ids:
        return 0
    with transaction() as session:
        return session.execute(
            update(OutboxMessage).where(among(OutboxMessage.id, ids), OutboxMessage.status == "pending")
            .values(status="expired", last_error=EXPIRED)
            .execution_options(synchronize_session=False)
        ).rowcount


def _record_without_credentials(now: datetime, limit: int) -> int:
    """The desk works on without Twilio: due messages are marked, visibly, as not sent."""
    ids = _due_ids(now, limit)
    if not ids:
        return 0
    with transaction() as session:
        done = session.execute(
            update(OutboxMessage).where(among(OutboxMessage.id, ids), OutboxMessage.status == "pending")
            .values(status="not_sent_no_credentials", last_error=NO_CREDENTIALS)
            .execution_options(synchronize_session=False)
        ).rowcount
    return done


def _claim(message_id: int, now: datetime, stamp: datetime) -> _Claim | None:
    """Take one message due at `now` for sending, stamped `stamp`. The conditional UPDATE is the
    lock: of several dispatchers only one sees its row change (PostgreSQL re-checks the WHERE
    after the row lock, SQLite serialises writers), so no message is sent twice."""
    with transaction() as session:
        claimed = session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id, OutboxMessage.status == "pending",
                   OutboxMessage.next_attempt_at <= now,
                   # Out of date by the time this run reached it: the next run marks it expired.
                   or_(OutboxMessage.expires_at.is_(None), OutboxMessage.expires_at > stamp))
            .values(status="sending", claimed_at=stamp, attempts=OutboxMessage.attempts + 1)
            .execution_options(synchronize_session=False)
        ).rowcount
        if claimed != 1:
            return None
        row = session.execute(
            select(OutboxMessage.to, OutboxMessage.body, OutboxMessage.attempts)
            .where(OutboxMessage.id == message_id)
        ).one()
    return _Claim(message_id, row.to, row.body, row.attempts, stamp)


def _stale_rows(now: datetime, limit: int) -> list[Row]:
    """Messages whose dispatcher died mid-send: claimed longer ago than the sending timeout."""
    timeout = timedelta(seconds=current_app.config["DESK_OUTBOX_SENDING_TIMEOUT_SECONDS"])
    rows = db.session.execute(
        select(OutboxMessage.id, OutboxMessage.to, OutboxMessage.body, OutboxMessage.attempts,
               OutboxMessage.claimed_at, OutboxMessage.expires_at)
        .where(OutboxMessage.status == "sending", OutboxMessage.claimed_at <= now - timeout)
        .order_by(OutboxMessage.claimed_at, OutboxMessage.id).limit(limit)
    ).all()
    db.session.rollback()
    return rows


def _take_over(row: Row, stamp: datetime) -> tuple[_Claim, datetime | None] | None:
    """A stale claim, taken by this dispatcher alone, just before it is checked with Twilio."""
    with transaction() as session:
        moved = session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == row.id, OutboxMessage.status == "sending",
                   OutboxMessage.claimed_at == row.claimed_at)
            .values(claimed_at=stamp)
            .execution_options(synchronize_session=False)
        ).rowcount
    # The earlier claim's instant is what Twilio's record is compared with.
    return (_Claim(row.id, row.to, row.body, row.attempts, row.claimed_at), row.expires_at) if moved == 1 else None


def _reconcile(claim: _Claim, expires_at: datetime | None, now: datetime, client,
               from_number: str) -> DispatchResult:
    try:
        found = client.messages.list(to=claim.to, from_=from_number, limit=50)
    except Exception as exc:  # noqa: BLE001 — Twilio unreachable: look again after the next timeout
        _finish(claim, now, status="sending", last_error=f"checking an interrupted send: {_describe(exc)}")
        return DispatchResult(retrying=1)
    for message in found:
        created = message.date_created
        if message.body == claim.body and created is not None and created >= claim.claimed_at - CLOCK_TOLERANCE:
            _finish(claim, now, status="sent", provider_id=message.sid or "", sent_at=now, last_error="")
            return DispatchResult(recovered=1)
    # Not at Twilio: it never went out. Out of date by now (a deadline warning whose deadline
    # passed while its dispatcher was gone), it would tell the engineer time is left when none is.
    if expires_at is not None and expires_at <= now:
        _finish(claim, now, status="expired", last_error=EXPIRED)
        return DispatchResult(expired=1)
    # Otherwise send it now, as any due message.
    resend = _Claim(claim.id, claim.to, claim.body, claim.attempts + 1, now)
    _finish(claim, now, status="sending", attempts=resend.attempts,
            last_error="a dispatcher stopped while sending; Twilio has no such message, sent again")
    return _send(resend, now, client, from_number)


def _send(claim: _Claim, now: datetime, client, from_number: str) -> DispatchResult:
    """One request to Twilio, outside any transaction (no lock is held while it waits)."""
    try:
        message = client.messages.create(to=claim.to, from_=from_number, body=claim.body, **_callback())
    except Exception as exc:  # noqa: BLE001 — every failure is recorded on the message, none escapes
        error = _describe(exc)
        max_attempts = current_app.config["DESK_OUTBOX_MAX_ATTEMPTS"]
        if _retryable(exc) and claim.attempts < max_attempts:
            _finish(claim, now, status="pending", next_attempt_at=now + backoff(claim.attempts), last_error=error)
            return DispatchResult(retrying=1)
        if _retryable(exc):
            error = f"gave up after {claim.attempts} attempts: {error}"
        _finish(claim, now, status="failed", last_error=error)
        return DispatchResult(failed=1)
    _finish(claim, now, status="sent", provider_id=message.sid or "", sent_at=now, last_error="")
    return DispatchResult(sent=1)


def _callback() -> dict[str, str]:
    """Twilio's status callbacks, asked for only where the desk knows its public URL: Twilio must
    reach the URL, and signs it as given, so a guessed one would be refused or lost."""
    public = current_app.config.get("DESK_PUBLIC_URL", "")
    return {"status_callback": public + STATUS_CALLBACK_PATH} if public else {}


def _finish(claim: _Claim, now: datetime, **values) -> None:
    """Commit the outcome, only if this dispatcher still holds the claim (stamped `now` when taken)."""
    values["claimed_at"] = now if values.get("status") == "sending" else None
    with transaction() as session:
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == claim.id, OutboxMessage.status == "sending", OutboxMessage.claimed_at == now)
            .values(**values)
            .execution_options(synchronize_session=False)
        )


def _retryable(exc: Exception) -> bool:
    status = getattr(exc, "status", None)
    if isinstance(status, int):
        return status >= 500 or status in RETRYABLE_STATUSES
    return True  # no HTTP answer at all: a timeout, a refused connection, a reset


def _describe(exc: Exception) -> str:
    status = getattr(exc, "status", None)
    if isinstance(status, int):
        code = getattr(exc, "code", None)
        text = getattr(exc, "msg", None) or getattr(exc, "detail", None) or getattr(exc, "title", "") or ""
        return f"Twilio HTTP {status}" + (f" (error {code})" if code and code != status else "") + \
            (f": {text}" if text else "")
    return f"{type(exc).__name__}: {exc}"[:1000]
