"""Twilio's status callbacks for the SMS the desk sent: signed like every hotline request, kept by
message SID, the furthest status winning whatever the order or number of the callbacks."""
from __future__ import annotations

import threading
from itertools import permutations

from sqlalchemy import select

from desk.extensions import db
from desk.models import OutboxDelivery
from desk.models.outbox import DELIVERY_ERROR_MESSAGE_LENGTH
from desk.outbox.services import record_delivery
from tests.hotline.conftest import ACCOUNT, ENGINEER_PHONE, HOTLINE_NUMBER, count, post

PATH = "/hotline/sms/status"
SID = "SM" + "ab12" * 8


def callback(client, status: str, sid: str = SID, signed: bool = True, **extra):
    form = {"MessageSid": sid, "SmsSid": sid, "MessageStatus": status, "SmsStatus": status,
            "AccountSid": ACCOUNT, "From": HOTLINE_NUMBER, "To": ENGINEER_PHONE, "ApiVersion": "2010-04-01",
            **extra}
    return post(client, PATH, form, signed=signed)


def stored(sid: str = SID) -> OutboxDelivery | None:
    db.session.expire_all()
    return db.session.execute(select(OutboxDelivery).where(OutboxDelivery.message_sid == sid)).scalar_one_or_none()


def test_a_signed_callback_is_recorded_with_204(client, hotline):
    response = callback(client, "delivered")
    assert response.status_code == 204 and response.data == b""
    row = stored()
    assert (row.status, row.error_code, row.error_message) == ("delivered", None, "")
    assert row.updated_at.tzinfo is not None


def test_an_undelivered_message_keeps_twilios_error(client, hotline):
    assert callback(client, "undelivered", ErrorCode="30003",
                    ErrorMessage="Unreachable destination handset").status_code == 204
    row = stored()
    assert (row.status, row.error_code, row.error_message) == ("undelivered", 30003,
                                                               "Unreachable destination handset")


def test_an_unsigned_or_forged_callback_is_refused_and_nothing_recorded(client, hotline):
    assert callback(client, "delivered", signed=False).status_code == 403
    forged = post(client, PATH, {"MessageSid": SID, "MessageStatus": "delivered"}, token="not-the-token")
    assert forged.status_code == 403
    assert count(OutboxDelivery) == 0


def test_a_malformed_callback_is_refused_with_400_naming_the_field(client, hotline):
    cases = [
        ({"MessageStatus": "delivered"}, "MessageSid: missing"),
        ({"MessageSid": "SM123", "MessageStatus": "delivered"}, "MessageSid: 'SM123' is not a Twilio message SID"),
        ({"MessageSid": SID}, "MessageStatus: missing"),
        ({"MessageSid": SID, "MessageStatus": "lost"}, "MessageStatus: one of accepted, scheduled, queued"),
        ({"MessageSid": SID, "MessageStatus": "failed", "ErrorCode": "30x"},
         "ErrorCode: '30x' is not a Twilio error code (digits)"),
        ({"MessageSid": SID, "MessageStatus": "failed", "ErrorMessage": "bad\x00byte"},
         "ErrorMessage: contains a NUL character"),
    ]
    for form, problem in cases:
        response = post(client, PATH, form)
        text = response.get_data(as_text=True)
        assert response.status_code == 400, (form, text)
        assert response.mimetype == "text/plain" and problem in text, (form, text)
    both = post(client, PATH, {"MessageSid": "", "MessageStatus": ""}).get_data(as_text=True)
    assert both.startswith("the status callback was not recorded: ")
    assert "MessageSid: missing" in both and "MessageStatus: missing" in both
    assert count(OutboxDelivery) == 0


def test_a_late_callback_never_takes_back_a_terminal_status(client, hotline):
    """Twilio posts each status as it happens, and they may arrive in any order."""
    for status in ("sent", "delivered", "sent", "sending", "queued"):
        assert callback(client, status).status_code == 204
    assert stored().status == "delivered"
    other = "SM" + "cd34" * 8
    for status in ("undelivered", "sent", "queued"):
        callback(client, status, sid=other, ErrorCode="30005" if status == "undelivered" else "")
    assert (stored(other).status, stored(other).error_code) == ("undelivered", 30005)


def test_every_order_of_the_callbacks_ends_in_the_furthest_status(app):
    for n, order in enumerate(permutations(("queued", "sending", "sent", "delivered"))):
        sid = f"SM{n:032x}"
        for status in order:
            record_delivery(sid, status)
        assert stored(sid).status == "delivered", order
    # The first terminal status stays: a later one of the same rank does not replace it.
    record_delivery(SID, "failed", "30008", "Unknown error")
    assert record_delivery(SID, "delivered") is False
    assert (stored().status, stored().error_code) == ("failed", 30008)


def test_callbacks_racing_each_other_end_in_the_furthest_status(app):
    """Twilio's callbacks for one message at once, each on its own connection: the first to
    insert and the later ones that conflict with it all end in the terminal status."""
    statuses = ["queued", "sending", "sent", "delivered", "sent", "queued"] * 2
    barrier, errors = threading.Barrier(len(statuses)), []

    def send(status: str):
        try:
            with app.app_context():
                barrier.wait()
                record_delivery(SID, status)
                db.session.remove()
        except Exception as exc:  # noqa: BLE001 — reported below
            errors.append(exc)

    threads = [threading.Thread(target=send, args=(status,)) for status in statuses]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    assert stored().status == "delivered" and count(OutboxDelivery) == 1


def test_a_repeated_callback_changes_nothing(client, hotline):
    callback(client, "undelivered", ErrorCode="30003", ErrorMessage="Unreachable destination handset")
    first = stored()
    snapshot = (first.status, first.error_code, first.error_message, first.updated_at)
    assert callback(client, "undelivered", ErrorCode="30003",
                    ErrorMessage="Unreachable destination handset").status_code == 204
    again = stored()
    assert (again.status, again.error_code, again.error_message, again.updated_at) == snapshot
    assert count(OutboxDelivery) == 1


def test_a_callback_for_a_sid_the_outbox_does_not_hold_yet_is_kept(client, hotline):
    """Twilio may call back before the dispatcher has committed the SID it was given."""
    assert callback(client, "sent", sid="SM" + "f" * 32).status_code == 204
    assert stored("SM" + "f" * 32).status == "sent"


def test_a_long_error_message_is_cut_to_the_documented_length(client, hotline):
    callback(client, "failed", ErrorCode="30001", ErrorMessage="队列溢出" * 200)
    assert stored().error_message == ("队列溢出" * 200)[:DELIVERY_ERROR_MESSAGE_LENGTH]
