"""The SMS intake: 报障 files a fault from a registered number, 查询 answers a ticket's status."""
from __future__ import annotations

from sqlalchemy import select

from desk.audit.services import Actor
from desk.extensions import db
from desk.hotline import prompts
from desk.incidents import services as incidents
from desk.models import AuditEntry, OutboxMessage, Ticket, Unit
from tests.hotline.conftest import ENGINEER_PHONE, QMGA_PHONE, STRANGER, XJGAT_PHONE, count, said, text_message


def reply(client, sid: str, phone: str, body: str) -> str:
    response = text_message(client, sid, phone, body)
    assert response.status_code == 200 and response.mimetype == "text/xml"
    return said(response)


def test_a_fault_by_sms_is_filed_and_confirmed_in_the_reply(client, hotline):
    answer = reply(client, "SM" + "1" * 32, XJGAT_PHONE, "报障 XJGAT 中断  乌鲁木齐城区终端全部无信号")
    ticket = db.session.execute(select(Ticket)).scalar_one()
    assert ticket.channel == "sms" and ticket.kind == "interruption" and ticket.unit.code == "XJGAT"
    assert ticket.description == "乌鲁木齐城区终端全部无信号" and ticket.caller_phone == XJGAT_PHONE
    assert ticket.idempotency_key == "twilio:sms:SM" + "1" * 32
    assert answer.startswith(f"【报障受理】工单{ticket.number}（业务中断）已登记，修复时限")
    assert f"查询 {ticket.number}" in answer
    # The on-duty engineer is alerted through the outbox.
    assert db.session.execute(select(OutboxMessage.to)).scalars().all() == [ENGINEER_PHONE]


def test_the_kind_word_is_optional_and_the_code_any_case(client, hotline):
    reply(client, "SM" + "2" * 32, QMGA_PHONE, "报障qmga 受损 县城信号时断时续")
    reply(client, "SM" + "3" * 32, QMGA_PHONE, "报障\u3000QMGA\u3000基站停电")
    first, second = db.session.execute(select(Ticket).order_by(Ticket.id)).scalars().all()
    assert (first.kind, first.description) == ("degradation", "县城信号时断时续")
    assert (second.kind, second.description) == ("interruption", "基站停电")


def test_fields_may_be_set_apart_by_a_colon_or_a_comma_as_phones_type_them(client, hotline):
    """报障：XJGAT，受损，… was answered 没有单位代码为：XJGAT，受损，…的单位 and 查询：000001 with
    没有找到贵单位的工单：000001; the description keeps its own punctuation."""
    answer = reply(client, "SM" + "4" * 32, XJGAT_PHONE, "报障：XJGAT，受损，乌鲁木齐，城区终端无信号")
    ticket = db.session.execute(select(Ticket)).scalar_one()
    assert (ticket.unit.code, ticket.kind, ticket.description) == ("XJGAT", "degradation", "乌鲁木齐，城区终端无信号")
    assert answer.startswith(f"【报障受理】工单{ticket.number}（业务受损）")
    reply(client, "SM" + "6" * 32, XJGAT_PHONE, "报障 XJGAT:中断,基站停电")
    assert db.session.execute(select(Ticket.description).order_by(Ticket.id.desc())).scalars().first() == "基站停电"
    assert reply(client, "SM" + "7" * 32, XJGAT_PHONE, f"查询：{ticket.number}").startswith(
        f"【警务专网】工单{ticket.number}：{prompts.STATUS_WORDS['open']}")


def test_a_retried_message_files_one_ticket_and_gets_the_same_reply(client, hotline):
    sid = "SM" + "4" * 32
    first = reply(client, sid, XJGAT_PHONE, "报障 XJGAT 全区无信号")
    again = reply(client, sid, XJGAT_PHONE, "报障 XJGAT 全区无信号")
    assert first == again and count(Ticket) == 1 and count(OutboxMessage) == 1


