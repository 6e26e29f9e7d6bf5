"""A refused form comes back as it was filled in, with the refusal and its status: the cause proposal
reset to 运营商原因 with its evidence gone, the restoration time and the payment were emptied. The
page stays on the POST's URL, so a reload posts the same values again: refused again, or, for one
that was recorded, refused as a duplicate."""
from __future__ import annotations

import html
import re

from sqlalchemy import func, select

from desk.extensions import db
from desk.models import Payment


def page(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def selected(body: str, name: str) -> str | None:
    select_ = re.search(rf'<select name="{name}">(.*?)</select>', body, re.S).group(1)
    found = re.search(r'<option value="([^"]*)" selected', select_)
    return found.group(1) if found else None


def test_a_refused_cause_keeps_the_cause_and_the_evidence(world, signin):
    engineer = signin("engineer")
    response = engineer.post(f"/incidents/{world.incident.id}/cause", data={
        "cause": "planned_maintenance", "evidence": "核心网计划升级，见通知", "maintenance_notice": "0"})
    body = page(response)
    assert response.status_code == 422 and "计划维护须关联本合同的维护通知" in body
    assert selected(body, "cause") == "planned_maintenance"
    assert ">核心网计划升级，见通知</textarea>" in body
    # The other forms start empty: they do not read the refused POST.
    assert '<textarea name="body" rows="2" maxlength="4000" required></textarea>' in body
    assert selected(page(engineer.get(f"/incidents/{world.incident.id}")), "cause") is None


def test_a_refused_restoration_keeps_its_time(world, signin):
    response = signin("engineer").post(f"/incidents/{world.incident.id}/restore",
                                       data={"restored_at": "2020-01-01T10:00"})
    assert response.status_code == 409
    assert 'name="restored_at" value="2020-01-01T10:00"' in page(response)


def test_a_refused_payment_keeps_amount_date_and_note_and_a_reload_is_harmless(world, signin):
    client = signin("carrier_manager")
    typed = {"paid_at": "2025-05-01T10:00", "amount": "16,350.0.0", "note": "第二期 <款>"}
    for _ in range(2):  # the first try, then a reload of the refusal: refused again, nothing written
        response = client.post("/contracts/XJGAT-POOL-2025/payments", data=typed)
        body = response.get_data(as_text=True)
        assert response.status_code == 422 and "金额：" in body
        assert 'name="paid_at" required value="2025-05-01T10:00"' in body
        assert 'value="16,350.0.0"' in body and 'value="第二期 &lt;款&gt;"' in body
        assert 'name="window_start" required value=""' in body  # the maintenance form is not filled
    assert db.session.execute(select(func.count()).select_from(Payment)).scalar_one() == 0
    # Corrected and recorded; posting it again (a reload before the redirect) is refused as a duplicate.
    typed["amount"] = "16,350.00"
    assert client.post("/contracts/XJGAT-POOL-2025/payments", data=typed).status_code == 303
    again = client.post("/contracts/XJGAT-POOL-2025/payments", data=typed)
    assert again.status_code == 422 and "该付款（时间和金额相同）已在台账中" in page(again)
    assert db.session.execute(select(func.count()).select_from(Payment)).scalar_one() == 1


def test_a_refused_maintenance_notice_keeps_its_window_and_description(world, signin):
    response = signin("carrier_manager").post("/contracts/XJGAT-POOL-2025/maintenance", data={
        "window_start": "2025-06-03T10:00", "window_end": "2025-06-03T08:00", "notice_at": "",
        "description": "核心网升级"})
    body = page(response)
    assert response.status_code == 422 and "维护结束：须晚于维护开始时间" in body
    assert 'value="2025-06-03T10:00"' in body and 'value="2025-06-03T08:00"' in body
    assert ">核心网升级</textarea>" in body


def test_a_refused_new_user_keeps_role_unit_contracts_phone_and_duty(world, signin):
    # "reporter" exists: refused, and the admin should not have to choose the role, unit and contracts again.
    response = signin("admin").post("/admin/users", data={
        "username": "reporter", "display_name": "新 报障员", "password": "long-enough-1", "role": "unit_manager",
        "unit": "XJGAT-KS", "contracts": ["XJGAT-POOL-2025", "QMGA-JWT-2025"], "phone": "+8613900000009",
        "on_duty": "y"})
    body = page(response)
    assert response.status_code == 422, body[:2000]
    assert 'name="username" required maxlength="80" value="reporter"' in body
    assert selected(body, "role") == "unit_manager" and selected(body, "unit") == "XJGAT-KS"
    contracts = re.search(r'<select name="contracts" multiple>(.*?)</select>', body, re.S).group(1)
    assert re.findall(r'<option value="([^"]*)" selected', contracts) == ["QMGA-JWT-2025", "XJGAT-POOL-2025"]
    assert 'name="phone" maxlength="32" inputmode="tel" value="+8613900000009"' in body
    assert 'name="on_duty" value="y" checked' in body
    assert 'type="password" name="password" minlength="8" required autocomplete="new-password">' in body  # not echoed


def test_a_refused_token_keeps_its_name_and_contracts(world, signin):
    response = signin("admin").post("/admin/tokens", data={"name": "x" * 121, "contracts": ["QMGA-JWT-2025"]})
    body = page(response)
    assert response.status_code == 422, body[:2000]
    assert f'name="name" required maxlength="120" value="{"x" * 121}"' in body
    contracts = re.search(r'<select name="contracts" multiple required>(.*?)</select>', body, re.S).group(1)
    assert re.findall(r'<option value="([^"]*)" selected', contracts) == ["QMGA-JWT-2025"]
