"""A request's JSON document, read once: the text checks before every view and the API's views share it."""
from __future__ import annotations

import json

from flask import request

from desk.errors import Malformed

# No document the desk takes goes beyond two levels; a deeper one is refused before it is walked
# (the parser itself would hit Python's recursion limit near a thousand).
MAX_DEPTH = 32
_CACHE = "desk.json_body"


def parse_json(data: bytes):
    """The document in data, or None where data is not JSON; Malformed if it is nested too deeply."""
    try:
        document = json.loads(data)
    except RecursionError:
        raise Malformed("JSON nested too deeply", errors=[f"the body is JSON nested more than {MAX_DEPTH} levels deep"])
    except ValueError:
        return None
    if _deeper_than(document, MAX_DEPTH):
        raise Malformed("JSON nested too deeply", errors=[f"the body is JSON nested more than {MAX_DEPTH} levels deep"])
    return document


def _deeper_than(document, limit: int) -> bool:
    pending = [(document, 1)]
    while pending:
        value, depth = pending.pop()
        items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else None
        if items is None:
            continue
        if depth > limit:
            return True
        pending.extend((item, depth + 1) for item in items)
    return False


def json_body():
    """The request's JSON document, parsed once per request."""
    if _CACHE not in request.environ:
        request.environ[_CACHE] = parse_json(request.get_data(cache=True))
    return request.environ[_CACHE]
