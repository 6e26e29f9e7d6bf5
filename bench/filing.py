"""What one filing costs inside the desk, without HTTP: CPU and SQL statements per report.

    python -m bench.filing                    # each channel, 300 filings, on a scratch SQLite file
    python -m bench.filing --filings 1000 --channels api
    python -m bench.filing --pg postgresql+psycopg://postgres@127.0.0.1:5432

The same requests as B1 (bench/intake.py) go through Flask's test client into the desk as
production configures it, on a storm of one contract: the figure B1's throughput rests on, free of
the load generator and of gunicorn, and steady enough to compare two versions of the code. The
first filings warm the process and are not counted. Nothing here is a unit test: no timing is
asserted anywhere.
"""
from __future__ import annotations

import argparse
import re
import secrets
import sys
import time

from bench.common import desk_app, scratch_database
from bench.seed import PASSWORD, reporter_name, seed_intake, unit_code, unit_phone

CHANNELS = ("web", "api", "hotline")
WARM_UP = 20
AUTH_TOKEN = "bench-filing-" + "0" * 19
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
UNIT_OPTION = re.compile(r'<option[^>]*value="(\d+)"')


class Caller:
    """One channel's requests, as B1 sends them, through the test client."""

    def __init__(self, app, channel: str, api_token: str):
        from twilio.request_validator import RequestValidator

        self.client, self.channel, self.api_token = app.test_client(), channel, api_token
        self.validator = RequestValidator(AUTH_TOKEN)
        if channel == "web":
            page = self.client.get("/login").get_data(as_text=True)
            self.client.post("/login", data={"csrf_token": CSRF.search(page).group(1),
                                             "username": reporter_name(1), "password": PASSWORD})
            page = self.client.get("/tickets/new").get_data(as_text=True)
            self.csrf, self.unit = CSRF.search(page).group(1), UNIT_OPTION.search(page).group(1)

    def file(self, marker: str) -> None:
        if self.channel == "web":
            response = self.client.post("/tickets/new", data={
                "csrf_token": self.csrf, "unit": self.unit, "kind": "interruption", "description": marker,
                "location": "基站 1", "affected_cards": "3"})
            expected = 303
        elif self.channel == "api":
            response = self.client.post("/api/v1/tickets", json={
                "unit": unit_code(1), "kind": "interruption", "description": marker, "affected_cards": 3},
                headers={"Authorization": f"Bearer {self.api_token}", "Idempotency-Key": marker})
            expected = 201
        else:
            url = "http://localhost/hotline/sms"
            params = {"From": unit_phone(1), "To": "+8610086", "Body": f"报障 {unit_code(1)} {marker}",
                      "MessageSid": "SM" + secrets.token_hex(16), "AccountSid": "AC" + "0" * 32, "NumMedia": "0"}
            response = self.client.post("/hotline/sms", data=params,
                                        headers={"X-Twilio-Signature": self.validator.compute_signature(url, params)})
            expected = 200
        if response.status_code != expected:
            raise SystemExit(f"{self.channel} filing answered {response.status_code}: "
                             f"{response.get_data(as_text=True)[:300]}")


def measure(url: str, channel: str, filings: int) -> tuple[float, float]:
    """CPU milliseconds and SQL statements per filing, over `filings` after the warm-up."""
    from sqlalchemy import event

    from desk.extensions import db

    app = desk_app(url)
    app.config["TWILIO_AUTH_TOKEN"] = AUTH_TOKEN
    with app.app_context():
        people = seed_intake(2)
        engine = db.engine
    caller = Caller(app, channel, people.api_token)
    for n in range(WARM_UP):
        caller.file(f"warm-{n}")
    statements = [0]

    def count(*_args):
        statements[0] += 1

    event.listen(engine, "before_cursor_execute", count)
    started = time.process_time()
    for n in range(filings):
        caller.file(f"filing-{n}")
    cpu = time.process_time() - started
    event.remove(engine, "before_cursor_execute", count)
    return cpu * 1000 / filings, statements[0] / filings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.filing", description=__doc__.splitlines()[0])
    parser.add_argument("--filings", type=int, default=300, help="filings measured per channel (default 300)")
    parser.add_argument("--channels", default=",".join(CHANNELS), help="comma-separated: web, api, hotline")
    parser.add_argument("--pg", help="PostgreSQL server URL without a database (default: a SQLite file)")
    args = parser.parse_args(argv)
    channels = [c.strip() for c in args.channels.split(",") if c.strip()]
    unknown = sorted(set(channels) - set(CHANNELS))
    if unknown or args.filings < 1:
        parser.error(f"unknown channel {unknown[0]!r}" if unknown else "--filings must be at least 1")
    print("| channel | CPU per filing | statements per filing |")
    print("|---|---|---|")
    for channel in channels:
        # A fresh database each: every channel starts its storm alike.
        with scratch_database("postgresql" if args.pg else "sqlite", f"filing_{channel}", args.pg or "") as url:
            cpu, statements = measure(url, channel, args.filings)
        print(f"| {channel} | {cpu:.2f} ms | {statements:.0f} |", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
