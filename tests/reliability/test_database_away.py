"""The database goes away under the desk: pages answer a clear 503, the API a JSON 503, nothing is
half-written, and when the database returns the same running app works again without a restart."""
from __future__ import annotations

import shutil
import sqlite3
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import make_url

from desk.extensions import db
from tests.reliability.conftest import PASSWORD, REPORTER, count_rows, desk_app, fault_form, seed_desk

UNAVAILABLE = "暂时无法服务"


@contextmanager
def sqlite_write_locked(url: str):
    """Another process holds SQLite's write lock (a long write, a backup tool, a stuck editor)."""
    locker = sqlite3.connect(make_url(url).database, isolation_level=None)
    locker.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        locker.execute("ROLLBACK")
        locker.close()


@contextmanager
def postgres_gone(url: str):
    """The database refuses new connections and every open one is cut, as when it is stopped."""
    name = make_url(url).database
    admin = create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false'))
        conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                          "WHERE datname = :name AND pid <> pg_backend_pid()"), {"name": name})
    try:
        yield
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true'))
        admin.dispose()


def _desk(url: str):
    # A short busy wait, so the locked SQLite case fails in half a second rather than the production 30.
    app = desk_app(url, DESK_SQLITE_BUSY_TIMEOUT_MS=500)
    with app.app_context():
        token = seed_desk()
        form = fault_form("placeholder")
        db.session.remove()
    client = app.test_client()
    assert client.post("/login", data={"username": REPORTER, "password": PASSWORD}).status_code == 302
    return app, client, {"Authorization": f"Bearer {token}"}, form


def _counts(app) -> dict[str, int]:
    with app.app_context():
        counts = count_rows()
        db.session.remove()
    return counts


def _refused_while_away(client, api, form, *, reads_fail: bool):
    form_post = client.post("/tickets/new", data={**form, "description": "数据库不在时提交"})
    assert form_post.status_code == 503, form_post.get_data(as_text=True)[:300]
    page = form_post.get_data(as_text=True)
    assert UNAVAILABLE in page and "Temporarily unavailable" in page
    assert form_post.headers["Retry-After"] and form_post.headers["Cache-Control"] == "no-store"
    assert "script-src 'self'" in form_post.headers["Content-Security-Policy"]
    api_post = client.post("/api/v1/tickets", headers=api, json={"unit": "XJGAT", "kind": "degradation",
                                                                  "description": "数据库不在时提交"})
    assert api_post.status_code == 503 and api_post.headers["Retry-After"]
    assert api_post.json["status"] == 503 and "unavailable" in api_post.json["error"]
    listing = client.get("/incidents")
    api_read = client.get("/api/v1/contracts/XJGAT-POOL-2025/sla/2025-06", headers=api)
    if reads_fail:
        assert listing.status_code == 503 and UNAVAILABLE in listing.get_data(as_text=True)
        assert api_read.status_code == 503 and api_read.is_json
    else:  # SQLite in WAL mode: a held write lock does not stop readers
        assert listing.status_code == 200 and api_read.status_code == 200


def _works_again(app, client, api, form, before):
    filed = client.post("/tickets/new", data={**form, "description": "数据库回来了"})
    assert filed.status_code == 303, filed.get_data(as_text=True)[:300]
    created = client.post("/api/v1/tickets", headers=api, json={"unit": "XJGAT", "kind": "degradation",
                                                                 "description": "数据库回来了"})
    assert created.status_code == 201, created.get_data(as_text=True)
    after = _counts(app)
    assert after["ticket"] == before["ticket"] + 2 and after["incident"] == before["incident"] + 2
    with app.app_context():
        verified = app.test_cli_runner().invoke(args=["audit-verify"])
        db.session.remove()
        db.engine.dispose()
    assert verified.exit_code == 0, verified.output


