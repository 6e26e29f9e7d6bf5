"""The load driver: many concurrent clients filing tickets against a running desk, from its own process.

    python -m tests.reliability.loadgen --base http://127.0.0.1:PORT --jobs form=1000,api=1000 \
        --concurrency 50 --deadline 120 --tag RUN --out results.json  (plus the credentials below)

Each request kind is a class with `prepare(session)` (once per client: sign in, nothing for the API)
and `send(session, n)` returning the HTTP status; each files a ticket whose description is unique
(`<tag> <kind> <n>`), so the test can count every ticket in the database. The hotline's signed
webhook is the third kind. Every request is recorded — status, or the connection
error when there was no answer — with its latency; the run stops by itself at the deadline.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import queue
import re
import sys
import threading
import time
from dataclasses import asdict, dataclass

import requests

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
TIMEOUT = 30  # seconds a single request may take before it counts as failed


@dataclass
class Outcome:
    kind: str
    n: int
    key: str  # the ticket's unique description
    status: int | None  # None: no HTTP answer (refused, reset, timed out)
    error: str
    seconds: float
    started: float  # wall-clock time the request began (time.time()), to line up with other processes


class FormKind:
    """The web fault form as a browser fills it: fetch the form for its CSRF token, post it."""

    name = "form"

    def __init__(self, args):
        self.base, self.user, self.password, self.unit = args.base, args.user, args.password, args.unit_id

    def csrf_token(self, session, path: str) -> str:
        page = session.get(self.base + path, timeout=TIMEOUT)
        page.raise_for_status()
        return CSRF.search(page.text).group(1)

    def prepare(self, session) -> None:
        response = session.post(self.base + "/login", allow_redirects=False, timeout=TIMEOUT, data={
            "csrf_token": self.csrf_token(session, "/login"), "username": self.user, "password": self.password})
        if response.status_code != 302:
            raise RuntimeError(f"sign-in failed: {response.status_code}")

    def send(self, session, n: int, key: str) -> int:
        token = self.csrf_token(session, "/tickets/new")
        response = session.post(self.base + "/tickets/new", allow_redirects=False, timeout=TIMEOUT, data={
            "csrf_token": token, "unit": self.unit, "kind": "interruption", "description": key,
            "location": "负载测试", "affected_cards": "", "started_at": ""})
        return response.status_code


class ApiKind:
    """The JSON API with a bearer token; the idempotency key makes a retry safe."""

    name = "api"

    def __init__(self, args):
        self.base, self.token, self.tag = args.base, args.token, args.tag

    def prepare(self, session) -> None:
        session.headers["Authorization"] = f"Bearer {self.token}"

    def send(self, session, n: int, key: str) -> int:
        return session.post(self.base + "/api/v1/tickets", timeout=TIMEOUT, json={
            "unit": "XJGAT", "kind": "degradation", "description": key}, headers={"Idempotency-Key": key},
        ).status_code


class HotlineKind:
    """Twilio delivering a fault SMS to the hotline webhook, signed as Twilio signs it; the
    MessageSid is derived from the ticket's key, so a retried delivery is the same message."""

    name = "hotline"

    def __init__(self, args):
        from twilio.request_validator import RequestValidator

        self.url, self.phone = args.base + "/hotline/sms", args.hotline_phone
        self.validator = RequestValidator(args.twilio_token)

    def prepare(self, session) -> None:
        pass

    def send(self, session, n: int, key: str) -> int:
        sid = "SM" + hashlib.sha256(key.encode()).hexdigest()[:32]
        params = {"MessageSid": sid, "SmsSid": sid, "AccountSid": "AC" + "0" * 32, "From": self.phone,
                  "To": "+861008608", "Body": f"报障 XJGAT {key}", "NumMedia": "0"}
        signature = self.validator.compute_signature(self.url, params)
        return session.post(self.url, data=params, timeout=TIMEOUT,
                            headers={"X-Twilio-Signature": signature}).status_code


KINDS = {kind.name: kind for kind in (FormKind, ApiKind, HotlineKind)}


