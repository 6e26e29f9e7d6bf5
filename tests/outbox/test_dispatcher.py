"""The outbox dispatcher against the real Twilio client, with Twilio's network replaced at the edge."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from desk.db import transaction
from desk.extensions import db
from desk.models import OutboxMessage
from desk.outbox.dispatcher import EXPIRED, DispatchResult, dispatch_due
from desk.outbox.services import enqueue
from tests.outbox.conftest import FROM, FakeTwilio


def queue(count: int, prefix: str = "m") -> list[str]:
    keys = [f"{prefix}:{i}" for i in range(count)]
    with transaction():
        for i, key in enumerate(keys):
            enqueue(f"+8613900000{i:03d}", f"【报障】工单{i:06d} 测试", key)
    return keys


def messages() -> list[OutboxMessage]:
    db.session.expire_all()
    return list(db.session.execute(select(OutboxMessage).order_by(OutboxMessage.id)).scalars())


def test_each_due_message_is_sent_once(credentials, twilio, twilio_client, clock):
    queue(3)
    result = dispatch_due(clock(), client=twilio_client)
    assert result == DispatchResult(sent=3)
    rows = messages()
    assert [r.status for r in rows] == ["sent"] * 3
    assert [r.provider_id for r in rows] == [m["sid"] for m in twilio.created]
    assert all(r.sent_at == clock() and r.attempts == 1 and r.claimed_at is None for r in rows)
    assert [(m["to"], m["from"], m["body"]) for m in twilio.created] == [(r.to, FROM, r.body) for r in rows]
    # A second run, and a re-queue of the same events, send nothing more.
    queue(3)
    assert dispatch_due(clock.advance(minutes=5), client=twilio_client) == DispatchResult()
    assert len(twilio.created) == 3


def test_limit_and_due_time_are_respected(credentials, twilio, twilio_client, clock):
    queue(5)
    assert dispatch_due(clock(), limit=2, client=twilio_client).sent == 2
    assert dispatch_due(clock(), client=twilio_client).sent == 3
    with transaction():
        later = enqueue("+8613900000999", "later", "later")
        later.next_attempt_at = clock.advance(minutes=10)
    clock.advance(minutes=-10)
    assert dispatch_due(clock(), client=twilio_client) == DispatchResult()
    assert dispatch_due(clock.advance(minutes=10), client=twilio_client).sent == 1


def test_without_credentials_messages_are_recorded_as_not_sent(app, clock):
    app.config.update(TWILIO_ACCOUNT_SID="", TWILIO_AUTH_TOKEN="", TWILIO_FROM_NUMBER="")
    queue(2)
    assert dispatch_due(clock()) == DispatchResult(not_sent=2)
    rows = messages()
    assert [r.status for r in rows] == ["not_sent_no_credentials"] * 2
    assert "TWILIO_ACCOUNT_SID" in rows[0].last_error and rows[0].attempts == 0
    assert dispatch_due(clock()) == DispatchResult()


def test_no_from_number_counts_as_no_credentials(app, twilio, twilio_client, clock):
    app.config.update(TWILIO_FROM_NUMBER="")
    queue(1)
    assert dispatch_due(clock(), client=twilio_client) == DispatchResult(not_sent=1)
    assert twilio.requests == []


def test_bad_arguments_are_refused(app, clock):
    with pytest.raises(ValueError, match="aware"):
        dispatch_due(clock().replace(tzinfo=None))
    with pytest.raises(ValueError, match="limit"):
        dispatch_due(clock(), limit=0)


def test_an_hour_of_twilio_outage_loses_nothing_and_sends_each_once(credentials, twilio, twilio_client, clock):
    """Timeouts, resets, 5xx and 429 for an hour: the messages wait with growing delays, then all go once."""
    queue(6)
    failures = ["timeout", 500, "reset", 429, 503, 502]
    start, calls = clock(), 0
    while clock() < start + timedelta(hours=1):
        twilio.failure = failures[calls % len(failures)]
        result = dispatch_due(clock(), client=twilio_client)
        assert result.sent == result.failed == 0
        calls += 1
        clock.advance(seconds=10)
    rows = messages()
    assert {r.status for r in rows} == {"pending"}
    assert twilio.created == []
    attempts = {r.attempts for r in rows}
    # Doubling from 30 s to the 30 min cap: 0, 30 s, 1.5, 3.5, 7.5, 15.5, 31.5 min → 7 tries, not 360.
    assert attempts == {7}, attempts
    assert all(r.last_error for r in rows)
    assert any("HTTP 429" in r.last_error or "HTTP 5" in r.last_error or "Timeout" in r.last_error
               or "ConnectionError" in r.last_error for r in rows)
    # Twilio is back: nothing goes before each message's next attempt, then every one goes exactly once.
    twilio.failure = None
    sent = 0
    for _ in range(400):
        sent += dispatch_due(clock(), client=twilio_client).sent
        clock.advance(seconds=10)
    assert sent == 6
    assert sorted(m["body"] for m in twilio.created) == sorted(r.body for r in rows)
    assert {r.status for r in messages()} == {"sent"}


def test_a_refused_message_fails_at_once_with_twilios_reason(credentials, twilio, twilio_client, clock):
    queue(1)
    twilio.failure = 400
    assert dispatch_due(clock(), client=twilio_client) == DispatchResult(failed=1)
    row = messages()[0]
    assert row.status == "failed" and row.attempts == 1
    assert "HTTP 400" in row.last_error and "21211" in row.last_error


def test_the_last_attempt_gives_up_visibly(credentials, twilio, twilio_client, clock):
    credentials["DESK_OUTBOX_MAX_ATTEMPTS"] = 3
    queue(1)
    twilio.failure = 503
    results = []
    for _ in range(3):
        results.append(dispatch_due(clock(), client=twilio_client))
        clock.advance(hours=1)
    assert [r.retrying for r in results] == [1, 1, 0] and results[-1].failed == 1
    row = messages()[0]
    assert row.status == "failed" and row.attempts == 3 and row.last_error.startswith("gave up after 3 attempts")


def test_a_warning_still_unsent_at_its_deadline_expires_instead_of_going_out_late(credentials, twilio,
                                                                                   twilio_client, clock):
    """Twilio was down through a repair deadline: its warning (距修复时限还有60分钟) waited in the
    outbox and went out after the deadline, telling the engineer an hour was left when none was."""
    deadline = clock() + timedelta(minutes=20)
    with transaction():
        enqueue("+8613900000001", "【预警】工单000001 距修复时限还有15分钟", "warn", expires_at=deadline)
        enqueue("+8613900000002", "【超时】工单000001 已超过修复时限", "breach")
    twilio.failure = 503
    while clock() < deadline + timedelta(minutes=10):
        dispatch_due(clock(), client=twilio_client)
        clock.advance(minutes=1)
    twilio.failure = None
    clock.advance(hours=1)
    assert dispatch_due(clock(), client=twilio_client) == DispatchResult(sent=1)
    warning, breach = messages()
    assert warning.status == "expired" and warning.last_error.startswith("not sent: out of date")
    assert breach.status == "sent" and [m["body"] for m in twilio.created] == [breach.body]
    # Sent in time, as any other message; and an expired one is counted once.
    with transaction():
        enqueue("+8613900000003", "【预警】在时限前", "in-time", expires_at=clock() + timedelta(minutes=5))
        enqueue("+8613900000004", "【预警】已过时限", "too-late", expires_at=clock())
    assert dispatch_due(clock(), client=twilio_client) == DispatchResult(sent=1, expired=1)
    assert [m.status for m in messages()][2:] == ["sent", "expired"]


def test_a_dispatcher_that_died_after_twilio_accepted_does_not_send_twice(credentials, twilio, twilio_client, clock):
    queue(1)
    twilio.lose_answer = True
    with pytest.raises(KeyboardInterrupt):
        dispatch_due(clock(), client=twilio_client)
    db.session.rollback()
    assert messages()[0].status == "sending" and len(twilio.created) == 1
    # Within the sending timeout the claim is respected.
    assert dispatch_due(clock.advance(minutes=1), client=twilio_client) == DispatchResult()
    # After it, Twilio is asked first: the message is there, so it is marked sent, not sent again.
    assert dispatch_due(clock.advance(minutes=5), client=twilio_client) == DispatchResult(recovered=1)
    row = messages()[0]
    assert row.status == "sent" and row.provider_id == twilio.created[0]["sid"]
    assert len(twilio.created) == 1


def test_a_dispatcher_that_died_before_twilio_got_it_sends_again(credentials, twilio, twilio_client, clock):
    queue(1)
    with transaction():
        row = messages()[0]
        row.status, row.claimed_at, row.attempts = "sending", clock(), 1
    # Twilio down while checking: the message stays claimed and is looked at again later.
    twilio.failure = "timeout"
    assert dispatch_due(clock.advance(minutes=6), client=twilio_client) == DispatchResult(retrying=1)
    assert messages()[0].status == "sending"
    twilio.failure = None
    assert dispatch_due(clock.advance(minutes=6), client=twilio_client) == DispatchResult(sent=1)
    row = messages()[0]
    assert row.status == "sent" and row.attempts == 2 and len(twilio.created) == 1


def test_a_warning_whose_dispatcher_died_before_twilio_got_it_expires_past_its_deadline(credentials, twilio,
                                                                                       twilio_client, clock):
    """A dispatcher died holding a deadline warning that never reached Twilio; by the time another
    takes the claim over, the deadline has passed: sent then, it would say time is left when none is."""
    deadline = clock() + timedelta(minutes=3)
    with transaction():
        enqueue("+8613900000001", "【预警】工单000001 距修复时限还有15分钟", "warn", expires_at=deadline)
        enqueue("+8613900000002", "【预警】工单000002 距修复时限还有60分钟", "warn-2",
                expires_at=clock() + timedelta(hours=1))
        for row in messages():
            row.status, row.claimed_at, row.attempts = "sending", clock(), 1
    assert dispatch_due(clock.advance(minutes=6), client=twilio_client) == DispatchResult(sent=1, expired=1)
    late, in_time = messages()
    assert (late.status, late.last_error, late.claimed_at) == ("expired", EXPIRED, None)
    assert in_time.status == "sent" and [m["body"] for m in twilio.created] == [in_time.body]


def test_concurrent_dispatchers_send_each_message_once(app, credentials, clock):
    """Four dispatchers at once, each with its own connection, over the same due messages."""
    queue(40)
    twilio = FakeTwilio(clock)
    from twilio.rest import Client

    from tests.outbox.conftest import ACCOUNT_SID, AUTH_TOKEN

    results, errors = [], []
    barrier = threading.Barrier(4)

    def run():
        try:
            with app.app_context():
                client = Client(ACCOUNT_SID, AUTH_TOKEN, http_client=twilio)
                barrier.wait()
                results.append(dispatch_due(clock(), limit=40, client=client))
                db.session.remove()
        except Exception as exc:  # noqa: BLE001 — reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors
    assert sum(r.sent for r in results) == 40
    bodies = [m["body"] for m in twilio.created]
    assert len(bodies) == len(set(bodies)) == 40
    assert {r.status for r in messages()} == {"sent"}


def test_a_long_run_does_not_let_another_dispatcher_take_a_claim_it_is_sending(app, credentials, clock):
    """Twilio answers slowly (four minutes a message): the run's third claim is taken eight
    minutes after the run began. A second dispatcher running then must see a fresh claim, not one
    stamped with the run's start and older than the sending timeout, which it would send again."""
    from twilio.rest import Client

    from tests.outbox.conftest import ACCOUNT_SID, AUTH_TOKEN

    class SlowTwilio(FakeTwilio):
        def request(self, method, uri, **kwargs):
            if method == "POST":
                clock.advance(minutes=4)
                if len(self.created) == 2:
                    # Meanwhile another dispatcher (cron's outbox-dispatch) runs, on its own connection.
                    other = threading.Thread(target=self.other_dispatcher)
                    other.start()
                    other.join(60)
            return super().request(method, uri, **kwargs)

        def other_dispatcher(self):
            with app.app_context():
                self.others.append(dispatch_due(clock(), client=Client(ACCOUNT_SID, AUTH_TOKEN, http_client=self),
                                                clock=clock))
                db.session.remove()

    queue(3)
    twilio = SlowTwilio(clock)
    twilio.others = []
    result = dispatch_due(clock(), client=Client(ACCOUNT_SID, AUTH_TOKEN, http_client=twilio), clock=clock)
    assert twilio.others == [DispatchResult()]
    assert result == DispatchResult(sent=3)
    assert sorted(m["to"] for m in twilio.created) == sorted(m.to for m in messages())
    assert {m.status for m in messages()} == {"sent"}


def test_status_callbacks_are_asked_for_only_when_the_public_url_is_set(app, credentials, twilio,
                                                                        twilio_client, clock):
    queue(1, "without")
    assert dispatch_due(clock(), client=twilio_client) == DispatchResult(sent=1)
    app.config["DESK_PUBLIC_URL"] = "https://desk.example.cn"
    queue(1, "with")
    assert dispatch_due(clock.advance(seconds=1), client=twilio_client) == DispatchResult(sent=1)
    first, second = [data for method, _, data in twilio.requests if method == "POST"]
    assert "StatusCallback" not in first
    assert second["StatusCallback"] == "https://desk.example.cn/hotline/sms/status"
