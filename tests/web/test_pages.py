"""The pages as a person uses them, through the test client on a real database."""
from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, select

from desk.extensions import db
from desk.incidents.services import repair_deadline
from desk.models import Ticket, Unit, utcnow
from desk.timeparse import local

ROOT = Path(__file__).resolve().parents[2]
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def text(response) -> str:
    return response.get_data(as_text=True)


def test_fault_form_files_and_shows_number_and_deadline(world, signin):
    from io import BytesIO

    client = signin("reporter")
    form = text(client.get("/tickets/new"))
    assert 'name="description"' in form and 'type="file"' in form
    unit = db.session.execute(select(Unit).where(Unit.code == "XJGAT")).scalar_one()
    response = client.post("/tickets/new", data={
        "unit": str(unit.id), "kind": "interruption", "affected_cards": "", "location": "和田路 12 号",
        "started_at": "", "description": "全部警务终端无法登录专网",
        "attachments": [(BytesIO(PNG), "scene.png", "image/png")],
    }, content_type="multipart/form-data")
    assert response.status_code == 303
    page = client.get(response.headers["Location"])
    body = text(page)
    ticket = db.session.execute(select(Ticket).order_by(Ticket.id.desc())).scalars().first()
    deadline = repair_deadline(ticket.incident)
    assert ticket.incident.affected_cards == 3360  # default: all cards of the contract
    assert f'<strong class="number">{ticket.number}</strong>' in body
    assert f"{local(deadline, 'Asia/Shanghai'):%Y-%m-%d %H:%M}" in body  # 四.(三): reported + 4 h
    assert f'data-deadline="{deadline.isoformat()}"' in body
    assert "scene.png" in body and "报障" in body


def test_fault_form_refuses_bad_input_naming_the_field(world, signin):
    client = signin("reporter")
    unit = world.incident.unit
    count = db.session.execute(select(func.count()).select_from(Ticket)).scalar_one()
    for data, words in (
        ({"unit": str(unit.id), "kind": "interruption", "description": ""}, "描述："),
        ({"unit": str(unit.id), "kind": "interruption", "description": "x", "affected_cards": "99999"},
         "受影响卡数："),
        ({"unit": str(unit.id), "kind": "interruption", "description": "x", "started_at": "yesterday"},
         "中断开始："),
        ({"unit": str(unit.id), "kind": "interruption", "description": "x",
          "started_at": f"{local(utcnow() + timedelta(days=1), 'Asia/Shanghai'):%Y-%m-%dT%H:%M}"}, "中断开始："),
    ):
        response = client.post("/tickets/new", data=data)
        assert response.status_code in (400, 422), data
        assert words in text(response), (data, text(response)[:2000])
    assert db.session.execute(select(func.count()).select_from(Ticket)).scalar_one() == count


def test_fault_form_says_affected_cards_start_at_one(world, signin):
    # Zero was refused with WTForms' Chinese "数值必须大于 1" (greater than 1), though 1 is allowed.
    client = signin("reporter")
    unit = world.incident.unit
    count = db.session.execute(select(func.count()).select_from(Ticket)).scalar_one()
    for cards in ("0", "-3"):
        response = client.post("/tickets/new", data={"unit": str(unit.id), "kind": "interruption",
                                                     "description": "x", "affected_cards": cards})
        assert response.status_code == 422 and "须为不小于 1 的整数" in text(response)
        assert "大于" not in text(response)
    client.post("/language", data={"locale": "en", "next": "/"})
    response = client.post("/tickets/new", data={"unit": str(unit.id), "kind": "interruption", "description": "x",
                                                 "affected_cards": "0"})
    assert response.status_code == 422 and "Affected cards: must be a whole number, at least 1" in text(response)
    assert db.session.execute(select(func.count()).select_from(Ticket)).scalar_one() == count
    response = client.post("/tickets/new", data={"unit": str(unit.id), "kind": "interruption", "description": "x",
                                                 "affected_cards": "1"})
    assert response.status_code == 303


