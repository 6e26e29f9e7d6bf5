"""The desk in a real browser (Debian's Chromium through Playwright) against a real server on a
fresh database: a reporter files a fault on a phone, an engineer restores it and sets the cause,
the unit's manager confirms, and the contract dashboard's figures follow.

Screenshots go to tests/artifacts/; with DESK_UPDATE_SCREENSHOTS=1 the two shown in the README
are copied to docs/screenshots/.
"""
from __future__ import annotations

import os
import re
import shutil
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from desk.audit.services import Actor
from desk.auth.services import create_user
from desk.extensions import db
from conftest import require_tool  # tests/conftest.py: skips locally, fails in CI

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"
README_SHOTS = {"fault-filed.png", "dashboard.png"}
PASSWORD = "correct-horse-9"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
CONTRACT = "XJGAT-POOL-2025"


@pytest.fixture
def server(app, database_url, tmp_path):
    """The desk served on 127.0.0.1 and a free port, with CSRF on, from its own app on the test database."""
    from desk import create_app
    from desk.contracts.services import load_contracts

    system = Actor.system("test")
    # The pool contract's period ended in March 2026 and only faults inside it count: this copy runs on.
    seed = (ROOT / "config" / "contracts" / "xjgat-pool-2025.toml").read_text(encoding="utf-8")
    (tmp_path / "pool.toml").write_text(seed.replace("service_end = 2026-03-31", "service_end = 2036-03-31"),
                                        encoding="utf-8")
    load_contracts([tmp_path / "pool.toml"], system)
    create_user(system, username="li.officer", password=PASSWORD, role="unit_reporter", display_name="李警官",
                unit_code="XJGAT")
    create_user(system, username="chen.engineer", password=PASSWORD, role="carrier_engineer",
                display_name="陈工", contract_codes=[CONTRACT])
    create_user(system, username="zhao.manager", password=PASSWORD, role="unit_manager",
                display_name="赵处长", unit_code="XJGAT", contract_codes=[CONTRACT])
    served = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "TESTING": True, "WTF_CSRF_ENABLED": True,
                         "SECRET_KEY": "e2e-secret", "DESK_DEMO": False, "DESK_EMBEDDED_SCHEDULER": False})
    http = make_server("127.0.0.1", 0, served, threaded=True)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{http.server_port}"
    http.shutdown()
    thread.join(timeout=10)
    with served.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def browser():
    chromium = require_tool("chromium")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)
    if os.environ.get("DESK_UPDATE_SCREENSHOTS") == "1" and name in README_SHOTS:
        target = ROOT / "docs" / "screenshots"
        target.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ARTIFACTS / name, target / name)


def sign_in(browser, base: str, username: str, *, phone: bool = False):
    viewport = {"width": 412, "height": 915} if phone else {"width": 1280, "height": 900}
    context = browser.new_context(viewport=viewport, locale="zh-CN", timezone_id="Asia/Shanghai",
                                  is_mobile=phone, has_touch=phone)
    page = context.new_page()
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button.primary")
    page.wait_for_load_state()
    assert "/login" not in page.url, page.content()[:2000]
    return page


def figure(page, name: str) -> str:
    return page.locator(f'[data-figure="{name}"]').inner_text().strip()


def test_fault_to_confirmed_cause_moves_the_dashboard(server, browser):
    from desk.reports.services import monthly_report

    manager = sign_in(browser, server, "zhao.manager")
    manager.goto(f"{server}/contracts/{CONTRACT}")
    assert figure(manager, "incidents") == "0" and figure(manager, "penalties") == "¥0.00"

    # A reporter on a police terminal files the fault.
    reporter = sign_in(browser, server, "li.officer", phone=True)
    reporter.goto(f"{server}/tickets/new")
    shot(reporter, "fault-form.png")
    reporter.check("input[name=kind][value=interruption]")
    reporter.fill("input[name=location]", "乌鲁木齐市 天山区 指挥中心")
    reporter.fill("textarea[name=description]", "指挥中心所有警务终端无法接入专网")
    reporter.click("button.primary")
    reporter.wait_for_selector("#filed")
    number = reporter.locator("#filed .number").inner_text().strip()
    assert re.fullmatch(r"\d{6}", number)
    assert reporter.locator("#filed .deadline").inner_text().strip()
    # The countdown is running in the browser (static/desk.js), not a frozen server string.
    countdown = reporter.locator(".countdown")
    reporter.wait_for_function("document.querySelector('.countdown').textContent.includes(':')")
    assert re.fullmatch(r"[0-4]:\d\d:\d\d", countdown.inner_text().strip())  # 四.(三): four hours
    shot(reporter, "fault-filed.png")

    # The engineer takes it from the queue, restores it and attributes it to the carrier.
    engineer = sign_in(browser, server, "chen.engineer")
    engineer.goto(f"{server}/queue")
    shot(engineer, "queue.png")
    engineer.click(f"text={number}")
    engineer.click("#acknowledge")
    engineer.wait_for_selector("text=已受理。")
    engineer.click("#restore")
    engineer.wait_for_selector("text=已登记恢复，等待报障单位确认。")
    engineer.select_option("#cause-form select[name=cause]", "carrier")
    engineer.fill("#cause-form textarea[name=evidence]", "基站传输板卡故障，已更换")
    engineer.click("#cause-form button")
    engineer.wait_for_selector("text=已提出原因，等待单位负责人确认。")
    assert engineer.locator(".consequences .badge.provisional").count() == 1
    shot(engineer, "incident.png")

    manager.goto(f"{server}/contracts/{CONTRACT}")
    assert figure(manager, "strikes_to_date") == "1 / 3"
    assert manager.locator("#report-provisional").count() == 1  # until both sides agree on the cause

    # The unit's manager confirms restoration and cause.
    manager.goto(f"{server}/incidents")
    manager.click(f"text={number}")
    manager.click("#confirm-restoration")
    manager.wait_for_selector("text=已确认恢复。")
    manager.click("#confirm-cause")
    manager.wait_for_selector("text=原因已确认。")
    assert manager.locator(".consequences .badge.provisional").count() == 0  # agreed by both sides
    assert "第 1 次（共 3 次触发解约权）" in manager.locator(".consequences .strike").inner_text()
    manager.goto(f"{server}/contracts/{CONTRACT}")
    shot(manager, "dashboard.png")

    db.session.rollback()
    month = manager.locator("input[name=month]").input_value()
    totals = monthly_report(CONTRACT, month)["totals"]
    assert figure(manager, "incidents") == "1" == str(totals["incidents"])
    assert figure(manager, "penalties") == "¥6,394.00" and totals["penalties"] == "6394.00"  # 六.(六) 1 %
    assert figure(manager, "repair_deadline") == "1 / 0"
    assert figure(manager, "strikes_to_date") == "1 / 3"


