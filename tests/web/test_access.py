"""Who may open what: one row for every rule of app.url_map, one column for anonymous, each role,
and users of another unit and another contract. A route added without a row fails this test.

POSTs are sent with an empty form, so a role that passes the permission check meets a refusal
of its input (422) or a refused transition (409), or — for actions that need no input — the
action itself (303). What must never happen is a 200/303 where the table says 403 or 404.
"""
from __future__ import annotations

import pytest

from desk.audit.services import Actor
from desk.auth.services import create_api_token
from desk.db import transaction
from desk.outbox.services import enqueue

ANON = "anonymous"
COLUMNS = (ANON, "reporter", "reporter_other_unit", "reporter_other_contract", "unit_manager",
           "unit_manager_other", "engineer", "engineer_other", "carrier_manager", "carrier_manager_other", "admin")
IN_SCOPE = ("reporter", "unit_manager", "engineer", "carrier_manager", "admin")
OUT_OF_SCOPE = ("reporter_other_unit", "reporter_other_contract", "unit_manager_other", "engineer_other",
                "carrier_manager_other")
LOGIN, REDIRECT, OK = "login", "redirect", "ok"  # 302 to the sign-in page / 302 elsewhere / permission passed


def everyone(value, anon=None) -> dict:
    row = {c: value for c in COLUMNS}
    row[ANON] = LOGIN if anon is None else anon
    return row


def incident_route(allowed: tuple[str, ...], passed=OK) -> dict:
    """An incident's page or action: outside the scope 404, inside it the role decides (403)."""
    row = {ANON: LOGIN}
    row.update({c: 404 for c in OUT_OF_SCOPE})
    row.update({c: passed if c in allowed else 403 for c in IN_SCOPE})
    return row


def role_route(allowed: tuple[str, ...], passed=OK, *, scoped: bool = False) -> dict:
    """A page or action a role opens at all (403 otherwise); scoped to the XJGAT contract if asked."""
    row = {ANON: LOGIN}
    for c in COLUMNS[1:]:
        role = c.removesuffix("_other_unit").removesuffix("_other_contract").removesuffix("_other")
        if role not in allowed:
            row[c] = 403
        elif scoped and c in OUT_OF_SCOPE:
            row[c] = 404
        else:
            row[c] = passed
    return row


CARRIER = ("engineer", "carrier_manager")
CUSTOMER = ("reporter", "unit_manager")
ALL_PEOPLE = ("reporter", "unit_manager", "engineer", "carrier_manager", "admin")
VIEWERS = ("unit_manager", "engineer", "carrier_manager", "admin")

# (method, rule) → expected outcome per column.
ACCESS = {
    ("GET", "/static/<path:filename>"): everyone(200, anon=200),
    # sign-in and language
    ("GET", "/"): everyone(REDIRECT),
    ("GET", "/login"): everyone(REDIRECT, anon=200),
    ("POST", "/login"): everyone(REDIRECT, anon=401),
    ("POST", "/language"): everyone(422, anon=422),
    ("POST", "/logout"): everyone(LOGIN),
    # the signed-in user's own sessions
    ("GET", "/account/sessions"): everyone(200),
    ("POST", "/account/sessions/end-others"): everyone(OK),
    # tickets and incidents
    ("GET", "/tickets/new"): role_route(("reporter", "unit_manager", "engineer", "carrier_manager"), 200),
    ("POST", "/tickets/new"): role_route(("reporter", "unit_manager", "engineer", "carrier_manager")),
    ("GET", "/tickets/<int:ticket_id>"): incident_route(ALL_PEOPLE, REDIRECT),
    ("GET", "/incidents/<int:incident_id>"): incident_route(ALL_PEOPLE, 200),
    ("GET", "/attachments/<int:attachment_id>"): incident_route(ALL_PEOPLE, 200),
    ("POST", "/incidents/<int:incident_id>/comments"): incident_route(CUSTOMER + CARRIER),
    ("POST", "/incidents/<int:incident_id>/attachments"): incident_route(CUSTOMER + CARRIER),
    ("POST", "/incidents/<int:incident_id>/acknowledge"): incident_route(CARRIER),
    ("POST", "/incidents/<int:incident_id>/assign"): incident_route(CARRIER),
    ("POST", "/incidents/<int:incident_id>/merge"): incident_route(CARRIER),
    ("POST", "/incidents/<int:incident_id>/started"): incident_route(CARRIER),
    ("POST", "/incidents/<int:incident_id>/restore"): incident_route(CARRIER),
    ("POST", "/incidents/<int:incident_id>/cause"): incident_route(CARRIER),
    ("POST", "/incidents/<int:incident_id>/restoration/confirm"): incident_route(CUSTOMER),
    ("POST", "/incidents/<int:incident_id>/restoration/dispute"): incident_route(CUSTOMER),
    ("POST", "/incidents/<int:incident_id>/cause/confirm"): incident_route(("unit_manager",)),
    ("POST", "/incidents/<int:incident_id>/cause/dispute"): incident_route(("unit_manager",)),
    # lists
    ("GET", "/incidents"): role_route(ALL_PEOPLE, 200),
    ("GET", "/queue"): role_route(("engineer", "carrier_manager", "admin"), 200),
    # contracts
    ("GET", "/contracts"): role_route(VIEWERS, 200),
    ("GET", "/contracts/<code>"): role_route(VIEWERS, 200, scoped=True),
    # the monthly SLA report page and its downloads
    ("GET", "/contracts/<code>/reports/<month>"): role_route(VIEWERS, 200, scoped=True),
    ("GET", "/contracts/<code>/reports/<month>/<fmt>"): role_route(VIEWERS, 200, scoped=True),
    ("POST", "/contracts/<code>/payments"): role_route(("carrier_manager",), scoped=True),
    ("POST", "/contracts/<code>/maintenance"): role_route(("carrier_manager",), scoped=True),
    ("POST", "/contracts/<code>/termination"): role_route(("unit_manager",), scoped=True),
    # administration
    ("GET", "/admin/"): role_route(("admin",), 200),
    ("POST", "/admin/users"): role_route(("admin",)),
    ("POST", "/admin/users/<int:user_id>/active"): role_route(("admin",)),
    ("POST", "/admin/users/<int:user_id>/password"): role_route(("admin",)),
    ("GET", "/admin/contracts"): role_route(("admin",), 200),
    ("POST", "/admin/contracts"): role_route(("admin",)),
    ("GET", "/admin/contracts/<code>"): role_route(("admin",), 200),
    ("GET", "/admin/tokens"): role_route(("admin",), 200),
    ("POST", "/admin/tokens"): role_route(("admin",)),
    ("POST", "/admin/tokens/<int:token_id>/revoke"): role_route(("admin",)),
    ("GET", "/admin/outbox"): role_route(("admin",), 200),
    ("POST", "/admin/outbox/<int:message_id>/requeue"): role_route(("admin",)),
    # Twilio's webhooks take a valid X-Twilio-Signature only: nobody else gets in, signed in or not
    **{("POST", rule): everyone(403, anon=403) for rule in (
        "/hotline/voice", "/hotline/voice/menu", "/hotline/voice/unit", "/hotline/voice/pin",
        "/hotline/voice/kind", "/hotline/voice/recorded", "/hotline/voice/status",
        "/hotline/voice/status-callback", "/hotline/sms", "/hotline/sms/status")},
    # the JSON API takes bearer tokens only: a browser session opens nothing there
    ("GET", "/api/v1/openapi.json"): everyone(200, anon=200),
    ("GET", "/api/v1/contracts/<code>/sla/<month>"): everyone(401, anon=401),
    ("POST", "/api/v1/tickets"): everyone(401, anon=401),
    ("GET", "/api/v1/tickets/<int:ticket_id>"): everyone(401, anon=401),
    **{(method, "/api/v1/<path:unknown>"): everyone(401, anon=401)
       for method in ("GET", "POST", "PUT", "PATCH", "DELETE")},
}


