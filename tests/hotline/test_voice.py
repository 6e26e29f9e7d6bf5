"""The voice line end to end: signed Twilio requests through every step of the menu."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select, update
from werkzeug.security import generate_password_hash

from desk.audit.services import Actor
from desk.db import transaction
from desk.errors import ValidationFailed
from desk.extensions import db
from desk.hotline import prompts
from desk.hotline.services import set_unit_pin
from desk.incidents import services as incidents
from desk.models import AuditEntry, HotlineCall, HotlinePinFailure, OutboxMessage, Ticket, Unit
from tests.hotline.conftest import (
    ENGINEER_PHONE, QMGA_PHONE, STRANGER, XJGAT_KEYS, XJGAT_PHONE, XJGAT_PIN, Caller, count, said, verbs,
)


def call_row(sid: str) -> HotlineCall:
    db.session.expire_all()
    return db.session.execute(select(HotlineCall).where(HotlineCall.call_sid == sid)).scalar_one()


def outbox_to(phone: str) -> list[OutboxMessage]:
    db.session.expire_all()
    return list(db.session.execute(select(OutboxMessage).where(OutboxMessage.to == phone)
                                   .order_by(OutboxMessage.id)).scalars())


def test_a_registered_number_reports_a_fault_and_hears_the_ticket_number(client, hotline):
    caller = Caller(client, "CA" + "a" * 32, XJGAT_PHONE)
    greeting = caller.dial()
    assert "警务专网故障受理热线" in said(greeting) and "报障请按1" in said(greeting)
    assert b'language="cmn-CN"' in greeting.data and "Gather" in verbs(greeting)
    # The number is registered for the 公安厅: no unit code is asked, the kind is.
    assert prompts.ASK_KIND in said(caller.key("menu", "1"))
    recording = caller.key("kind", "1")
    assert "Record" in verbs(recording) and prompts.ASK_RECORDING in said(recording)
    done = caller.post("/hotline/voice/recorded", RecordingUrl="https://api.twilio.com/2010-04-01/Accounts/"
                       "AC1/Recordings/RE1", RecordingDuration="14")
    ticket = db.session.execute(select(Ticket)).scalar_one()
    assert ticket.channel == "hotline" and ticket.kind == "interruption"
    assert ticket.unit.code == "XJGAT" and ticket.caller_phone == XJGAT_PHONE
    assert ticket.recording_url.endswith("/Recordings/RE1")
    assert ticket.idempotency_key == f"twilio:call:{caller.sid}"
    text = said(done)
    assert f"工单号：{prompts.digits(ticket.number)}" in text and "修复时限为" in text
    assert prompts.digits(ticket.number) == "零 零 零 零 零 幺"
    assert "Hangup" in verbs(done)
    # Confirmed to the caller by SMS, and the on-duty engineer is alerted, in the same transaction.
    confirmation = outbox_to(XJGAT_PHONE)
    assert len(confirmation) == 1 and f"工单{ticket.number}" in confirmation[0].body
    assert "修复时限" in confirmation[0].body
    assert len(outbox_to(ENGINEER_PHONE)) == 1
    assert call_row(caller.sid).outcome == "filed" and call_row(caller.sid).ticket_id == ticket.id
    actors = {e.actor_label for e in db.session.execute(select(AuditEntry)).scalars()}
    assert "hotline" in actors


def test_every_prompt_is_spoken_by_a_mandarin_voice_unless_configured_otherwise(app, client, hotline):
    """Twilio's default voice (man) speaks English, Spanish, French and German only: a zh-CN
    prompt left to it may not be spoken at all."""
    from xml.etree import ElementTree

    def voices(response) -> set[tuple[str, str]]:
        return {(n.get("voice"), n.get("language")) for n in ElementTree.fromstring(response.data).iter("Say")}

    caller = Caller(client, "CA" + "s" * 32, XJGAT_PHONE)
    assert voices(caller.dial()) == voices(caller.key("menu", "1")) == {("Polly.Zhiyu", "cmn-CN")}
    app.config["HOTLINE_VOICE"] = "Google.cmn-CN-Standard-A"
    assert voices(caller.key("menu", "1")) == {("Google.cmn-CN-Standard-A", "cmn-CN")}
    # The account's default voice (set in Twilio's console) takes Mandarin as zh-CN.
    app.config["HOTLINE_VOICE"] = ""
    assert voices(caller.key("menu", "1")) == {(None, "zh-CN")}


def test_a_contract_without_a_repair_deadline_names_none(client, hotline):
    """QMGA's number is listed as "139 0000 1111"; Twilio sends +86…; its contract has no 四.(三)."""
    caller = Caller(client, "CA" + "n" * 32, QMGA_PHONE)
    caller.dial()
    caller.key("menu", "1")
    caller.key("kind", "1")
    text = said(caller.post("/hotline/voice/recorded"))
    ticket = db.session.execute(select(Ticket)).scalar_one()
    assert ticket.unit.code == "QMGA" and "工单号" in text and "修复时限" not in text
    assert "修复时限" not in outbox_to(QMGA_PHONE)[0].body