def ticket_key(tag: str, kind: str, n: int) -> str:
    return f"{tag} {kind} {n}"


def run(args) -> list[Outcome]:
    jobs: queue.Queue = queue.Queue()
    counts = dict((part.split("=")[0], int(part.split("=")[1])) for part in args.jobs.split(","))
    kinds = {name: KINDS[name](args) for name in counts}
    # Interleaved, so every kind is under load at once.
    for n in range(max(counts.values())):
        for name, count in counts.items():
            if n < count:
                jobs.put((name, n))
    outcomes: list[Outcome] = []
    lock = threading.Lock()
    ready = threading.Barrier(args.concurrency + 1)
    failures: list[str] = []
    deadline = float("inf")  # set once every client is ready

    def client():
        # Every client signs in (and so on) before the clock starts: the run measures filing, not sign-in.
        sessions = {}
        try:
            for name, kind in kinds.items():
                sessions[name] = requests.Session()
                kind.prepare(sessions[name])
        except (requests.RequestException, RuntimeError, AttributeError) as exc:
            with lock:
                failures.append(f"{type(exc).__name__}: {exc}")
        ready.wait()
        while time.monotonic() < deadline:
            try:
                name, n = jobs.get_nowait()
            except queue.Empty:
                return
            key = ticket_key(args.tag, name, n)
            started, clock = time.time(), time.monotonic()
            status, error = None, ""
            try:
                status = kinds[name].send(sessions[name], n, key)
            except (requests.RequestException, AttributeError) as exc:
                error = f"{type(exc).__name__}: {exc}"[:300]
            with lock:
                outcomes.append(Outcome(name, n, key, status, error, time.monotonic() - clock, started))

    threads = [threading.Thread(target=client, daemon=True) for _ in range(args.concurrency)]
    for t in threads:
        t.start()
    ready.wait()
    if failures:
        raise SystemExit(f"{len(failures)} clients could not get ready: {failures[0]}")
    deadline = time.monotonic() + args.deadline
    print("ready", flush=True)  # a test may now act on the server under load
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()) + TIMEOUT)
    with lock:
        return list(outcomes)


def percentile(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def summary(outcomes: list[Outcome]) -> dict:
    result = {}
    for name in sorted({o.kind for o in outcomes}):
        mine = [o for o in outcomes if o.kind == name]
        ok = [o.seconds for o in mine if o.status is not None and o.status < 400]
        statuses: dict[str, int] = {}
        for o in mine:
            label = str(o.status) if o.status is not None else "no answer"
            statuses[label] = statuses.get(label, 0) + 1
        result[name] = {"requests": len(mine), "statuses": statuses,
                        "p50_ms": round(percentile(ok, 50) * 1000, 1), "p99_ms": round(percentile(ok, 99) * 1000, 1)}
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True)
    parser.add_argument("--jobs", required=True, help="kind=count,… (kinds: %s)" % ", ".join(KINDS))
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--deadline", type=float, default=120, help="seconds; the run stops by itself")
    parser.add_argument("--tag", required=True, help="prefix of every ticket's description")
    parser.add_argument("--out", required=True, help="JSON file for every outcome and the summary")
    parser.add_argument("--user", default="")
    parser.add_argument("--password", default="")
    parser.add_argument("--unit-id", default="")
    parser.add_argument("--token", default="")
    parser.add_argument("--twilio-token", default="", help="the desk's TWILIO_AUTH_TOKEN, to sign webhooks")
    parser.add_argument("--hotline-phone", default="", help="a number registered for unit XJGAT")
    args = parser.parse_args(argv)
    begin = time.monotonic()
    outcomes = run(args)
    report = {"seconds": round(time.monotonic() - begin, 2), "summary": summary(outcomes),
              "outcomes": [asdict(o) for o in outcomes]}
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(report, f, ensure_ascii=False)
    json.dump({"seconds": report["seconds"], "summary": report["summary"]}, sys.stdout, ensure_ascii=False)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
