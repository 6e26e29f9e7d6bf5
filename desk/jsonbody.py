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
    """The document in data; Malformed naming the fault where it is not UTF-8, not JSON, or too deep."""
    # JSON between systems is UTF-8 (RFC 8259 §8.1); json.loads would also guess UTF-16 and UTF-32.
    encoding = json.detect_encoding(data)
    if encoding not in ("utf-8", "utf-8-sig"):
        raise Malformed("the body is not UTF-8", errors=[f"the body is not UTF-8 (it looks like {encoding})"])
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise Malformed("the body is not UTF-8", errors=[f"the body is not UTF-8 (byte {exc.start})"])
    too_deep = Malformed("JSON nested too deeply", errors=[f"the body is nested more than {MAX_DEPTH} levels deep"])
    try:
        document = json.loads(text)
    except RecursionError:
        raise too_deep
    except ValueError as exc:
        raise Malformed("the body is not valid JSON", errors=[f"the body is not valid JSON: {exc}"])
    if _deeper_than(document, MAX_DEPTH):
        raise too_deep
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
