"""A consistent online copy of the desk's database, taken while the desk keeps working.

SQLite: the sqlite3 online backup API copies one snapshot of the database (writers wait or the copy
restarts; it never mixes two states). PostgreSQL: `pg_dump --format=custom`, a single-transaction
snapshot; restore it with `pg_restore --dbname=… --no-owner FILE` into an empty database.

The copy is written beside the target under a temporary name and renamed into place when complete,
so a failed backup leaves no half-written file behind.
"""
from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import URL, make_url

from desk.errors import DeskError


@dataclass(frozen=True)
class BackupResult:
    path: Path
    size: int
    method: str  # "sqlite backup API" or "pg_dump (custom format)"


def backup_database(database_url: str | URL, target: str | Path, *, force: bool = False) -> BackupResult:
    """Copy the database named by `database_url` to `target`; refuse to overwrite unless `force`."""
    url = make_url(database_url)
    target = Path(target)
    if target.is_dir():
        raise DeskError(f"{target} is a directory: name the backup file")
    if target.exists() and not force:
        raise DeskError(f"{target} exists: choose another name or pass --force to overwrite it")
    if not target.parent.is_dir():
        raise DeskError(f"{target.parent} does not exist: create the folder first")
    backend = url.get_backend_name()
    if backend == "sqlite":
        copy, method = _sqlite_backup, "sqlite backup API"
    elif backend == "postgresql":
        copy, method = _pg_dump, "pg_dump (custom format)"
    else:
        raise DeskError(f"cannot back up a {backend} database: the desk runs on SQLite or PostgreSQL")

    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent)
    os.close(fd)
    partial = Path(name)
    try:
        copy(url, partial)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return BackupResult(target, target.stat().st_size, method)


def _sqlite_backup(url: URL, partial: Path) -> None:
    database = url.database
    if not database or database == ":memory:":
        raise DeskError("the desk's database is in memory: there is no file to back up")
    if not Path(database).is_file():
        raise DeskError(f"the database file {database} does not exist")
    try:
        # Read-only: the backup must never create or change the live database.
        source = sqlite3.connect(f"{Path(database).resolve().as_uri()}?mode=ro", uri=True, timeout=30)
        try:
            destination = sqlite3.connect(partial)
            try:
                source.backup(destination)
                # One file: the copy carries no WAL beside it, whatever mode the live database uses.
                destination.execute("PRAGMA journal_mode=DELETE")
            finally:
                destination.close()
        finally:
            source.close()
    except sqlite3.Error as exc:
        raise DeskError(f"the SQLite backup failed: {exc}")


def _pg_dump(url: URL, partial: Path) -> None:
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        raise DeskError("pg_dump is not installed: install the PostgreSQL client tools "
                        "(apt-get install postgresql-client) of the server's major version or newer")
    env = dict(os.environ)
    if url.password is not None:
        env["PGPASSWORD"] = str(url.password)  # never on the command line, where `ps` shows it
    conninfo = url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    completed = subprocess.run(
        [pg_dump, "--format=custom", "--no-owner", f"--file={partial}", f"--dbname={conninfo}"],
        env=env, capture_output=True, text=True, timeout=3600,
    )
    if completed.returncode != 0:
        raise DeskError(f"pg_dump failed (exit code {completed.returncode})",
                        errors=[line for line in completed.stderr.splitlines() if line.strip()] or
                        [f"pg_dump failed (exit code {completed.returncode})"])
