"""Database plumbing: SQLite pragmas, write transactions, and schema creation through migrations."""
from __future__ import annotations

import fcntl
import os
import sqlite3
import time
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Callable, Collection, Iterator

from flask import Flask, current_app, g
from sqlalchemy import ColumnElement, any_, bindparam, event
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from desk.extensions import db, login_manager

# How long a client (or a proxy) should wait before retrying while the database is away.
RETRY_AFTER_SECONDS = 30

_depth: ContextVar[int] = ContextVar("desk_tx_depth", default=0)
_immediate: ContextVar[bool] = ContextVar("desk_tx_immediate", default=False)


def configure_engine(engine: Engine, busy_timeout_ms: int = 30000) -> None:
    """SQLite: WAL, foreign keys, and BEGIN IMMEDIATE for write transactions.

    pysqlite's own transaction handling starts transactions lazily and cannot take the write
    lock up front; two requests that read then write would then fail with "database is locked"
    instead of waiting. So the desk emits BEGIN itself, IMMEDIATE when a service writes.

    PostgreSQL: every session's time zone is UTC (see _utc_sessions).
    """
    if engine.dialect.name == "postgresql":
        _utc_sessions(engine)
        return
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection):
        connection.exec_driver_sql("BEGIN IMMEDIATE" if _immediate.get() else "BEGIN")


def _utc_sessions(engine: Engine) -> None:
    """Each new connection's session time zone is UTC, whatever the server's default.

    The desk stores instants in UTC and does its calendar arithmetic in Python, in the contract's
    zone. With the session in UTC, psycopg hands timestamps back with timezone.utc itself rather
    than a ZoneInfo that UTCDateTime must then convert: a month's report reads some 40,000 of them.
    And nothing the server does with an instant depends on where it was installed."""

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection, _record):
        # Outside any transaction, so that no rollback of the connection's first one undoes it.
        autocommit = dbapi_connection.autocommit
        dbapi_connection.autocommit = True
        try:
            cursor = dbapi_connection.cursor()
            cursor.execute("SET TIME ZONE 'UTC'")
            cursor.close()
        finally:
            dbapi_connection.autocommit = autocommit


@contextmanager
def transaction(*, keep_loaded: bool = False) -> Iterator[Session]:
    """The unit of work of a service: everything inside commits together or not at all.

    Nested calls join the outer transaction, so a service may call another service.

    Whatever a view read before belongs to a read-only transaction, which ends here so that a
    fresh write one begins. Normally that also expires every loaded object: a service that checks
    an incident's state must see it as it is under the write lock, not as the view read it.
    `keep_loaded` keeps them, and keeps what the transaction wrote loaded after its commit. Only
    for a service that reads no fact it then changes (filing a new report reads reference data:
    the unit, its contract's clauses): it saves reloading them inside the write lock and again
    for the answer, which in a storm of reports is most of a filing's statements.
    """
    depth = _depth.get()
    if depth:
        token = _depth.set(depth + 1)
        try:
            yield db.session
        finally:
            _depth.reset(token)
        return
    session = db.session()
    if keep_loaded and not (session.new or session.dirty or session.deleted):
        _commit_keeping_loaded(session)  # nothing written: ends the read transaction
    else:
        session.rollback()
    with _writer_turn(session.get_bind()):
        yield from _write_transaction(session, keep_loaded)


def _commit_keeping_loaded(session: Session) -> None:
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = True


def _write_transaction(session: Session, keep_loaded: bool = False) -> Iterator[Session]:
    depth_token = _depth.set(1)
    try:
        immediate_token = _immediate.set(True)
        try:
            session.connection()
        finally:
            _immediate.reset(immediate_token)
        yield session
        _run_before_commit(session)
        for work in session.info.pop(_AT_COMMIT, {}).values():
            work()
        if keep_loaded:
            _commit_keeping_loaded(session)
        else:
            session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.info.pop(_BEFORE_COMMIT, None)
        session.info.pop(_AT_COMMIT, None)
        _depth.reset(depth_token)


