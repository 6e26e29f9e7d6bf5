"""Databases of their own for the reliability tests.

Whatever DATABASE_URL the suite runs on, these tests need both engines: the SQLite backup path and
the PostgreSQL process tests run in both passes of CI. PostgreSQL scratch databases are named from
DESK_TEST_PG_URL (its database name is the prefix), created afresh and dropped afterwards.
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from tests.conftest import CONTRACTS, REQUIRE_TOOLS, ROOT, _migrate

PG_URL = os.environ.get("DESK_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/desk_reliability")


def require_postgres() -> None:
    """Skip (or, in CI, fail) when no PostgreSQL server answers at DESK_TEST_PG_URL."""
    url = make_url(PG_URL)
    try:
        with socket.create_connection((url.host or "127.0.0.1", url.port or 5432), timeout=2):
            pass
    except OSError as exc:
        message = f"PostgreSQL is not reachable at {url.host}:{url.port} (set DESK_TEST_PG_URL): {exc}"
        if REQUIRE_TOOLS:
            pytest.fail(message)
        pytest.skip(message)


def _admin_engine():
    return create_engine(make_url(PG_URL).set(database="postgres"), isolation_level="AUTOCOMMIT")


def create_pg_database(suffix: str, *, migrate: bool = True) -> str:
    """A fresh, empty PostgreSQL database named after DESK_TEST_PG_URL plus `suffix` and this
    process (migrated if asked): two test runs on one server must not drop each other's."""
    require_postgres()
    url = make_url(PG_URL)
    name = f"{url.database}{suffix}_{os.getpid()}"
    engine = _admin_engine()
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    result = url.set(database=name).render_as_string(hide_password=False)
    if migrate:
        _migrate(result)
    return result


def drop_pg_database(database_url: str) -> None:
    engine = _admin_engine()
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(database_url).database}" WITH (FORCE)'))
    engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "template.sqlite3"
    _migrate(f"sqlite:///{path}")
    return path