def test_a_message_id_sent_again_with_another_body_is_refused_and_files_nothing(client, hotline):
    """A MessageSid stands for one message: the same one with another text (a forged or garbled
    retry) would have been answered with the first ticket and its report lost. It is refused
    naming what differs, as the API refuses a reused Idempotency-Key."""
    sid = "SM" + "9" * 32
    first = reply(client, sid, XJGAT_PHONE, "报障 XJGAT 中断 全区无信号")
    ticket = db.session.execute(select(Ticket)).scalar_one()
    audit = count(AuditEntry)
    answer = reply(client, sid, XJGAT_PHONE, "报障 XJGAT 中断 喀什基站停电")
    assert answer == "【警务专网】报障未受理：描述：与首次以同一幂等键提交的报障不一致"
    answer = reply(client, sid, XJGAT_PHONE, "报障 XJGAT 受损 全区无信号")
    assert answer == "【警务专网】报障未受理：类型：与首次以同一幂等键提交的报障不一致"
    assert count(Ticket) == 1 and count(OutboxMessage) == 1 and count(AuditEntry) == audit
    # The same text again is still answered with the first ticket.
    assert reply(client, sid, XJGAT_PHONE, "报障 XJGAT 中断 全区无信号") == first
    assert ticket.number in first


def test_only_a_number_registered_for_the_unit_may_file(client, hotline):
    assert reply(client, "SM" + "5" * 32, STRANGER, "报障 XJGAT 无信号") == prompts.SMS_UNREGISTERED
    assert reply(client, "SM" + "6" * 32, QMGA_PHONE, "报障 XJGAT 无信号") == prompts.SMS_UNREGISTERED
    assert reply(client, "SM" + "7" * 32, XJGAT_PHONE, "报障 NOPE 无信号") == prompts.SMS_NO_UNIT.format(code="NOPE")
    assert count(Ticket) == 0


def test_a_registered_number_of_a_unit_no_longer_active_may_not_file(client, hotline):
    unit = db.session.execute(select(Unit).where(Unit.code == "XJGAT")).scalar_one()
    unit.active = False
    db.session.commit()
    assert reply(client, "SM" + "5" * 31 + "1", XJGAT_PHONE, "报障 XJGAT 无信号") == prompts.SMS_UNREGISTERED
    assert count(Ticket) == 0


def test_the_registered_number_may_come_without_its_country_code(client, hotline):
    """Twilio sends E.164; a number registered or sent in another common form is the same phone."""
    answer = reply(client, "SM" + "5" * 31 + "2", XJGAT_PHONE.removeprefix("+86"), "报障 XJGAT 无信号")
    ticket = db.session.execute(select(Ticket)).scalar_one()
    assert answer.startswith(f"【报障受理】工单{ticket.number}")


def test_a_refused_report_says_why_and_writes_nothing(client, hotline):
    audit_before = count(AuditEntry)
    answer = reply(client, "SM" + "8" * 32, XJGAT_PHONE, "报障 XJGAT " + "长" * 4001)
    assert answer == "【警务专网】报障未受理：描述：最多 4000 个字符"
    assert count(Ticket) == 0 and count(OutboxMessage) == 0 and count(AuditEntry) == audit_before


def test_a_unit_whose_service_has_not_begun_is_told_so_in_chinese(client, hotline):
    """A contract loaded ahead of its service: the reason is the catalogue's Chinese, not the
    service's English."""
    from datetime import date

    from desk.db import transaction

    with transaction():
        hotline["XJGAT-POOL-2025"].service_start = date(2030, 1, 1)
    answer = reply(client, "SM" + "5" * 32, XJGAT_PHONE, "报障 XJGAT 中断 城区无信号")
    assert answer == "【警务专网】报障未受理：中断开始：早于合同服务开始日期（2030-01-01）"
    assert count(Ticket) == 0


