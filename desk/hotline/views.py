"""Twilio's webhooks: the voice menu (TwiML from the SDK, spoken in zh-CN), the SMS intake, and
the status callbacks of the calls and of the SMS the desk sends.

Every request is checked against Twilio's signature before anything is read or written; every
answer but a status callback's is TwiML. Views only read the form, call a service and say the result.
"""
from __future__ import annotations

import logging
from functools import wraps

from flask import Blueprint, Response, current_app, request, url_for
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from twilio.twiml.messaging_response import MessagingResponse
from twilio.twiml.voice_response import VoiceResponse

from desk.errors import DeskError
from desk.extensions import csrf, db
from desk.hotline import prompts, services
from desk.hotline.signature import check_signature
from desk.models import HotlineCall
from desk.outbox.services import record_delivery

bp = Blueprint("hotline", __name__, url_prefix="/hotline")
# Twilio posts without a CSRF token; the signature check stands in for it.
csrf.exempt(bp)
log = logging.getLogger(__name__)
# A call that gave a ticket's status may ask for another one.
OPEN_OUTCOMES = ("in_progress", "status_given")

bp.before_request(check_signature)


def twiml(response, status: int = 200) -> Response:
    return Response(str(response), status=status, mimetype="text/xml")


def say(node, text: str) -> None:
    voice = current_app.config.get("HOTLINE_VOICE") or None
    node.say(text, language=say_language(voice), voice=voice)


def say_language(voice: str | None) -> str:
    """The locale Twilio lists Mandarin under for this voice: cmn-CN for Amazon Polly's and Google's
    Mandarin voices, zh-CN for its basic voices and the account's default. Twilio warns that a voice
    given a language it does not list may fail the <Say>."""
    return "cmn-CN" if voice and voice.startswith(("Polly.", "Google.")) else "zh-CN"


def ask(endpoint: str, text: str, *, num_digits: int | None = None) -> Response:
    """A prompt that waits for keys; no input comes back to the same step with Digits empty."""
    response = VoiceResponse()
    gather = response.gather(input="dtmf", action=url_for(endpoint), method="POST", timeout=8,
                             num_digits=num_digits, finish_on_key=None if num_digits else "#",
                             action_on_empty_result=True)
    say(gather, text)
    response.redirect(url_for(endpoint), method="POST")
    return twiml(response)


def goodbye(text: str) -> Response:
    response = VoiceResponse()
    say(response, text)
    response.hangup()
    return twiml(response)


def current_call() -> HotlineCall:
    return services.call_for(request.form.get("CallSid", ""), request.form.get("From", ""))


def step(view):
    """A step of a call: the call's row is passed in; a call that has ended (filed, refused,
    abandoned) hears goodbye whatever is sent, so a late or replayed request changes nothing."""
    @wraps(view)
    def wrapped():
        call = current_call()
        if call.outcome not in OPEN_OUTCOMES:
            return goodbye(prompts.GOODBYE)
        return view(call)
    return wrapped


def digits() -> str:
    return (request.form.get("Digits") or "").strip()


def missed(call: HotlineCall, retry) -> Response:
    """No key, or a wrong one: say so and ask again, three times at most."""
    prefix = prompts.WRONG_INPUT if digits() else prompts.NO_INPUT
    if services.miss(call):
        return retry(prefix)
    return goodbye(prompts.GOODBYE_UNHEARD)


def menu(prefix: str = "") -> Response:
    return ask("hotline.menu", prefix + prompts.MENU, num_digits=1)


def next_step(call: HotlineCall, prefix: str = "") -> Response:
    """Where the call goes from what is known: identify the unit, then the chosen purpose."""
    if not call.purpose:
        return menu(prefix)
    if call.unit_id is None:
        return ask("hotline.unit_code", prefix + prompts.ASK_UNIT_CODE)
    if call.purpose == "report":
        return ask("hotline.kind", prefix + prompts.ASK_KIND, num_digits=1)
    return ask("hotline.ticket_status", prefix + prompts.ASK_TICKET)


@bp.post("/voice")
@step
def voice(call: HotlineCall):
    """A call comes in: greeting and menu."""
    return menu(prompts.GREETING)


@bp.post("/voice/menu", endpoint="menu")
@step
def menu_choice(call: HotlineCall):
    key = digits()
    if key == "0":
        return menu()
    if key in ("1", "2"):
        services.update_call(call, purpose="report" if key == "1" else "status", misses=0)
        return next_step(call)
    return missed(call, menu)


@bp.post("/voice/unit")
@step
def unit_code(call: HotlineCall):
    if call.unit_id is not None or not call.purpose:
        return next_step(call)
    if not digits():
        return missed(call, lambda prefix: ask("hotline.unit_code", prefix + prompts.ASK_UNIT_CODE))
    services.update_call(call, keyed_code=digits()[:64], misses=0)
    return ask("hotline.pin", prompts.ASK_PIN)


@bp.post("/voice/pin")
@step
def pin(call: HotlineCall):
    if call.unit_id is not None or not call.keyed_code:
        return next_step(call)
    if not digits():
        # No key is no wrong PIN: asked again, and not counted toward the code's lock.
        return missed(call, lambda prefix: ask("hotline.pin", prefix + prompts.ASK_PIN))
    found = services.identify(call, call.keyed_code, digits())
    if found.unit is not None:
        return next_step(call)
    if found.locked:
        services.update_call(call, outcome="refused")
        return goodbye(prompts.LOCKED)
    if found.tries_left > 0:
        return ask("hotline.unit_code", prompts.WRONG_PIN + prompts.ASK_UNIT_CODE)
    return goodbye(prompts.REFUSED)


