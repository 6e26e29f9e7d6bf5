"""The account page: the user's own open sessions (device, address, times in Asia/Shanghai) and
"sign out everywhere else", a POST with the CSRF token that is audited."""
from __future__ import annotations

import html
import re
from datetime import datetime, timedelta, timezone

from flask import g
from sqlalchemy import func, select, update

from desk.extensions import db
from desk.models import AuditEntry, WebSession, utcnow
from tests.web.test_sessions import BROWSER, PASSWORD, rows, set_times, signed_in


def test_the_sessions_page_lists_the_users_own_sessions_in_local_time(app, world, signin):
    client = signin("reporter")
    other = app.test_client()
    other.post("/login", data={"username": "reporter", "password": PASSWORD},
               headers={"User-Agent": BROWSER}, environ_base={"REMOTE_ADDR": "10.9.8.7"})
    signin("engineer")  # someone else's session: not on the reporter's page
    user_id = world.users["reporter"].id
    now = utcnow()
    db.session.execute(update(WebSession).where(WebSession.user_id == user_id, WebSession.remote_addr == "10.9.8.7")
                       .values(created_at=now - timedelta(hours=2), last_seen_at=now - timedelta(minutes=3)))
    db.session.commit()
    [row] = [r for r in rows(user_id) if r.remote_addr == "10.9.8.7"]
    shanghai = timezone(timedelta(hours=8))
    page = client.get("/account/sessions")
    assert page.status_code == 200
    body = html.unescape(page.get_data(as_text=True))
    assert "已登录的设备" in body and "本浏览器" in body and "退出其他所有设备" in body
    assert BROWSER in body and "10.9.8.7" in body
    assert f"{row.created_at.astimezone(shanghai):%Y-%m-%d %H:%M}" in body
    assert f"{row.last_seen_at.astimezone(shanghai):%Y-%m-%d %H:%M}" in body
    assert body.count("<tr") == 3  # the header and the reporter's two sessions
    assert "/account/sessions" in client.get("/incidents").get_data(as_text=True)  # the user menu links it
    client.post("/language", data={"locale": "en"})
    body = client.get("/account/sessions").get_data(as_text=True)
    assert "Where you are signed in" in body and "this browser" in body and "Sign out everywhere else" in body
    # An ended session is not listed.
    other.post("/logout")
    assert "10.9.8.7" not in client.get("/account/sessions").get_data(as_text=True)
    assert app.test_client().get("/account/sessions").status_code == 302  # signed out: the sign-in page


def test_a_past_instant_is_shown_in_shanghai_time(app, world, signin):
    """2026-01-05 01:30 UTC is 09:30 in Asia/Shanghai (the timeouts stretched so the session lives)."""
    client = signin("reporter")
    user_id = world.users["reporter"].id
    app.config["DESK_SESSION_LIFETIME_HOURS"] = 24 * 366
    app.config["DESK_SESSION_IDLE_MINUTES"] = 60 * 24 * 366
    set_times(user_id, created_at=datetime(2026, 1, 5, 1, 30, tzinfo=timezone.utc),
              last_seen_at=utcnow(), expires_at=utcnow() + timedelta(days=1))
    assert "2026-01-05 09:30" in client.get("/account/sessions").get_data(as_text=True)


def test_sign_out_everywhere_else_needs_csrf_and_is_audited(app, world, signin):
    here, laptop, phone = signin("reporter"), signin("reporter"), signin("reporter")
    engineer = signin("engineer")
    app.config["WTF_CSRF_ENABLED"] = True
    refused = here.post("/account/sessions/end-others")
    assert refused.status_code == 400 and "CSRF" in refused.get_data(as_text=True)
    assert signed_in(laptop) and signed_in(phone)
    # The test's requests share one app context: Flask-WTF would give `here` the token it made for
    # `phone`'s page (kept in g), which is not in here's session. Each request has its own in a server.
    g.pop("csrf_token", None)
    page = here.get("/account/sessions").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = here.post("/account/sessions/end-others", data={"csrf_token": token})
    assert response.status_code == 303 and response.headers["Location"] == "/account/sessions"
    assert "已退出其他所有设备" in here.get("/account/sessions").get_data(as_text=True)
    assert signed_in(here) and not signed_in(laptop) and not signed_in(phone)
    assert signed_in(engineer)
    entry = db.session.execute(select(AuditEntry).where(AuditEntry.action == "user.sessions_ended")).scalar_one()
    assert entry.actor_label == "user:reporter" and entry.entity_id == str(world.users["reporter"].id)
    assert entry.after == {"sessions": 2}
    # Again, with nothing else open: said so, and audited with none ended.
    here.post("/account/sessions/end-others", data={"csrf_token": token})
    assert "没有其他已登录的设备" in here.get("/account/sessions").get_data(as_text=True)
    assert db.session.execute(select(func.count()).select_from(AuditEntry)
                              .where(AuditEntry.action == "user.sessions_ended")).scalar_one() == 2
