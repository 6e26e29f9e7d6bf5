"""B1 intake: an outage storm of fault reports against gunicorn, beside a bare INSERT floor.

The request mix lives in CHANNELS: each report goes through one of the desk's intake channels
in turn (the web form with its CSRF token, the API, and the Twilio-signed hotline webhook when
the desk has it). Every report carries a unique marker, so afterwards the database must hold
each exactly once.
"""
from __future__ import annotations

import asyncio
import re
import secrets
import signal
import subprocess
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from bench.common import (
    PYTHON, ROOT, BenchError, child_env, listening_socket, median, memory_mb, percentile,
)
from bench.seed import PASSWORD, reporter_name, unit_code, unit_phone

WORKERS = 2
HOTLINE_PATH = "/hotline/sms"
HOTLINE_TO = "+8610086"
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
UNIT_OPTION = re.compile(r'<option[^>]*value="(\d+)"')
MARKER = re.compile(r"bench-[0-9a-f]+-r\d+-\d+")


# ---------------------------------------------------------------------------------------------
# The request mix


@dataclass
class Client:
    """One of the concurrent callers: its own cookie session (signed in for the web form)."""

    http: object
    csrf: str = ""
    unit_id: str = ""


@dataclass
class Target:
    """Where a run's reports go: every channel files for the unit of the run's contract."""

    base: str
    unit: int = 1
    api_token: str = ""
    auth_token: str = ""
    channels: tuple[str, ...] = ("web", "api")


def _web(client: Client, target: Target, marker: str):
    return client.http.post(f"{target.base}/tickets/new", allow_redirects=False, data={
        "csrf_token": client.csrf, "unit": client.unit_id, "kind": "interruption",
        "description": marker, "location": "基站 1", "affected_cards": "3",
    }), 303


def _api(client: Client, target: Target, marker: str):
    return client.http.post(f"{target.base}/api/v1/tickets", json={
        "unit": unit_code(target.unit), "kind": "interruption", "description": marker, "affected_cards": 3,
    }, headers={"Authorization": f"Bearer {target.api_token}", "Idempotency-Key": marker}), 201


def _hotline(client: Client, target: Target, marker: str):
    from twilio.request_validator import RequestValidator

    url = f"{target.base}{HOTLINE_PATH}"
    params = {"From": unit_phone(target.unit), "To": HOTLINE_TO, "Body": f"报障 {unit_code(target.unit)} {marker}",
              "MessageSid": "SM" + secrets.token_hex(16), "AccountSid": "AC" + "0" * 32, "NumMedia": "0"}
    signature = RequestValidator(target.auth_token).compute_signature(url, params)
    return client.http.post(url, data=params, headers={"X-Twilio-Signature": signature}), 200


def _floor(client: Client, target: Target, marker: str):
    return client.http.post(f"{target.base}/floor", data={"body": marker}), 201


CHANNELS = {"web": _web, "api": _api, "hotline": _hotline, "floor": _floor}


def desk_channels(app) -> tuple[str, ...]:
    """The web form and the API always; the hotline once the desk serves its webhook."""
    rules = {rule.rule for rule in app.url_map.iter_rules()}
    return ("web", "api", "hotline") if HOTLINE_PATH in rules else ("web", "api")


async def _sign_in(client: Client, base: str, unit: int) -> None:
    async with client.http.get(f"{base}/login") as page:
        token = CSRF.search(await page.text())
    if token is None:
        raise BenchError("the sign-in page carries no CSRF token")
    async with client.http.post(f"{base}/login", allow_redirects=False, data={
            "csrf_token": token.group(1), "username": reporter_name(unit), "password": PASSWORD}) as answer:
        if answer.status != 303 and answer.status != 302:
            raise BenchError(f"sign-in failed with HTTP {answer.status}")
    async with client.http.get(f"{base}/tickets/new") as page:
        html = await page.text()
    token, unit = CSRF.search(html), UNIT_OPTION.search(html)
    if token is None or unit is None:
        raise BenchError("the fault form carries no CSRF token or no unit to choose")
    client.csrf, client.unit_id = token.group(1), unit.group(1)


@dataclass
class Storm:
    """The outcome of one run: wall time, every latency, and whatever went wrong."""

    seconds: float
    latencies: list[float]
    errors: list[str] = field(default_factory=list)


