"""Web sessions kept on the server: a row per signed-in browser, whose random token the signed
cookie carries. The cookie alone no longer signs anyone in: signing out, deactivation and a password
reset revoke rows, and a session left idle or open too long stops counting (see docs/security.md).
API tokens and the hotline have their own credentials and never come here."""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from flask import current_app
from sqlalchemy import bindparam, delete, or_, select, text, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import joinedload

from desk.audit.services import Actor, record
from desk.db import transaction
from desk.extensions import db
from desk.models import Unit, User, WebSession, utcnow

# The key of the token in Flask's signed session cookie.
SESSION_KEY = "desk_session"
# last_seen_at is written at most this often: a write per request would cost every page a transaction.
TOUCH_EVERY = timedelta(minutes=1)
USER_AGENT_LENGTH = 200
# How long a page waits on PostgreSQL for its session's row to mark it seen, before it is served unmarked.
TOUCH_LOCK_WAIT = timedelta(seconds=1)


def token_digest(token: str) -> str:
    """What the database keeps of a web session's or an API token's secret: its SHA-256."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _idle() -> timedelta:
    return timedelta(minutes=current_app.config["DESK_SESSION_IDLE_MINUTES"])


def _lifetime() -> timedelta:
    return timedelta(hours=current_app.config["DESK_SESSION_LIFETIME_HOURS"])


def is_live(row: WebSession, now: datetime) -> bool:
    """Not revoked, not idle too long, not open too long (by the lifetime set at sign-in, or the
    one configured now if shorter)."""
    return (row.revoked_at is None and now < row.expires_at and now < row.created_at + _lifetime()
            and now < row.last_seen_at + _idle())


def start_session(user: User, user_agent: str = "", remote_addr: str = "", *, now: datetime | None = None) -> str:
    """A new session of a user who just signed in; returns the token for the cookie (only its hash is kept)."""
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    # Nothing it reads is changed: the user the sign-in loaded stays loaded for login_user.
    with transaction(keep_loaded=True) as session:
        # The user's ended sessions go: the table holds what may still sign someone in.
        session.execute(delete(WebSession).where(
            WebSession.user_id == user.id, or_(WebSession.revoked_at.is_not(None), WebSession.expires_at <= now)))
        session.add(WebSession(user_id=user.id, token_hash=token_digest(token), created_at=now, last_seen_at=now,
                               expires_at=now + _lifetime(), user_agent=(user_agent or "")[:USER_AGENT_LENGTH],
                               remote_addr=(remote_addr or "")[:64]))
    return token


def session_for(user_id: int, token: str | None, *, now: datetime | None = None) -> WebSession | None:
    """The live session of `token` if it is `user_id`'s, with the user and what pages read of them
    (their unit and its contract) in the same statement; else None. Marks it seen, once a minute."""
    if not token or not isinstance(token, str):
        return None
    now = now or utcnow()
    row = db.session.execute(_session_with_user(), {"digest": token_digest(token)}).scalar_one_or_none()
    if row is None or row.user_id != user_id or not row.user.active or not is_live(row, now):
        return None
    if now - row.last_seen_at >= TOUCH_EVERY:
        _touch(row, now)
    return row


@cache
def _session_with_user():
    """session_for's statement, built once: its loader options cost more to build than to run,
    on every request of a signed-in user."""
    return (select(WebSession).where(WebSession.token_hash == bindparam("digest"))
            .options(joinedload(WebSession.user).joinedload(User.unit).joinedload(Unit.contract)))


def _touch(row: WebSession, now: datetime) -> None:
    """Mark a session seen. Only last_seen_at is written, so two requests racing here both write about
    now, and a revocation meanwhile is kept (its column is not in the UPDATE).

    A page is a read: where the database takes no write just now (SQLite held by a long import,
    after its busy wait; on PostgreSQL the session's row locked by another transaction, after
    TOUCH_LOCK_WAIT) it is still served, and a later request marks the session seen."""
    try:
        with transaction(keep_loaded=True) as session:
            if session.get_bind().dialect.name == "postgresql":
                # PostgreSQL would wait for a row lock as long as its holder keeps it.
                session.execute(text(f"SET LOCAL lock_timeout = {int(TOUCH_LOCK_WAIT.total_seconds() * 1000)}"))
            row.last_seen_at = now
    except OperationalError as exc:
        current_app.logger.warning("web session %s not marked seen: %s", row.id, getattr(exc, "orig", None) or exc)
        db.session.rollback()


def end_session(token: str | None, *, now: datetime | None = None) -> None:
    """Sign-out: this browser's session only; a copy of its cookie is refused from now on."""
    if not token or not isinstance(token, str):
        return
    with transaction() as session:
        session.execute(update(WebSession).where(WebSession.token_hash == token_digest(token),
                                                 WebSession.revoked_at.is_(None)).values(revoked_at=now or utcnow()))


def revoke_sessions(user_id: int, *, keep_token: str | None = None, now: datetime | None = None) -> int:
    """Inside the caller's transaction: end every session of a user (but the one of `keep_token`);
    how many were open."""
    query = update(WebSession).where(WebSession.user_id == user_id, WebSession.revoked_at.is_(None))
    if keep_token:
        query = query.where(WebSession.token_hash != token_digest(keep_token))
    return db.session.execute(query.values(revoked_at=now or utcnow())).rowcount


def end_other_sessions(actor: Actor, token: str | None, *, now: datetime | None = None) -> int:
    """"Sign out everywhere else": every session of the actor but this browser's, audited."""
    if actor.user_id is None or not token:
        raise ValueError("only a signed-in user ends their other sessions")
    now = now or utcnow()
    with transaction():
        ended = revoke_sessions(actor.user_id, keep_token=token, now=now)
        record(actor, "user.sessions_ended", "user", actor.user_id, after={"sessions": ended})
    return ended


@dataclass(frozen=True)
class OpenSession:
    row: WebSession
    current: bool


def open_sessions(user_id: int, token: str | None, *, now: datetime | None = None) -> list[OpenSession]:
    """A user's live sessions, this browser's first, then the most recently seen."""
    now = now or utcnow()
    current = token_digest(token) if token else None
    rows = db.session.execute(
        select(WebSession).where(WebSession.user_id == user_id, WebSession.revoked_at.is_(None),
                                 WebSession.expires_at > now)
        .order_by(WebSession.last_seen_at.desc(), WebSession.id.desc())
    ).scalars()
    live = [OpenSession(row, row.token_hash == current) for row in rows if is_live(row, now)]
    return sorted(live, key=lambda s: not s.current)
