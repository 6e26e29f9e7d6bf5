"""The hotline as Twilio reaches it: requests signed with the SDK's RequestValidator, the
contracts with registered numbers and a PIN, and an on-duty engineer to be alerted."""
from __future__ import annotations

from xml.etree import ElementTree

import pytest
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from desk.audit.services import Actor
from desk.auth.services import create_user
from desk.extensions import db
from desk.hotline.services import set_unit_pin
from conftest import load_edited_contracts

TOKEN = "hotline-auth-token"
ACCOUNT = "AC" + "1" * 32
HOTLINE_NUMBER = "+8699110086"
BASE = "http://localhost"
QMGA_PHONE = "+8613900001111"     # registered in the contract as 13900001111
XJGAT_PHONE = "+8613900002222"
STRANGER = "+8613900009999"
ENGINEER_PHONE = "+8613800000001"
XJGAT_PIN = "246813"
XJGAT_KEYS = "95428"              # X J G A T on a phone keypad


def sign(url: str, params: dict, token: str = TOKEN) -> str:
    return RequestValidator(token).compute_signature(url, params)


def post(client, path: str, params: dict, *, url: str | None = None, token: str = TOKEN, headers=None,
         signed: bool = True):
    headers = dict(headers or {})
    if signed:
        headers["X-Twilio-Signature"] = sign(url or BASE + path, params, token)
    return client.post(path, data=params, headers=headers)


def said(response) -> str:
    root = ElementTree.fromstring(response.data)
    return "".join(node.text or "" for node in root.iter() if node.tag in ("Say", "Message"))


def verbs(response) -> list[str]:
    return [node.tag for node in ElementTree.fromstring(response.data).iter()]


def count(model) -> int:
    db.session.rollback()  # a fresh snapshot: other connections (the app under test) have written
    return db.session.execute(select(func.count()).select_from(model)).scalar_one()


class Caller:
    """One phone call: every request carries its CallSid and number, signed as Twilio signs."""

    def __init__(self, client, sid: str, phone: str):
        self.client, self.sid, self.phone = client, sid, phone

    def post(self, path: str, **params):
        form = {"CallSid": self.sid, "From": self.phone, "To": HOTLINE_NUMBER, "AccountSid": ACCOUNT,
                "CallStatus": "in-progress", "Direction": "inbound", **params}
        response = post(self.client, path, form)
        assert response.status_code == 200, response.data
        assert response.mimetype == "text/xml"
        return response

    def dial(self):
        return self.post("/hotline/voice")

    def key(self, step: str, digits: str = ""):
        return self.post(f"/hotline/voice/{step}", Digits=digits)

    def report_by_pin(self):
        """From a number not registered for the unit: XJGAT's code and PIN, an interruption, no recording."""
        self.dial()
        self.key("menu", "1")
        self.key("unit", XJGAT_KEYS)
        self.key("pin", XJGAT_PIN)
        self.key("kind", "1")
        return self.post("/hotline/voice/recorded")

    def hang_up(self):
        form = {"CallSid": self.sid, "From": self.phone, "To": HOTLINE_NUMBER, "AccountSid": ACCOUNT,
                "CallStatus": "completed"}
        return post(self.client, "/hotline/voice/status-callback", form)


def text_message(client, sid: str, phone: str, body: str):
    form = {"MessageSid": sid, "SmsSid": sid, "AccountSid": ACCOUNT, "From": phone, "To": HOTLINE_NUMBER,
            "Body": body, "NumMedia": "0"}
    response = post(client, "/hotline/sms", form)
    return response


@pytest.fixture
def hotline(app, tmp_path):
    """Both contracts running into the future, with registered numbers; XJGAT has a PIN."""
    app.config.update(TWILIO_AUTH_TOKEN=TOKEN, TWILIO_ACCOUNT_SID=ACCOUNT, TWILIO_FROM_NUMBER=HOTLINE_NUMBER)

    def edit(text: str) -> str:
        if "XJGAT-POOL-2025" in text:
            text = text.replace("service_end = 2026-03-31", "service_end = 2036-03-31")
            return text.replace('name = "新疆维吾尔自治区公安厅"\nphones = []',
                                f'name = "新疆维吾尔自治区公安厅"\nphones = ["{XJGAT_PHONE}"]')
        return text.replace('phones = []', 'phones = ["139 0000 1111"]')

    contracts = {c.code: c for c in load_edited_contracts(tmp_path / "contracts", edit)}
    set_unit_pin(Actor.system("test"), "XJGAT", XJGAT_PIN)
    create_user(Actor.system("test"), username="duty", password="correct-horse-9", role="carrier_engineer",
                contract_codes=["QMGA-JWT-2025", "XJGAT-POOL-2025"], phone=ENGINEER_PHONE, on_duty=True)
    return contracts
