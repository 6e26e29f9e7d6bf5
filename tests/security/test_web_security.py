"""Browser-facing safeguards over every route: CSRF on every form POST, no inline script or handler
in any rendered page, and a Secure session cookie when served over HTTPS."""
from __future__ import annotations

import re

from sqlalchemy import func, select

from desk.extensions import db
from desk.models import AuditEntry
from tests.web.conftest import PASSWORD, signin, world  # noqa: F401  (fixtures shared with the web tests)
from tests.web.test_access import ACCESS, ANON, COLUMNS, LOGIN, fill, route_values, rules_of

# Callers that prove themselves without a browser session, so CSRF does not apply: bearer tokens
# (the API) and Twilio's request signature (the hotline).
NOT_SESSION_ROUTES = ("/api/", "/hotline/")
# Every field any form has: a POST that passes CSRF would have what it needs to act.
EVERY_FIELD = {"body": "x", "reason": "x", "note": "x", "cause": "customer", "evidence": "x", "decision": "exercised",
               "started_at": "2025-01-01T00:00", "restored_at": "", "paid_at": "2025-06-01T10:00", "amount": "1.00",
               "window_start": "2035-01-01T01:00", "window_end": "2035-01-01T02:00", "description": "x",
               "unit": "1", "kind": "interruption", "username": "x", "password": "long-enough-1", "role": "admin",
               "name": "x", "contracts": "XJGAT-POOL-2025", "active": "0", "toml": "code = 'x'", "locale": "en",
               "engineer": "1", "duplicate": "1"}


def _permitted(rule_row: dict) -> str:
    """A column the table lets through (any answer but 403/404/sign-in), so CSRF is what stops it."""
    for column in COLUMNS:
        if rule_row[column] not in (403, 404, LOGIN, 401):
            return column
    return ANON


def test_every_form_post_without_the_csrf_token_is_refused(app, world, signin):  # noqa: F811
    values = route_values(world)
    clients = {ANON: app.test_client()}
    posts = [(m, r) for m, r in rules_of(app) if m == "POST" and not r.startswith(NOT_SESSION_ROUTES)]
    assert len(posts) > 20
    for _method, rule in posts:
        who = _permitted(ACCESS[("POST", rule)])
        if who not in clients:
            clients[who] = signin(who)  # signing in happens before CSRF is switched on
    before = db.session.execute(select(func.count()).select_from(AuditEntry)).scalar_one()
    app.config["WTF_CSRF_ENABLED"] = True
    failures = []
    for _method, rule in posts:
        for who in {_permitted(ACCESS[("POST", rule)]), ANON}:
            response = clients[who].post(fill(rule, values), data=EVERY_FIELD)
            if response.status_code != 400 or "CSRF" not in response.get_data(as_text=True):
                failures.append(f"POST {rule} as {who}: {response.status_code}")
    assert not failures, "\n".join(failures)
    db.session.expire_all()
    assert db.session.execute(select(func.count()).select_from(AuditEntry)).scalar_one() == before
    assert world.incident.status == "open"


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.I)
STYLE = re.compile(r"<style|<[^>]+\sstyle\s*=", re.I)


def test_no_rendered_page_has_inline_script_style_or_handlers(app, world, signin):  # noqa: F811
    """What the CSP forbids is also absent: every HTML page as every role that may open it."""
    values = route_values(world)
    clients = {ANON: app.test_client()}
    checked = 0
    for method, rule in rules_of(app):
        if method != "GET" or rule.startswith(("/api/", "/static/")):
            continue
        for who in COLUMNS:
            if ACCESS[(method, rule)][who] != 200:
                continue
            if who not in clients:
                clients[who] = signin(who)
            response = clients[who].get(fill(rule, values))
            if response.mimetype != "text/html":
                continue
            page = response.get_data(as_text=True)
            where = f"GET {rule} as {who}"
            assert not INLINE_SCRIPT.search(page), f"{where}: inline script"
            assert not HANDLER.search(page), f"{where}: an on…= handler"
            assert not STYLE.search(page), f"{where}: inline style"
            assert "javascript:" not in page, where
            assert "unsafe-inline" not in response.headers["Content-Security-Policy"], where
            checked += 1
    assert checked > 20


def test_session_cookie_is_secure_over_https(database_url, world, monkeypatch):  # noqa: F811
    """Production marks the session cookie Secure (DESK_SECURE_COOKIES, on by default there)."""
    from desk import create_app

    monkeypatch.setenv("DESK_ENV", "production")
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": "test-secret",
                      "WTF_CSRF_ENABLED": False, "DESK_DEMO": False})
    assert not app.debug
    response = app.test_client().post("/login", base_url="https://desk.example",
                                      data={"username": "reporter", "password": PASSWORD})
    assert response.status_code == 302
    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
