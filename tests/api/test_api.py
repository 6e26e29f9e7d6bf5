"""The JSON API: token auth and scope, the report of spec §5, filing and reading tickets."""
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from desk.audit.services import Actor
from desk.auth.services import create_api_token, revoke_api_token
from desk.incidents.imports import import_incidents

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
ACTOR = Actor.system("test")


@pytest.fixture
def token(contracts_running_on):
    return create_api_token(ACTOR, "xjgat-integration", ["XJGAT-POOL-2025"])[1]


@pytest.fixture
def qmga_token(contracts_running_on):
    return create_api_token(ACTOR, "qmga-integration", ["QMGA-JWT-2025"])[1]


def auth(token):
    return {"Authorization": f"Bearer {token}"}


def test_without_token_401_with_json_body(client, contracts):
    for headers in ({}, {"Authorization": "Bearer desk_wrong"}, {"Authorization": "Basic abc"}):
        response = client.get("/api/v1/contracts/XJGAT-POOL-2025/sla/2025-06", headers=headers)
        assert response.status_code == 401
        assert response.json["status"] == 401 and response.json["error"]


def test_revoked_token_401(client, contracts, token):
    revoke_api_token(ACTOR, token[:12])
    assert client.get("/api/v1/contracts/XJGAT-POOL-2025/sla/2025-06", headers=auth(token)).status_code == 401


def test_scope_403_and_unknown_404(client, token):
    forbidden = client.get("/api/v1/contracts/QMGA-JWT-2025/sla/2025-06", headers=auth(token))
    assert forbidden.status_code == 403 and "scoped" in forbidden.json["error"]
    missing = client.get("/api/v1/contracts/NOPE/sla/2025-06", headers=auth(token))
    assert missing.status_code == 404
    assert client.get("/api/v1/tickets/999999", headers=auth(token)).status_code == 404
    assert client.get("/api/v1/nothing-here", headers=auth(token)).json["status"] == 404


def test_a_token_of_two_contracts_reaches_both_and_no_other(client, contracts_running_on):
    """The token and its contracts are read in one statement, a row per contract."""
    both = create_api_token(ACTOR, "both", ["XJGAT-POOL-2025", "QMGA-JWT-2025"])[1]
    one = create_api_token(ACTOR, "one", ["QMGA-JWT-2025"])[1]
    for code in ("XJGAT-POOL-2025", "QMGA-JWT-2025"):
        assert client.get(f"/api/v1/contracts/{code}/sla/2025-06", headers=auth(both)).status_code == 200
    assert client.get("/api/v1/contracts/XJGAT-POOL-2025/sla/2025-06", headers=auth(one)).status_code == 403
    revoke_api_token(ACTOR, both[:12])
    assert client.get("/api/v1/contracts/QMGA-JWT-2025/sla/2025-06", headers=auth(both)).status_code == 401


def test_report_bad_month_and_as_of_422(client, token):
    assert client.get("/api/v1/contracts/XJGAT-POOL-2025/sla/2025-6", headers=auth(token)).status_code == 422
    bad = client.get("/api/v1/contracts/XJGAT-POOL-2025/sla/2025-06?as_of=soon", headers=auth(token))
    assert bad.status_code == 422 and "as_of" in bad.json["error"]
    unescaped = client.get("/api/v1/contracts/XJGAT-POOL-2025/sla/2025-06?as_of=2025-07-05T00:00+08:00",
                           headers=auth(token))
    assert unescaped.status_code == 422 and "%2B" in unescaped.json["error"]


@pytest.mark.parametrize("month, status", [("0000-06", 422), ("1969-12", 422), ("9999-12", 422),
                                           ("1970-01", 200), ("9998-12", 200)])
def test_report_month_outside_the_calendar_422(client, qmga_token, month, status):
    # Year 0 and 9999-12 passed the YYYY-MM check, then month_bounds raised ValueError: a 500.
    response = client.get(f"/api/v1/contracts/QMGA-JWT-2025/sla/{month}", headers=auth(qmga_token))
    assert response.status_code == status and response.is_json
    if status == 422:
        assert response.json["errors"] == ["month: must be from 1970-01 to 9998-12"]