def test_invalid_transition_is_shown_on_the_page(world, signin):
    client = signin("reporter")
    response = client.post(f"/incidents/{world.incident.id}/restoration/confirm")
    assert response.status_code == 409
    assert "只有已恢复的故障可以确认恢复" in text(response)


def test_incident_page_timeline_and_consequences(world, signin):
    engineer = signin("engineer")
    iid = world.incident.id
    assert engineer.post(f"/incidents/{iid}/acknowledge").status_code == 303
    assert engineer.post(f"/incidents/{iid}/restore", data={"restored_at": ""}).status_code == 303
    assert engineer.post(f"/incidents/{iid}/cause", data={"cause": "carrier", "evidence": "基站板卡故障",
                                                          "maintenance_notice": "0"}).status_code == 303
    body = text(signin("unit_manager").get(f"/incidents/{iid}"))
    for words in ("报障", "已受理", "已恢复", "提出原因", "基站板卡故障"):
        assert words in body, words
    # XJGAT: strike 1 of 3 and its 1 % penalty (六.(六)), provisional until the manager confirms.
    assert "第 1 次（共 3 次触发解约权）" in body and "6,394.00" in body
    assert 'class="badge provisional"' in body
    assert signin("unit_manager").post(f"/incidents/{iid}/cause/confirm", data={"note": ""}).status_code == 303


def test_the_timeline_names_the_desk_itself_in_the_pages_language(world, signin):
    """Entries the clock, the command line or an API token wrote showed their code ("clock") on the Chinese page."""
    from desk.audit.services import Actor, record
    from desk.db import transaction

    iid = world.incident.id
    with transaction():
        for label, action in (("clock", "clock.strike"), ("cli", "clock.repair_deadline_warning"),
                              ("api:abcd1234", "clock.repair_deadline_breach")):
            record(Actor.system(label), action, "incident", iid, incident_id=iid,
                   contract_id=world.incident.contract_id)
    client = signin("engineer")
    body = text(client.get(f"/incidents/{iid}"))
    for words in ("· SLA 时钟", "· 命令行", "· 接口 abcd1234…"):
        assert words in body, words
    assert "· clock" not in body and "· cli" not in body
    assert "</strong> · reporter" in body  # people keep their names (the ticket was filed by "reporter")
    client.post("/language", data={"locale": "en"})
    body = text(client.get(f"/incidents/{iid}"))
    assert "· SLA clock" in body and "· Command line" in body and "· API abcd1234…" in body


def test_queue_sorted_by_time_left_and_filters(world, signin):
    from desk.incidents import services

    older = services.file_fault(world.actor("reporter"), unit=world.incident.unit, kind="degradation",
                                description="慢", now=utcnow() - timedelta(hours=3))
    client = signin("engineer")
    body = text(client.get("/queue"))
    first, second = body.index(older.number), body.index(db.session.get(Ticket, world.ticket_id).number)
    assert first < second  # the older report's deadline comes first
    assert text(client.get(f"/incidents?q={older.number}")).count('href="/incidents/') == 1
    assert client.get(f"/tickets/{older.number}").headers["Location"] == f"/incidents/{older.incident_id}"
    assert client.get("/incidents?q=abc").status_code == 422
    assert client.get("/incidents?month=2025-13").status_code == 422
    assert client.get("/incidents?status=nonsense").status_code == 422
    assert older.number not in text(client.get("/incidents?status=restored"))
    month = f"{local(utcnow(), 'Asia/Shanghai'):%Y-%m}"
    assert older.number in text(client.get(f"/incidents?month={month}&contract=XJGAT-POOL-2025&unit=XJGAT"))
    assert older.number not in text(client.get("/incidents?contract=QMGA-JWT-2025"))


def test_reporter_list_shows_only_their_unit(world, signin):
    body = text(signin("reporter_other_unit").get("/incidents"))
    assert db.session.get(Ticket, world.ticket_id).number not in body
    assert db.session.get(Ticket, world.ticket_id).number in text(signin("unit_manager").get("/incidents"))


