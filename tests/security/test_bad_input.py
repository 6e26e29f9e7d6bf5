"""Bad input at every form and the API: injection strings, emoji, 10,000 characters, NUL, non-UTF-8
bytes, wrong content types and oversize bodies. Each is refused with a clear message or stored and
shown escaped; none gives a 5xx, and no page ever carries a payload's markup unescaped."""
from __future__ import annotations

import re
from io import BytesIO

import pytest
from sqlalchemy import func, select

from desk.audit.services import Actor
from desk.auth.services import create_api_token
from desk.extensions import db
from desk.models import AuditEntry, Ticket
from tests.web.conftest import PNG, signin, world  # noqa: F401  (fixtures shared with the web tests)

SCRIPT = "<script>alert('desk')</script>"
ATTRIBUTE = '"><img src=x onerror=alert(1)>'
PAYLOADS = {
    "script": SCRIPT,
    "attribute": ATTRIBUTE,
    "sql": "'; DROP TABLE incident; --",
    "sql-or": "' OR '1'='1",
    "emoji": "基站断电😀🚓",
    "long": "长" * 10_000,
    "nul": "a\x00b",
    "bidi": "\u202eevil.exe",
    "template": "{{ 7*7 }}{% raw %}",
}
MARKUP = (SCRIPT, "<img src=x")  # markup that would run; escaped text of it is harmless

# Every form: who posts it, where, a valid filling, and the text fields a person types into.
# {incident}, {other} and {code} are filled from the world; each post goes to a fresh incident
# state only where the action needs one (the table is walked in an order that keeps most valid).
FORMS = [
    ("reporter", "/tickets/new", {"unit": "{unit}", "kind": "interruption", "description": "断网", "location": "",
                                  "affected_cards": "", "started_at": ""}, ("description", "location", "started_at",
                                                                            "affected_cards")),
    ("reporter", "/incidents/{incident}/comments", {"body": "评论"}, ("body",)),
    ("engineer", "/incidents/{incident}/started", {"started_at": "2020-01-01T00:00"}, ("started_at",)),
    ("engineer", "/incidents/{incident}/cause", {"cause": "customer", "evidence": "证据",
                                                 "maintenance_notice": "0"}, ("evidence", "cause")),
    ("unit_manager", "/incidents/{incident}/cause/dispute", {"note": "不同意"}, ("note",)),
    ("unit_manager", "/incidents/{incident}/cause/confirm", {"note": "同意"}, ("note",)),
    ("engineer", "/incidents/{incident}/assign", {"engineer": "{engineer}"}, ("engineer",)),
    ("engineer", "/incidents/{incident}/merge", {"duplicate": "{incident}"}, ("duplicate",)),
    ("engineer", "/incidents/{incident}/restore", {"restored_at": ""}, ("restored_at",)),
    ("reporter", "/incidents/{incident}/restoration/dispute", {"reason": "仍然中断"}, ("reason",)),
    ("carrier_manager", "/contracts/{code}/payments", {"paid_at": "2025-06-01T10:00", "amount": "100.00",
                                                       "note": "首付"}, ("paid_at", "amount", "note")),
    ("carrier_manager", "/contracts/{code}/maintenance", {"window_start": "2035-06-01T01:00",
                                                          "window_end": "2035-06-01T03:00", "notice_at": "",
                                                          "description": "升级"},
     ("window_start", "window_end", "notice_at", "description")),
    ("unit_manager", "/contracts/{code}/termination", {"decision": "not_exercised", "note": "继续"},
     ("decision", "note")),
    ("admin", "/admin/users", {"username": "new.user", "display_name": "新用户", "password": "long-enough-1",
                               "role": "unit_reporter", "unit": "XJGAT", "phone": ""},
     ("username", "display_name", "password", "role", "unit", "phone")),
    ("admin", "/admin/users/{reporter}/password", {"password": "long-enough-2"}, ("password",)),
    ("admin", "/admin/users/{reporter_other_unit}/active", {"active": "1"}, ("active",)),
    ("admin", "/admin/tokens", {"name": "平台", "contracts": "XJGAT-POOL-2025"}, ("name", "contracts")),
    ("admin", "/admin/contracts", {"toml": "code = 'X'"}, ("toml",)),
    # (a user no other row signs in as: these failures lock that account for a while)
    ("anonymous", "/login", {"username": "reporter_other_contract", "password": "wrong-password"},
     ("username", "password")),
    ("anonymous", "/language", {"locale": "en", "next": "/incidents"}, ("locale", "next")),
]
# Form POSTs with no text to type: a button (and the attachments, tested with files below).
NO_TEXT_FIELDS = {"/incidents/<int:incident_id>/acknowledge", "/incidents/<int:incident_id>/restoration/confirm",
                  "/admin/tokens/<int:token_id>/revoke", "/admin/outbox/<int:message_id>/requeue", "/logout",
                  "/incidents/<int:incident_id>/attachments", "/account/sessions/end-others"}