def test_worked_example_through_api(client, qmga_token):
    import_incidents("QMGA-JWT-2025", (FIXTURES / "qmga-2025-06.csv").read_bytes(), ACTOR)
    response = client.get("/api/v1/contracts/QMGA-JWT-2025/sla/2025-06?as_of=2025-07-01T00:10:00%2B08:00",
                          headers=auth(qmga_token))
    assert response.status_code == 200
    totals = response.json["totals"]
    assert totals["day_waiver_total"] == "1689.50"
    assert totals["outage_hours"] == "13.48"
    assert response.json["as_of"].startswith("2025-06-30T16:10:00")


def test_xjgat_strikes_through_api(client, token):
    import_incidents("XJGAT-POOL-2025", (FIXTURES / "xjgat-2025.csv").read_bytes(), ACTOR)
    july = client.get("/api/v1/contracts/XJGAT-POOL-2025/sla/2025-07?as_of=2025-07-31T23:00", headers=auth(token))
    assert july.json["totals"]["strikes_to_date"] == 3
    assert july.json["totals"]["termination_right"] is True
    assert july.json["totals"]["termination_penalty"] == "191820.00"


def test_file_and_read_ticket(client, token):
    response = client.post("/api/v1/tickets", headers=auth(token),
                           json={"unit": "XJGAT", "kind": "interruption", "description": "全区APN无法接入",
                                 "location": "乌鲁木齐"})
    assert response.status_code == 201, response.json
    ticket = response.json
    reported = datetime.fromisoformat(ticket["incident"]["reported_at"])
    deadline = datetime.fromisoformat(ticket["incident"]["repair_deadline"])
    assert deadline - reported == timedelta(hours=4)  # 四.(三)
    assert ticket["affected_cards"] == 3360 and ticket["contract"] == "XJGAT-POOL-2025"
    assert abs(reported - datetime.now(timezone.utc)) < timedelta(minutes=1)
    again = client.get(f"/api/v1/tickets/{ticket['id']}", headers=auth(token))
    assert again.status_code == 200 and again.json == ticket
    assert response.headers["Location"] == f"/api/v1/tickets/{ticket['id']}"


def test_idempotency_key_returns_the_first_ticket(client, token):
    body = {"unit": "XJGAT", "kind": "degradation"}
    first = client.post("/api/v1/tickets", headers={**auth(token), "Idempotency-Key": "k-1"}, json=body)
    second = client.post("/api/v1/tickets", headers={**auth(token), "Idempotency-Key": "k-1"}, json=body)
    assert first.status_code == 201 and second.status_code == 200
    assert first.json["id"] == second.json["id"]


def test_idempotency_key_reused_for_another_report_422(client, token):
    from desk.extensions import db
    from desk.models import Ticket
    from sqlalchemy import func, select

    headers = {**auth(token), "Idempotency-Key": "k-2"}
    first = client.post("/api/v1/tickets", headers=headers,
                        json={"unit": "XJGAT", "kind": "degradation", "description": "第一次"})
    assert first.status_code == 201
    for body, differs in (({"unit": "XJGAT", "kind": "interruption", "description": "第一次"}, ["kind"]),
                          ({"unit": "XJGAT", "kind": "degradation", "description": "另一起"}, ["description"]),
                          ({"unit": "XJGAT", "kind": "bogus"}, ["kind", "description"])):
        again = client.post("/api/v1/tickets", headers=headers, json=body)
        assert again.status_code == 422, again.json
        assert first.json["number"] in again.json["error"]
        assert [e.split(":")[0] for e in again.json["errors"]] == differs
    # The same report again is still the first ticket, and only one was ever filed.
    same = client.post("/api/v1/tickets", headers=headers,
                       json={"unit": "XJGAT", "kind": "degradation", "description": "第一次", "affected_cards": 3360})
    assert same.status_code == 200 and same.json["id"] == first.json["id"]
    assert db.session.execute(select(func.count()).select_from(Ticket)).scalar_one() == 1