@pytest.fixture
def sqlite_url(sqlite_template, tmp_path) -> str:
    """A fresh SQLite database, even in the PostgreSQL pass of the suite."""
    path = tmp_path / "live.sqlite3"
    shutil.copyfile(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def pg_url(request):
    """A fresh PostgreSQL database of this test's own, dropped afterwards."""
    url = create_pg_database(f"_{request.node.name[:30].lower().replace('[', '_').replace(']', '')}")
    yield url
    drop_pg_database(url)


def desk_app(database_url: str, **config):
    from desk import create_app

    settings = {"SQLALCHEMY_DATABASE_URI": database_url, "TESTING": True, "WTF_CSRF_ENABLED": False,
                "SECRET_KEY": "test-secret", "DESK_DEMO": False}
    settings.update(config)
    return create_app(settings)


def load_seed_contracts() -> None:
    from desk.audit.services import Actor
    from desk.contracts.services import load_contracts

    load_contracts([CONTRACTS], Actor.system("test"))


def count_rows(*models) -> dict[str, int]:
    """Rows per table, in the current app context: the before/after proof of all-or-nothing."""
    from desk.extensions import db
    from desk.models import (AuditEntry, ClockEvent, Incident, OutboxMessage, Payment, Ticket)

    db.session.rollback()  # a fresh snapshot, not one a previous read left open
    models = models or (AuditEntry, ClockEvent, Incident, OutboxMessage, Payment, Ticket)
    return {m.__tablename__: db.session.execute(select(func.count()).select_from(m)).scalar_one() for m in models}


REPORTER, PASSWORD = "reporter", "correct-horse-9"
TWILIO_TOKEN = "reliability-twilio-token"  # the gunicorn desk's TWILIO_AUTH_TOKEN, which signs webhooks
HOTLINE_PHONE = "+8613900000001"  # registered for XJGAT: its SMS reports are accepted


def seed_desk() -> str:
    """The seed contracts, a reporter of XJGAT and an API token on its contract; returns the token."""
    from desk.audit.services import Actor
    from desk.auth.services import create_api_token, create_user

    load_seed_contracts()
    from desk.extensions import db
    from desk.models import Unit, UnitPhone

    xjgat = db.session.execute(select(Unit).where(Unit.code == "XJGAT")).scalar_one()
    db.session.add(UnitPhone(unit_id=xjgat.id, phone=HOTLINE_PHONE))  # the hotline's registered caller
    db.session.commit()
    system = Actor.system("test")
    create_user(system, username=REPORTER, password=PASSWORD, role="unit_reporter", display_name="报障员",
                unit_code="XJGAT", contract_codes=["XJGAT-POOL-2025"])
    return create_api_token(system, "reliability", ["XJGAT-POOL-2025"])[1]


def fault_form(description: str) -> dict:
    """The web fault form's fields, for the XJGAT unit (the reporter's only choice)."""
    from desk.extensions import db
    from desk.models import Unit

    unit = db.session.execute(select(Unit).where(Unit.code == "XJGAT")).scalar_one()
    return {"unit": str(unit.id), "kind": "interruption", "description": description, "location": "乌鲁木齐",
            "affected_cards": "", "started_at": ""}


def gunicorn_path() -> str:
    """The gunicorn beside this Python (the project's virtualenv), else the one on PATH."""
    beside = Path(sys.executable).parent / "gunicorn"
    if beside.is_file():
        return str(beside)
    from tests.conftest import require_tool

    return require_tool("gunicorn")


class Gunicorn:
    """`gunicorn wsgi:app` with two sync workers on 127.0.0.1 and a port the kernel picks."""

    def __init__(self, database_url: str, log: Path, workers: int = 2):
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DESK_", "FLASK_"))}
        env.update(DATABASE_URL=database_url, SECRET_KEY="reliability-secret", DESK_ENV="production",
                   DESK_SECURE_COOKIES="0", DESK_DEMO="0", TWILIO_AUTH_TOKEN=TWILIO_TOKEN)
        self.log = log
        self.process = subprocess.Popen(
            [gunicorn_path(), "--workers", str(workers), "--bind", "127.0.0.1:0", "--graceful-timeout", "30",
             "--timeout", "60", "--log-level", "info", "wsgi:app"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log.open("wb"))
        self.base = self._wait_listening()

    def _wait_listening(self, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = re.search(r"Listening at: (http://127\.0\.0\.1:\d+)", self.log.read_text(errors="replace"))
            if found:
                base = found.group(1)
                while time.monotonic() < deadline:  # workers booted and the app answers
                    try:
                        if requests.get(base + "/login", timeout=5).status_code == 200:
                            return base
                    except requests.RequestException:
                        pass
                    time.sleep(0.2)
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"gunicorn did not start: {self.log.read_text(errors='replace')[-2000:]}")

    def terminate(self) -> None:
        self.process.send_signal(signal.SIGTERM)

    def stop(self, timeout: float = 40) -> int:
        if self.process.poll() is None:
            self.terminate()
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait(10)


def run_loadgen(base: str, out: Path, *, jobs: str, concurrency: int, deadline: float, tag: str,
                token: str, unit_id: int) -> subprocess.Popen:
    """The load driver in a process of its own (tests/reliability/loadgen.py)."""
    return subprocess.Popen(
        [sys.executable, "-m", "tests.reliability.loadgen", "--base", base, "--jobs", jobs,
         "--concurrency", str(concurrency), "--deadline", str(deadline), "--tag", tag, "--out", str(out),
         "--user", REPORTER, "--password", PASSWORD, "--unit-id", str(unit_id), "--token", token,
         "--twilio-token", TWILIO_TOKEN, "--hotline-phone", HOTLINE_PHONE],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def wait_ready(loadgen: subprocess.Popen) -> None:
    """Until the load driver says every client is signed in and the requests begin."""
    for line in loadgen.stdout:
        if line.strip() == "ready":
            return
    raise RuntimeError(f"the load driver ended before it was ready (exit code {loadgen.wait()})")