def test_dashboard_figures_come_from_the_report(world, signin):
    from desk.reports.services import monthly_report

    client = signin("carrier_manager")
    month = f"{local(utcnow(), 'Asia/Shanghai'):%Y-%m}"
    body = text(client.get(f"/contracts/XJGAT-POOL-2025?month={month}"))
    totals = monthly_report("XJGAT-POOL-2025", month)["totals"]
    assert f'data-figure="strikes_to_date">{totals["strikes_to_date"]} / 3' in body
    assert 'id="report-provisional"' in body  # an undetermined cause: provisional (临时)
    assert "临时" in body
    assert f'href="/contracts/XJGAT-POOL-2025/reports/{month}"' in body
    assert client.get("/contracts/XJGAT-POOL-2025?month=June").status_code == 422


def test_payment_and_maintenance_forms(world, signin):
    client = signin("carrier_manager")
    response = client.post("/contracts/XJGAT-POOL-2025/payments",
                           data={"paid_at": "2025-05-01T10:00", "amount": "abc", "note": ""})
    assert response.status_code == 422 and "amount" in text(response)
    response = client.post("/contracts/XJGAT-POOL-2025/payments",
                           data={"paid_at": "2025-05-01T10:00", "amount": "191,820.00", "note": "首付款"})
    assert response.status_code == 303
    assert "191,820.00" in text(client.get("/contracts/XJGAT-POOL-2025"))
    soon = local(utcnow() + timedelta(hours=30), "Asia/Shanghai")
    response = client.post("/contracts/XJGAT-POOL-2025/maintenance", data={
        "window_start": f"{soon:%Y-%m-%dT%H:%M}", "window_end": f"{soon + timedelta(hours=2):%Y-%m-%dT%H:%M}",
        "notice_at": "", "description": "核心网升级"})
    assert response.status_code == 303
    body = text(client.get("/contracts/XJGAT-POOL-2025"))
    assert "通知时间短于合同约定" in body and "核心网升级" in body


def test_payment_form_refuses_commas_that_are_not_thousands_separators(world, signin):
    # The commas were dropped: 1,0,0 was recorded as 100.00 and the decimal comma of 100,50 as 10050.00.
    from desk.models import Payment

    client = signin("carrier_manager")
    for amount, words in (("1,0,0", "含有不是千位分隔符的逗号"), ("100,50", "含有不是千位分隔符的逗号"),
                          ("1e3", "不是以元计的金额")):
        response = client.post("/contracts/XJGAT-POOL-2025/payments",
                               data={"paid_at": "2025-05-01T10:00", "amount": amount, "note": ""})
        assert response.status_code == 422 and f"金额：{words}" in text(response), amount
    client.post("/language", data={"locale": "en", "next": "/"})
    response = client.post("/contracts/XJGAT-POOL-2025/payments",
                           data={"paid_at": "2025-05-01T10:00", "amount": "100,50", "note": ""})
    assert "amount: has commas that are not thousands separators" in text(response)
    assert db.session.execute(select(func.count()).select_from(Payment)).scalar_one() == 0
    response = client.post("/contracts/XJGAT-POOL-2025/payments",
                           data={"paid_at": "2025-05-01T10:00", "amount": "1,234,567.89", "note": ""})
    assert response.status_code == 303
    assert db.session.execute(select(Payment.amount)).scalar_one() == Decimal("1234567.89")


def test_attachment_is_served_safely(world, signin):
    response = signin("reporter").get(f"/attachments/{world.attachment_id}")
    assert response.status_code == 200 and response.data.startswith(b"\x89PNG")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response.headers["Content-Security-Policy"]


