"""Creating users and API tokens; checking who may see which contract and unit."""
from __future__ import annotations

import hmac
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, delete, func, select, update
from werkzeug.security import check_password_hash, generate_password_hash

from desk.audit.services import Actor, record
from desk.auth.sessions import revoke_sessions, token_digest
from desk.contracts.services import phone_number, sms_number
from desk.db import transaction
from desk.errors import DeskError, NotFound, ValidationFailed
from desk.extensions import db
from desk.models import ROLES, ApiToken, Contract, LoginAttempt, Unit, User, utcnow
from desk.models.users import api_token_contract

MIN_PASSWORD = 8
TOKEN_PREFIX = "desk_"
# Checked against a dummy hash when the user does not exist, so timing does not reveal usernames.
_DUMMY_HASH = generate_password_hash("not-a-real-password", method="scrypt")


def hash_password(password: str) -> str:
    return generate_password_hash(password, method="scrypt")


def create_user(actor: Actor, *, username: str, password: str, role: str, display_name: str = "",
                unit_code: str | None = None, contract_codes: list[str] | None = None, phone: str = "",
                on_duty: bool = False) -> User:
    errors = []
    username = (username or "").strip()
    if not username or len(username) > 80:
        errors.append("username: 1 to 80 characters")
    if role not in ROLES:
        errors.append(f"role: must be one of {', '.join(ROLES)}")
    if len(password or "") < MIN_PASSWORD:
        errors.append(f"password: at least {MIN_PASSWORD} characters")
    if db.session.execute(select(User.id).where(User.username == username)).first():
        errors.append(f"username: {username!r} is taken")
    unit = None
    if unit_code:
        unit = db.session.execute(select(Unit).where(Unit.code == unit_code)).scalar_one_or_none()
        if unit is None:
            errors.append(f"unit: no unit with code {unit_code!r}")
    elif role == "unit_reporter":
        errors.append("unit: a unit reporter belongs to a unit")
    contracts = []
    for code in contract_codes or []:
        contract = db.session.execute(select(Contract).where(Contract.code == code)).scalar_one_or_none()
        if contract is None:
            errors.append(f"contract: no contract with code {code!r}")
        else:
            contracts.append(contract)
    if unit is not None:
        # A unit's people see what their unit's contract allows; another contract beside it would
        # give a police unit's manager the scope of a contract their unit is no party to.
        others = [c.code for c in contracts if c.id != unit.contract_id]
        if others:
            errors.append(f"contract: unit {unit.code} is served by {unit.contract.code} alone, "
                          f"not {', '.join(others)}")
        elif unit.contract not in contracts:
            contracts.append(unit.contract)
    phone = (phone or "").strip()
    if phone:
        # The on-duty engineers' new-ticket SMS go to this number: kept in E.164, as Twilio sends to it.
        number = phone_number(phone)
        sms = sms_number(number) if number else None
        if number is None:
            errors.append(f"phone: {phone!r} is not a phone number")
        elif sms is None:
            errors.append(f"phone: {phone!r} takes no SMS: give a mobile number (+8613…, or its 11 digits)")
        phone = sms or phone
    if errors:
        raise ValidationFailed("the user was not created", errors=errors)
    with transaction() as session:
        user = User(username=username, password_hash=hash_password(password), role=role,
                    display_name=display_name or username, unit=unit, phone=phone, on_duty=on_duty)
        user.contracts = contracts
        session.add(user)
        session.flush()
        record(actor, "user.created", "user", user.id,
               after={"username": username, "role": role, "unit": unit_code,
                      "contracts": [c.code for c in contracts]})
    return user


def authenticate(username: str, password: str) -> User | None:
    user = db.session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    if user is None:
        check_password_hash(_DUMMY_HASH, password or "")
        return None
    # The hash is checked whether or not the user is active: a quick refusal would tell that the
    # username exists and was deactivated.
    if not check_password_hash(user.password_hash, password or "") or not user.active:
        return None
    return user


