"""The hotline over real HTTP: a server on a free port, requests signed for the URL Twilio would
call (host and port included), the answer parsed as Twilio parses it."""
from __future__ import annotations

import threading
from urllib.error import HTTPError
from urllib.parse import urlencode
from urllib.request import Request, urlopen

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from desk.extensions import db
from desk.models import OutboxMessage, Ticket
from tests.hotline.conftest import ACCOUNT, HOTLINE_NUMBER, XJGAT_PHONE, sign


@pytest.fixture
def server(app, hotline):
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    thread.join(10)


def send(url: str, params: dict, signature: str | None) -> tuple[int, str]:
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if signature is not None:
        headers["X-Twilio-Signature"] = signature
    request = Request(url, data=urlencode(params).encode("utf-8"), headers=headers, method="POST")
    try:
        with urlopen(request, timeout=30) as response:
            return response.status, response.read().decode("utf-8")
    except HTTPError as error:
        return error.code, error.read().decode("utf-8")


def test_a_signed_sms_over_http_files_once_and_a_forged_one_is_refused(server):
    url = server + "/hotline/sms"
    params = {"MessageSid": "SM" + "9" * 32, "AccountSid": ACCOUNT, "From": XJGAT_PHONE, "To": HOTLINE_NUMBER,
              "Body": "报障 XJGAT 中断 南疆片区无信号"}
    status, body = send(url, params, sign(url, params))
    assert status == 200 and "<Message>【报障受理】工单" in body
    # Twilio's retry of the same message, over the wire: the same reply, no second ticket.
    assert send(url, params, sign(url, params)) == (status, body)
    assert send(url, {**params, "Body": "报障 XJGAT 伪造"}, sign(url, params))[0] == 403
    assert send(url, params, None)[0] == 403
    db.session.rollback()
    tickets = db.session.execute(select(Ticket)).scalars().all()
    assert len(tickets) == 1 and tickets[0].description == "南疆片区无信号"


def test_a_call_over_http_reaches_the_menu(server):
    url = server + "/hotline/voice"
    params = {"CallSid": "CA" + "9" * 32, "AccountSid": ACCOUNT, "From": XJGAT_PHONE, "To": HOTLINE_NUMBER,
              "CallStatus": "ringing", "Direction": "inbound"}
    status, body = send(url, params, sign(url, params))
    assert status == 200 and '<Gather action="/hotline/voice/menu"' in body and 'language="cmn-CN"' in body


def test_twilio_delivering_one_message_four_times_at_once_files_one_ticket(server):
    url = server + "/hotline/sms"
    params = {"MessageSid": "SM" + "8" * 32, "AccountSid": ACCOUNT, "From": XJGAT_PHONE, "To": HOTLINE_NUMBER,
              "Body": "报障 XJGAT 全区无信号"}
    barrier, answers = threading.Barrier(4), []

    def deliver():
        barrier.wait()
        answers.append(send(url, params, sign(url, params)))

    threads = [threading.Thread(target=deliver) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(answers) == 4 and {status for status, _ in answers} == {200}
    assert len({body for _, body in answers}) == 1
    db.session.rollback()
    assert len(db.session.execute(select(Ticket)).scalars().all()) == 1
    assert len(db.session.execute(select(OutboxMessage)).scalars().all()) == 1  # the on-duty engineer's