@contextmanager
def _writer_turn(engine: Engine) -> Iterator[None]:
    """SQLite: writers of a database file take turns on a file lock before BEGIN IMMEDIATE.

    Without it a writer that finds the database locked sleeps in SQLite's busy handler (1, 2, 5,
    10 … 100 ms) and wakes long after the lock was free: under a storm of reports across gunicorn
    workers, the worst filings spent most of their time asleep. Here a waiting writer looks again
    within a millisecond. It waits no longer than busy_timeout, and then fails as SQLite would
    ("database is locked"), so a stuck writer cannot hold the others forever.
    """
    path = engine.url.database if engine.dialect.name == "sqlite" else None
    if not path or path == ":memory:" or path.startswith("file:"):
        yield
        return
    # Opened per transaction: a descriptor inherited across fork() would share one lock.
    try:
        fd = os.open(f"{path}.writer-lock", os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        # The database's folder is gone (an unmounted volume): said as SQLite says it, so the request
        # answers 503 like any other that finds the database unavailable.
        raise OperationalError("BEGIN IMMEDIATE", {},
                               sqlite3.OperationalError(f"unable to open database file: {exc}")) from exc
    try:
        _take_turn(fd, current_app.config.get("DESK_SQLITE_BUSY_TIMEOUT_MS", 30000) / 1000)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _take_turn(fd: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    pause = 0.0001
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise OperationalError("BEGIN IMMEDIATE", {}, sqlite3.OperationalError("database is locked"))
            time.sleep(pause)
            pause = min(pause * 2, 0.001)


_BEFORE_COMMIT = "desk.before_commit"
_AT_COMMIT = "desk.at_commit"


def before_commit(key: object, work: Callable[[], None]) -> None:
    """Run `work` once at the end of the current transaction, however often it is asked for under `key`.

    For derived state that depends on many rows a transaction may change (a contract's outage
    events after an import of thousands of incidents): derive it once, from the final facts.
    """
    if not in_transaction():
        raise RuntimeError("before_commit needs a transaction")
    db.session.info.setdefault(_BEFORE_COMMIT, {})[key] = work


def at_commit(key: object, work: Callable[[], None]) -> None:
    """Run `work` once as the transaction commits, after every before_commit work (which may still
    add to what it writes): for the audit chain, linked last and locked only for the commit."""
    if not in_transaction():
        raise RuntimeError("at_commit needs a transaction")
    db.session.info.setdefault(_AT_COMMIT, {})[key] = work


def _run_before_commit(session: Session) -> None:
    pending = session.info.get(_BEFORE_COMMIT)
    while pending:
        _key, work = pending.popitem()
        work()


def in_transaction() -> bool:
    return _depth.get() > 0


def lock_for_chain(session: Session, key: int) -> None:
    """Serialise writers of a hash chain (audit log). SQLite already holds the write lock."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy import text

        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})


def forget_failed_transaction(exc: Exception) -> None:
    """After the database failed a request: log it and drop the session's broken connection, so the
    next request checks out a fresh one (the pool reconnects by itself when the database returns)."""
    current_app.logger.warning("database unavailable: %s", getattr(exc, "orig", None) or exc)
    try:
        db.session.rollback()
    except OperationalError:
        pass
    db.session.remove()
    # The signed-in user was loaded by that session and is detached now, and loading it again would
    # query the database: the rest of this request (its error page) sees an anonymous visitor.
    g._login_user = login_manager.anonymous_user()


def init_app(app: Flask) -> None:
    with app.app_context():
        configure_engine(db.engine, app.config.get("DESK_SQLITE_BUSY_TIMEOUT_MS", 30000))


def among(column, values: Collection) -> ColumnElement[bool]:
    """`column IN values`, for a batch's many values. On PostgreSQL it is `column = ANY(%s)` with
    the values as one array: an IN list of 100 is 100 parameters, and psycopg neither caches the
    conversion nor prepares a statement of more than 50, so each batch's text was parsed again on
    both sides; one parameter keeps the statement's text the same for any number of values."""
    if db.engine.dialect.name == "postgresql":
        return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))
    return column.in_(values)