def test_a_reused_key_is_compared_on_the_cards_and_start_it_was_given(client, token):
    """affected_cards and started_at are compared when a replay gives them; left out, they are
    the first report's (all cards, its own start)."""
    from desk.extensions import db
    from desk.models import AuditEntry, Ticket
    from sqlalchemy import func, select

    headers = {**auth(token), "Idempotency-Key": "k-3"}
    began = (datetime.now(timezone.utc) - timedelta(hours=1)).replace(microsecond=0)
    body = {"unit": "XJGAT", "kind": "interruption", "affected_cards": 12, "started_at": began.isoformat()}
    first = client.post("/api/v1/tickets", headers=headers, json=body)
    assert first.status_code == 201, first.json
    audit = db.session.execute(select(func.count()).select_from(AuditEntry)).scalar_one()
    for change, differs in (({"affected_cards": 13}, ["affected_cards"]),
                            ({"started_at": (began - timedelta(minutes=1)).isoformat()}, ["started_at"]),
                            ({"unit": "XJGAT", "location": "喀什"}, ["location"])):
        again = client.post("/api/v1/tickets", headers=headers, json={**body, **change})
        assert again.status_code == 422, again.json
        number = first.json["number"]
        assert again.json["error"] == f"idempotency key already used for ticket {number}, a different report"
        assert again.json["errors"] == [f"{name}: differs from the report first filed with this key"
                                        for name in differs]
    # The same report, with or without the cards and start it first gave, is the first ticket.
    for replay in (body, {"unit": "XJGAT", "kind": "interruption"}):
        same = client.post("/api/v1/tickets", headers=headers, json=replay)
        assert same.status_code == 200 and same.json["id"] == first.json["id"]
    assert db.session.execute(select(func.count()).select_from(Ticket)).scalar_one() == 1
    assert db.session.execute(select(func.count()).select_from(AuditEntry)).scalar_one() == audit


def test_ticket_of_another_contract_403(client, token, qmga_token):
    other = client.post("/api/v1/tickets", headers=auth(qmga_token), json={"unit": "QMGA", "kind": "interruption"})
    assert other.status_code == 201
    assert client.get(f"/api/v1/tickets/{other.json['id']}", headers=auth(token)).status_code == 403
    cross = client.post("/api/v1/tickets", headers=auth(token), json={"unit": "QMGA", "kind": "interruption"})
    assert cross.status_code == 403


@pytest.mark.parametrize(
    "body, fragment",
    [
        ({"kind": "interruption"}, "unit"),
        ({"unit": "XJGAT", "kind": "outage"}, "kind"),
        ({"unit": "XJGAT", "kind": "interruption", "affected_cards": 0}, "affected_cards"),
        ({"unit": "XJGAT", "kind": "interruption", "affected_cards": 3361}, "affected_cards"),
        ({"unit": "XJGAT", "kind": "interruption", "affected_cards": "12"}, "affected_cards"),
        ({"unit": "XJGAT", "kind": "interruption", "started_at": "later"}, "started_at"),
        # A mistyped year would waive every month since (六.(六)); a week is the most a report goes back.
        ({"unit": "XJGAT", "kind": "interruption", "started_at": "1900-01-01T00:00"}, "started_at: at most 7 days"),
        ({"unit": "XJGAT", "kind": "interruption",
          "started_at": (datetime.now(timezone.utc) - timedelta(days=8)).isoformat()}, "started_at: at most 7 days"),
        ({"unit": "XJGAT", "kind": "interruption", "colour": "red"}, "unknown field"),
        ({"unit": "NOPE", "kind": "interruption"}, "no unit"),
        ({"unit": "XJGAT", "kind": "interruption", "description": "x" * 4001}, "description"),
    ],
)
def test_bad_ticket_422(client, token, body, fragment):
    response = client.post("/api/v1/tickets", headers=auth(token), json=body)
    assert response.status_code == 422
    assert any(fragment in e for e in response.json["errors"]), response.json


def test_a_report_may_say_its_interruption_began_days_before(client, token):
    began = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(days=6)
    response = client.post("/api/v1/tickets", headers=auth(token),
                           json={"unit": "XJGAT", "kind": "interruption", "started_at": began.isoformat()})
    assert response.status_code == 201
    assert datetime.fromisoformat(response.json["incident"]["started_at"]) == began


def test_non_json_415_and_non_object_422(client, token):
    assert client.post("/api/v1/tickets", headers=auth(token), data="unit=XJGAT").status_code == 415
    assert client.post("/api/v1/tickets", headers=auth(token), json=[1, 2]).status_code == 422


