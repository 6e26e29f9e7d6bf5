"""Web sessions kept on the server: a sign-out, a deactivation or a password reset ends them for
real (a copied cookie included), they expire when idle or old, and a page stays a read."""
from __future__ import annotations

import re
from contextlib import contextmanager
from datetime import timedelta

from conftest import ON_POSTGRES
from sqlalchemy import create_engine, event, func, select, text, update

from desk import create_app
from desk.audit.services import Actor
from desk.auth.services import create_user, reset_password, set_user_active
from desk.auth.sessions import SESSION_KEY, token_digest
from desk.extensions import db
from desk.models import WebSession, utcnow
from tests.reliability.test_database_away import sqlite_write_locked

PASSWORD = "correct-horse-9"
BROWSER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/126.0"


def signed_in(client) -> bool:
    response = client.get("/incidents")
    assert response.status_code in (200, 302), response.status_code
    return response.status_code == 200


def copy_of(app, client):
    """Another client holding a copy of `client`'s session cookie, as one stolen from it would."""
    thief = app.test_client()
    thief.set_cookie("session", client.get_cookie("session").value)
    return thief


def rows(user_id: int) -> list[WebSession]:
    db.session.expire_all()
    return list(db.session.execute(select(WebSession).where(WebSession.user_id == user_id)
                                   .order_by(WebSession.id)).scalars())


def set_times(user_id: int, **times) -> None:
    """Move a user's sessions back in time (no sleeping): their timestamps, as the database holds them."""
    db.session.execute(update(WebSession).where(WebSession.user_id == user_id).values(**times))
    db.session.commit()


def test_sign_in_keeps_a_hash_of_the_cookies_token_with_the_browser_and_address(app, world):
    client = app.test_client()
    client.post("/login", data={"username": "reporter", "password": PASSWORD},
                headers={"User-Agent": BROWSER + " " + "x" * 300}, environ_base={"REMOTE_ADDR": "10.20.30.40"})
    [row] = rows(world.users["reporter"].id)
    assert len(row.token_hash) == 64 and row.revoked_at is None
    assert row.user_agent.startswith(BROWSER) and len(row.user_agent) == 200  # truncated, not refused
    assert row.remote_addr == "10.20.30.40"
    assert row.expires_at - row.created_at == timedelta(hours=12)
    # The cookie carries the token; the database only its hash.
    with client.session_transaction() as session:
        assert token_digest(session[SESSION_KEY]) == row.token_hash and session[SESSION_KEY] != row.token_hash


def test_signing_out_ends_that_browser_only_and_a_copied_cookie_with_it(app, world, signin):
    laptop, phone = signin("reporter"), signin("reporter")
    thief = copy_of(app, laptop)
    assert signed_in(thief)  # a copied cookie is as good as the original while the session lasts
    assert laptop.post("/logout").status_code == 302
    assert not signed_in(laptop)
    assert not signed_in(thief)  # the cookie's signature is still valid; its session row is revoked
    assert signed_in(phone)
    revoked = [row.revoked_at is not None for row in rows(world.users["reporter"].id)]
    assert revoked == [True, False]


def test_a_cookie_without_a_session_row_signs_no_one_in(app, world, signin):
    """A cookie signed before the sessions were kept on the server (or forged with the key) names a
    user but no live session: nobody is signed in."""
    client = signin("reporter")
    with client.session_transaction() as session:
        session.pop(SESSION_KEY)
    assert not signed_in(client)
    client = signin("reporter")
    with client.session_transaction() as session:
        session[SESSION_KEY] = "made-up-token"
    assert not signed_in(client)


def test_a_session_of_one_user_does_not_serve_another(app, world, signin):
    reporter, engineer = signin("reporter"), signin("engineer")
    with engineer.session_transaction() as session:
        engineer_token = session[SESSION_KEY]
    with reporter.session_transaction() as session:
        session[SESSION_KEY] = engineer_token  # the reporter's user id, the engineer's session
    assert not signed_in(reporter)
    assert signed_in(engineer)


def test_an_idle_session_expires(app, world, signin):
    client = signin("reporter")
    user_id = world.users["reporter"].id
    now = utcnow()
    set_times(user_id, last_seen_at=now - timedelta(minutes=119))
    assert signed_in(client)  # used within the 120 minutes: kept, and marked seen now
    assert now - timedelta(seconds=5) < rows(user_id)[0].last_seen_at
    set_times(user_id, last_seen_at=now - timedelta(minutes=121))
    response = client.get("/incidents")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    # A shorter idle time configured applies to the sessions already open.
    client = signin("engineer")
    app.config["DESK_SESSION_IDLE_MINUTES"] = 5
    set_times(world.users["engineer"].id, last_seen_at=now - timedelta(minutes=6))
    assert not signed_in(client)


def test_a_session_ends_at_its_lifetime_however_busy(app, world, signin):
    client = signin("reporter")
    user_id = world.users["reporter"].id
    now = utcnow()
    set_times(user_id, created_at=now - timedelta(hours=11, minutes=59), last_seen_at=now)
    assert signed_in(client)
    set_times(user_id, created_at=now - timedelta(hours=12, minutes=1), last_seen_at=now)
    assert not signed_in(client)  # used a moment ago, but signed in more than 12 hours ago
    # The end set at sign-in holds even where the configured lifetime is longer now.
    client = signin("engineer")
    app.config["DESK_SESSION_LIFETIME_HOURS"] = 48
    set_times(world.users["engineer"].id, created_at=now - timedelta(hours=2), expires_at=now - timedelta(seconds=1))
    assert not signed_in(client)