def test_no_page_scrolls_sideways_on_a_phone(server, browser):
    """390×844: wide tables scroll inside their own box, charts scale to the width, the filters' month
    input fits; the page itself never scrolls sideways, and the user menu's links stay whole."""
    from desk.incidents.imports import import_incidents, import_payments

    fixtures = ROOT / "tests" / "fixtures"
    import_incidents(CONTRACT, (fixtures / "xjgat-2025.csv").read_bytes(), Actor.system("test"))
    import_payments(CONTRACT, (fixtures / "xjgat-payments.csv").read_bytes(), Actor.system("test"))
    # A name as long as the units' real ones: the user menu beside it has to wrap.
    create_user(Actor.system("test"), username="sun.manager", password=PASSWORD, role="unit_manager",
                display_name="新疆维吾尔自治区公安厅 科技信息化处 孙处长", unit_code="XJGAT", contract_codes=[CONTRACT])
    pages = {"zhao.manager": [f"/contracts/{CONTRACT}/reports/2025-07?as_of=2025-08-02T00:00", "/incidents",
                              f"/contracts/{CONTRACT}?month=2025-07"],
             "chen.engineer": ["/queue", "/incidents"],
             "sun.manager": ["/account/sessions"]}
    for username, paths in pages.items():
        page = sign_in(browser, server, username)
        page.set_viewport_size({"width": 390, "height": 844})
        for path in paths:
            page.goto(server + path)
            page.wait_for_load_state()
            width = page.evaluate("document.documentElement.scrollWidth")
            if width > 390:
                shot(page, "too-wide.png")
                wide = page.evaluate("[...document.querySelectorAll('body *')].filter(e => "
                                     "e.getBoundingClientRect().right > 390).slice(0, 5).map(e => e.outerHTML.slice(0, 80))")
                pytest.fail(f"{path}: {width} px wide: {wide}")
            # The user menu's links and buttons (登录设备, 退出) stood one character a line.
            broken = page.evaluate("""[...document.querySelectorAll('header.top .who a, header.top .who button')]
                .filter(e => { const range = document.createRange(); range.selectNodeContents(e);
                               return new Set([...range.getClientRects()].map(r => Math.round(r.top))).size > 1; })
                .map(e => e.textContent.trim())""")
            assert not broken, f"{path}: the menu's {broken} wrap"
        page.context.close()


def test_the_outbox_keeps_its_words_whole_beside_long_sids(server, browser):
    """/admin/outbox has ten columns; a sent message's 34-character SID would not wrap, so the status,
    the headings (尝试次数) and 重新发送 stood one character a line. Each keeps its words whole at 1280 px."""
    from desk.db import transaction
    from desk.models import OutboxMessage, utcnow
    from desk.outbox.services import record_delivery

    create_user(Actor.system("test"), username="admin", password=PASSWORD, role="admin", display_name="管理员")
    with transaction() as session:
        for number, (status, sid) in enumerate((("sent", "SM" + "a" * 32), ("sent", "SM" + "b" * 32),
                                                 ("not_sent_no_credentials", ""), ("failed", ""))):
            session.add(OutboxMessage(to="+8613900000001", body=f"【专网】工单 00000{number} 已受理，修复时限 20:57",
                                      dedupe_key=f"e2e-{number}", status=status, attempts=1, provider_id=sid,
                                      sent_at=utcnow() if sid else None,
                                      last_error="" if sid else "TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN are not set"))
    record_delivery("SM" + "b" * 32, "undelivered", "30003", "Unreachable destination handset")
    page = sign_in(browser, server, "admin")
    page.goto(f"{server}/admin/outbox")
    # The headings, the status (4th) and the action (last) columns: lines each takes.
    lines = page.evaluate("""[...document.querySelectorAll('table.list th, table.list td:nth-child(4), table.list td:last-child')]
        .filter(e => e.textContent.trim()).map(e => {
            const range = document.createRange(); range.selectNodeContents(e);
            return [e.textContent.trim(), new Set([...range.getClientRects()].map(r => Math.round(r.top))).size];
        })""")
    shot(page, "outbox.png")
    # 未发送（未配置短信账号） may break at its bracket, as Chinese text does.
    assert len(lines) > 10 and all(count <= (2 if "（" in words else 1) for words, count in lines), lines
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