# Pages where what was stored is shown.
PAGES = [("reporter", "/incidents/{incident}"), ("engineer", "/incidents/{incident}"), ("reporter", "/incidents"),
         ("engineer", "/queue"), ("carrier_manager", "/contracts/{code}"), ("admin", "/admin/"),
         ("admin", "/admin/tokens"), ("unit_manager", "/contracts/{code}/reports/2025-06")]


def _values(world) -> dict:
    return {"incident": world.incident.id, "other": world.other_incident.id, "code": "XJGAT-POOL-2025",
            "unit": world.incident.unit_id, "engineer": world.users["engineer"].id,
            "reporter": world.users["reporter"].id, "reporter_other_unit": world.users["reporter_other_unit"].id}


def _fill(template: str, values: dict) -> str:
    return template.format(**values)


def _clients(app, signin):  # noqa: F811
    """client(name) → that user's signed-in client, signed in once."""
    clients = {"anonymous": app.test_client()}

    def client(name: str):
        if name not in clients:
            clients[name] = signin(name)
        return clients[name]
    return client


def _assert_no_markup(body: str, where: str) -> None:
    for raw in MARKUP:
        assert raw not in body, f"{where}: unescaped {raw!r}"


def _assert_clear_refusal(response, where: str) -> None:
    """A refusal names what is wrong: the desk's message box, not a bare error."""
    body = response.get_data(as_text=True)
    assert 'role="alert"' in body, f"{where}: no message"


def test_every_form_is_in_the_table(app):
    """A new form without a row here fails: its fields would go unchecked."""
    as_rule = {"{incident}": "<int:incident_id>", "{code}": "<code>", "{reporter}": "<int:user_id>",
               "{reporter_other_unit}": "<int:user_id>"}
    covered = set(NO_TEXT_FIELDS)
    for _who, path, _valid, _fields in FORMS:
        for placeholder, converter in as_rule.items():
            path = path.replace(placeholder, converter)
        covered.add(path)
    forms = {rule.rule for rule in app.url_map.iter_rules()
             if "POST" in rule.methods and not rule.rule.startswith(("/api/", "/hotline/"))}
    assert forms - covered == set(), f"add these forms to FORMS in {__file__}"


def test_every_form_field_takes_every_payload_without_5xx_and_shows_it_escaped(app, world, signin):  # noqa: F811
    values = _values(world)
    client = _clients(app, signin)
    outcomes = {}
    for who, path, valid, fields in FORMS:
        for field in fields:
            for name, payload in PAYLOADS.items():
                data = {k: _fill(v, values) for k, v in valid.items()}
                data[field] = payload
                if path == "/admin/users" and field != "username":
                    data["username"] = f"u{len(outcomes)}"  # a new user each time, so the payload decides
                where = f"{who} POST {path} {field}={name}"
                response = client(who).post(_fill(path, values), data=data)
                assert response.status_code < 500, f"{where}: {response.status_code}"
                _assert_no_markup(response.get_data(as_text=True), where)
                if response.status_code >= 400:
                    _assert_clear_refusal(response, where)
                outcomes[where] = response.status_code
    # Some payloads were stored (not everything refused): they are shown, escaped, where people read them.
    stored = [w for w, status in outcomes.items() if status in (200, 201, 302, 303) and "=script" in w]
    assert stored, "no form stored the script payload: the escaping was never exercised"
    shown_escaped = False
    for who, path in PAGES:
        body = client(who).get(_fill(path, values)).get_data(as_text=True)
        _assert_no_markup(body, f"{who} GET {path}")
        shown_escaped |= "&lt;script&gt;alert(" in body
    assert shown_escaped, "the stored payload is shown nowhere, escaped"