def rules_of(app) -> list[tuple[str, str]]:
    found = []
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            found.append((method, rule.rule))
    # Signing out ends the session the other rows use: last.
    return sorted(found, key=lambda r: r == ("POST", "/logout"))


def test_every_route_has_a_row(app):
    missing = [r for r in rules_of(app) if r not in ACCESS]
    assert not missing, f"add these routes to ACCESS in {__file__}: {missing}"


def _matches(expected, response) -> bool:
    location = response.headers.get("Location", "")
    if expected == LOGIN:
        return response.status_code == 302 and location.startswith("/login")
    if expected == REDIRECT:
        return response.status_code in (302, 303) and not location.startswith("/login")
    if expected == OK:
        return response.status_code in (201, 303, 409, 422)
    return response.status_code == expected


def route_values(world) -> dict:
    """A value for every URL parameter of the rules, from the world (and a token and a message)."""
    token = create_api_token(Actor.system("test"), "probe", ["XJGAT-POOL-2025"])[0]
    with transaction():
        message = enqueue("+8613800000000", "probe", "access-probe")
    return {
        "incident_id": world.incident.id, "ticket_id": world.ticket_id, "attachment_id": world.attachment_id,
        "code": "XJGAT-POOL-2025", "month": "2025-06", "user_id": world.users["reporter"].id,
        "token_id": token.id, "filename": "desk.css", "unknown": "nothing-here",
        "fmt": "csv", "message_id": message.id,
    }


def fill(rule: str, values: dict) -> str:
    path = rule
    for name, value in values.items():
        for converter in ("", "int:", "path:"):
            path = path.replace(f"<{converter}{name}>", str(value))
    assert "<" not in path, f"no value for a parameter of {rule}"
    return path


def test_access_table(app, world, signin):
    values = route_values(world)
    clients = {ANON: app.test_client()}
    clients.update({name: signin(name) for name in COLUMNS[1:]})
    failures = []
    for method, rule in rules_of(app):
        if (method, rule) not in ACCESS:
            continue
        path = fill(rule, values)
        for column in COLUMNS:
            response = clients[column].open(path, method=method, data={})
            expected = ACCESS[(method, rule)][column]
            if not _matches(expected, response):
                failures.append(f"{method} {rule} as {column}: expected {expected}, got {response.status_code} "
                                f"{response.headers.get('Location', '')}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("name", ["reporter_other_unit", "reporter_other_contract", "unit_manager_other",
                                  "engineer_other", "carrier_manager_other"])
def test_another_units_user_changes_nothing(app, world, signin, name):
    """Every POST on the incident, by a user outside its scope, leaves the incident and its log as they were."""
    from sqlalchemy import func, select

    from desk.extensions import db
    from desk.models import AuditEntry

    client = signin(name)
    before = db.session.execute(select(func.count()).select_from(AuditEntry)).scalar_one()
    for (method, rule) in ACCESS:
        if method == "POST" and "<int:incident_id>" in rule:
            path = rule.replace("<int:incident_id>", str(world.incident.id))
            form = {"body": "x", "reason": "x", "cause": "customer", "evidence": "x", "note": "x",
                    "started_at": "2025-01-01T00:00", "engineer": str(world.users[name].id),
                    "duplicate": str(world.other_incident.id)}
            assert client.post(path, data=form).status_code == 404, path
    db.session.expire_all()
    after = db.session.execute(select(func.count()).select_from(AuditEntry)).scalar_one()
    assert after == before
    assert world.incident.status == "open" and world.incident.cause == "undetermined"