def test_twilio_retrying_a_request_never_files_a_second_ticket(client, hotline):
    caller = Caller(client, "CA" + "b" * 32, XJGAT_PHONE)
    caller.dial()
    caller.key("menu", "1")
    caller.key("kind", "2")
    first = caller.post("/hotline/voice/recorded")
    again = caller.post("/hotline/voice/recorded")
    assert said(first) == said(again)
    assert count(Ticket) == 1 and db.session.execute(select(Ticket)).scalar_one().kind == "degradation"
    assert len(outbox_to(XJGAT_PHONE)) == 1
    # A retried first request does not restart the call either.
    assert prompts.GOODBYE in said(caller.dial())


def test_a_call_id_sent_again_with_another_report_is_refused_and_files_nothing(client, hotline):
    """A CallSid stands for one report, as a MessageSid and an API Idempotency-Key do: a request of
    the same call carrying another report (a recording where the first had none) files nothing
    and is answered politely, as any request the desk cannot act on."""
    caller = Caller(client, "CA" + "q" * 32, XJGAT_PHONE)
    caller.dial()
    caller.key("menu", "1")
    caller.key("kind", "1")
    first = caller.post("/hotline/voice/recorded")
    ticket = db.session.execute(select(Ticket)).scalar_one()
    other = caller.post("/hotline/voice/recorded",
                        RecordingUrl="https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE9")
    assert said(other) == prompts.CANNOT_HANDLE
    assert count(Ticket) == 1 and ticket.recording_url == "" and len(outbox_to(XJGAT_PHONE)) == 1
    assert said(caller.post("/hotline/voice/recorded")) == said(first)


def test_an_unknown_number_identifies_with_unit_code_and_pin(client, hotline):
    caller = Caller(client, "CA" + "c" * 32, STRANGER)
    caller.dial()
    assert prompts.ASK_UNIT_CODE in said(caller.key("menu", "1"))
    assert prompts.ASK_PIN in said(caller.key("unit", XJGAT_KEYS))
    assert prompts.ASK_KIND in said(caller.key("pin", XJGAT_PIN))
    caller.key("kind", "1")
    caller.post("/hotline/voice/recorded")
    ticket = db.session.execute(select(Ticket)).scalar_one()
    assert ticket.unit.code == "XJGAT" and ticket.caller_phone == STRANGER and ticket.recording_url == ""


def test_a_new_pin_has_six_to_eight_digits_and_is_no_obvious_guess(client, hotline):
    """Ten wrong tries an hour per code leave 4 digits to a guesser within weeks: new PINs need 6,
    and none of the first a guesser keys. Each refusal names what is wrong and changes nothing."""
    before = db.session.execute(select(Unit.pin_hash).where(Unit.code == "XJGAT")).scalar_one()
    for pin, problem in (("2468", "6 to 8 digits"), ("123456789", "6 to 8 digits"), ("24681a", "6 to 8 digits"),
                         ("000000", "too easy to guess"), ("234567", "too easy to guess"),
                         ("98765432", "too easy to guess"), ("890123", "too easy to guess")):
        with pytest.raises(ValidationFailed, match=problem):
            set_unit_pin(Actor.system("test"), "XJGAT", pin)
    assert db.session.execute(select(Unit.pin_hash).where(Unit.code == "XJGAT")).scalar_one() == before
    set_unit_pin(Actor.system("test"), "XJGAT", "13572468")


