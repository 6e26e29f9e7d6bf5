"""Schemathesis over the API's published OpenAPI document, in process through the WSGI app, with a
real token: no 5xx, every answer as the document describes (status, content type, body schema)."""
from __future__ import annotations

from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.config import SchemathesisConfig

from desk.api.openapi import OPENAPI
from desk.audit.services import Actor
from desk.auth.services import create_api_token
from desk.extensions import db
from desk.incidents.services import file_ticket
from desk.models import Unit

MAX_EXAMPLES = 60  # per operation and mode: the three operations finish in well under a minute

# What a well-formed request can still get wrong, which no schema can say: a unit code that does not
# exist, a start after the report, a month outside the contract, a NUL character (which PostgreSQL cannot
# store). Those (and only those) may answer 422 to schema-valid data; everything else must be accepted.
SEMANTIC_FIELDS = ("unit:", "unit ", "started_at:", "affected_cards:", "month", "as_of:")
NUL = "contains a NUL character"  # text PostgreSQL cannot store, refused for every field
# An Idempotency-Key the generator reuses with another body: refused, not answered with the first ticket.
REPLAY = "differs from the report first filed with this key"
CONFIG = SchemathesisConfig.from_dict({"checks": {"positive_data_acceptance": {
    "expected-statuses": ["2xx", "401", "403", "404", "409", "422"]}}})


@pytest.fixture
def api_token(app, contracts) -> str:
    system = Actor.system("test")
    # A few tickets, so reads of /tickets/{id} find some and miss others.
    for code in ("XJGAT", "QMGA"):
        unit = db.session.query(Unit).filter_by(code=code).one()
        file_ticket(system, unit=unit, kind="interruption", channel="api", description="schemathesis seed")
    return create_api_token(system, "schemathesis", ["XJGAT-POOL-2025"])[1]


OPERATIONS = [("/contracts/{code}/sla/{month}", "GET"), ("/tickets", "POST"), ("/tickets/{ticket_id}", "GET")]


def test_every_operation_is_fuzzed(app):
    published = {(path, method.upper()) for path, methods in OPENAPI["paths"].items() for method in methods}
    assert published == set(OPERATIONS)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
@pytest.mark.parametrize("path, method", OPERATIONS)
def test_api_conforms_to_its_openapi_document(app, api_token, path, method, mode):
    """Positive cases must be answered as documented; negative ones refused with a documented 4xx."""
    operation = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, config=CONFIG)[path][method]
    headers = {"Authorization": f"Bearer {api_token}"}

    statuses = Counter()

    # Random text is never a unit's or contract's code: half the cases name a real one (in and out of
    # the token's scope), so filing and the report are fuzzed and not only their refusals.
    @given(case=operation.as_strategy(generation_mode=mode), real=st.booleans(), index=st.sampled_from([0, 1]))
    @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
    def conforms(case, real, index):
        real = real and mode.is_positive  # a negative case stays as generated: its fault may be the code
        if real and isinstance(case.body, dict) and isinstance(case.body.get("unit"), str):
            case.body["unit"] = ("XJGAT", "QMGA")[index]
        if real and isinstance((case.path_parameters or {}).get("code"), str):
            case.path_parameters["code"] = ("XJGAT-POOL-2025", "QMGA-JWT-2025")[index]
            case.path_parameters["month"] = "2025-06"
        response = case.call_and_validate(headers=headers)
        statuses[response.status_code] += 1
        if mode.is_positive and response.status_code == 422:
            errors = response.json()["errors"]
            assert errors and all(e.startswith(SEMANTIC_FIELDS) or e.endswith((NUL, REPLAY)) for e in errors), errors

    conforms()
    print(f"{method} {path} {mode.value}: answers {dict(sorted(statuses.items()))}")
    assert not any(status >= 500 for status in statuses)