def create_api_token(actor: Actor, name: str, contract_codes: list[str]) -> tuple[ApiToken, str]:
    """Returns the token row and the plaintext, which is shown once and never stored."""
    if not name or len(name) > 120:
        raise ValidationFailed("name: 1 to 120 characters")
    if not contract_codes:
        raise ValidationFailed("a token is scoped to at least one contract")
    contracts = []
    for code in contract_codes:
        contract = db.session.execute(select(Contract).where(Contract.code == code)).scalar_one_or_none()
        if contract is None:
            raise ValidationFailed(f"contract: no contract with code {code!r}")
        contracts.append(contract)
    plaintext = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction() as session:
        token = ApiToken(name=name, token_hash=token_digest(plaintext), prefix=plaintext[:12])
        token.contracts = contracts
        session.add(token)
        session.flush()
        record(actor, "api_token.created", "api_token", token.id,
               after={"name": name, "prefix": token.prefix, "contracts": contract_codes})
    return token, plaintext


def revoke_api_token(actor: Actor, prefix: str) -> ApiToken:
    token = db.session.execute(select(ApiToken).where(ApiToken.prefix == prefix)).scalar_one_or_none()
    if token is None:
        raise ValidationFailed(f"no API token starting {prefix!r}")
    with transaction():
        token.revoked_at = token.revoked_at or utcnow()
        record(actor, "api_token.revoked", "api_token", token.id, after={"prefix": prefix})
    return token


@dataclass(frozen=True)
class TokenScope:
    """A live API token as a request needs it: its id and prefix (the actor's name) and the
    contracts it is scoped to, by id."""

    id: int
    prefix: str
    contract_ids: frozenset[int]


# The token and its contracts in one statement: every API request asks.
_token = ApiToken.__table__.c
_TOKEN_WITH_SCOPE = (
    select(_token.id, _token.prefix, _token.token_hash, _token.revoked_at, api_token_contract.c.contract_id)
    .outerjoin(api_token_contract, api_token_contract.c.token_id == _token.id)
    .where(_token.token_hash == bindparam("digest"))
)


def token_for(plaintext: str) -> TokenScope | None:
    """The token a bearer presents, or None: unknown, malformed or revoked."""
    if not plaintext or not plaintext.startswith(TOKEN_PREFIX):
        return None
    digest = token_digest(plaintext)
    rows = db.session.execute(_TOKEN_WITH_SCOPE, {"digest": digest}).all()
    if not rows or rows[0].revoked_at is not None or not hmac.compare_digest(rows[0].token_hash, digest):
        return None
    return TokenScope(rows[0].id, rows[0].prefix,
                      frozenset(row.contract_id for row in rows if row.contract_id is not None))


# The login rate limit. Attempts live in the database, so every worker counts the same rows.
LOGIN_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_USER = 5
MAX_FAILURES_PER_ADDR = 20


class TooManyAttempts(DeskError):
    status = 429


# Sign-ins still being checked count against the limit until their outcome is known: an attempt
# that the earlier ones would put over it waits for them (a failure counts, a success does not),
# this long at most, then is refused.
PENDING_WAIT_SECONDS = 10.0
PENDING_POLL_SECONDS = 0.05


def _attempts_before(column, value: str, since: datetime, attempt_id: int) -> tuple[int, int]:
    """(failed, still being checked) attempts in the window: every failure, and the checks begun
    before this attempt (so of attempts sent at once the first go ahead, and none waits on a later one)."""
    last_success = db.session.execute(
        select(func.max(LoginAttempt.at)).where(column == value, LoginAttempt.succeeded.is_(True))
    ).scalar()
    if last_success is not None and last_success > since:
        since = last_success  # a successful sign-in clears earlier failures
    failed, pending = db.session.execute(
        select(func.count().filter(LoginAttempt.succeeded.is_(False)),
               func.count().filter(LoginAttempt.succeeded.is_(None), LoginAttempt.id < attempt_id))
        .where(column == value, LoginAttempt.at > since, LoginAttempt.id != attempt_id)
    ).one()
    return failed, pending