def test_a_four_digit_pin_set_before_still_identifies_its_unit(client, hotline):
    """PINs set when 4 digits were enough keep working until the unit is given a new one."""
    with transaction():
        db.session.execute(update(Unit).where(Unit.code == "XJGAT").values(pin_hash=generate_password_hash("2468")))
    caller = Caller(client, "CA" + "4" * 32, STRANGER)
    caller.dial()
    caller.key("menu", "1")
    caller.key("unit", XJGAT_KEYS)
    assert prompts.ASK_KIND in said(caller.key("pin", "2468"))


def test_a_landline_caller_is_sent_no_sms(client, hotline):
    """A caller from an Ürümqi landline keys the unit's code and PIN. The confirmation and, later,
    the restoration SMS were queued to that number, and Twilio refuses an SMS to a landline (21211):
    every such call left two failed messages on the outbox page."""
    landline = "+869912345678"
    caller = Caller(client, "CA" + "l" * 32, landline)
    caller.dial()
    caller.key("menu", "1")
    caller.key("unit", XJGAT_KEYS)
    caller.key("pin", XJGAT_PIN)
    caller.key("kind", "1")
    assert "工单" in said(caller.post("/hotline/voice/recorded"))  # the number is spoken instead
    ticket = db.session.execute(select(Ticket)).scalar_one()
    incidents.restore(Actor.system("test"), ticket.incident)
    assert ticket.caller_phone == landline and outbox_to(landline) == []
    assert outbox_to(ENGINEER_PHONE)  # the engineer is alerted as for any report


@pytest.mark.parametrize("number, e164", [
    ("+8613900009999", "+8613900009999"), ("0086 139 0000 9999", "+8613900009999"), ("13900009999", "+8613900009999"),
    ("+4915112345678", "+4915112345678"),
    ("+869912345678", None), ("09912345678", None), ("anonymous", None), ("", None), ("+86139", None),
])
def test_which_numbers_take_an_sms(number, e164):
    from desk.contracts.services import sms_number

    assert sms_number(number) == e164


def test_three_wrong_pins_end_the_call_politely_and_file_nothing(client, hotline):
    caller = Caller(client, "CA" + "d" * 32, STRANGER)
    caller.dial()
    caller.key("menu", "1")
    for attempt in range(3):
        caller.key("unit", XJGAT_KEYS)
        answer = caller.key("pin", "0000")
        if attempt < 2:
            assert prompts.WRONG_PIN in said(answer) and prompts.ASK_UNIT_CODE in said(answer)
    assert said(answer) == prompts.REFUSED and "Hangup" in verbs(answer)
    assert call_row(caller.sid).outcome == "refused"
    # Whatever comes after is turned away, the right PIN included.
    assert prompts.GOODBYE in said(caller.key("pin", XJGAT_PIN))
    assert count(Ticket) == 0 and call_row(caller.sid).unit_id is None


def test_a_unit_code_without_a_pin_is_never_accepted(client, hotline):
    caller = Caller(client, "CA" + "e" * 32, STRANGER)
    caller.dial()
    caller.key("menu", "2")
    caller.key("unit", "7642")  # QMGA has no PIN set
    assert prompts.WRONG_PIN in said(caller.key("pin", "1234"))


def reporting_from_elsewhere(client, sid: str) -> Caller:
    """A call from an unregistered number that chose to report: the unit code is asked next."""
    caller = Caller(client, sid, STRANGER)
    caller.dial()
    caller.key("menu", "1")
    return caller


def test_ten_wrong_pins_in_an_hour_lock_the_code_across_calls(client, hotline):
    for n in range(4):
        caller = reporting_from_elsewhere(client, f"CA{n:032d}")
        for _ in range(3):
            caller.key("unit", XJGAT_KEYS)
            answer = caller.key("pin", "1111")
            if prompts.LOCKED in said(answer):
                break
    assert prompts.LOCKED in said(answer)
    # Even the right PIN is refused while the code is locked.
    caller = reporting_from_elsewhere(client, "CA" + "f" * 32)
    caller.key("unit", XJGAT_KEYS)
    assert prompts.LOCKED in said(caller.key("pin", XJGAT_PIN))


