"""Fixtures shared by every test: an app on a fresh database per test, its client and CLI runner.

SQLite (default): the schema is built once by the migrations into a template file, copied per test.
PostgreSQL (DATABASE_URL=postgresql+psycopg://…): the schema is built once by the migrations,
and every table is truncated before each test.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
CONTRACTS = ROOT / "config" / "contracts"
DATABASE_URL = os.environ.get("DATABASE_URL", "")
ON_POSTGRES = DATABASE_URL.startswith("postgres")
REQUIRE_TOOLS = os.environ.get("DESK_REQUIRE_TOOLS") == "1"


def require_tool(name: str) -> str:
    """The path of an external tool; skip (or, in CI, fail) with the reason when it is missing."""
    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed (apt-get install it; .ci/run does)"
        if REQUIRE_TOOLS:
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    # In CI nothing may skip: a skipped test there is a missing install step, so it fails.
    if REQUIRE_TOOLS and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped where DESK_REQUIRE_TOOLS=1 forbids skips: {report.longrepr}"


def _migrate(url: str) -> None:
    from flask_migrate import upgrade

    from desk import MIGRATIONS, create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True})
    with app.app_context():
        upgrade(directory=str(MIGRATIONS))
        from desk.extensions import db

        db.engine.dispose()


@pytest.fixture(scope="session")
def database_template(tmp_path_factory):
    if ON_POSTGRES:
        url = DATABASE_URL.replace("postgresql://", "postgresql+psycopg://", 1) \
            if DATABASE_URL.startswith("postgresql://") else DATABASE_URL
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
        _migrate(url)
        return url
    path = tmp_path_factory.mktemp("db") / "template.sqlite3"
    _migrate(f"sqlite:///{path}")
    return path


@pytest.fixture
def database_url(database_template, tmp_path):
    if ON_POSTGRES:
        engine = create_engine(database_template)
        with engine.begin() as conn:
            tables = [r[0] for r in conn.execute(text(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename != 'alembic_version'"
            ))]
            if tables:
                conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))
        engine.dispose()
        return database_template
    path = tmp_path / "desk.sqlite3"
    shutil.copyfile(database_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def app(database_url):
    from desk import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "TESTING": True, "WTF_CSRF_ENABLED": False,
                      "SECRET_KEY": "test-secret", "DESK_DEMO": False})
    with app.app_context():
        yield app
        from desk.extensions import db

        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def load_edited_contracts(folder: Path, edit) -> list:
    """The seed contracts, each text passed through edit(text) first, loaded through the service.
    (The XJGAT pool's service period ended in March 2026; tests that file faults now run it on.)"""
    from desk.audit.services import Actor
    from desk.contracts.services import load_contracts

    folder.mkdir()
    for source in CONTRACTS.glob("*.toml"):
        (folder / source.name).write_text(edit(source.read_text(encoding="utf-8")), encoding="utf-8")
    return load_contracts([folder], Actor.system("test"))


@pytest.fixture
def contracts_running_on(app, tmp_path):
    """The seed contracts with the XJGAT pool's service run on to 2036: for tests that file faults
    now and need its clock (a report outside the service period counts for nothing, spec §2)."""
    loaded = load_edited_contracts(tmp_path / "contracts",
                                   lambda text: text.replace("service_end = 2026-03-31", "service_end = 2036-03-31"))
    return {c.code: c for c in loaded}


@pytest.fixture
def contracts(app):
    """The two seed contracts of config/contracts/, loaded through the service."""
    from desk.audit.services import Actor
    from desk.contracts.services import load_contracts

    loaded = load_contracts([CONTRACTS], Actor.system("test"))
    return {c.code: c for c in loaded}
