"""Only Twilio gets in: every hotline request is checked with the SDK's RequestValidator, also
behind a reverse proxy; a missing or wrong signature is 403 and nothing is recorded."""
from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from desk.models import AuditEntry, HotlineCall, OutboxDelivery, OutboxMessage, Ticket
from tests.hotline.conftest import ACCOUNT, BASE, TOKEN, XJGAT_PHONE, count, post, sign

REPORT = {"MessageSid": "SM" + "7" * 32, "AccountSid": ACCOUNT, "From": XJGAT_PHONE, "To": "+8699110086",
          "Body": "报障 XJGAT 全区无信号"}


def hotline_rules(app) -> list[str]:
    return sorted(r.rule for r in app.url_map.iter_rules() if r.rule.startswith("/hotline/"))


def nothing_recorded() -> bool:
    return count(Ticket) == count(HotlineCall) == count(OutboxMessage) == count(OutboxDelivery) == 0


def test_every_endpoint_refuses_a_missing_or_wrong_signature(app, client, hotline):
    rules = hotline_rules(app)
    assert len(rules) == 10
    audit = count(AuditEntry)
    form = {"CallSid": "CA" + "1" * 32, "From": XJGAT_PHONE, "Digits": "1", "MessageStatus": "delivered", **REPORT}
    for rule in rules:
        assert post(client, rule, form, signed=False).status_code == 403, rule
        assert post(client, rule, form, token="not-the-token").status_code == 403, rule
        assert post(client, rule, form, headers={"X-Twilio-Signature": "bm9wZQ=="}, signed=False).status_code == 403
    assert nothing_recorded() and count(AuditEntry) == audit


def test_a_changed_parameter_breaks_the_signature(client, hotline):
    signature = sign(BASE + "/hotline/sms", REPORT)
    forged = {**REPORT, "Body": "报障 XJGAT 伪造的报障"}
    response = client.post("/hotline/sms", data=forged, headers={"X-Twilio-Signature": signature})
    assert response.status_code == 403 and nothing_recorded()
    response = client.post("/hotline/sms", data=REPORT, headers={"X-Twilio-Signature": signature})
    assert response.status_code == 200 and count(Ticket) == 1


def test_a_signature_for_another_url_is_refused(client, hotline):
    signature = sign(BASE + "/hotline/voice", REPORT)
    assert client.post("/hotline/sms", data=REPORT, headers={"X-Twilio-Signature": signature}).status_code == 403


def test_without_an_auth_token_nothing_is_trusted(app, client, hotline):
    app.config["TWILIO_AUTH_TOKEN"] = ""
    assert post(client, "/hotline/sms", REPORT, token="").status_code == 403
    assert nothing_recorded()


def test_hmac_sha256_signatures_named_in_the_settings_header_are_checked(client, hotline):
    url = BASE + "/hotline/sms"
    data = url + "".join(k + REPORT[k] for k in sorted(REPORT))
    signature = base64.b64encode(hmac.new(TOKEN.encode(), data.encode(), hashlib.sha256).digest()).decode()
    settings = {"X-Twilio-Webhooks-Signature-Settings": "key=webhooks_sharedkey_1,algorithm=HMAC_SHA256"}
    ok = client.post("/hotline/sms", data=REPORT, headers={"X-Twilio-Signature": signature, **settings})
    assert ok.status_code == 200
    unknown = {"X-Twilio-Webhooks-Signature-Settings": "key=k,algorithm=HMAC_MD5"}
    assert client.post("/hotline/sms", data=REPORT,
                       headers={"X-Twilio-Signature": signature, **unknown}).status_code == 403


@pytest.fixture
def proxied_client(app, database_url, hotline):
    """The desk behind one reverse proxy that terminates TLS for desk.example.cn."""
    from desk import create_app

    behind = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "TESTING": True, "DESK_PROXY_HOPS": 1,
                         "TWILIO_AUTH_TOKEN": TOKEN, "DESK_DEMO": False})
    return behind.test_client()


def test_behind_a_proxy_the_public_url_from_forwarded_headers_is_checked(proxied_client):
    public = "https://desk.example.cn/hotline/sms"
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "desk.example.cn", "X-Forwarded-For": "54.1.2.3"}
    ok = post(proxied_client, "/hotline/sms", REPORT, url=public, headers=forwarded)
    assert ok.status_code == 200
    # Signed for the public URL but reaching the desk without the proxy's headers: refused.
    assert post(proxied_client, "/hotline/sms", REPORT, url=public).status_code == 403
    # Signed for the internal URL although Twilio called the public one: refused.
    assert post(proxied_client, "/hotline/sms", REPORT, headers=forwarded).status_code == 403


def test_forwarded_headers_are_ignored_unless_a_proxy_is_configured(client, hotline):
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "desk.example.cn"}
    public = "https://desk.example.cn/hotline/sms"
    assert post(client, "/hotline/sms", REPORT, url=public, headers=forwarded).status_code == 403


def test_a_configured_public_url_is_what_is_checked(app, client, hotline):
    app.config["DESK_PUBLIC_URL"] = "https://desk.example.cn/desk"
    response = post(client, "/hotline/sms?source=twilio", REPORT,
                    url="https://desk.example.cn/desk/hotline/sms?source=twilio")
    assert response.status_code == 200
    assert post(client, "/hotline/sms", REPORT).status_code == 403


def test_twilio_needs_no_csrf_token_where_the_desk_asks_for_one(app, client, hotline):
    """The web desk's forms carry CSRF tokens; Twilio cannot, and its signature stands in for one."""
    app.config["WTF_CSRF_ENABLED"] = True
    assert post(client, "/hotline/sms", REPORT).status_code == 200
    assert client.post("/login", data={"username": "duty", "password": "correct-horse-9"}).status_code == 400
