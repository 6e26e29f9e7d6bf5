"""Twilio's API at another address: a Twilio-compatible SMS gateway, or a recording double in tests.

TWILIO_API_BASE_URL (e.g. http://127.0.0.1:8099, or https://gateway.example/twilio) replaces the
scheme and host of every request the real SDK makes and puts its path, if any, before the SDK's;
the rest of the path, authentication and payloads are the SDK's own. Empty: api.twilio.com.
"""
from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from twilio.http.http_client import TwilioHttpClient


class GatewayHttpClient(TwilioHttpClient):
    def __init__(self, base_url: str, **kwargs):
        super().__init__(**kwargs)
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"TWILIO_API_BASE_URL: {base_url!r} is not an http(s) URL")
        # A gateway behind a path (/twilio) is reached at that path, not at its host's root.
        self.scheme, self.netloc, self.prefix = parts.scheme, parts.netloc, parts.path.rstrip("/")

    def request(self, method, url, params=None, data=None, headers=None, auth=None, timeout=None,
                allow_redirects=False):
        parts = urlsplit(url)
        url = urlunsplit((self.scheme, self.netloc, self.prefix + parts.path, parts.query, parts.fragment))
        return super().request(method, url, params=params, data=data, headers=headers, auth=auth,
                               timeout=timeout, allow_redirects=allow_redirects)
