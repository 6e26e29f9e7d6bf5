"""Twilio's REST API at the network edge: the real `twilio.rest.Client` talks to this HTTP client,
which answers as Twilio would (JSON resources, error bodies) or fails as a network does."""
from __future__ import annotations

import json
import logging
import threading
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from urllib.parse import urlparse

import pytest
import requests
from twilio.http import HttpClient
from twilio.http.response import Response
from twilio.rest import Client

ACCOUNT_SID = "AC" + "0" * 32
AUTH_TOKEN = "test-auth-token"
FROM = "+15005550006"


class FakeTwilio(HttpClient):
    """Twilio's Messages API as far as the dispatcher uses it: create, and list by To/From.

    `failure` is None (Twilio answers), "timeout", "reset", or an HTTP status (500, 503, 429, 400…).
    `lose_answer` makes Twilio accept the next message but the answer never arrive, as when the
    dispatcher dies between Twilio's reply and its own commit.
    """

    def __init__(self, clock=None):
        super().__init__(logging.getLogger("fake-twilio"), is_async=False)
        self.clock = clock or (lambda: datetime.now(timezone.utc))
        self.failure = None
        self.lose_answer = False
        self.created: list[dict] = []
        self.requests: list[tuple[str, str, dict]] = []
        self._lock = threading.Lock()

    def request(self, method, uri, params=None, data=None, headers=None, auth=None, timeout=None,
                allow_redirects=False):
        path = urlparse(uri).path
        self.requests.append((method, path, dict(data or params or {})))
        assert auth == (ACCOUNT_SID, AUTH_TOKEN), "the client authenticates with the configured account"
        if self.failure == "timeout":
            raise requests.exceptions.ReadTimeout("HTTPSConnectionPool(host='api.twilio.com'): Read timed out.")
        if self.failure == "reset":
            raise requests.exceptions.ConnectionError("Connection reset by peer")
        if isinstance(self.failure, int):
            body = {"code": 20429 if self.failure == 429 else 20500, "message": "simulated failure",
                    "more_info": "https://www.twilio.com/docs/errors", "status": self.failure}
            if self.failure == 400:
                body["code"], body["message"] = 21211, "The 'To' number is not a valid phone number."
            return Response(self.failure, json.dumps(body))
        if not path.endswith("/Messages.json"):
            return Response(404, json.dumps({"code": 20404, "message": "not found", "status": 404}))
        if method == "POST":
            with self._lock:
                message = {
                    "sid": f"SM{len(self.created) + 1:032d}", "account_sid": ACCOUNT_SID, "to": data["To"],
                    "from": data["From"], "body": data["Body"], "status": "queued", "num_segments": "1",
                    "direction": "outbound-api", "date_created": format_datetime(self.clock(), usegmt=True),
                    "date_updated": format_datetime(self.clock(), usegmt=True), "date_sent": None,
                    "uri": f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/SM{len(self.created) + 1:032d}.json",
                }
                self.created.append(message)
            if self.lose_answer:
                self.lose_answer = False
                raise KeyboardInterrupt("the dispatcher died before Twilio's answer was committed")
            return Response(201, json.dumps(message))
        found = [m for m in reversed(self.created)
                 if m["to"] == (params or {}).get("To", m["to"]) and m["from"] == (params or {}).get("From", m["from"])]
        page = {"messages": found, "first_page_uri": path, "next_page_uri": None, "previous_page_uri": None,
                "page": 0, "page_size": 50, "start": 0, "end": len(found), "uri": path}
        return Response(200, json.dumps(page))

    def bodies_to(self, number: str) -> list[str]:
        return [m["body"] for m in self.created if m["to"] == number]


class Clock:
    """An injected clock: tests move time instead of sleeping."""

    def __init__(self, start: datetime):
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs) -> datetime:
        self.now += timedelta(**kwargs)
        return self.now


@pytest.fixture
def clock():
    # A minute after the real now: enqueue() stamps messages due at the wall clock's instant.
    return Clock(datetime.now(timezone.utc).replace(microsecond=0) + timedelta(minutes=1))


@pytest.fixture
def twilio(clock):
    return FakeTwilio(clock)


@pytest.fixture
def twilio_client(twilio):
    return Client(ACCOUNT_SID, AUTH_TOKEN, http_client=twilio)


@pytest.fixture
def credentials(app):
    app.config.update(TWILIO_ACCOUNT_SID=ACCOUNT_SID, TWILIO_AUTH_TOKEN=AUTH_TOKEN, TWILIO_FROM_NUMBER=FROM)
    return app.config