def test_non_utf8_and_wrong_content_types_are_refused_clearly(app, world, signin):  # noqa: F811
    values = _values(world)
    reporter = signin("reporter")
    before = db.session.execute(select(func.count()).select_from(AuditEntry)).scalar_one()
    unit = values["unit"]
    # Bytes that are not UTF-8, urlencoded or multipart: the parser would garble them (or keep their
    # escapes as text), so the desk refuses the field by name.
    response = reporter.post("/tickets/new", data=b"unit=%d&kind=interruption&description=\xff\xfe(" % unit,
                             content_type="application/x-www-form-urlencoded")
    assert response.status_code == 422 and "描述：不是 UTF-8 编码的文字" in response.get_data(as_text=True)
    multipart = (b'--XX\r\nContent-Disposition: form-data; name="unit"\r\n\r\n%d\r\n'
                 b'--XX\r\nContent-Disposition: form-data; name="kind"\r\n\r\ninterruption\r\n'
                 b'--XX\r\nContent-Disposition: form-data; name="description"\r\n\r\n\xff\xfe(\r\n--XX--\r\n' % unit)
    response = reporter.post("/tickets/new", data=multipart, content_type="multipart/form-data; boundary=XX")
    assert response.status_code == 422 and "描述：不是 UTF-8 编码的文字" in response.get_data(as_text=True)
    # A JSON body or plain text where a form is expected: the form is empty, and says so.
    for content_type, body in (("application/json", b'{"description": "x"}'), ("text/plain", b"description=x")):
        response = reporter.post("/tickets/new", data=body, content_type=content_type)
        assert response.status_code == 422 and 'role="alert"' in response.get_data(as_text=True)
    # Attachments: a type the desk does not keep, a PNG that is not one, an HTML page, an empty file.
    for name, content_type, data, reason in (
        ("run.exe", "application/x-msdownload", b"MZ\x90\x00", "只接受 JPEG、PNG、WebP、PDF 或纯文本"),
        ("fake.png", "image/png", b"<html>", "文件内容不是 image/png"),
        ("page.html", "text/html", b"<script>alert(1)</script>", "不接受 text/html"),
        ("empty.txt", "text/plain", b"", "文件为空"),
        ("a\x00b.png", "image/png", PNG, "含有空字符"),
    ):
        response = reporter.post(f"/incidents/{values['incident']}/attachments",
                                 data={"files": [(BytesIO(data), name, content_type)]},
                                 content_type="multipart/form-data")
        page = response.get_data(as_text=True)
        assert response.status_code == 422 and reason in page, (name, response.status_code, page[-800:])
        _assert_no_markup(page, name)
    db.session.expire_all()
    assert db.session.execute(select(func.count()).select_from(AuditEntry)).scalar_one() == before


def test_lone_surrogates_and_deep_json_never_reach_a_web_view(app, world, signin):  # noqa: F811
    reporter = signin("reporter")
    before = db.session.execute(select(func.count()).select_from(AuditEntry)).scalar_one()
    # A surrogate's UTF-8 form (ED A0 80) is not UTF-8: the multipart parser garbles it and it is refused.
    multipart = (b'--XX\r\nContent-Disposition: form-data; name="unit"\r\n\r\n%d\r\n'
                 b'--XX\r\nContent-Disposition: form-data; name="kind"\r\n\r\ninterruption\r\n'
                 b'--XX\r\nContent-Disposition: form-data; name="description"\r\n\r\n\xed\xa0\x80\r\n--XX--\r\n'
                 % world.incident.unit_id)
    response = reporter.post("/tickets/new", data=multipart, content_type="multipart/form-data; boundary=XX")
    assert response.status_code == 422 and "描述：不是 UTF-8 编码的文字" in response.get_data(as_text=True)
    # JSON sent to a page is checked before any view too: a surrogate escape or deep nesting is named.
    response = reporter.post("/tickets/new", data=b'{"description": "\\ud800"}', content_type="application/json")
    assert response.status_code == 422 and "描述：不是有效的 Unicode 文字" in response.get_data(as_text=True)
    response = reporter.post("/tickets/new", data=b"[" * 100_000 + b"]" * 100_000, content_type="application/json")
    assert response.status_code == 400 and "JSON 嵌套层数过多" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.execute(select(func.count()).select_from(AuditEntry)).scalar_one() == before


