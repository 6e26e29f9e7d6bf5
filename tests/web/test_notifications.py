"""The incident page's 通知记录 / Notifications: the SMS the desk sent about this incident, to whom
(a unit user sees the last 4 digits of a number only), their outbox status and what Twilio's status
callbacks said of their delivery, in one query however many there are."""
from __future__ import annotations

import re
from contextlib import contextmanager
from datetime import datetime, timezone

from sqlalchemy import event, select

from desk.db import transaction
from desk.extensions import db
from desk.models import OutboxMessage
from desk.outbox.services import enqueue, record_delivery

ENGINEER_PHONE = "+8613800001234"
CALLER_PHONE = "+8613912345678"
SENT_AT = datetime(2026, 11, 30, 16, 5, tzinfo=timezone.utc)  # 2026-12-01 00:05 in Asia/Shanghai


def text(response) -> str:
    return response.get_data(as_text=True)


def section(body: str) -> str:
    found = re.search(r'<section class="card notifications" id="notifications">.*?</section>', body, re.S)
    assert found, "the page has no notifications section"
    return found.group(0)


def queue(incident_id: int | None, to: str, body: str, key: str, *, status: str = "pending",
          sid: str = "") -> OutboxMessage:
    with transaction():
        message = enqueue(to, body, key, incident_id=incident_id)
        message.status, message.provider_id, message.created_at = status, sid, SENT_AT
    return message


def sid(n: int) -> str:
    return f"SM{n:032x}"


@contextmanager
def statements():
    """The SQL statements run inside the block."""
    seen: list[str] = []

    def count(conn, cursor, statement, *args):
        seen.append(statement)
    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


def sent_about(world):
    """The filing's own SMS aside, four messages about the world's incident and one about another."""
    iid = world.incident.id
    with transaction():
        db.session.query(OutboxMessage).delete()
    queue(iid, ENGINEER_PHONE, "【报障】工单 已送达的那条", "t1", status="sent", sid=sid(1))
    queue(iid, CALLER_PHONE, "【恢复】未送达的那条", "t2", status="sent", sid=sid(2))
    queue(iid, CALLER_PHONE, "【提醒】运营商接收的那条", "t3", status="sent", sid=sid(3))
    queue(iid, ENGINEER_PHONE, "【提醒】待发送的那条", "t4")
    queue(world.other_incident.id, "+8613700009999", "【报障】别的工单", "t5", status="sent", sid=sid(5))
    queue(None, "+8613700008888", "【合同】合同的通知", "t6", status="sent", sid=sid(6))
    record_delivery(sid(1), "delivered")
    record_delivery(sid(2), "undelivered", "30003", "Unreachable destination handset")
    record_delivery(sid(3), "sent")


def test_the_page_shows_the_incidents_messages_only_with_their_delivery(world, signin):
    sent_about(world)
    notes = section(text(signin("engineer").get(f"/incidents/{world.incident.id}")))
    assert "通知记录" in notes
    for words in ("已送达的那条", "未送达的那条", "运营商接收的那条", "待发送的那条"):
        assert words in notes
    assert "别的工单" not in notes and "合同的通知" not in notes
    # Carrier staff see whole numbers: they may have to call the one that was not reached.
    assert ENGINEER_PHONE in notes and CALLER_PHONE in notes
    assert "2026-12-01 00:05" in notes  # Asia/Shanghai
    assert "已送达" in notes and "运营商已接收" in notes and "待发送" in notes
    assert "未送达（错误码 30003：Unreachable destination handset）" in notes
    rows = re.findall(r"<tr class=\"(outbox-[a-z_]+)(?: delivery-([a-z]+))?\"", notes)
    assert rows == [("outbox-sent", "delivered"), ("outbox-sent", "undelivered"), ("outbox-sent", "sent"),
                    ("outbox-pending", "")]


def test_a_unit_user_sees_the_section_with_numbers_masked_but_the_last_four_digits(world, signin):
    sent_about(world)
    for name in ("reporter", "unit_manager"):
        notes = section(text(signin(name).get(f"/incidents/{world.incident.id}")))
        assert ENGINEER_PHONE not in notes and CALLER_PHONE not in notes
        assert "*********1234" in notes and "*********5678" in notes
        assert "未送达的那条" in notes and "已送达" in notes
        assert "<form" not in notes  # nothing to do here, only to read
    assert CALLER_PHONE in section(text(signin("admin").get(f"/incidents/{world.incident.id}")))


def test_the_section_in_english(world, signin):
    sent_about(world)
    client = signin("unit_manager")
    client.post("/language", data={"locale": "en"})
    notes = section(text(client.get(f"/incidents/{world.incident.id}")))
    assert "Notifications" in notes and "通知记录" not in notes
    for words in ("Delivered", "Accepted by the carrier", "Waiting to be sent",
                  "Not delivered (error 30003: Unreachable destination handset)"):
        assert words in notes


def test_an_incident_without_messages_says_so(world, signin):
    with transaction():
        db.session.query(OutboxMessage).delete()
    assert "尚未发送通知" in section(text(signin("engineer").get(f"/incidents/{world.incident.id}")))


def test_the_section_costs_one_statement_however_many_messages(world, signin):
    """The page's statements do not grow with its messages (no query per message or delivery)."""
    client = signin("engineer")
    url = f"/incidents/{world.incident.id}"
    client.get(url)
    with transaction():
        db.session.query(OutboxMessage).delete()
    queue(world.incident.id, ENGINEER_PHONE, "一条", "one", status="sent", sid=sid(1))
    record_delivery(sid(1), "delivered")
    with statements() as one:
        assert client.get(url).status_code == 200
    for n in range(2, 12):
        queue(world.incident.id, ENGINEER_PHONE, f"第{n}条", f"n{n}", status="sent", sid=sid(n))
        record_delivery(sid(n), "undelivered" if n % 2 else "delivered", "30003" if n % 2 else "")
    with statements() as eleven:
        body = text(client.get(url))
    assert section(body).count("<tr class=\"outbox-sent") == 11
    assert len(eleven) == len(one), eleven
    notification_queries = [s for s in eleven if "FROM outbox_message" in s]
    assert len(notification_queries) == 1 and "outbox_delivery" in notification_queries[0]


def test_a_merged_reports_messages_show_on_the_incident_it_was_merged_into(world, signin):
    from desk.incidents import services
    from desk.models import Unit

    unit = db.session.execute(select(Unit).where(Unit.code == "XJGAT")).scalar_one()
    duplicate = services.file_fault(world.actor("reporter"), unit=unit, kind="interruption",
                                    description="同一故障，另一次报障").incident
    queue(duplicate.id, CALLER_PHONE, "【报障】重复报障的确认", "dup", status="sent", sid=sid(7))
    services.merge(world.actor("engineer"), world.incident, duplicate)
    assert "重复报障的确认" in section(text(signin("engineer").get(f"/incidents/{world.incident.id}")))
    assert "重复报障的确认" in section(text(signin("engineer").get(f"/incidents/{duplicate.id}")))