def test_wrong_pins_count_against_the_code_they_were_keyed_for(client, hotline):
    """A caller who keys another code last in each call still has every wrong PIN for XJGAT
    counted against XJGAT: ten lock it."""
    for n in range(5):
        caller = reporting_from_elsewhere(client, f"CB{n:032d}")
        for _ in range(2):
            caller.key("unit", XJGAT_KEYS)
            assert prompts.LOCKED not in said(caller.key("pin", "1111"))
        caller.key("unit", "12345")
        caller.key("pin", "1111")
    caller = reporting_from_elsewhere(client, "CB" + "f" * 32)
    caller.key("unit", XJGAT_KEYS)
    assert prompts.LOCKED in said(caller.key("pin", XJGAT_PIN))
    assert call_row(caller.sid).unit_id is None
    # The other code's five wrong PINs are its own: no lock.
    caller = reporting_from_elsewhere(client, "CB" + "e" * 32)
    caller.key("unit", "12345")
    assert prompts.WRONG_PIN in said(caller.key("pin", "1111"))


def test_no_pin_keyed_is_asked_again_and_is_no_wrong_pin(client, hotline):
    caller = reporting_from_elsewhere(client, "CA" + "r" * 32)
    caller.key("unit", XJGAT_KEYS)
    answer = caller.key("pin")
    assert said(answer) == prompts.NO_INPUT + prompts.ASK_PIN
    assert call_row(caller.sid).failed_identifications == 0 and count(HotlinePinFailure) == 0
    assert prompts.ASK_KIND in said(caller.key("pin", XJGAT_PIN))


def test_no_input_and_wrong_keys_are_asked_again_then_the_call_ends(client, hotline):
    caller = Caller(client, "CA" + "g" * 32, QMGA_PHONE)
    caller.dial()
    first = caller.key("menu")
    assert said(first).startswith(prompts.NO_INPUT) and prompts.MENU in said(first)
    second = caller.key("menu", "7")
    assert said(second).startswith(prompts.WRONG_INPUT)
    # 0 repeats the menu without counting against the caller.
    assert said(caller.key("menu", "0")) == prompts.MENU
    last = caller.key("menu")
    assert said(last) == prompts.GOODBYE_UNHEARD and "Hangup" in verbs(last)
    assert call_row(caller.sid).outcome == "abandoned" and count(Ticket) == 0


def test_a_wrong_kind_key_is_asked_again(client, hotline):
    caller = Caller(client, "CA" + "h" * 32, QMGA_PHONE)
    caller.dial()
    caller.key("menu", "1")
    again = caller.key("kind", "9")
    assert prompts.WRONG_INPUT in said(again) and prompts.ASK_KIND in said(again)
    assert call_row(caller.sid).kind is None


def test_hanging_up_before_the_recording_files_nothing(client, hotline):
    caller = Caller(client, "CA" + "i" * 32, QMGA_PHONE)
    caller.dial()
    caller.key("menu", "1")
    caller.key("kind", "1")
    assert caller.hang_up().status_code == 204
    assert call_row(caller.sid).outcome == "abandoned"
    assert count(Ticket) == 0 and count(OutboxMessage) == 0


def test_steps_out_of_order_lead_back_to_the_right_question(client, hotline):
    caller = Caller(client, "CA" + "j" * 32, STRANGER)
    caller.dial()
    # Straight to "recorded" without a unit or a kind: nothing is filed, the menu is asked.
    assert prompts.MENU in said(caller.post("/hotline/voice/recorded"))
    caller.key("menu", "1")
    assert prompts.ASK_UNIT_CODE in said(caller.key("kind", "1"))
    assert count(Ticket) == 0


def _file(unit_code: str):
    unit = db.session.execute(select(Unit).where(Unit.code == unit_code)).scalar_one()
    ticket, _ = incidents.file_ticket(Actor.system("test"), unit=unit, kind="interruption", channel="web")
    return ticket


