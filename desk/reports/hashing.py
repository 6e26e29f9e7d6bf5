"""The fingerprint of a report: both parties can check that a signed PDF shows the figures of the JSON."""
from __future__ import annotations

import hashlib
import json


def canonical_json(report: dict) -> bytes:
    return json.dumps(report, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def report_hash(report: dict) -> str:
    """sha256 hex of the canonical JSON; a frozen month gives the same hash every time."""
    return hashlib.sha256(canonical_json(report)).hexdigest()
