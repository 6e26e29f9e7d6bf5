"""Twilio's Messages API on loopback, for processes the tests start: the real SDK in the scheduler
process talks HTTP to it (TWILIO_API_BASE_URL), so the network edge is the only thing replaced."""
from __future__ import annotations

import base64
import json
import threading
from datetime import datetime, timezone
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

ACCOUNT_SID = "AC" + "1" * 32
AUTH_TOKEN = "scheduler-test-token"
FROM = "+15005550006"


class TwilioServer:
    def __init__(self):
        self.created: list[dict] = []
        self.paths: list[str] = []  # every request's path, as it arrived
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def _authorised(self) -> bool:
                expected = "Basic " + base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
                return self.headers.get("Authorization") == expected

            def _answer(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self):
                server.paths.append(self.path)
                length = int(self.headers.get("Content-Length", "0"))
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                if not self._authorised() or not self.path.endswith("/Messages.json"):
                    return self._answer(401, {"code": 20003, "message": "Authenticate", "status": 401})
                now = format_datetime(datetime.now(timezone.utc), usegmt=True)
                with server.lock:
                    sid = f"SM{len(server.created) + 1:032d}"
                    message = {"sid": sid, "account_sid": ACCOUNT_SID, "to": form["To"], "from": form["From"],
                               "body": form["Body"], "status": "queued", "date_created": now, "date_updated": now,
                               "direction": "outbound-api", "num_segments": "1"}
                    server.created.append(message)
                self._answer(201, message)

            def do_GET(self):
                if not self._authorised():
                    return self._answer(401, {"code": 20003, "message": "Authenticate", "status": 401})
                url = urlparse(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                with server.lock:
                    found = [m for m in reversed(server.created)
                             if m["to"] == query.get("To", m["to"]) and m["from"] == query.get("From", m["from"])]
                self._answer(200, {"messages": found[:50], "first_page_uri": url.path, "next_page_uri": None,
                                   "previous_page_uri": None, "page": 0, "page_size": 50, "start": 0,
                                   "end": len(found), "uri": url.path})

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> "TwilioServer":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def env(self) -> dict[str, str]:
        return {"TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": AUTH_TOKEN, "TWILIO_FROM_NUMBER": FROM,
                "TWILIO_API_BASE_URL": self.url}