def test_status_by_sms_only_for_the_units_own_tickets(client, hotline):
    units = {u.code: u for u in db.session.execute(select(Unit)).scalars()}
    own, _ = incidents.file_ticket(Actor.system("test"), unit=units["XJGAT"], kind="interruption", channel="web")
    other, _ = incidents.file_ticket(Actor.system("test"), unit=units["QMGA"], kind="interruption", channel="web")
    answer = reply(client, "SM" + "9" * 32, XJGAT_PHONE, f"查询 {own.number}")
    assert answer.startswith(f"【警务专网】工单{own.number}：{prompts.STATUS_WORDS['open']}。距修复时限还有")
    assert reply(client, "SM" + "a" * 32, XJGAT_PHONE, f"查询 {other.number}") == \
        prompts.SMS_TICKET_NOT_FOUND.format(number=other.number)
    assert reply(client, "SM" + "b" * 32, XJGAT_PHONE, "查询 abc") == prompts.SMS_TICKET_NOT_FOUND.format(number="abc")
    assert reply(client, "SM" + "c" * 32, STRANGER, f"查询 {own.number}") == prompts.SMS_UNREGISTERED


def test_a_caller_identified_by_pin_may_ask_the_status_the_confirmation_offers(client, hotline):
    """The confirmation SMS says 查询请回复：查询 <工单号>; from a number not registered for the unit
    (the caller keyed the unit code and PIN) that reply was refused as 本号码未登记. The number that
    reported a ticket may ask its status; other tickets stay out of its reach."""
    from tests.hotline.conftest import Caller

    Caller(client, "CA" + "t" * 32, STRANGER).report_by_pin()
    ticket = db.session.execute(select(Ticket)).scalar_one()
    [confirmation] = db.session.execute(select(OutboxMessage.body).where(OutboxMessage.to == STRANGER)).scalars()
    assert confirmation.endswith(f"查询请回复：查询 {ticket.number}")
    answer = reply(client, "SM" + "0" * 31 + "1", STRANGER, f"查询 {ticket.number}")
    assert answer.startswith(f"【警务专网】工单{ticket.number}：{prompts.STATUS_WORDS['open']}。距修复时限还有")
    unit = db.session.execute(select(Unit).where(Unit.code == "XJGAT")).scalar_one()
    other, _ = incidents.file_ticket(Actor.system("test"), unit=unit, kind="interruption", channel="web")
    assert reply(client, "SM" + "0" * 31 + "2", STRANGER, f"查询 {other.number}") == prompts.SMS_UNREGISTERED


def test_a_merged_ticket_reports_the_incident_it_joined(client, hotline):
    unit = db.session.execute(select(Unit).where(Unit.code == "XJGAT")).scalar_one()
    first, _ = incidents.file_ticket(Actor.system("test"), unit=unit, kind="interruption", channel="web")
    second, _ = incidents.file_ticket(Actor.system("test"), unit=unit, kind="interruption", channel="web")
    incidents.acknowledge(Actor.system("test"), first.incident)
    incidents.merge(Actor.system("test"), first.incident, second.incident)
    answer = reply(client, "SM" + "d" * 32, XJGAT_PHONE, f"查询 {second.number}")
    assert prompts.STATUS_WORDS["acknowledged"] in answer


def test_anything_else_gets_the_help_text(client, hotline):
    for body in ("", "你好", "报障", "查询"):
        assert reply(client, "SM" + "e" * 32, XJGAT_PHONE, body) == prompts.SMS_HELP
    assert reply(client, "SM" + "f" * 32, XJGAT_PHONE, "help") == prompts.SMS_HELP
    assert count(Ticket) == 0


def test_a_message_without_its_sid_is_refused_in_the_reply(client, hotline):
    from tests.hotline.conftest import post

    response = post(client, "/hotline/sms", {"From": XJGAT_PHONE, "Body": "报障 XJGAT 无信号"})
    assert response.status_code == 200 and said(response) == "【警务专网】报障未受理：缺少 MessageSid 或其过长"
    assert count(Ticket) == 0