async def _storm(clients: list[Client], target: Target, channels: tuple[str, ...], tag: str,
                 reports: int) -> Storm:
    latencies: list[float] = []
    errors: list[str] = []
    next_index = iter(range(reports))

    async def caller(client: Client) -> None:
        for i in next_index:
            channel = channels[i % len(channels)]
            request, expected = CHANNELS[channel](client, target, f"{tag}-{i:05d}")
            began = time.perf_counter()
            try:
                async with request as answer:
                    await answer.read()
                    status = answer.status
            except Exception as exc:  # a refused or reset connection is an error of the run
                errors.append(f"{channel}: {type(exc).__name__}: {exc}")
                continue
            latencies.append(time.perf_counter() - began)
            if status != expected:
                errors.append(f"{channel}: HTTP {status}, expected {expected}")

    began = time.perf_counter()
    await asyncio.gather(*(caller(c) for c in clients))
    return Storm(time.perf_counter() - began, latencies, errors)


# ---------------------------------------------------------------------------------------------
# gunicorn


class Gunicorn:
    """gunicorn with WORKERS sync workers on a loopback socket it inherits (fd://), stopped on exit."""

    def __init__(self, app_spec: str, env: dict[str, str], name: str):
        self.app_spec, self.env, self.name = app_spec, env, name
        self.folder = tempfile.TemporaryDirectory(prefix=f"desk-bench-{name}-")
        self.access_log = Path(self.folder.name) / "access.log"
        self.process: subprocess.Popen | None = None
        self.base = ""

    def __enter__(self) -> "Gunicorn":
        sock = listening_socket()
        host, port = sock.getsockname()
        self.base = f"http://{host}:{port}"
        self.process = subprocess.Popen(
            [PYTHON, "-m", "gunicorn", "-w", str(WORKERS), "--bind", f"fd://{sock.fileno()}",
             "--access-logfile", str(self.access_log), "--access-logformat", "%(m)s %(U)s %(s)s %(D)s",
             "--log-level", "warning", "--timeout", "60", self.app_spec],
            cwd=ROOT, env=child_env(**self.env), pass_fds=[sock.fileno()],
            stdout=subprocess.DEVNULL, stderr=open(Path(self.folder.name) / "error.log", "wb"),
        )
        sock.close()
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        import urllib.error
        import urllib.request

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BenchError(f"gunicorn ({self.name}) exited: {self.errors()[-2000:]}")
            try:
                urllib.request.urlopen(f"{self.base}/", timeout=2).read()
                if len(self.worker_pids()) == WORKERS:
                    return
            except urllib.error.HTTPError:
                if len(self.worker_pids()) == WORKERS:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise BenchError(f"gunicorn ({self.name}) did not answer within 60 s")

    def errors(self) -> str:
        return (Path(self.folder.name) / "error.log").read_text(errors="replace")

    def worker_pids(self) -> list[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(p) for p in children.read_text().split()] if children.exists() else []

    def worker_memory(self) -> list[dict[str, float]]:
        return [memory_mb(pid) for pid in self.worker_pids()]

    def server_seconds(self) -> list[float]:
        """Time each request spent inside gunicorn (from its access log), excluding the queue."""
        times = []
        for line in self.access_log.read_text().splitlines():
            parts = line.split()
            if len(parts) == 4 and parts[0] == "POST":
                times.append(int(parts[3]) / 1e6)
        return times

    def clear_log(self) -> None:
        self.access_log.write_text("")  # gunicorn appends; truncating keeps one run per read

    def __exit__(self, *exc) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.folder.cleanup()


# ---------------------------------------------------------------------------------------------
# The workload


@dataclass
class IntakeResult:
    channels: tuple[str, ...]
    throughput: list[float]
    p99_ms: list[float]
    server_p99_ms: list[float]
    growth: list[float]  # a filing's time in the worker: median of the last fifth over the first fifth
    floor_throughput: list[float]
    floor_p99_ms: list[float]
    worker_rss_mb: float
    worker_hwm_mb: float
    floor_worker_rss_mb: float
    errors: list[str]


def _count(url: str, sql: str, tag: str) -> Counter:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text(sql), {"pattern": f"%{tag}-%"}).scalars().all()
    finally:
        engine.dispose()
    return Counter(m.group(0) for value in rows for m in MARKER.finditer(value or ""))


def _check_exactly_once(found: Counter, tag: str, reports: int, what: str) -> list[str]:
    expected = {f"{tag}-{i:05d}" for i in range(reports)}
    missing = expected - set(found)
    doubled = [m for m, n in found.items() if n > 1]
    problems = []
    if missing:
        problems.append(f"{what}: {len(missing)} of {reports} reports missing from the database")
    if doubled:
        problems.append(f"{what}: {len(doubled)} reports stored more than once")
    return problems


