"""What every workload shares: scratch databases, the desk app on them, statistics, child
processes and their memory, and the rows of the final table."""
from __future__ import annotations

import json
import math
import os
import socket
import statistics
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
# Scratch databases on the PostgreSQL server are all named bench_*; nothing else is touched.
# BENCH_PG_PREFIX (say bench_mine_) keeps two benches on one server from dropping each other's.
PG_PREFIX = os.environ.get("BENCH_PG_PREFIX", "bench_")
if not PG_PREFIX.startswith("bench_"):
    raise SystemExit("BENCH_PG_PREFIX must start with bench_")


class BenchError(RuntimeError):
    """A workload could not run or its result is wrong (errors, lost or doubled reports)."""


def median(values: list[float]) -> float:
    return statistics.median(values)


def percentile(values: list[float], q: float) -> float:
    """The nearest-rank percentile: the smallest value with at least q % of values at or below it."""
    if not values:
        raise BenchError("no values to take a percentile of")
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass
class Row:
    """One line of the final table: a figure, its floor (if any), the ratio, and the target."""

    workload: str
    measure: str
    value: float
    unit: str
    target: str
    ok: bool | None
    floor: float | None = None
    ratio: float | None = None
    note: str = ""


def format_table(rows: list[Row]) -> str:
    head = ("workload", "measure", "desk", "floor", "ratio", "target", "ok")
    lines = []
    for r in rows:
        lines.append((
            r.workload, r.measure, f"{_num(r.value)} {r.unit}",
            "" if r.floor is None else f"{_num(r.floor)} {r.unit}",
            "" if r.ratio is None else f"{r.ratio:.2f}",
            r.target, {True: "yes", False: "NO", None: "-"}[r.ok],
        ))
    widths = [max(len(head[i]), *(len(line[i]) for line in lines)) for i in range(len(head))]
    out = ["| " + " | ".join(h.ljust(w) for h, w in zip(head, widths)) + " |",
           "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += ["| " + " | ".join(c.ljust(w) for c, w in zip(line, widths)) + " |" for line in lines]
    notes = [f"{r.workload} {r.measure}: {r.note}" for r in rows if r.note]
    return "\n".join(out + ([""] + notes if notes else []))


def _num(value: float) -> str:
    if float(value).is_integer() and abs(value) < 100:
        return f"{value:.0f}"
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


# ---------------------------------------------------------------------------------------------
# Scratch databases


def pg_admin_url(base: str) -> str:
    return base.rstrip("/").replace("postgresql+psycopg://", "postgresql://", 1) + "/postgres"


@contextmanager
def scratch_database(kind: str, name: str, pg_base: str) -> Iterator[str]:
    """A fresh, migrated database for one workload, removed afterwards: a SQLite file in a
    temporary folder, or a PostgreSQL database named bench_<name>."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory(prefix=f"desk-bench-{name}-") as folder:
            url = f"sqlite:///{Path(folder) / 'desk.sqlite3'}"
            migrate(url)
            yield url
        return
    if kind != "postgresql":
        raise BenchError(f"database kind: sqlite or postgresql, not {kind!r}")
    import psycopg

    database = PG_PREFIX + name
    admin = pg_admin_url(pg_base)
    try:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{database}"')
    except psycopg.OperationalError as exc:
        raise BenchError(f"PostgreSQL at {pg_base} is not reachable ({exc}); pass --pg or --sqlite-only")
    url = f"{pg_base.rstrip('/')}/{database}"
    try:
        migrate(url)
        yield url
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def desk_app(url: str):
    """The desk as production runs it, on the given database (no debug, no demo data)."""
    from desk import create_app

    return create_app({"SQLALCHEMY_DATABASE_URI": url, "DEBUG": False, "TESTING": False, "DESK_DEMO": False,
                       "SESSION_COOKIE_SECURE": False})


def migrate(url: str) -> None:
    from flask_migrate import upgrade

    from desk import MIGRATIONS
    from desk.extensions import db

    app = desk_app(url)
    with app.app_context():
        upgrade(directory=str(MIGRATIONS))
        db.engine.dispose()


def sqlite_path(url: str) -> str:
    return url.removeprefix("sqlite:///")


# ---------------------------------------------------------------------------------------------
# Processes


def listening_socket() -> socket.socket:
    """A socket bound to a free loopback port, handed to gunicorn as fd://, so no port is guessed."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(1024)
    sock.set_inheritable(True)
    return sock


def memory_mb(pid: int) -> dict[str, float]:
    """VmRSS (now) and VmHWM (peak) of a process, in MB, from /proc/<pid>/status."""
    figures = {}
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                figures[key] = int(value.split()[0]) / 1024
    return figures


def child_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.pop("DATABASE_URL", None)  # every child is told its database explicitly
    env.update(extra)
    return env


def run_child(module: str, payload: dict, timeout: float) -> dict:
    """Run `python -m <module>` with a JSON request on stdin; its last stdout line is the JSON answer."""
    try:
        done = subprocess.run([PYTHON, "-m", module], input=json.dumps(payload), capture_output=True,
                              text=True, cwd=ROOT, env=child_env(), timeout=timeout)
    except subprocess.TimeoutExpired:
        raise BenchError(f"{module} did not finish within {timeout:.0f} s")
    if done.returncode != 0:
        raise BenchError(f"{module} failed (exit {done.returncode}):\n{done.stderr[-3000:]}")
    lines = done.stdout.strip().splitlines()
    if not lines:
        raise BenchError(f"{module} printed no result:\n{done.stderr[-3000:]}")
    return json.loads(lines[-1])


def child_main(work) -> None:
    """The entry point of a child: read the JSON request, print the JSON answer with the peak RSS."""
    import resource

    request = json.loads(sys.stdin.read())
    answer = work(request)
    answer["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(answer))
