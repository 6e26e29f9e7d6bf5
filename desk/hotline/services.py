"""The hotline's work (四.(二): fault reports 7×24 by phone and SMS): who is calling, the call's
state between Twilio's requests, filing the ticket, and the status of a ticket.

Each function that writes owns its transaction; a ticket, its audit entries and its SMS are
written together by `desk.incidents.services.file_ticket`, keyed by Twilio's CallSid or
MessageSid so that a retried webhook never files a second ticket.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, exists, func, select
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from desk.audit.services import Actor, record
from desk.contracts.services import normalise_phone, phone_variants, sms_number, unit_with_terms
from desk.db import transaction
from desk.errors import NotFound, ValidationFailed
from desk.extensions import db
from desk.hotline import prompts
from desk.incidents.services import file_ticket, repair_deadline
from desk.models import HotlineCall, HotlinePinFailure, Incident, Ticket, Unit, UnitPhone, utcnow
from desk.outbox.services import enqueue

log = logging.getLogger(__name__)

HOTLINE = Actor.system("hotline")
# What a caller may key as a PIN: 4 to 8 digits, so that PINs set before new ones needed 6 still work.
PIN = re.compile(r"^[0-9]{4,8}$")
# A PIN set now: 6 to 8 digits. At ten wrong tries an hour per code, 4 digits fall to guessing in
# three weeks on average; 6 take about six years (docs/hotline.md, 3).
NEW_PIN = re.compile(r"^[0-9]{6,8}$")
# The letters on a phone keypad (ITU E.161): unit codes are keyed as digits.
KEYPAD = {letter: digit for digit, letters in {
    "2": "ABC", "3": "DEF", "4": "GHI", "5": "JKL", "6": "MNO", "7": "PQRS", "8": "TUV", "9": "WXYZ",
}.items() for letter in letters}
MAX_TRIES = 3
# Wrong PINs for one keyed unit code across all calls in an hour before the code is locked.
MAX_PIN_FAILURES_PER_HOUR = 10
MAX_TICKET_DIGITS = 12


def unit_for_phone(number: str) -> Unit | None:
    variants = phone_variants(number)
    if not variants:
        return None
    return db.session.execute(
        select(Unit).join(UnitPhone, UnitPhone.unit_id == Unit.id)
        .where(UnitPhone.phone.in_(variants), Unit.active.is_(True)).limit(1)
    ).scalar_one_or_none()


def registered_for(unit_id: int, number: str) -> bool:
    """Whether `number` is one of the unit's registered phones: an SMS report asks of the unit it
    names, so one plain statement rather than loading the sender's unit."""
    variants = phone_variants(number)
    return bool(variants) and db.session.execute(_REGISTERED, {"unit_id": unit_id, "variants": variants}).scalar()


_phone = UnitPhone.__table__.c
_REGISTERED = select(exists().where(_phone.unit_id == bindparam("unit_id"),
                                    _phone.phone.in_(bindparam("variants", expanding=True))))


def keypad_digits(code: str) -> str:
    """QMGA → 7642: a unit code as keyed on a phone (letters by their key, other signs left out)."""
    return "".join(c if c.isdigit() else KEYPAD.get(c, "") for c in code.upper())


def set_unit_pin(actor: Actor, code: str, pin: str) -> Unit:
    """The PIN a unit's people key when they call from a number not registered for the unit."""
    unit = db.session.execute(select(Unit).where(Unit.code == code)).scalar_one_or_none()
    if unit is None:
        raise NotFound(f"no unit with code {code!r}")
    if not NEW_PIN.match(pin or ""):
        raise ValidationFailed("PIN: 6 to 8 digits, keyed on a phone")
    if guessable(pin):
        raise ValidationFailed("PIN: too easy to guess (one digit repeated, or a run such as 123456 or 987654)")
    if not keypad_digits(unit.code):
        raise ValidationFailed(f"unit {unit.code}: its code has no letter or digit a caller could key")
    with transaction():
        unit.pin_hash = generate_password_hash(pin, method="scrypt")
        # The log says that the PIN changed, never the PIN or its hash.
        record(actor, "unit.pin_set", "unit", unit.id, contract_id=unit.contract_id, after={"code": unit.code})
    return unit


def guessable(pin: str) -> bool:
    """The PINs a guesser keys first: one digit throughout, or digits rising or falling by one."""
    steps = {(int(b) - int(a)) % 10 for a, b in zip(pin, pin[1:])}
    return len(steps) == 1 and steps <= {0, 1, 9}


# ---------------------------------------------------------------------------------------------
# The call's state, one row per CallSid.