def test_attachments_and_report_downloads_are_never_cached(world, signin):
    """Like the pages: a police unit's photo or a contract's report stays out of a shared
    workstation's cache after the sign-out. The desk's own CSS and script may be cached."""
    client = signin("unit_manager")
    for path in (f"/attachments/{world.attachment_id}", "/contracts/XJGAT-POOL-2025/reports/2025-06/csv",
                 "/contracts/XJGAT-POOL-2025/reports/2025-06/json"):
        response = client.get(path)
        assert response.status_code == 200 and response.headers.get("Cache-Control") == "no-store", path
    assert "no-store" not in client.get("/static/desk.css").headers.get("Cache-Control", "")


def test_pages_carry_a_strict_content_security_policy(app, world, signin):
    response = signin("engineer").get(f"/incidents/{world.incident.id}")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert response.headers["Cache-Control"] == "no-store"


def test_templates_have_no_inline_script_style_or_handlers():
    for path in (ROOT / "templates").rglob("*.html"):
        source = path.read_text(encoding="utf-8")
        assert not re.search(r"<script(?![^>]*\bsrc=)", source), path
        assert not re.search(r"<style|\sstyle=", source), path
        assert not re.search(r"\son[a-z]+=", source), path
        assert "javascript:" not in source, path


def test_admin_creates_user_and_token_and_loads_a_contract(world, signin):
    client = signin("admin")
    response = client.post("/admin/users", data={"username": "new.officer", "password": "long-enough-1",
                                                 "role": "unit_reporter", "unit": "XJGAT-KS",
                                                 "display_name": "新警官", "phone": ""})
    assert response.status_code == 303
    response = client.post("/admin/users", data={"username": "x", "password": "short", "role": "unit_reporter"})
    assert response.status_code == 422
    response = client.post("/admin/tokens", data={"name": "监控平台", "contracts": ["XJGAT-POOL-2025"]})
    assert response.status_code == 201
    token = re.search(r'<code class="token">(desk_[^<]+)</code>', text(response)).group(1)
    assert client.get("/api/v1/tickets/%d" % world.ticket_id,
                      headers={"Authorization": f"Bearer {token}"}).status_code == 200
    contract = world.incident.contract
    edited = contract.source_toml.replace('name = "喀什地区公安局"', 'name = "喀什地区公安局（改）"')
    assert client.post("/admin/contracts", data={"toml": edited}).status_code == 303
    assert "喀什地区公安局（改）" in text(client.get("/admin/contracts"))
    response = client.post("/admin/contracts", data={"toml": "code = 1\n[oops"})
    assert response.status_code == 422 and "TOML" in text(response)


def test_too_large_an_upload_is_refused_with_the_limit(app, world, signin):
    from io import BytesIO

    app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024
    response = signin("reporter").post(f"/incidents/{world.incident.id}/attachments",
                                       data={"files": [(BytesIO(PNG + b"\0" * 2 * 1024 * 1024), "big.png")]},
                                       content_type="multipart/form-data")
    assert response.status_code == 413 and "附件：上传内容超过 1 MB" in text(response)


def test_a_role_refused_a_page_gets_the_desk_page(world, signin):
    response = signin("reporter").get("/queue")
    assert response.status_code == 403 and "操作被拒绝" in text(response)


def test_an_unknown_address_a_wrong_method_and_a_stale_form_get_the_desk_page(app, world, signin):
    """Werkzeug's bare English pages reached users of the Chinese desk: a mistyped or old address,
    a GET of a form's address, a form sent after signing out in another tab (its CSRF token gone)."""
    client = signin("reporter")
    missing = client.get("/no-such-page")
    assert missing.status_code == 404 and "没有这个页面" in text(missing) and 'class="top"' in text(missing)
    wrong = signin("admin").get("/admin/users")  # the new-user form posts there
    assert wrong.status_code == 405 and "此地址不接受这种请求" in text(wrong) and "POST" in wrong.headers["Allow"]
    app.config["WTF_CSRF_ENABLED"] = True
    stale = client.post(f"/incidents/{world.incident.id}/comments", data={"body": "还在吗"})
    assert stale.status_code == 400 and "表单已失效（CSRF 校验未通过）" in text(stale)
    assert "Bad Request" not in text(stale)
    app.config["WTF_CSRF_ENABLED"] = False
    client.post("/language", data={"locale": "en"})
    assert "no such page" in text(client.get("/no-such-page"))
    # Programs keep their own answers: JSON from the API, none of the desk's layout for Twilio's webhooks.
    assert client.get("/api/v1/tickets/" + "9" * 30).get_json()["status"] == 404
    assert 'class="top"' not in text(app.test_client().get("/hotline/voice"))


