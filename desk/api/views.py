"""Thin API views: authenticate the token, parse input, call one service, return JSON."""
from __future__ import annotations

from flask import g, jsonify, request
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException

from desk.api import bp
from desk.api.openapi import OPENAPI
from desk.audit.services import Actor
from desk.auth.services import token_for
from desk.contracts.services import get_contract, unit_with_terms
from desk.db import RETRY_AFTER_SECONDS, forget_failed_transaction
from desk.errors import DeskError, Forbidden, NotFound, ValidationFailed
from desk.extensions import csrf
from desk.incidents.services import file_ticket, get_ticket, repair_deadline
from desk.jsonbody import json_body
from desk.models import Unit, utcnow
from desk.reports.services import monthly_report
from desk.timeparse import parse_instant

csrf.exempt(bp)

TICKET_FIELDS = {"unit", "kind", "affected_cards", "description", "location", "started_at", "idempotency_key"}


def error(status: int, message: str, errors: list[str] | None = None):
    response = jsonify({"error": message, "errors": errors or [message], "status": status})
    response.status_code = status
    return response


@bp.errorhandler(DeskError)
def _desk_error(exc: DeskError):
    return error(exc.status, exc.message, exc.errors)


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException):
    return error(exc.code or 500, exc.description or exc.name)


@bp.app_errorhandler(404)
def _no_route(exc: HTTPException):
    # A URL under /api/v1 that no route takes (an id out of range fails its converter before the
    # catch-all can match) answers in JSON like the rest of the API; other 404s get the site's page.
    if request.path.startswith(bp.url_prefix + "/"):
        return _http_error(exc)
    from desk.web.helpers import http_error_page  # the site's page (this handler takes every 404)

    return http_error_page(exc)


@bp.errorhandler(OperationalError)
@bp.errorhandler(PoolTimeout)
def _database_unavailable(exc: OperationalError | PoolTimeout):
    forget_failed_transaction(exc)
    response = error(503, "the desk's database is unavailable; nothing was saved, retry later")
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


@bp.before_request
def _authenticate():
    if request.endpoint == "api.openapi":
        return None
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    token = token_for(value.strip()) if scheme.lower() == "bearer" else None
    if token is None:
        response = error(401, "a valid API token is required (Authorization: Bearer <token>)")
        response.headers["WWW-Authenticate"] = 'Bearer realm="desk"'
        return response
    g.api_token = token
    g.api_contract_ids = token.contract_ids
    return None


def _check_scope(contract_id: int) -> None:
    if contract_id not in g.api_contract_ids:
        raise Forbidden("this token is not scoped to that contract")


def _actor() -> Actor:
    return Actor.system(f"api:{g.api_token.prefix}")


@bp.get("/openapi.json")
def openapi():
    return jsonify(OPENAPI)


@bp.get("/contracts/<code>/sla/<month>")
def sla_report(code: str, month: str):
    unknown = sorted(set(request.args) - {"as_of"})
    if unknown:  # a misspelt as_of must not silently give today's report
        raise ValidationFailed("unknown query parameters", errors=[f"{name}: unknown parameter" for name in unknown])
    contract = get_contract(code)
    _check_scope(contract.id)
    as_of = None
    if request.args.get("as_of"):
        try:
            as_of = parse_instant(request.args["as_of"], contract.timezone)
        except ValueError as exc:
            # An unescaped "+" of an offset arrives as a space: say so rather than just refuse.
            hint = "; in a URL write the offset's + as %2B" if " " in request.args["as_of"] else ""
            raise ValidationFailed(f"as_of: {exc}{hint}")
    return jsonify(monthly_report(code, month, as_of))


def ticket_json(ticket) -> dict:
    incident = ticket.incident
    deadline = repair_deadline(incident)
    return {
        "id": ticket.id,
        "number": ticket.number,
        "contract": ticket.incident.contract.code,
        "unit": ticket.unit.code if ticket.unit else None,
        "channel": ticket.channel,
        "kind": ticket.kind,
        "affected_cards": ticket.affected_cards,
        "description": ticket.description,
        "location": ticket.location,
        "reported_at": ticket.reported_at.isoformat(),
        "incident": {
            "id": incident.id,
            "status": incident.status,
            "reported_at": incident.reported_at.isoformat(),
            "started_at": incident.started_at.isoformat(),
            "restored_at": incident.restored_at.isoformat() if incident.restored_at else None,
            "cause": incident.cause,
            "cause_confirmed": incident.cause_confirmed,
            "repair_deadline": deadline.isoformat() if deadline else None,
        },
    }


@bp.post("/tickets")
def create_ticket():
    if not request.is_json:
        return error(415, "send the fault report as JSON (Content-Type: application/json)")
    body = json_body()
    if not isinstance(body, dict):
        raise ValidationFailed("the body must be a JSON object")
    unknown = sorted(set(body) - TICKET_FIELDS)
    errors = [f"{k}: unknown field" for k in unknown]
    for name in ("unit", "kind"):
        if not isinstance(body.get(name), str) or not body.get(name):
            errors.append(f"{name}: required text")
    for name in ("description", "location", "started_at", "idempotency_key"):
        if name in body and body[name] is not None and not isinstance(body[name], str):
            errors.append(f"{name}: must be text")
    cards = body.get("affected_cards")
    if cards is not None and (not isinstance(cards, int) or isinstance(cards, bool)):
        errors.append("affected_cards: must be a whole number")
    key = request.headers.get("Idempotency-Key") or body.get("idempotency_key")
    if isinstance(key, str) and (not key or len(key) > 150):  # not text: named above
        errors.append("idempotency_key: 1 to 150 characters")
    if errors:
        raise ValidationFailed("the fault report was refused", errors=errors)
    unit = unit_with_terms(Unit.code == body["unit"])
    if unit is None:
        raise ValidationFailed("the fault report was refused", errors=[f"unit: no unit with code {body['unit']!r}"])
    _check_scope(unit.contract_id)
    started_at = None
    if body.get("started_at"):
        try:
            started_at = parse_instant(body["started_at"], unit.contract.timezone)
        except ValueError as exc:
            raise ValidationFailed("the fault report was refused", errors=[f"started_at: {exc}"])
    ticket, created = file_ticket(
        _actor(), unit=unit, kind=body["kind"], channel="api", description=body.get("description") or "",
        location=body.get("location") or "", affected_cards=cards, started_at=started_at,
        reported_at=utcnow(), idempotency_key=f"api:{g.api_token.id}:{key}" if key else None,
    )
    response = jsonify(ticket_json(ticket))
    response.status_code = 201 if created else 200
    response.headers["Location"] = f"/api/v1/tickets/{ticket.id}"
    return response


@bp.get("/tickets/<int:ticket_id>")
def read_ticket(ticket_id: int):
    ticket = get_ticket(ticket_id)
    if ticket is None:
        raise NotFound(f"no ticket {ticket_id}")
    _check_scope(ticket.contract_id)
    return jsonify(ticket_json(ticket))


@bp.route("/<path:unknown>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def unknown_endpoint(unknown: str):
    # Unmatched URLs under /api/v1 answer in JSON like the rest of the API, not with an HTML page.
    raise NotFound(f"no API endpoint /api/v1/{unknown}")