def test_status_of_an_own_ticket_with_the_time_left(client, hotline):
    own = _file("XJGAT")
    other = _file("QMGA")
    caller = Caller(client, "CA" + "k" * 32, XJGAT_PHONE)
    caller.dial()
    assert prompts.ASK_TICKET in said(caller.key("menu", "2"))
    answer = said(caller.key("status", own.number))
    assert f"工单{prompts.digits(own.number)}" in answer and prompts.STATUS_WORDS["open"] in answer
    assert re.search("距修复时限还有(3小时5[0-9]分钟|4小时)", answer) and prompts.ASK_ANOTHER_TICKET in answer
    # Another unit's ticket is not found (and the key-in is counted as a miss).
    assert prompts.TICKET_NOT_FOUND in said(caller.key("status", other.number))
    assert prompts.TICKET_NOT_FOUND in said(caller.key("status", "99999"))
    assert call_row(caller.sid).outcome == "status_given"


def test_restoration_is_texted_to_the_number_that_reported(client, hotline):
    Caller(client, "CA" + "l" * 32, STRANGER).report_by_pin()
    ticket = db.session.execute(select(Ticket)).scalar_one()
    incidents.restore(Actor.system("test"), ticket.incident)
    texts = [m.body for m in outbox_to(STRANGER)]
    assert len(texts) == 2 and texts[1].startswith(f"【恢复】工单{ticket.number}")
    # The caller has no account on the desk: not told to sign in, but how to say it is not fixed.
    assert "登录" not in texts[1] and "再次报障" in texts[1]
    # The unit's people, who have, are asked to confirm or dispute on the desk.
    from desk.auth.services import create_user

    create_user(Actor.system("test"), username="xjgat-rep", password="correct-horse-9", role="unit_reporter",
                unit_code="XJGAT", phone="+8613900003333")
    incidents.dispute_restoration(Actor.system("test"), ticket.incident, "仍无信号")
    incidents.restore(Actor.system("test"), ticket.incident)
    assert outbox_to("+8613900003333")[-1].body == f"【恢复】工单{ticket.number} 已恢复，请登录确认或提出异议"
    # The status by phone now says it is restored.
    caller = Caller(client, "CA" + "m" * 32, XJGAT_PHONE)
    caller.dial()
    caller.key("menu", "2")
    assert prompts.STATUS_WORDS["restored"] in said(caller.key("status", ticket.number))


def test_hanging_up_during_the_recording_files_the_report_whatever_arrives_first(client, hotline):
    caller = Caller(client, "CA" + "o" * 32, XJGAT_PHONE)
    caller.dial()
    caller.key("menu", "1")
    caller.key("kind", "1")
    caller.hang_up()  # Twilio's status callback may overtake the recording's request
    caller.post("/hotline/voice/recorded", RecordingUrl="https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE2")
    ticket = db.session.execute(select(Ticket)).scalar_one()
    assert ticket.recording_url.endswith("RE2") and call_row(caller.sid).outcome == "filed"


def test_a_request_the_desk_cannot_act_on_is_answered_politely_and_writes_nothing(client, hotline):
    from tests.hotline.conftest import post

    response = post(client, "/hotline/voice", {"From": XJGAT_PHONE})  # no CallSid
    assert response.status_code == 200 and said(response) == prompts.CANNOT_HANDLE
    assert count(HotlineCall) == 0
    caller = Caller(client, "CA" + "p" * 32, XJGAT_PHONE)
    caller.dial()
    caller.key("menu", "1")
    caller.key("kind", "1")
    # A link that is not https is never stored, but the caller's report is not lost for it.
    answer = caller.post("/hotline/voice/recorded", RecordingUrl="javascript:alert(1)")
    ticket = db.session.execute(select(Ticket)).scalar_one()
    assert prompts.digits(ticket.number) in said(answer)
    assert ticket.recording_url == "" and ticket.description == prompts.CALL_DESCRIPTION
    assert call_row(caller.sid).outcome == "filed"


def test_the_engineer_sees_the_callers_number_and_recording(client, hotline):
    caller = Caller(client, "CA" + "q" * 32, XJGAT_PHONE)
    caller.dial()
    caller.key("menu", "1")
    caller.key("kind", "1")
    caller.post("/hotline/voice/recorded", RecordingUrl="https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE3")
    ticket = db.session.execute(select(Ticket)).scalar_one()
    client.post("/login", data={"username": "duty", "password": "correct-horse-9"})
    page = client.get(f"/incidents/{ticket.incident_id}").get_data(as_text=True)
    assert XJGAT_PHONE in page and "Recordings/RE3" in page and "来电人的故障说明录音" in page