@pytest.mark.parametrize("csrf", [False, True])
def test_urlencoded_escapes_that_are_not_utf8_are_refused_naming_the_field(app, world, signin, csrf):  # noqa: F811
    """%D6%D0%CE%C4 is 中文 in GBK: Werkzeug kept such escapes as text, so the ticket said "%D6%D0%CE%C4"."""
    reporter = signin("reporter")
    fields = f"unit={world.incident.unit_id}&kind=interruption"
    if csrf:  # the CSRF check reads the form before the desk's check does: the parser itself must mark it
        app.config["WTF_CSRF_ENABLED"] = True
        token = re.search(r'name="csrf_token" value="([^"]+)"', reporter.get("/tickets/new").get_data(as_text=True))
        fields += f"&csrf_token={token.group(1)}"
    def counts():
        db.session.expire_all()
        return [db.session.execute(select(func.count()).select_from(t)).scalar_one() for t in (Ticket, AuditEntry)]

    before = counts()
    for body, field in ((f"{fields}&description=%D6%D0%CE%C4", "描述"),
                        (f"{fields}&description=x&location=%ED%A0%80", "地点"),  # a surrogate's UTF-8 form
                        (f"{fields}&description=\xff\xfe", "描述")):  # a raw byte, not an escape
        response = reporter.post("/tickets/new", data=body.encode("latin-1"),
                                 content_type="application/x-www-form-urlencoded")
        page = response.get_data(as_text=True)
        assert response.status_code == 422 and f"{field}：不是 UTF-8 编码的文字" in page, (body, page[-600:])
    # The query string is read the same way.
    response = reporter.get("/incidents?q=%D6%D0")
    assert response.status_code == 422 and "q：不是 UTF-8 编码的文字" in response.get_data(as_text=True)
    assert counts() == before
    # Escaped UTF-8 is text as ever, and a typed "%D6" (sent as %25D6) stays what was typed.
    response = reporter.post("/tickets/new", data=f"{fields}&description=%E4%B8%AD%E6%96%87%25D6".encode(),
                             content_type="application/x-www-form-urlencoded")
    assert response.status_code == 303
    assert db.session.execute(select(Ticket.description).order_by(Ticket.id.desc())).scalars().first() == "中文%D6"


def test_oversize_form_and_api_bodies_are_refused_with_the_limit(app, world, signin):  # noqa: F811
    app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024
    big = "长" * (600 * 1024)  # 1.8 MB of UTF-8
    response = signin("reporter").post("/tickets/new", data={"unit": world.incident.unit_id, "kind": "interruption",
                                                             "description": big})
    assert response.status_code == 413 and 'role="alert"' in response.get_data(as_text=True)
    token = create_api_token(Actor.system("test"), "big", ["XJGAT-POOL-2025"])[1]
    response = app.test_client().post("/api/v1/tickets", json={"unit": "XJGAT", "kind": "interruption",
                                                               "description": big},
                                      headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 413 and response.is_json and response.json["status"] == 413


@pytest.mark.parametrize("name", list(PAYLOADS))
def test_api_fields_take_every_payload(app, world, name):
    """Filed and read back verbatim (JSON carries text, the reader escapes it), or refused naming the field."""
    token = create_api_token(Actor.system("test"), "payloads", ["XJGAT-POOL-2025"])[1]
    client, headers = app.test_client(), {"Authorization": f"Bearer {token}"}
    payload = PAYLOADS[name]
    for field in ("unit", "kind", "description", "location", "started_at", "idempotency_key"):
        response = client.post("/api/v1/tickets", json={"unit": "XJGAT", "kind": "interruption", field: payload},
                               headers=headers)
        assert response.headers["Content-Type"] == "application/json", (field, response.status_code)
        if response.status_code == 201:
            stored = client.get(response.headers["Location"], headers=headers).json
            if field in ("description", "location"):
                assert stored[field] == payload
        else:
            assert response.status_code == 422, (field, response.status_code, response.json)
            assert any(e.startswith(field) for e in response.json["errors"]), (field, response.json)
    response = client.post("/api/v1/tickets", data=b'{"unit": "XJGAT", "kind": "\xff"}', headers=headers,
                           content_type="application/json")
    assert response.status_code == 400 and response.is_json and response.json["error"] == "the body is not UTF-8"


def test_ids_beyond_the_database_keys_are_404(app, world, signin):  # noqa: F811
    token = create_api_token(Actor.system("test"), "ids", ["XJGAT-POOL-2025"])[1]
    engineer = signin("engineer")
    for path in ("/incidents/2147483648", "/tickets/99999999999999999999", "/attachments/2147483648"):
        assert engineer.get(path).status_code == 404, path
    assert engineer.post("/incidents/2147483648/acknowledge").status_code == 404
    response = app.test_client().get("/api/v1/tickets/99999999999999999999",
                                     headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 404 and response.is_json and response.json["status"] == 404
