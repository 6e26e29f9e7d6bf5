"""The database goes away under the hotline: every endpoint apologises in TwiML with 503 (so
Twilio's fallback URL takes over), nothing half-written remains, and when the database is back
the same requests work without a restart. A real outage, not a mock: on SQLite another
connection holds the write lock past busy_timeout; on PostgreSQL the server's port closes (the
desk reaches it through a TCP relay that the test stops and starts again)."""
from __future__ import annotations

import socket
import sqlite3
import threading
from contextlib import contextmanager

import pytest
from sqlalchemy import event
from sqlalchemy.engine import make_url

from desk.extensions import db
from desk.hotline import prompts
from desk.models import AuditEntry, HotlineCall, OutboxDelivery, OutboxMessage, Ticket
from tests.hotline.conftest import ACCOUNT, HOTLINE_NUMBER, TOKEN, XJGAT_PHONE, count, post, said


class Relay:
    """A TCP relay to PostgreSQL on a port chosen at run time; stop() is the server going down."""

    def __init__(self, host: str, port: int):
        self.upstream = (host, port)
        self.port = 0
        self.sockets: list[socket.socket] = []
        self.listener: socket.socket | None = None

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(16)
        self.port = listener.getsockname()[1]
        self.listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def stop(self) -> None:
        # shutdown() wakes the thread blocked in accept(); close() alone would leave it accepting.
        try:
            self.listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.listener.close()
        for s in self.sockets:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()
        self.sockets.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.upstream)
            self.sockets += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


@pytest.fixture
def outage(app, database_url, hotline):
    """(the app Twilio talks to, a context manager during which the database is unavailable)."""
    from desk import create_app

    config = {"TESTING": True, "DESK_DEMO": False, "TWILIO_AUTH_TOKEN": TOKEN}
    if database_url.startswith("sqlite"):
        served = create_app({**config, "SQLALCHEMY_DATABASE_URI": database_url})

        @event.listens_for(_engine(served), "connect")
        def _short_wait(dbapi_connection, _record):
            # The desk waits 30 s for the write lock; the test does not.
            dbapi_connection.execute("PRAGMA busy_timeout=200")

        @contextmanager
        def down():
            holder = sqlite3.connect(make_url(database_url).database, isolation_level=None)
            holder.execute("BEGIN EXCLUSIVE")
            try:
                yield
            finally:
                holder.execute("ROLLBACK")
                holder.close()

        yield served, down
        return
    url = make_url(database_url)
    relay = Relay(url.host or "127.0.0.1", url.port or 5432)
    relay.start()
    served = create_app({**config, "SQLALCHEMY_DATABASE_URI":
                         url.set(host="127.0.0.1", port=relay.port).render_as_string(hide_password=False)})

    @contextmanager
    def down():
        relay.stop()
        try:
            yield
        finally:
            relay.start()

    yield served, down
    relay.stop()


def _engine(app):
    with app.app_context():
        return db.engine


def _rows() -> tuple[int, ...]:
    return count(Ticket), count(HotlineCall), count(OutboxMessage), count(AuditEntry)


def test_every_endpoint_apologises_with_503_and_works_again_without_a_restart(outage):
    served, down = outage
    twilio = served.test_client()
    call = {"From": XJGAT_PHONE, "To": HOTLINE_NUMBER, "AccountSid": ACCOUNT}
    # A call already under way before the outage, so that its hang-up has something to record.
    assert post(twilio, "/hotline/voice", {**call, "CallSid": "CA" + "0" * 32}).status_code == 200
    requests = [(rule, {**call, "CallSid": "CA" + str(n) * 32, "Digits": "1"})
                for n, rule in enumerate(("/hotline/voice", "/hotline/voice/menu", "/hotline/voice/unit",
                                          "/hotline/voice/pin", "/hotline/voice/kind", "/hotline/voice/recorded",
                                          "/hotline/voice/status"), start=1)]
    requests.append(("/hotline/voice/status-callback", {**call, "CallSid": "CA" + "0" * 32,
                                                        "CallStatus": "completed"}))
    sms = {"MessageSid": "SM" + "5" * 32, "From": XJGAT_PHONE, "To": HOTLINE_NUMBER, "AccountSid": ACCOUNT,
           "Body": "报障 XJGAT 全区无信号"}
    requests.append(("/hotline/sms", sms))
    before = _rows()
    with down():
        for rule, form in requests:
            response = post(twilio, rule, form)
            assert response.status_code == 503, (rule, response.data)
            assert response.mimetype == "text/xml"
            expected = prompts.UNAVAILABLE_SMS if rule == "/hotline/sms" else prompts.UNAVAILABLE
            assert said(response) == expected, rule
            if rule != "/hotline/sms":
                assert b'language="cmn-CN" voice="Polly.Zhiyu"' in response.data
    assert _rows() == before
    # The database is back: the same requests go through, with no restart of the app.
    for rule, form in requests:
        assert post(twilio, rule, form).status_code in (200, 204), rule
    tickets = count(Ticket)
    assert tickets == before[0] + 1
    # Twilio's retry of the SMS after the outage still files it once.
    assert post(twilio, "/hotline/sms", sms).status_code == 200 and count(Ticket) == tickets


def test_an_sms_status_callback_is_answered_503_in_plain_text_and_recorded_once_back(outage):
    """Twilio does not retry a status callback: the 503 is for its debugger, and the status is lost."""
    served, down = outage
    twilio = served.test_client()
    form = {"MessageSid": "SM" + "9" * 32, "MessageStatus": "delivered", "AccountSid": ACCOUNT}
    with down():
        response = post(twilio, "/hotline/sms/status", form)
        assert response.status_code == 503 and response.mimetype == "text/plain"
        assert b"the status was not recorded" in response.data
    assert count(OutboxDelivery) == 0
    assert post(twilio, "/hotline/sms/status", form).status_code == 204
    assert count(OutboxDelivery) == 1
