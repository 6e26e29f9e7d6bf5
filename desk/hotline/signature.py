"""Twilio's request signature (X-Twilio-Signature), checked with the SDK's RequestValidator.

Twilio signs the URL it called, so behind a reverse proxy the desk must see the public URL:
either the proxy's X-Forwarded-Proto/Host (trusted for DESK_PROXY_HOPS hops, applied by
ProxyFix in create_app) or, where the proxy sends none, DESK_PUBLIC_URL.
"""
from __future__ import annotations

import logging

from flask import Response, current_app, request
from twilio.request_validator import (
    SIGNATURE_HEADER,
    SIGNATURE_SETTINGS_HEADER,
    RequestValidator,
    get_signature_algorithm,
)

log = logging.getLogger(__name__)


def signed_url() -> str:
    """The URL Twilio signed, as the public sees it."""
    public = current_app.config.get("DESK_PUBLIC_URL", "")
    if public:
        query = request.query_string.decode("latin-1")
        return public + request.path + (f"?{query}" if query else "")
    return request.url


def check_signature() -> Response | None:
    """A before_request hook: a missing or wrong signature is answered 403 before any work."""
    token = current_app.config.get("TWILIO_AUTH_TOKEN", "")
    signature = request.headers.get(SIGNATURE_HEADER, "")
    if not token:
        log.error("hotline: TWILIO_AUTH_TOKEN is not set, so no Twilio request can be trusted")
        return Response("the hotline is not configured\n", status=403, mimetype="text/plain")
    algorithm = get_signature_algorithm(request.headers.get(SIGNATURE_SETTINGS_HEADER, ""))
    if not signature or not RequestValidator(token).validate(signed_url(), request.form, signature,
                                                             algorithm=algorithm):
        log.warning("hotline: refused a request to %s with a %s signature", signed_url(),
                    "wrong" if signature else "missing")
        return Response("invalid Twilio signature\n", status=403, mimetype="text/plain")
    return None