def run_intake(url: str, *, reports: int, clients: int, runs: int, until: float | None = None,
               log=print) -> IntakeResult:
    """Seed the database, serve the desk and the floor side by side, alternate runs of each.

    `until` (a time.monotonic() instant): no run starts that, taking as long as the longest so
    far, would end after it; the first run always goes. `make bench` is bounded this way on a
    slow machine, with fewer runs rather than smaller storms (the table says how many)."""
    from sqlalchemy import create_engine

    from bench.common import desk_app
    from bench.floor import metadata
    from bench.seed import seed_intake

    import aiohttp

    app = desk_app(url)
    with app.app_context():
        people = seed_intake(max(runs, 2))
        channels = desk_channels(app)
        from desk.extensions import db

        db.engine.dispose()
    engine = create_engine(url)
    metadata.create_all(engine)
    engine.dispose()

    auth_token = secrets.token_hex(16)
    desk_env = {"DATABASE_URL": url, "DESK_ENV": "production", "DESK_SECURE_COOKIES": "0",
                "SECRET_KEY": secrets.token_hex(32), "DESK_DEMO": "0", "TWILIO_AUTH_TOKEN": auth_token}
    session_tag = "bench-" + secrets.token_hex(4)
    result = IntakeResult(channels, [], [], [], [], [], [], 0, 0, 0, [])

    def new_clients(cookies: bool) -> list[Client]:
        return [Client(aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1, force_close=True),
                                             cookie_jar=aiohttp.CookieJar(unsafe=True) if cookies else None))
                for _ in range(clients)]

    async def desk_run(desk: Gunicorn, run: int, tag: str) -> None:
        # Each storm falls on a contract of its own: runs start alike, as the storm's own
        # open incidents are what a filing's cost grows with (see docs/performance.md).
        unit = run + 1
        callers = new_clients(cookies=True)
        try:
            for client in callers:
                await _sign_in(client, desk.base, unit)
            desk.clear_log()
            storm = await _storm(callers, Target(desk.base, unit, people.api_token, auth_token, channels),
                                 channels, tag, reports)
        finally:
            for client in callers:
                await client.http.close()
        result.errors.extend(f"desk: {e}" for e in storm.errors[:5])
        if len(storm.errors) > 5:
            result.errors.append(f"desk: … {len(storm.errors)} errors in run {run + 1}")
        result.throughput.append(reports / storm.seconds)
        result.p99_ms.append(percentile(storm.latencies, 99) * 1000)
        inside = desk.server_seconds()
        result.server_p99_ms.append(percentile(inside, 99) * 1000)
        fifth = max(1, len(inside) // 5)
        result.growth.append(median(inside[-fifth:]) / median(inside[:fifth]))
        result.errors += _check_exactly_once(
            _count(url, "SELECT description FROM ticket WHERE description LIKE :pattern", tag), tag, reports, "desk")

    async def floor_run(floor: Gunicorn, callers: list[Client], tag: str) -> None:
        storm = await _storm(callers, Target(floor.base, channels=("floor",)), ("floor",), tag, reports)
        result.errors.extend(f"floor: {e}" for e in storm.errors[:5])
        result.floor_throughput.append(reports / storm.seconds)
        result.floor_p99_ms.append(percentile(storm.latencies, 99) * 1000)
        result.errors += _check_exactly_once(
            _count(url, "SELECT body FROM bench_floor_report WHERE body LIKE :pattern", tag), tag, reports, "floor")

    async def session() -> None:
        with Gunicorn("wsgi:app", desk_env, "desk") as desk, \
                Gunicorn("bench.floor:create_app()", {"DATABASE_URL": url}, "floor") as floor:
            floor_callers = new_clients(cookies=False)
            longest = 0.0
            try:
                for run in range(runs):
                    if run and until is not None and time.monotonic() + longest > until:
                        log(f"  stopped after {run} of {runs} runs: another would overrun the time budget")
                        break
                    began = time.monotonic()
                    tag = f"{session_tag}-r{run}"
                    await floor_run(floor, floor_callers, tag)
                    await desk_run(desk, run, tag)
                    longest = max(longest, time.monotonic() - began)
                    log(f"  run {run + 1}/{runs}: desk {result.throughput[-1]:.0f}/s "
                        f"p99 {result.p99_ms[-1]:.0f} ms, floor {result.floor_throughput[-1]:.0f}/s")
            finally:
                for client in floor_callers:
                    await client.http.close()
            memory = desk.worker_memory()
            result.worker_rss_mb = max(m["VmRSS"] for m in memory)
            result.worker_hwm_mb = max(m["VmHWM"] for m in memory)
            result.floor_worker_rss_mb = max(m["VmRSS"] for m in floor.worker_memory())
            if desk.errors().strip():
                result.errors.append("desk gunicorn error log: " + desk.errors()[-1500:])

    asyncio.run(session())
    return result


def summary(result: IntakeResult) -> dict[str, float]:
    return {
        "throughput": median(result.throughput), "p99_ms": median(result.p99_ms),
        "server_p99_ms": median(result.server_p99_ms), "growth": median(result.growth),
        "floor_throughput": median(result.floor_throughput),
        "floor_p99_ms": median(result.floor_p99_ms),
    }
