"""Whether a sent SMS reached the phone: the dispatcher asks Twilio for status callbacks when the
desk knows its public URL, the callbacks are kept by SID, and the admin page says what became of
each message, in Chinese and in English."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import select

from desk.audit.services import Actor
from desk.auth.services import create_user
from desk.db import transaction
from desk.extensions import db
from desk.models import OutboxMessage
from desk.outbox.dispatcher import dispatch_due
from desk.outbox.services import enqueue, record_delivery
from tests.hotline.conftest import post
from tests.outbox.conftest import AUTH_TOKEN

PUBLIC = "https://desk.example.cn"
PASSWORD = "correct-horse-9"


def created_requests(twilio) -> list[dict]:
    return [data for method, path, data in twilio.requests if method == "POST"]


def test_twilios_callback_to_the_url_it_was_given_reaches_the_admin_page(app, client, credentials, twilio,
                                                                        twilio_client, clock):
    app.config["DESK_PUBLIC_URL"] = PUBLIC
    with transaction():
        enqueue("+8613900000001", "【修复时限预警】工单000001 距修复时限还有15分钟", "warn")
    dispatch_due(clock(), client=twilio_client)
    sid, url = twilio.created[0]["sid"], created_requests(twilio)[0]["StatusCallback"]
    # Signed as Twilio signs: the URL it was given, with the account's auth token.
    for status in ("sent", "delivered"):
        form = {"MessageSid": sid, "MessageStatus": status, "AccountSid": twilio.created[0]["account_sid"]}
        assert post(client, "/hotline/sms/status", form, url=url, token=AUTH_TOKEN).status_code == 204
    page = _admin(client).get("/admin/outbox").get_data(as_text=True)
    assert "已送达" in page and sid in page


def _sent(specs) -> None:
    """Sent messages, each with its SID, and pending one the dispatcher has not reached."""
    with transaction():
        for n, (body, _) in enumerate(specs):
            message = enqueue(f"+86139000000{n:02d}", body, f"k{n}")
            message.status, message.provider_id = "sent", f"SM{n:032d}"
        enqueue("+8613900000099", "待发的短信", "pending")
    for n, (_, callbacks) in enumerate(specs):
        for callback in callbacks:
            record_delivery(f"SM{n:032d}", *callback)


SPECS = [
    ("送达的短信", [("sent",), ("delivered",)]),
    ("未送达的短信", [("undelivered", "30003", "Unreachable destination handset")]),
    ("失败的短信", [("failed",)]),
    ("运营商接收的短信", [("queued",), ("sent",)]),
    ("排队的短信", [("queued",)]),
    ("无回执的短信", []),
]


def _admin(client):
    create_user(Actor.system("test"), username="root", password=PASSWORD, role="admin")
    assert client.post("/login", data={"username": "root", "password": PASSWORD}).status_code in (302, 303)
    return client


def _delivery_cells(page: str) -> dict[str, str]:
    """Each message's body and the words of its delivery cell (the ninth; without the <small> time
    of Twilio's last report)."""
    from html.parser import HTMLParser

    class Rows(HTMLParser):
        def __init__(self):
            super().__init__()
            self.rows, self.cell, self.small = [], None, False

        def handle_starttag(self, tag, attrs):
            self.small = self.small or tag == "small"
            if tag == "tr":
                self.rows.append([])
            elif tag == "td":
                self.cell = []

        def handle_endtag(self, tag):
            self.small = self.small and tag != "small"
            if tag == "td" and self.cell is not None:
                self.rows[-1].append("".join(self.cell).strip())
                self.cell = None

        def handle_data(self, data):
            if self.cell is not None and not self.small:
                self.cell.append(data)

    parser = Rows()
    parser.feed(page)
    return {row[2]: row[8] for row in parser.rows if len(row) > 8}


def test_the_admin_page_says_what_became_of_each_sent_message_in_chinese(client):
    _sent(SPECS)
    page = _admin(client).get("/admin/outbox").get_data(as_text=True)
    assert "送达情况" in page
    assert _delivery_cells(page) == {
        "送达的短信": "已送达",
        "未送达的短信": "未送达（错误码 30003：Unreachable destination handset）",
        "失败的短信": "未送达",
        "运营商接收的短信": "运营商已接收",
        "排队的短信": "未收到回执",
        "无回执的短信": "未收到回执",
        "待发的短信": "",
    }


def test_the_admin_page_in_english(client):
    _sent(SPECS)
    _admin(client).post("/language", data={"locale": "en"})
    page = client.get("/admin/outbox").get_data(as_text=True)
    assert "Delivery" in page and "Not delivered (2)" in page
    assert _delivery_cells(page) == {
        "送达的短信": "Delivered",
        "未送达的短信": "Not delivered (error 30003: Unreachable destination handset)",
        "失败的短信": "Not delivered",
        "运营商接收的短信": "Accepted by the carrier",
        "排队的短信": "No receipt yet",
        "无回执的短信": "No receipt yet",
        "待发的短信": "",
    }


def test_the_undelivered_filter_lists_only_what_twilio_could_not_deliver(client):
    _sent(SPECS)
    _admin(client)
    page = client.get("/admin/outbox").get_data(as_text=True)
    assert "未送达 (2)" in page
    undelivered = client.get("/admin/outbox?delivery=undelivered").get_data(as_text=True)
    assert set(_delivery_cells(undelivered)) == {"未送达的短信", "失败的短信"}
    # With a status too: the undelivered among the sent ones; none among the pending.
    assert set(_delivery_cells(client.get("/admin/outbox?status=sent&delivery=undelivered").get_data(
        as_text=True))) == {"未送达的短信", "失败的短信"}
    assert _delivery_cells(client.get("/admin/outbox?status=pending&delivery=undelivered").get_data(
        as_text=True)) == {}
    refused = client.get("/admin/outbox?delivery=bogus")
    assert refused.status_code == 422 and "delivery" in refused.get_data(as_text=True)


def test_a_callback_that_came_before_the_dispatcher_committed_the_sid_shows_once_it_has(client):
    record_delivery("SM" + "7" * 32, "delivered", now=datetime(2026, 12, 5, 1, 2, tzinfo=timezone.utc))
    with transaction():
        message = enqueue("+8613900000001", "先有回执的短信", "early")
    _admin(client)
    assert _delivery_cells(client.get("/admin/outbox").get_data(as_text=True)) == {"先有回执的短信": ""}
    with transaction():
        row = db.session.execute(select(OutboxMessage).where(OutboxMessage.id == message.id)).scalar_one()
        row.status, row.provider_id = "sent", "SM" + "7" * 32
    page = client.get("/admin/outbox").get_data(as_text=True)
    assert _delivery_cells(page) == {"先有回执的短信": "已送达"}
    assert "<small>2026-12-05 09:02</small>" in page  # Twilio's report, in Beijing time


def test_twilios_error_message_is_shown_as_text_not_markup(client):
    _sent([("短信", [("undelivered", "30003", '<script>alert("x")</script>')])])
    page = _admin(client).get("/admin/outbox").get_data(as_text=True)
    assert "<script>alert" not in page and "&lt;script&gt;alert" in page
