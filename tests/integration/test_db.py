"""The database plumbing: SQLite writers taking turns, UTC sessions, and among() for a batch's many values."""
import threading

from sqlalchemy import create_engine

from desk.db import _writer_turn


def test_sqlite_writers_of_one_file_take_turns(app, tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'desk.sqlite3'}")
    order: list[str] = []
    inside, release = threading.Event(), threading.Event()

    def first():
        with app.app_context(), _writer_turn(engine):
            order.append("first in")
            inside.set()
            release.wait(5)
            order.append("first out")

    def second():
        inside.wait(5)
        with app.app_context(), _writer_turn(engine):
            order.append("second in")

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    inside.wait(5)
    threading.Event().wait(0.2)  # the second writer is waiting for its turn by now
    assert order == ["first in"]
    release.set()
    for t in threads:
        t.join(5)
    assert order == ["first in", "first out", "second in"]
    assert (tmp_path / "desk.sqlite3.writer-lock").exists()


def test_no_turns_without_a_database_file(app):
    for url in ("sqlite://", "sqlite:///:memory:"):
        with _writer_turn(create_engine(url)):
            pass


def test_a_writer_waits_for_its_turn_no_longer_than_busy_timeout(app, tmp_path):
    """A stuck writer holding the turn makes the next one fail as SQLite would, not wait forever."""
    import pytest
    from sqlalchemy.exc import OperationalError

    engine = create_engine(f"sqlite:///{tmp_path / 'desk.sqlite3'}")
    app.config["DESK_SQLITE_BUSY_TIMEOUT_MS"] = 100
    with _writer_turn(engine):
        with pytest.raises(OperationalError, match="database is locked"):
            with _writer_turn(engine):
                pass


def test_instants_come_back_in_utc_whatever_the_servers_zone(app, database_url):
    """PostgreSQL: each session is put in UTC, even where the server (here: the connection's own
    options) says Asia/Shanghai, so the driver's timestamps carry timezone.utc itself. SQLite stores
    naive UTC, which the columns mark as UTC."""
    from datetime import timezone

    from sqlalchemy import select, text

    from desk.db import configure_engine
    from desk.extensions import db
    from desk.models import AuditEntry

    if database_url.startswith("postgresql"):
        engine = create_engine(database_url, connect_args={"options": "-c timezone=Asia/Shanghai"})
        configure_engine(engine)
        with engine.connect() as conn:
            assert conn.execute(text("SHOW timezone")).scalar() == "UTC"
            assert conn.execute(text("SELECT now()")).scalar().tzinfo is timezone.utc
            conn.rollback()
            assert conn.execute(text("SHOW timezone")).scalar() == "UTC"  # not undone with a transaction
        engine.dispose()
    from desk.audit.services import Actor, record
    from desk.db import transaction

    with transaction():
        record(Actor.system("test"), "test.instant", "test", 1)
    at = db.session.execute(select(AuditEntry.at).where(AuditEntry.action == "test.instant")).scalar_one()
    assert at.tzinfo is timezone.utc


def test_among_matches_what_in_matches_for_any_number_of_values(app):
    """among() is IN on SQLite and = ANY(array) on PostgreSQL: the same rows either way, for none,
    one, or more values than psycopg will cache a statement for (50), of numbers or of text."""
    from sqlalchemy import select

    from desk.audit.services import Actor, record
    from desk.db import among, transaction
    from desk.extensions import db
    from desk.models import AuditEntry

    with transaction():
        for n in range(120):
            record(Actor.system("test"), f"test.among.{n}", "test", n)
    ids = dict(db.session.execute(select(AuditEntry.action, AuditEntry.id)
                                  .where(AuditEntry.action.like("test.among.%"))).all())
    for wanted in ([], [5], list(range(0, 120, 2))):
        actions = [f"test.among.{n}" for n in wanted]
        by_id = db.session.execute(select(AuditEntry.action).where(among(AuditEntry.id, [ids[a] for a in actions])))
        by_text = db.session.execute(select(AuditEntry.entity_id).where(among(AuditEntry.action, actions)))
        assert sorted(by_id.scalars()) == sorted(actions)
        assert sorted(int(e) for e in by_text.scalars()) == sorted(wanted)  # entity ids are text