def _refused_by_limit(username: str, remote_addr: str, since: datetime, attempt_id: int) -> bool:
    limits = [(LoginAttempt.username, username, MAX_FAILURES_PER_USER)]
    if remote_addr:
        limits.append((LoginAttempt.remote_addr, remote_addr, MAX_FAILURES_PER_ADDR))
    give_up = time.monotonic() + PENDING_WAIT_SECONDS
    while True:
        counts = [(_attempts_before(column, value, since, attempt_id), limit) for column, value, limit in limits]
        if any(failed >= limit for (failed, _), limit in counts):
            return True
        if all(failed + pending < limit for (failed, pending), limit in counts):
            return False
        if time.monotonic() > give_up:
            return True
        db.session.rollback()  # end the read, so that the next one sees the outcomes committed meanwhile
        time.sleep(PENDING_POLL_SECONDS)


def login(username: str, password: str, remote_addr: str = "", *, now: datetime | None = None) -> User:
    """Check a sign-in, record the attempt, and refuse while too many recent ones failed.

    The attempt is written before it is counted and its password checked, so that guesses sent at
    once to several workers see each other: no more passwords are checked than the limit allows."""
    now = now or utcnow()
    username = (username or "").strip()[:80]
    remote_addr = (remote_addr or "")[:64]
    with transaction() as session:
        attempt = LoginAttempt(username=username, remote_addr=remote_addr, at=now, succeeded=None)
        session.add(attempt)
    attempt_id = attempt.id
    if _refused_by_limit(username, remote_addr, now - LOGIN_WINDOW, attempt_id):
        with transaction() as session:
            # A refused attempt is no failure: the limit runs out LOGIN_WINDOW after the last one checked.
            session.execute(delete(LoginAttempt).where(LoginAttempt.id == attempt_id))
        raise TooManyAttempts(
            f"too many failed sign-ins; try again in {int(LOGIN_WINDOW.total_seconds() // 60)} minutes")
    user = authenticate(username, password)
    with transaction() as session:
        session.execute(update(LoginAttempt).where(LoginAttempt.id == attempt_id)
                        .values(succeeded=user is not None))
    if user is None:
        raise ValidationFailed("wrong username or password")
    return user


def _user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound(f"no user {user_id}")
    return user


def set_user_active(actor: Actor, user_id: int, active: bool) -> User:
    user = _user(user_id)
    if actor.user_id == user.id and not active:
        raise ValidationFailed("you cannot deactivate yourself")
    with transaction():
        before = {"active": user.active}
        user.active = active
        if not active:
            revoke_sessions(user.id)  # signed out on every device now, not at their next page
        record(actor, "user.activated" if active else "user.deactivated", "user", user.id,
               before=before, after={"active": active})
    return user


def reset_password(actor: Actor, user_id: int, password: str, *, keep_token: str | None = None) -> User:
    """A new password, and every session of the old one ended (but the one of `keep_token`: an admin
    resetting their own password stays signed in on the browser they did it from)."""
    user = _user(user_id)
    if len(password or "") < MIN_PASSWORD:
        raise ValidationFailed(f"password: at least {MIN_PASSWORD} characters")
    with transaction():
        user.password_hash = hash_password(password)
        revoke_sessions(user.id, keep_token=keep_token)
        record(actor, "user.password_reset", "user", user.id)
    return user


def set_locale(user: User, locale: str) -> None:
    """The language a signed-in user chose; kept on the user so it follows them to other devices."""
    if locale not in ("zh", "en"):
        raise ValidationFailed(f"language: {locale!r} is not offered")
    with transaction():
        before = {"locale": user.locale}
        user.locale = locale
        record(Actor.of_user(user), "user.locale_changed", "user", user.id, before=before, after={"locale": locale})
