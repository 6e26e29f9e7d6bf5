"""The refusals people meet most, on the Chinese pages in Chinese and on the English ones in English:
services write their messages in English with values in them (a count, a file name, a month), and
the page translates them, field name included, through the catalogue's entries and patterns."""
from __future__ import annotations

import html
import re
from datetime import timedelta
from io import BytesIO

import pytest
from sqlalchemy import select

from desk.extensions import db
from desk.models import Unit, utcnow
from desk.timeparse import local
from desk.web.i18n import translate_error

ALERT = re.compile(r'<div class="flash error" role="alert">(.*?)</div>', re.S)
# ASCII words a Chinese message may still hold: values the person typed or the desk names.
ALLOWED = {"abc", "evil", "png", "image", "ISO", "YYYY"}


def alert(response) -> str:
    found = ALERT.search(response.get_data(as_text=True))
    assert found, response.get_data(as_text=True)[:2000]
    return html.unescape(re.sub(r"<[^>]+>", " ", found.group(1)))


def tries(world) -> dict:
    """Each representative refusal: who tries it, and how (a request through their client)."""
    unit = db.session.execute(select(Unit).where(Unit.code == "XJGAT")).scalar_one()
    iid = world.incident.id
    later = f"{local(utcnow() + timedelta(days=2), 'Asia/Shanghai'):%Y-%m-%dT%H:%M}"

    def fault(**fields):
        data = {"unit": str(unit.id), "kind": "interruption", "affected_cards": "", "location": "",
                "started_at": "", "description": "专网中断", **fields}
        return lambda client: client.post("/tickets/new", data=data, content_type="multipart/form-data")

    def pay(**fields):
        data = {"paid_at": "2025-05-01T10:00", "amount": "100.00", "note": "", **fields}
        return lambda client: client.post("/contracts/XJGAT-POOL-2025/payments", data=data)

    def cause(**fields):
        return lambda client: client.post(f"/incidents/{iid}/cause", data=fields)

    return {
        "cards": ("reporter", fault(affected_cards="99999")),
        "started long ago": ("reporter", fault(started_at="2020-01-01T10:00")),
        "started not a time": ("reporter", fault(started_at="abc")),
        "no description": ("reporter", fault(description="")),
        "amount": ("carrier_manager", pay(amount="abc")),
        "amount zero": ("carrier_manager", pay(amount="0")),
        "paid later": ("carrier_manager", pay(paid_at=later)),
        "paid long before": ("carrier_manager", pay(paid_at="2019-12-01T10:00")),
        "ticket number": ("reporter", lambda client: client.get("/incidents?q=abc")),
        "month": ("carrier_manager", lambda client: client.get("/contracts/XJGAT-POOL-2025?month=2026-13")),
        "attachment": ("reporter", lambda client: client.post(
            f"/incidents/{iid}/attachments", content_type="multipart/form-data",
            data={"files": [(BytesIO(b"not a picture"), "evil.png", "image/png")]})),
        "maintenance without notice": ("carrier_manager", cause(
            cause="planned_maintenance", evidence="核心网升级", maintenance_notice="0")),
        "no evidence": ("carrier_manager", cause(cause="carrier", evidence="")),
        "not restored": ("unit_manager", lambda client: client.post(f"/incidents/{iid}/restoration/confirm")),
    }


ZH = {
    "cards": "受影响卡数：须为 1 至 3360 之间的整数",
    "started long ago": "中断开始：最多早于报障时间 7 天",
    "started not a time": "中断开始：'abc' 不是 ISO 8601 时间",
    "no description": "描述：",
    "amount": "金额：不是以元计的金额",
    "amount zero": "金额：须为以元计的正数金额",
    "paid later": "付款时间：不能晚于现在",
    "paid long before": "付款时间：早于合同服务开始日期（2025-04-01）一年以上",
    "ticket number": "工单号：只能填数字，例如 000042",
    "month": "月份：'2026-13' 不是 YYYY-MM 格式",
    "attachment": "附件：evil.png：文件内容不是 image/png",
    "maintenance without notice": "维护通知：计划维护须关联本合同的维护通知",
    "no evidence": "证据：",
    "not restored": "只有已恢复的故障可以确认恢复；本故障状态为待处理",
}
EN = {
    "cards": "affected_cards: must be a whole number from 1 to 3360",
    "started long ago": "started_at: at most 7 days before the report",
    "started not a time": "started_at: 'abc' is not an ISO 8601 time",
    "no description": "Description: This field is required.",
    "amount": "amount: is not an amount in yuan",
    "amount zero": "amount: a positive sum in yuan",
    "paid later": "paid_at: cannot be in the future",
    "paid long before": "paid_at: more than a year before the contract's service began (2025-04-01)",
    "ticket number": "ticket number: digits only, e.g. 000042",
    "month": "month: '2026-13' is not of the form YYYY-MM",
    "attachment": "attachments: evil.png: the content is not image/png",
    "maintenance without notice": "maintenance_notice: planned maintenance must link a notice of this contract",
    "no evidence": "Evidence: This field is required.",
    "not restored": "only a restored incident can be confirmed; this one is open",
}


@pytest.mark.parametrize("locale, expected", [("zh", ZH), ("en", EN)])
def test_refusals_speak_the_page_language(world, signin, locale, expected):
    clients = {}
    for name, (username, run) in tries(world).items():
        if username not in clients:
            clients[username] = signin(username)
            clients[username].post("/language", data={"locale": locale, "next": "/"})
        response = run(clients[username])
        assert response.status_code in (409, 422), (name, response.status_code)
        message = alert(response)
        assert expected[name] in message, (name, message)
        if locale == "zh":
            english = set(re.findall(r"[A-Za-z]{3,}", message)) - ALLOWED
            assert not english, (name, message)


def test_field_names_and_patterns_translate_through_the_catalogue(app):
    with app.test_request_context():
        assert translate_error("affected_cards: must be a whole number from 1 to 60") == "受影响卡数：须为 1 至 60 之间的整数"
        assert translate_error("paid_at: cannot be in the future") == "付款时间：不能晚于现在"
        assert translate_error("phone: '09912345678' takes no SMS: give a mobile number (+8613…, or its 11 digits)") \
            == "手机号：'09912345678' 无法接收短信：请填写手机号（+8613… 或 11 位号码）"
        assert translate_error("line 3: 'x' is not an ISO 8601 time (e.g. 2025-06-03T10:00 or 2025-06-03T02:00:00Z)") \
            == "第 3 行：'x' 不是 ISO 8601 时间（例如 2025-06-03T10:00 或 2025-06-03T02:00:00Z）"
        assert translate_error("the notice is shorter than the contract's minimum of 48 hours: outages in this "
                               "window count as the carrier's") == "通知时间短于合同约定的 48 小时：此窗口内的中断按运营商原因计"
        assert translate_error("units[1].name: 201 characters, at most 200") == "units[1].name：201 个字符，最多 200 个"
        assert translate_error("your role may not propose cause") == "您的角色无权执行此操作"
        # Unknown words are left as written, not half-translated with a Chinese colon.
        assert translate_error("something: entirely new") == "something: entirely new"
