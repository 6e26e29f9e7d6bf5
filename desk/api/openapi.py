"""The API's OpenAPI 3.0 document, published at /api/v1/openapi.json."""

_ERROR = {
    "type": "object",
    "required": ["error", "errors", "status"],
    "properties": {
        "error": {"type": "string"},
        "errors": {"type": "array", "items": {"type": "string"}},
        "status": {"type": "integer"},
    },
}
_MONEY = {"type": "string", "pattern": r"^-?\d+\.\d{2}$"}
_INSTANT = {"type": "string", "format": "date-time"}
_NULLABLE_INSTANT = {"type": "string", "format": "date-time", "nullable": True}


def _errors(*codes: int) -> dict:
    return {
        str(c): {"description": "error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
        for c in codes
    }


_TICKET = {
    "type": "object",
    "required": ["id", "number", "contract", "unit", "channel", "kind", "affected_cards", "reported_at", "incident"],
    "properties": {
        "id": {"type": "integer"},
        "number": {"type": "string"},
        "contract": {"type": "string"},
        "unit": {"type": "string", "nullable": True},
        "channel": {"type": "string"},
        "kind": {"type": "string", "enum": ["interruption", "degradation"]},
        "affected_cards": {"type": "integer"},
        "description": {"type": "string"},
        "location": {"type": "string"},
        "reported_at": _INSTANT,
        "incident": {
            "type": "object",
            "required": ["id", "status", "reported_at", "started_at", "restored_at", "cause",
                         "cause_confirmed", "repair_deadline"],
            "properties": {
                "id": {"type": "integer"},
                "status": {"type": "string"},
                "reported_at": _INSTANT,
                "started_at": _INSTANT,
                "restored_at": _NULLABLE_INSTANT,
                "cause": {"type": "string"},
                "cause_confirmed": {"type": "boolean"},
                "repair_deadline": _NULLABLE_INSTANT,
            },
        },
    },
}

_REPORT = {
    "type": "object",
    "required": ["contract", "month", "timezone", "as_of", "final", "provisional", "incidents", "totals"],
    "properties": {
        "contract": {"type": "string"},
        "month": {"type": "string", "pattern": r"^\d{4}-\d{2}$"},
        "timezone": {"type": "string"},
        "as_of": _INSTANT,
        "final": {"type": "boolean"},
        "provisional": {"type": "boolean"},
        "incidents": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["id", "external_id", "reported_at", "started_at", "restored_at", "kind", "cause",
                             "cause_confirmed", "affected_cards", "repair_deadline_met", "repair_hours",
                             "strike_number", "penalty"],
                "properties": {
                    "id": {"type": "integer"},
                    "external_id": {"type": "string", "nullable": True},
                    "reported_at": _INSTANT,
                    "started_at": _INSTANT,
                    "restored_at": _NULLABLE_INSTANT,
                    "kind": {"type": "string"},
                    "cause": {"type": "string"},
                    "cause_confirmed": {"type": "boolean"},
                    "affected_cards": {"type": "integer"},
                    "repair_deadline_met": {"type": "boolean", "nullable": True},
                    "repair_hours": {"type": "string", "nullable": True},
                    "strike_number": {"type": "integer", "nullable": True},
                    "penalty": _MONEY,
                },
            },
        },
        "totals": {
            "type": "object",
            "required": ["incidents", "interruptions", "repair_deadline_met", "repair_deadline_missed",
                         "outage_hours", "strikes_in_month", "penalties", "day_waivers", "day_waiver_total",
                         "period_waiver_total", "waiver_total", "strikes_to_date", "termination_right",
                         "termination_refund", "termination_penalty"],
            "properties": {
                "incidents": {"type": "integer"},
                "interruptions": {"type": "integer"},
                "repair_deadline_met": {"type": "integer"},
                "repair_deadline_missed": {"type": "integer"},
                "outage_hours": {"type": "string"},
                "strikes_in_month": {"type": "integer"},
                "penalties": _MONEY,
                "day_waivers": {
                    "type": "array",
                    "items": {"type": "object", "required": ["date", "amount"],
                              "properties": {"date": {"type": "string", "format": "date"}, "amount": _MONEY}},
                },
                "day_waiver_total": _MONEY,
                "period_waiver_total": _MONEY,
                "waiver_total": _MONEY,
                "strikes_to_date": {"type": "integer"},
                "termination_right": {"type": "boolean"},
                "termination_refund": _MONEY,
                "termination_penalty": _MONEY,
            },
        },
    },
}

OPENAPI = {
    "openapi": "3.0.3",
    "info": {"title": "desk SLA and fault-ticket API", "version": "1"},
    "servers": [{"url": "/api/v1"}],
    "components": {
        "securitySchemes": {"token": {"type": "http", "scheme": "bearer"}},
        "schemas": {"Error": _ERROR, "Ticket": _TICKET, "Report": _REPORT},
    },
    "security": [{"token": []}],
    "paths": {
        "/contracts/{code}/sla/{month}": {
            "get": {
                "summary": "The monthly SLA report of a contract (spec §5)",
                "parameters": [
                    {"name": "code", "in": "path", "required": True, "schema": {"type": "string"}},
                    {"name": "month", "in": "path", "required": True,
                     "schema": {"type": "string", "pattern": r"^\d{4}-\d{2}$"}},
                    {"name": "as_of", "in": "query", "required": False, "schema": {"type": "string", "format": "date-time"}},
                ],
                "responses": {
                    "200": {"description": "the report",
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Report"}}}},
                    **_errors(401, 403, 404, 422),
                },
            }
        },
        "/tickets": {
            "post": {
                "summary": "File a fault report for a police unit",
                "parameters": [
                    {"name": "Idempotency-Key", "in": "header", "required": False,
                     "schema": {"type": "string", "minLength": 1, "maxLength": 150}},
                ],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": {
                        "type": "object",
                        "required": ["unit", "kind"],
                        "additionalProperties": False,
                        "properties": {
                            "unit": {"type": "string", "minLength": 1},
                            "kind": {"type": "string", "enum": ["interruption", "degradation"]},
                            "affected_cards": {"type": "integer", "minimum": 1},
                            "description": {"type": "string", "maxLength": 4000},
                            "location": {"type": "string", "maxLength": 300},
                            "started_at": {"type": "string", "format": "date-time"},
                            "idempotency_key": {"type": "string", "minLength": 1, "maxLength": 150},
                        },
                    }}},
                },
                "responses": {
                    "201": {"description": "filed",
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Ticket"}}}},
                    "200": {"description": "this report was filed before with the same idempotency key "
                                           "(the same key with a different report is 422)",
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Ticket"}}}},
                    **_errors(400, 401, 403, 415, 422),
                },
            }
        },
        "/tickets/{ticket_id}": {
            "get": {
                "summary": "A ticket with its incident and repair deadline",
                "parameters": [{"name": "ticket_id", "in": "path", "required": True,
                                "schema": {"type": "integer", "format": "int32", "minimum": 1, "maximum": 2147483647}}],
                "responses": {
                    "200": {"description": "the ticket",
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Ticket"}}}},
                    **_errors(401, 403, 404),
                },
            }
        },
    },
}