def test_openapi_document_is_public(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert set(response.json["paths"]) == {"/contracts/{code}/sla/{month}", "/tickets", "/tickets/{ticket_id}"}


def test_token_stored_hashed(contracts, token):
    from sqlalchemy import select

    from desk.extensions import db
    from desk.models import ApiToken

    row = db.session.execute(select(ApiToken)).scalar_one()
    assert token not in (row.token_hash, row.prefix) and len(row.token_hash) == 64


def _tickets() -> int:
    from sqlalchemy import func, select

    from desk.extensions import db
    from desk.models import Ticket

    return db.session.execute(select(func.count()).select_from(Ticket)).scalar_one()


@pytest.mark.parametrize("body, fragment", [
    # JSON's \ud800 escape decodes to a lone surrogate, which UTF-8 (so the INSERT) cannot encode: once a 500.
    (b'{"unit": "XJGAT", "kind": "interruption", "description": "\\ud800"}',
     "description: is not valid Unicode (a lone surrogate)"),
    (b'{"unit": "XJGAT", "kind": "interruption", "location": "a\\udfffb"}',
     "location: is not valid Unicode (a lone surrogate)"),
    (b'{"unit": "XJGAT", "kind": "interruption", "\\ud800": "x"}', "key: is not valid Unicode (a lone surrogate)"),
])
def test_lone_surrogate_is_refused_naming_the_field(client, token, body, fragment):
    response = client.post("/api/v1/tickets", data=body, headers=auth(token), content_type="application/json")
    assert response.status_code == 422 and response.is_json
    assert fragment in response.json["errors"], response.json
    assert _tickets() == 0


def test_surrogate_pair_is_one_character_and_kept(client, token):
    response = client.post("/api/v1/tickets", data=b'{"unit": "XJGAT", "kind": "interruption", '
                                                    b'"description": "\\ud83d\\ude93"}',
                           headers=auth(token), content_type="application/json")
    assert response.status_code == 201 and response.json["description"] == "🚓"


@pytest.mark.parametrize("depth", [100_000, 500, 33])
def test_json_nested_too_deeply_is_400(client, token, depth):
    # 100,000 levels once hit the recursion limit inside the before_request check (a 500); 500 levels
    # parse, but no desk document is deeper than 32.
    body = b"[" * depth + b"]" * depth
    response = client.post("/api/v1/tickets", data=body, headers=auth(token), content_type="application/json")
    assert response.status_code == 400 and response.is_json
    assert response.json["error"] == "JSON nested too deeply", response.json
    assert _tickets() == 0


def test_json_nested_within_the_limit_reaches_the_view(client, token):
    response = client.post("/api/v1/tickets", data=b"[" * 32 + b"]" * 32, headers=auth(token),
                           content_type="application/json")
    assert response.status_code == 422 and response.json["error"] == "the body must be a JSON object"


@pytest.mark.parametrize("body, error, detail", [
    # Both once answered "the body must be a JSON object", which sent the client looking in the wrong place.
    (b'{"unit": "XJGAT", "kind": ', "the body is not valid JSON", "line 1 column 27"),
    (b"{'unit': 'XJGAT'}", "the body is not valid JSON", "double quotes"),
    (b"", "the body is not valid JSON", "Expecting value"),
    (b'{"unit": "XJGAT", "kind": "\xff"}', "the body is not UTF-8", "byte 27"),
    (b'{"unit": "\xd6\xd0\xce\xc4", "kind": "interruption"}', "the body is not UTF-8", "byte 10"),  # GBK
    ('{"unit": "XJGAT", "kind": "interruption"}'.encode("utf-16"), "the body is not UTF-8", "utf-16"),
])
def test_invalid_or_non_utf8_json_is_400_saying_which(client, token, body, error, detail):
    response = client.post("/api/v1/tickets", data=body, headers=auth(token), content_type="application/json")
    assert response.status_code == 400 and response.is_json
    assert response.json["error"] == error and detail in response.json["errors"][0], response.json
    assert _tickets() == 0


def test_valid_json_that_is_not_an_object_is_still_422(client, token):
    for body in (b"[1, 2]", b'"XJGAT"', b"null", b"3"):
        response = client.post("/api/v1/tickets", data=body, headers=auth(token), content_type="application/json")
        assert response.status_code == 422 and response.json["error"] == "the body must be a JSON object", body
    assert _tickets() == 0


def test_utf8_json_with_a_byte_order_mark_is_read(client, token):
    body = '\ufeff{"unit": "XJGAT", "kind": "interruption", "description": "基站断电"}'.encode()
    response = client.post("/api/v1/tickets", data=body, headers=auth(token), content_type="application/json")
    assert response.status_code == 201 and response.json["description"] == "基站断电"
