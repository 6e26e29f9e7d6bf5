"""`flask --app wsgi backup FILE`: a consistent copy taken while the desk writes, and restoring it."""
from __future__ import annotations

import subprocess
import threading

import pytest
from sqlalchemy import select

from desk.audit.services import Actor
from desk.extensions import db
from desk.incidents.services import file_ticket
from desk.models import AuditEntry, Ticket, Unit
from tests.conftest import require_tool
from tests.reliability.conftest import count_rows, create_pg_database, desk_app, drop_pg_database, load_seed_contracts

WRITER = Actor.system("backup-test")


def _write_tickets_until(app, stop: threading.Event, started: threading.Event, written: list, failures: list):
    """Another writer of the desk: files tickets one transaction each until told to stop."""
    try:
        with app.app_context():
            unit = db.session.execute(select(Unit).where(Unit.code == "XJGAT")).scalar_one()
            n = 0
            while not stop.is_set():
                ticket, _ = file_ticket(WRITER, unit=unit, kind="degradation", channel="api",
                                        description=f"backup-load {n}")
                written.append(ticket.id)
                n += 1
                if n == 20:
                    started.set()
            db.session.remove()
    except Exception as exc:  # the test fails with it below, not silently in a thread
        failures.append(exc)
        started.set()


def _snapshot_is_whole(app) -> dict[str, int]:
    """In the restored copy: the audit chain holds and every ticket has its own filing entry."""
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["audit-verify"])
        assert result.exit_code == 0 and "audit log intact" in result.output, result.output
        counts = count_rows()
        filed = db.session.execute(select(AuditEntry.entity_id).where(AuditEntry.action == "ticket.filed")).scalars()
        tickets = db.session.execute(select(Ticket.id)).scalars()
        assert sorted(int(i) for i in filed) == sorted(tickets)
        assert counts["incident"] == counts["ticket"]
        ids = set(db.session.execute(select(Ticket.id)).scalars())
        db.session.remove()
        db.engine.dispose()
    return {**counts, "ids": ids}


def _backup_while_writing(live_url: str, target) -> tuple[object, dict, list]:
    app = desk_app(live_url)
    with app.app_context():
        load_seed_contracts()
        db.session.remove()
    stop, started, written, failures = threading.Event(), threading.Event(), [], []
    writer = threading.Thread(target=_write_tickets_until, args=(app, stop, started, written, failures))
    writer.start()
    try:
        assert started.wait(60), "the writer never got going"
        with app.app_context():
            result = app.test_cli_runner().invoke(args=["backup", str(target)])
    finally:
        stop.set()
        writer.join(60)
    assert not failures, failures
    assert result.exit_code == 0, result.output
    assert f"wrote {target}" in result.output
    with app.app_context():
        live = count_rows()
        live_ids = set(db.session.execute(select(Ticket.id)).scalars())
        db.session.remove()
        db.engine.dispose()
    return result, {**live, "ids": live_ids}, written


def test_sqlite_backup_while_the_desk_writes_restores_whole(sqlite_url, tmp_path):
    target = tmp_path / "copy.sqlite3"
    _, live, written = _backup_while_writing(sqlite_url, target)
    # Restoring a SQLite backup is pointing DATABASE_URL at the copy.
    copy = _snapshot_is_whole(desk_app(f"sqlite:///{target}"))
    assert 20 <= copy["ticket"] <= live["ticket"] == len(written)
    assert copy["ids"] <= live["ids"]  # a moment of the live database, nothing invented
    assert not list(tmp_path.glob("*.partial")), "a temporary file was left behind"


def test_postgres_backup_with_pg_dump_restores_with_pg_restore(tmp_path):
    require_tool("pg_dump")
    pg_restore = require_tool("pg_restore")
    live_url = create_pg_database("_backup_live")
    restored_url = create_pg_database("_backup_restored", migrate=False)
    try:
        target = tmp_path / "desk.dump"
        result, live, written = _backup_while_writing(live_url, target)
        assert "pg_dump (custom format)" in result.output
        conninfo = restored_url.replace("postgresql+psycopg://", "postgresql://", 1)
        restore = subprocess.run([pg_restore, "--no-owner", "--exit-on-error", f"--dbname={conninfo}", str(target)],
                                 capture_output=True, text=True, timeout=120)
        assert restore.returncode == 0, restore.stderr
        copy = _snapshot_is_whole(desk_app(restored_url))
        assert 20 <= copy["ticket"] <= live["ticket"] == len(written)
        assert copy["ids"] <= live["ids"]
    finally:
        drop_pg_database(live_url)
        drop_pg_database(restored_url)


def test_backup_refuses_to_overwrite_and_names_the_problem(sqlite_url, tmp_path):
    app = desk_app(sqlite_url)
    runner = app.test_cli_runner()
    existing = tmp_path / "existing.sqlite3"
    existing.write_bytes(b"keep me")
    with app.app_context():
        refused = runner.invoke(args=["backup", str(existing)])
        assert refused.exit_code == 1 and "exists" in refused.output and "--force" in refused.output
        assert existing.read_bytes() == b"keep me"
        forced = runner.invoke(args=["backup", "--force", str(existing)])
        assert forced.exit_code == 0, forced.output
        assert existing.read_bytes().startswith(b"SQLite format 3\x00")
        missing_folder = runner.invoke(args=["backup", str(tmp_path / "no" / "such" / "copy.sqlite3")])
        assert missing_folder.exit_code == 1 and "does not exist" in missing_folder.output
        db.engine.dispose()


@pytest.mark.parametrize("url, fragment", [
    ("sqlite:///:memory:", "in memory"),
    ("sqlite:////nonexistent/desk.sqlite3", "does not exist"),
    ("mysql://desk@127.0.0.1/desk", "cannot back up a mysql database"),
])
def test_backup_refuses_what_it_cannot_copy(tmp_path, url, fragment):
    from desk.backup import backup_database
    from desk.errors import DeskError

    with pytest.raises(DeskError) as refused:
        backup_database(url, tmp_path / "copy")
    assert fragment in refused.value.message
    assert list(tmp_path.iterdir()) == [], "a refused backup leaves no file"


def test_pg_dump_failure_is_reported_and_leaves_no_file(tmp_path):
    require_tool("pg_dump")
    from desk.backup import backup_database
    from desk.errors import DeskError

    with pytest.raises(DeskError) as refused:
        backup_database("postgresql+psycopg://postgres@127.0.0.1:5432/no_such_database_for_backup", tmp_path / "x")
    assert "pg_dump failed" in refused.value.message
    assert any("no_such_database_for_backup" in line for line in refused.value.errors)
    assert list(tmp_path.iterdir()) == []