@pytest.mark.parametrize("database, fault, reads_fail", [
    ("sqlite_url", sqlite_write_locked, False),
    ("pg_url", postgres_gone, True),
], ids=["sqlite-write-locked", "postgresql-gone"])
def test_database_away_gets_503_and_the_desk_recovers_without_restart(request, database, fault, reads_fail):
    url = request.getfixturevalue(database)
    app, client, api, form = _desk(url)
    before = _counts(app)
    with fault(url):
        _refused_while_away(client, api, form, reads_fail=reads_fail)
    assert _counts(app) == before, "a refused request wrote something"
    _works_again(app, client, api, form, before)


def test_postgres_connection_cut_mid_transaction_writes_nothing(pg_url):
    """The connection dies after the ticket's rows and its audit entries are written, before the
    commit: all of it is gone."""
    app, client, api, form = _desk(pg_url)
    before = _counts(app)
    admin = create_engine(make_url(pg_url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    cut = []

    def cut_after_the_audit_entries(conn, _cursor, statement, _parameters, _context, _executemany):
        if cut or not statement.startswith("INSERT INTO audit_entry"):
            return
        pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
        with admin.connect() as other:
            other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        cut.append(pid)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "after_cursor_execute", cut_after_the_audit_entries)
    try:
        response = client.post("/tickets/new", data={**form, "description": "写到一半断开"})
    finally:
        event.remove(engine, "after_cursor_execute", cut_after_the_audit_entries)
        admin.dispose()
    assert cut, "the fault was never injected"
    assert response.status_code == 503 and UNAVAILABLE in response.get_data(as_text=True)
    assert _counts(app) == before
    _works_again(app, client, api, form, before)


def test_sqlite_volume_gone_even_sign_in_gets_503(sqlite_template, tmp_path):
    """The folder of the SQLite file disappears (an unmounted volume): signing in, and the user loader of
    a signed-in page, fail with the 503 page, not a traceback; when it is back, the same app works."""
    folder = tmp_path / "volume"
    folder.mkdir()
    shutil.copyfile(sqlite_template, folder / "desk.sqlite3")
    app = desk_app(f"sqlite:///{folder / 'desk.sqlite3'}")
    with app.app_context():
        seed_desk()
        db.session.remove()
    signed_in, anonymous = app.test_client(), app.test_client()
    assert signed_in.post("/login", data={"username": REPORTER, "password": PASSWORD}).status_code == 302
    with app.app_context():
        db.engine.dispose()  # the pool's open files would outlive the rename
    folder.rename(tmp_path / "unmounted")
    try:
        for response in (signed_in.get("/incidents"),
                         anonymous.post("/login", data={"username": REPORTER, "password": PASSWORD})):
            assert response.status_code == 503 and UNAVAILABLE in response.get_data(as_text=True)
    finally:
        with app.app_context():
            db.engine.dispose()
        (tmp_path / "unmounted").rename(folder)
    assert signed_in.get("/incidents").status_code == 200
    assert anonymous.post("/login", data={"username": REPORTER, "password": PASSWORD}).status_code == 302


def test_every_connection_busy_gets_503_not_500(sqlite_url):
    """The pool is exhausted (every connection held by slow requests): the same 503 as a database away."""
    app = desk_app(sqlite_url, SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 1, "max_overflow": 0, "pool_timeout": 0.2})
    with app.app_context():
        token = seed_desk()
        db.session.remove()
        held = db.engine.connect()  # the only connection, held as a stuck request would
        try:
            page = app.test_client().post("/login", data={"username": REPORTER, "password": PASSWORD})
            api = app.test_client().get("/api/v1/tickets/1", headers={"Authorization": f"Bearer {token}"})
        finally:
            held.close()
        assert page.status_code == 503 and UNAVAILABLE in page.get_data(as_text=True)
        assert api.status_code == 503 and api.is_json
        assert app.test_client().post("/login", data={"username": REPORTER, "password": PASSWORD}).status_code == 302
        db.engine.dispose()