def call_for(call_sid: str, from_phone: str) -> HotlineCall:
    """The call's row, created on its first request; a registered number identifies the unit at once."""
    if not call_sid or len(call_sid) > 64:
        raise ValidationFailed("CallSid: missing or too long")
    call = _call(call_sid)
    if call is not None:
        return call
    unit = unit_for_phone(from_phone)
    try:
        with transaction() as session:
            call = HotlineCall(call_sid=call_sid, from_phone=normalise_phone(from_phone or "")[:32],
                               unit_id=unit.id if unit else None)
            session.add(call)
    except IntegrityError:
        # Twilio sent the first request twice and the other one created the row.
        db.session.rollback()
        call = _call(call_sid)
        if call is None:
            raise
    return call


def _call(call_sid: str) -> HotlineCall | None:
    return db.session.execute(select(HotlineCall).where(HotlineCall.call_sid == call_sid)).scalar_one_or_none()


def update_call(call: HotlineCall, **values) -> HotlineCall:
    with transaction():
        for name, value in values.items():
            setattr(call, name, value)
    return call


def miss(call: HotlineCall) -> bool:
    """No input or a wrong key: True while the caller may try again, False when the call should end."""
    update_call(call, misses=call.misses + 1)
    if call.misses >= MAX_TRIES:
        update_call(call, outcome="abandoned")
        return False
    return True


def end_call(call_sid: str) -> None:
    """Twilio's status callback: a call that ended before a ticket was filed filed nothing."""
    call = _call(call_sid)
    if call is not None and call.outcome == "in_progress":
        update_call(call, outcome="abandoned")


@dataclass(frozen=True)
class Identification:
    unit: Unit | None
    tries_left: int
    locked: bool = False


def identify(call: HotlineCall, keyed_code: str, pin: str, *, now: datetime | None = None) -> Identification:
    """A unit code keyed as digits and its PIN. Three wrong tries end the call; ten wrong PINs for
    one code within an hour, over any number of calls, lock that code for the hour."""
    now = now or utcnow()
    keyed_code = (keyed_code or "")[:64]
    # Counted per code keyed, not per call: a call's own counter goes with its last code.
    recent_failures = db.session.execute(
        select(func.count()).select_from(HotlinePinFailure)
        .where(HotlinePinFailure.keyed_code == keyed_code, HotlinePinFailure.failed_at >= now - timedelta(hours=1))
    ).scalar_one()
    unit = None
    if recent_failures < MAX_PIN_FAILURES_PER_HOUR and keyed_code and PIN.match(pin or ""):
        candidates = [u for u in db.session.execute(
            select(Unit).where(Unit.active.is_(True), Unit.pin_hash != "").order_by(Unit.id)).scalars()
            if keypad_digits(u.code) == keyed_code]
        unit = next((u for u in candidates if check_password_hash(u.pin_hash, pin)), None)
    if unit is not None:
        update_call(call, unit_id=unit.id, keyed_code=keyed_code, misses=0)
        return Identification(unit, MAX_TRIES - call.failed_identifications)
    with transaction() as session:
        call.keyed_code, call.failed_identifications = keyed_code, call.failed_identifications + 1
        session.add(HotlinePinFailure(keyed_code=keyed_code, call_id=call.id, failed_at=now))
    left = MAX_TRIES - call.failed_identifications
    if left <= 0:
        update_call(call, outcome="refused")
    return Identification(None, left, locked=recent_failures >= MAX_PIN_FAILURES_PER_HOUR)


# ---------------------------------------------------------------------------------------------
# Filing and status.

def file_call(call: HotlineCall, recording_url: str = "") -> tuple[Ticket, bool]:
    """The fault reported by this call; the caller is sent the ticket number and deadline by SMS."""
    if call.unit_id is None or call.kind is None:
        raise ValidationFailed("the call has not identified its unit and the kind of fault")
    recording_url = (recording_url or "").strip()
    if recording_url and (not recording_url.startswith("https://") or len(recording_url) > 500):
        # The caller has reported the fault: file it without the link rather than lose the report.
        log.warning("hotline: call %s filed without its recording: RecordingUrl is not an https URL "
                    "of at most 500 characters", call.call_sid)
        recording_url = ""
    with transaction():
        ticket, created = file_ticket(
            HOTLINE, unit=call.unit, kind=call.kind, channel="hotline",
            description=prompts.CALL_DESCRIPTION if not recording_url else prompts.CALL_DESCRIPTION_RECORDED,
            idempotency_key=f"twilio:call:{call.call_sid}", caller_phone=call.from_phone,
            recording_url=recording_url)
        if created:
            _confirm_to_caller(ticket)
        call.outcome, call.ticket_id = "filed", ticket.id
    return ticket, created


def file_sms(message_sid: str, from_phone: str, unit: Unit, kind: str, description: str) -> tuple[Ticket, bool]:
    if not message_sid or len(message_sid) > 64:
        raise ValidationFailed("MessageSid: missing or too long")
    return file_ticket(HOTLINE, unit=unit, kind=kind, channel="sms", description=description,
                       idempotency_key=f"twilio:sms:{message_sid}", caller_phone=normalise_phone(from_phone)[:32])