@bp.post("/voice/kind")
@step
def kind(call: HotlineCall):
    if call.unit_id is None or call.purpose != "report":
        return next_step(call)
    chosen = {"1": "interruption", "2": "degradation"}.get(digits())
    if chosen is None:
        return missed(call, lambda prefix: ask("hotline.kind", prefix + prompts.ASK_KIND, num_digits=1))
    services.update_call(call, kind=chosen, misses=0)
    response = VoiceResponse()
    say(response, prompts.ASK_RECORDING)
    response.record(action=url_for("hotline.recorded"), method="POST", max_length=120, timeout=5,
                    finish_on_key="#", play_beep=True, trim="trim-silence")
    # Nothing recorded (# at once): Twilio goes on to the next verb, which files without a recording.
    response.redirect(url_for("hotline.recorded"), method="POST")
    return twiml(response)


@bp.post("/voice/recorded")
def recorded():
    """The report is complete: file it (once per call) and read the ticket number back.

    A caller who hangs up during the recording still reaches here (Twilio posts the recording);
    one who hangs up earlier files nothing."""
    call = current_call()
    if call.kind is None or call.unit_id is None:
        return next_step(call)
    ticket, _ = services.file_call(call, request.form.get("RecordingUrl", ""))
    deadline = services.repair_deadline(ticket.incident)
    response = VoiceResponse()
    say(response, prompts.filed(ticket.number, deadline, ticket.incident.contract.timezone))
    say(response, f"再说一遍，工单号：{prompts.digits(ticket.number)}。")
    say(response, prompts.GOODBYE)
    response.hangup()
    return twiml(response)


@bp.post("/voice/status")
@step
def ticket_status(call: HotlineCall):
    if call.unit_id is None or call.purpose != "status":
        return next_step(call)
    ticket = services.ticket_of_unit(digits(), call.unit) if digits() else None
    if ticket is None:
        prefix = prompts.TICKET_NOT_FOUND if digits() else ""
        return missed(call, lambda p: ask("hotline.ticket_status", p + prefix + prompts.ASK_TICKET))
    services.update_call(call, outcome="status_given", misses=0)
    text = prompts.spoken_status(ticket, services.status_text(ticket))
    return ask("hotline.ticket_status", text + prompts.ASK_ANOTHER_TICKET)


@bp.post("/voice/status-callback")
def call_ended():
    """Twilio's call status callback: a call that ended half-way is marked abandoned."""
    if request.form.get("CallStatus") in ("completed", "busy", "no-answer", "failed", "canceled"):
        services.end_call(request.form.get("CallSid", ""))
    return Response(status=204)


@bp.post("/sms")
def sms():
    reply = services.answer_sms(request.form.get("MessageSid", ""), request.form.get("From", ""),
                                request.form.get("Body", ""))
    response = MessagingResponse()
    response.message(reply)
    return twiml(response)


@bp.post("/sms/status")
def sms_status():
    """Twilio's status callback for an SMS the desk sent (the dispatcher asks for it when
    DESK_PUBLIC_URL is set): queued, sent, delivered, undelivered… Twilio reads no body."""
    form = request.form
    record_delivery(form.get("MessageSid", ""), form.get("MessageStatus", ""), form.get("ErrorCode", ""),
                    form.get("ErrorMessage", ""))
    return Response(status=204)


# Twilio's status callbacks expect no TwiML: their refusals and apologies are plain HTTP.
STATUS_CALLBACKS = ("hotline.sms_status",)


def _plain(text: str, status: int) -> Response:
    return Response(text + "\n", status=status, mimetype="text/plain")


@bp.errorhandler(DeskError)
def refused(exc: DeskError):
    """A request the desk cannot act on (no CallSid, an inactive unit): said politely, and with
    200 so that Twilio plays it rather than its own error message. A status callback, which
    nobody hears, is answered 400 with the fields that were wrong."""
    db.session.rollback()
    log.warning("hotline: refused %s: %s", request.path, "; ".join(exc.errors))
    if request.endpoint in STATUS_CALLBACKS:
        # 400 whatever the refusal: it is always about the fields Twilio sent.
        details = "" if exc.errors == [exc.message] else ": " + "; ".join(exc.errors)
        return _plain(exc.message + details, 400)
    if request.path.startswith("/hotline/sms"):
        response = MessagingResponse()
        response.message(prompts.sms_refused(exc.errors))
        return twiml(response)
    return goodbye(prompts.CANNOT_HANDLE)


@bp.errorhandler(DBAPIError)
@bp.errorhandler(PoolTimeout)
def database_unavailable(exc):
    """The database is down or locked: apologise in TwiML with 503 so that Twilio's fallback URL
    takes over. Whatever the request had begun is rolled back; the next request reconnects."""
    log.error("hotline: database unavailable: %s", exc)
    try:
        db.session.rollback()
    except Exception:  # noqa: BLE001 — the connection may be gone; remove() discards it below
        pass
    db.session.remove()
    if request.endpoint in STATUS_CALLBACKS:
        # Twilio does not retry a status callback: this status is lost (docs/hotline.md, 7).
        return _plain("the database is unavailable; the status was not recorded", 503)
    if request.path.startswith("/hotline/sms"):
        response = MessagingResponse()
        response.message(prompts.UNAVAILABLE_SMS)
    else:
        response = VoiceResponse()
        say(response, prompts.UNAVAILABLE)
        response.hangup()
    return twiml(response, 503)