def test_last_seen_is_written_at_most_once_a_minute(app, world, signin):
    client = signin("reporter")
    user_id = world.users["reporter"].id
    signed_in_at = rows(user_id)[0].last_seen_at
    statements = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        for _ in range(3):
            assert signed_in(client)
        assert not [s for s in statements if s.lstrip().upper().startswith("UPDATE WEB_SESSION")]
        assert rows(user_id)[0].last_seen_at == signed_in_at
        set_times(user_id, last_seen_at=signed_in_at - timedelta(minutes=1))
        statements.clear()
        assert signed_in(client) and signed_in(client)
        assert len([s for s in statements if s.lstrip().upper().startswith("UPDATE WEB_SESSION")]) == 1
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert rows(user_id)[0].last_seen_at > signed_in_at


def test_deactivation_ends_every_session_of_the_user(app, world, signin):
    laptop, phone, other = signin("reporter"), signin("reporter"), signin("engineer")
    admin = world.actor("admin")
    set_user_active(admin, world.users["reporter"].id, False)
    assert [row.revoked_at is not None for row in rows(world.users["reporter"].id)] == [True, True]
    assert not signed_in(laptop) and not signed_in(phone)
    assert signed_in(other)
    # Reactivated, the user signs in again; the old sessions stay ended.
    set_user_active(admin, world.users["reporter"].id, True)
    assert not signed_in(laptop)
    assert signed_in(signin("reporter"))


def test_a_password_reset_ends_every_session_of_the_user(app, world, signin):
    laptop, phone, other = signin("reporter"), signin("reporter"), signin("engineer")
    thief = copy_of(app, laptop)
    reset_password(world.actor("admin"), world.users["reporter"].id, "new-password-42")
    assert not any(signed_in(c) for c in (laptop, phone, thief))
    assert all(row.revoked_at is not None for row in rows(world.users["reporter"].id))
    assert signed_in(other)


def test_an_admin_resetting_their_own_password_stays_signed_in_here_only(app, world, signin):
    here, elsewhere = signin("admin"), signin("admin")
    admin_id = world.users["admin"].id
    assert here.post(f"/admin/users/{admin_id}/password", data={"password": "admin-new-pass-1"}).status_code == 303
    assert here.get("/admin/").status_code == 200
    assert elsewhere.get("/admin/").status_code == 302
    assert [row.revoked_at is None for row in rows(admin_id)] == [True, False]


def test_ended_sessions_are_cleared_at_the_users_next_sign_in(app, world, signin):
    first = signin("reporter")
    first.post("/logout")
    signin("reporter")
    user_id = world.users["reporter"].id
    assert [row.revoked_at for row in rows(user_id)] == [None]


def test_api_tokens_do_not_depend_on_web_sessions(app, world, runner):
    result = runner.invoke(args=["create-api-token", "pager", "--contract", "XJGAT-POOL-2025"])
    assert result.exit_code == 0, result.output
    plaintext = re.search(r"desk_\S+", result.output).group(0)
    response = app.test_client().get(f"/api/v1/tickets/{world.ticket_id}",
                                     headers={"Authorization": f"Bearer {plaintext}"})
    assert response.status_code == 200
    assert db.session.execute(select(func.count()).select_from(WebSession)).scalar_one() == 0


@contextmanager
def session_row_held(database_url: str, session_id: int):
    """Another connection holding what the session's mark-seen write needs: SQLite's write lock (a
    long import), or on PostgreSQL the session's row (a transaction revoking it, say)."""
    if ON_POSTGRES:
        engine = create_engine(database_url)
        with engine.connect() as conn:
            conn.execute(text("SELECT id FROM web_session WHERE id = :id FOR UPDATE"), {"id": session_id})
            try:
                yield
            finally:
                conn.rollback()
        engine.dispose()
        return
    with sqlite_write_locked(database_url):
        yield


def test_a_page_is_served_while_its_session_cannot_be_marked_seen(database_url):
    """Marking a session seen is the only write a page makes: while another connection holds what
    that write needs, the page is served after a short wait (SQLite's busy wait, TOUCH_LOCK_WAIT on
    PostgreSQL), and the session is marked seen by a later request."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "TESTING": True, "WTF_CSRF_ENABLED": False,
                      "SECRET_KEY": "test-secret", "DESK_DEMO": False, "DESK_SQLITE_BUSY_TIMEOUT_MS": 300})
    with app.app_context():
        admin = create_user(Actor.system("test"), username="admin", password=PASSWORD, role="admin")
        client = app.test_client()
        assert client.post("/login", data={"username": "admin", "password": PASSWORD}).status_code == 302
        set_times(admin.id, last_seen_at=utcnow() - timedelta(minutes=5))
        before = rows(admin.id)[0].last_seen_at
        db.session.commit()  # this test's own read ends, so that it holds nothing the page waits for
        with session_row_held(database_url, rows(admin.id)[0].id):
            db.session.commit()
            assert client.get("/admin/").status_code == 200
        assert rows(admin.id)[0].last_seen_at == before
        assert client.get("/admin/").status_code == 200
        assert rows(admin.id)[0].last_seen_at > before
        db.session.remove()
        db.engine.dispose()