def test_termination_decision_stands_and_exercising_asks_for_confirmation(world, signin):
    """六.(六): the latest decision stands and is shown as such; "exercised" needs the confirmation box
    and is final, so a later "not exercised" is refused with the reason (409)."""
    from desk.incidents import services

    for _ in range(2):
        services.file_fault(world.actor("reporter"), unit=world.incident.unit, kind="interruption", description="又断了")
    client = signin("unit_manager")
    url = "/contracts/XJGAT-POOL-2025"
    body = text(client.get(url))
    assert "尚未登记决定" in body
    assert re.search(r'<input type="checkbox" name="confirm" value="yes" required>', body)
    assert body.count('id="csrf_token"') <= 1  # the decision forms add no duplicate ids

    assert client.post(url + "/termination", data={"decision": "not_exercised", "note": "先观察"}).status_code == 303
    body = text(client.get(url))
    standing = body[body.index('id="termination-standing"'):]
    assert "甲方决定不行使解约权" in standing[:600] and "先观察" in standing[:600]

    response = client.post(url + "/termination", data={"decision": "exercised", "note": "解约"})
    assert response.status_code == 422 and "行使解约权须勾选确认" in text(response)
    response = client.post(url + "/termination", data={"decision": "exercised", "note": "解约", "confirm": "yes"})
    assert response.status_code == 303
    body = text(client.get(url))
    standing = body[body.index('id="termination-standing"'):body.index('id="termination-history"')]
    assert "甲方已行使解约权" in standing and "最终决定" in standing
    assert "先观察" in body[body.index('id="termination-history"'):]
    assert 'id="decide-exercised"' not in body and 'id="decide-not-exercised"' not in body

    response = client.post(url + "/termination", data={"decision": "not_exercised"})
    assert response.status_code == 409 and "甲方已行使解约权：该决定为最终决定" in text(response)
    client.post("/language", data={"locale": "en"})
    body = text(client.get(url))
    assert "The customer exercised the termination right." in body


def test_one_money_format_one_name_no_empty_fields_no_duplicate_ids(app, world, signin):
    """Money as ¥1,234.56 on every page, one name for the desk in title and header, an empty location
    left out of the timeline, and forms that repeat no id (the CSRF field) on a page."""
    from desk.incidents import services

    for _ in range(2):
        services.file_fault(world.actor("reporter"), unit=world.incident.unit, kind="interruption", description="又断了")
    client = signin("unit_manager")
    month = f"{local(utcnow(), 'Asia/Shanghai'):%Y-%m}"
    report = text(client.get(f"/contracts/XJGAT-POOL-2025/reports/{month}"))
    assert "¥19,182.00" in report and "19182.00" not in report  # three strikes × 1 % of 639,400.00
    assert "<title>" in report and "专网故障受理台</title>" in report and "警务专网服务等级受理台" not in report
    incident = text(client.get(f"/incidents/{world.incident.id}"))
    assert not re.search(r"地点: *;", incident) and not re.search(r"地点: *</small>", incident)
    app.config["WTF_CSRF_ENABLED"] = True  # the forms render their CSRF field only when it is on
    for path in ("/contracts/XJGAT-POOL-2025", f"/incidents/{world.incident.id}"):
        body = text(client.get(path))
        ids = re.findall(r'\bid="([^"]+)"', body)
        assert len(ids) == len(set(ids)), (path, sorted(i for i in ids if ids.count(i) > 1))
        assert body.count('name="csrf_token"') >= 2