def _confirm_to_caller(ticket: Ticket) -> None:
    """四.(二): the caller gets the ticket number and the repair deadline in writing."""
    to = sms_number(ticket.caller_phone)
    if to is None:
        return  # a landline or a withheld number: Twilio would refuse the SMS (21211)
    text = prompts.confirmation_sms(ticket, repair_deadline(ticket.incident))
    enqueue(to, text, f"ticket:{ticket.id}:filed:caller", incident_id=ticket.incident_id)


def ticket_of_unit(number: str, unit: Unit) -> Ticket | None:
    """The ticket with this number, only if it is the unit's own (others are simply not found)."""
    ticket = _ticket(number)
    if ticket is None or ticket.unit_id != unit.id:
        return None
    return ticket


def ticket_reported_by(number: str, phone: str) -> Ticket | None:
    """The ticket with this number, only if this phone reported it (a caller who keyed the unit's
    PIN from a number not registered for it: its confirmation SMS offers 查询 <工单号>)."""
    ticket = _ticket(number)
    caller = normalise_phone(phone or "")
    if ticket is None or not caller or ticket.caller_phone != caller[:32]:
        return None
    return ticket


def _ticket(number: str) -> Ticket | None:
    digits = (number or "").strip()
    if not digits.isdigit() or len(digits) > MAX_TICKET_DIGITS:
        return None
    return db.session.get(Ticket, int(digits))


def current_incident(ticket: Ticket) -> Incident:
    """The incident a ticket's report now belongs to (merges move tickets; follow any chain)."""
    incident = ticket.incident
    seen = set()
    while incident.merged_into_id is not None and incident.id not in seen:
        seen.add(incident.id)
        incident = db.session.get(Incident, incident.merged_into_id)
    return incident


def status_text(ticket: Ticket, now: datetime | None = None) -> str:
    incident = current_incident(ticket)
    return prompts.status(ticket, incident, repair_deadline(incident), now or utcnow())


# ---------------------------------------------------------------------------------------------
# SMS: `报障 <单位代码> [中断|受损] <描述>` files a fault, `查询 <工单号>` answers its status.

KIND_ALIASES = {"中断": "interruption", "业务中断": "interruption", "受损": "degradation",
                "业务受损": "degradation", "劣化": "degradation"}
# Between the command, the unit code and the kind, phones type a space as often as a colon or a
# comma, full-width or not (the body's spaces are single by then); the description keeps its own.
SEPARATOR_CHARS = " ,，:：;；、"
SMS_SEPARATORS = re.compile(f"[{SEPARATOR_CHARS}]+")


def _first_field(text: str) -> tuple[str, str]:
    """The text's first field and the rest, split at the first separator."""
    first, *rest = SMS_SEPARATORS.split(text, maxsplit=1)
    return first, rest[0] if rest else ""


def answer_sms(message_sid: str, from_phone: str, body: str, *, now: datetime | None = None) -> str:
    """The reply to one text message; filing is idempotent on the MessageSid."""
    text = " ".join((body or "").replace("\u3000", " ").split())
    for command, handler in (("报障", _sms_report), ("查询", _sms_status)):
        if text.startswith(command):
            rest = text[len(command):].lstrip(SEPARATOR_CHARS)
            return handler(message_sid, from_phone, rest, now or utcnow())
    return prompts.SMS_HELP


def _sms_report(message_sid: str, from_phone: str, rest: str, now: datetime) -> str:
    code, description = _first_field(rest)
    if not code:
        return prompts.SMS_HELP
    unit = unit_with_terms(func.upper(Unit.code) == code.upper())
    if unit is None:
        return prompts.SMS_NO_UNIT.format(code=code[:20])
    # A unit code is no secret: only a number registered for the unit may file in its name.
    if not unit.active or not registered_for(unit.id, from_phone):
        return prompts.SMS_UNREGISTERED
    first, remainder = _first_field(description)
    kind = KIND_ALIASES.get(first, "interruption")
    if first in KIND_ALIASES:
        description = remainder
    try:
        ticket, _ = file_sms(message_sid, from_phone, unit, kind, description)
    except ValidationFailed as exc:
        db.session.rollback()
        return prompts.sms_refused(exc.errors)
    return prompts.confirmation_sms(ticket, repair_deadline(ticket.incident))


def _sms_status(message_sid: str, from_phone: str, rest: str, now: datetime) -> str:
    if not rest:
        return prompts.SMS_HELP
    unit = unit_for_phone(from_phone)
    ticket = (ticket_of_unit(rest, unit) if unit is not None else None) or ticket_reported_by(rest, from_phone)
    if ticket is None and unit is None:
        return prompts.SMS_UNREGISTERED
    if ticket is None:
        return prompts.SMS_TICKET_NOT_FOUND.format(number=rest[:MAX_TICKET_DIGITS])
    return "【警务专网】" + status_text(ticket, now)
