"""What admins see of the outbox, sending a failed message again, and the cron command."""
from __future__ import annotations

from sqlalchemy import select

from desk.audit.services import Actor
from desk.auth.services import create_user
from desk.db import transaction
from desk.extensions import db
from desk.models import AuditEntry, OutboxMessage
from desk.outbox.services import enqueue

PASSWORD = "correct-horse-9"


def _messages():
    with transaction():
        for i, status in enumerate(("pending", "sent", "failed", "not_sent_no_credentials")):
            message = enqueue(f"+86139000000{i:02d}", f"短信{i}", f"k{i}")
            message.status = status
            message.attempts = 3 if status == "failed" else 0
            message.last_error = "Twilio HTTP 400 (error 21211): invalid To" if status == "failed" else ""
    return {m.status: m for m in db.session.execute(select(OutboxMessage)).scalars()}


def _admin(client):
    create_user(Actor.system("test"), username="root", password=PASSWORD, role="admin")
    assert client.post("/login", data={"username": "root", "password": PASSWORD}).status_code in (302, 303)
    return client


def test_the_admin_page_lists_messages_by_status_with_attempts_and_errors(client):
    messages = _messages()
    page = _admin(client).get("/admin/outbox").get_data(as_text=True)
    assert "外发短信" in page and "发送失败 (1)" in page and "未发送（未配置短信账号） (1)" in page
    assert "invalid To" in page and "短信0" in page and "短信1" in page
    failed = client.get("/admin/outbox?status=failed").get_data(as_text=True)
    assert "短信2" in failed and "短信1" not in failed and "重新发送" in failed
    assert client.get("/admin/outbox?status=bogus").status_code == 422
    assert client.get("/admin/outbox?page=x").status_code == 422
    assert messages["failed"].id


def test_a_failed_or_unsent_message_can_be_sent_again_once(client):
    messages = _messages()
    _admin(client)
    failed_id, sent_id = messages["failed"].id, messages["sent"].id
    response = client.post(f"/admin/outbox/{failed_id}/requeue")
    assert response.status_code == 303
    db.session.expire_all()
    row = db.session.get(OutboxMessage, failed_id)
    assert row.status == "pending" and row.attempts == 0
    assert db.session.execute(select(AuditEntry).where(AuditEntry.action == "outbox.requeued")).scalar_one()
    # A sent message, or one already waiting, is never queued twice.
    assert client.post(f"/admin/outbox/{sent_id}/requeue").status_code == 409
    assert client.post(f"/admin/outbox/{failed_id}/requeue").status_code == 409
    assert client.post("/admin/outbox/999999/requeue").status_code == 404


def test_the_cli_dispatches_once_and_says_what_happened(app, runner):
    app.config.update(TWILIO_ACCOUNT_SID="", TWILIO_AUTH_TOKEN="", TWILIO_FROM_NUMBER="")
    with transaction():
        enqueue("+8613900000001", "短信", "cli")
    result = runner.invoke(args=["outbox-dispatch", "--limit", "10"])
    assert result.exit_code == 0, result.output
    assert "0 sent" in result.output and "1 not sent (no Twilio credentials)" in result.output
    assert runner.invoke(args=["outbox-dispatch", "--limit", "0"]).exit_code == 2


def test_set_unit_pin_from_the_cli(runner, contracts):
    result = runner.invoke(args=["set-unit-pin", "XJGAT"], input="246813\n246813\n")
    assert result.exit_code == 0, result.output
    assert "callers key the unit code as 95428" in result.output
    bad = runner.invoke(args=["set-unit-pin", "XJGAT", "--pin", "12a4"])
    assert bad.exit_code == 1 and "PIN: 6 to 8 digits" in bad.output
    unknown = runner.invoke(args=["set-unit-pin", "NOPE", "--pin", "1234"])
    assert unknown.exit_code == 1 and "no unit with code 'NOPE'" in unknown.output
    entries = db.session.execute(select(AuditEntry).where(AuditEntry.action == "unit.pin_set")).scalars().all()
    assert len(entries) == 1 and "246813" not in str(entries[0].after)
