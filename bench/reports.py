"""B3 reports: a contract-month of 10,000 incidents in the loaded database, as JSON, XLSX and PDF,
and the SLA engine alone over 100,000 synthetic incidents.

Floors: for the JSON, reading the same incident rows with a bare cursor (what any report must
pay); for the engine, sorting the incidents' intervals (the O(n log n) any union must pay).
Each format renders in its own process, so the PDF's peak memory is the PDF's alone.
"""
from __future__ import annotations

import json
import os
import time
from datetime import datetime, timedelta, timezone

from bench.common import child_main

ENGINE_INCIDENTS = 100_000


def _timed(runs: int, work) -> tuple[list[float], object]:
    times, value = [], None
    for run in range(runs + 1):  # the first run warms caches and imports, and is not counted
        began = time.perf_counter()
        value = work()
        if run:
            times.append((time.perf_counter() - began) * 1000)
    return times, value


def _work(request: dict) -> dict:
    from bench.common import desk_app, memory_mb
    from desk.contracts.services import get_contract
    from desk.extensions import db
    from desk.reports.services import monthly_report, render_report

    app = desk_app(request["url"])
    code, month, runs, fmt = request["contract"], request["month"], request["runs"], request["format"]
    as_of = datetime.fromisoformat(request["as_of"])
    answer: dict = {}
    with app.app_context():
        def report() -> dict:
            db.session.remove()
            return monthly_report(code, month, as_of)

        if fmt == "json":
            times, body = _timed(runs, lambda: json.dumps(report()).encode())
            contract_id = get_contract(code).id

            def floor():
                with db.engine.connect() as conn:
                    return conn.exec_driver_sql(*_floor_query(db.engine.dialect.name, contract_id, as_of)).all()

            floor_times, rows = _timed(runs, floor)
            answer.update(floor_ms=floor_times, rows=len(rows))
            answer["incidents"] = len(json.loads(body)["incidents"])
        else:
            def rendered() -> bytes:
                figures = report()
                return render_report(get_contract(code), figures, fmt)

            times, body = _timed(runs, rendered)
        answer.update(ms=times, bytes=len(body), rss_mb=memory_mb(os.getpid())["VmHWM"])
        db.session.remove()
    return answer


def _floor_query(dialect: str, contract_id: int, as_of: datetime) -> tuple[str, tuple]:
    columns = ("id, external_id, reported_at, started_at, restored_at, kind, cause, cause_confirmed, "
               "affected_cards, maintenance_notice_id")
    if dialect == "postgresql":
        return (f"SELECT {columns} FROM incident WHERE contract_id = %s AND status != 'merged' "
                "AND reported_at <= %s ORDER BY reported_at, id", (contract_id, as_of))
    return (f"SELECT {columns} FROM incident WHERE contract_id = ? AND status != 'merged' "
            "AND reported_at <= ? ORDER BY reported_at, id",
            (contract_id, as_of.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")))


def engine_alone(incidents: int, runs: int) -> dict:
    """build_report over `incidents` synthetic facts over the twelve months to the report's end."""
    from bench.dataset import REPORT_MONTH, REPORT_MONTH_SPAN, REPORT_MONTH_START
    from bench.seed import TEMPLATE, SERVICE_END, SERVICE_START
    from desk.sla.incidents import IncidentFacts
    from desk.sla.report import build_report
    from desk.sla.terms import terms_from_mapping

    import tomllib

    terms = terms_from_mapping(tomllib.loads(TEMPLATE.format(
        code="BENCH-ENGINE", n=0, start=SERVICE_START, end=SERVICE_END, cards=1000, unit="BE", phone="+8613900000000")))
    as_of = REPORT_MONTH_START + REPORT_MONTH_SPAN
    first = as_of - timedelta(days=365)
    step = (as_of - first) / incidents
    causes = ("carrier", "third_party", "third_party", "customer", "force_majeure", "third_party", "undetermined")
    facts = []
    for i in range(incidents):
        reported = first + step * i
        restored = reported + timedelta(minutes=20 + (i * 37) % 420)
        facts.append(IncidentFacts(
            id=i + 1, external_id=None, reported_at=reported, started_at=reported - timedelta(minutes=i % 30),
            restored_at=restored if i % 50 else None, kind="interruption" if i % 4 else "degradation",
            cause=causes[i % len(causes)], cause_confirmed=bool(i % 3), affected_cards=1 + i % 900))
    year, month = REPORT_MONTH
    times, report = _timed(runs, lambda: build_report(terms, facts, [], year, month, as_of))
    intervals = [(f.started_at, f.restored_at or as_of) for f in facts]
    floor_times, _ = _timed(runs, lambda: sorted(intervals))
    return {"ms": times, "floor_ms": floor_times, "rows": len(report["incidents"])}


def _child(request: dict) -> dict:
    if request["format"] == "engine":
        return engine_alone(request["incidents"], request["runs"])
    return _work(request)


def month_request(url: str, fmt: str, runs: int) -> dict:
    from bench.dataset import REPORT_MONTH, REPORT_MONTH_SPAN, REPORT_MONTH_START
    from bench.seed import contract_code

    year, month = REPORT_MONTH
    return {"url": url, "contract": contract_code(1), "month": f"{year:04d}-{month:02d}",
            "as_of": (REPORT_MONTH_START + REPORT_MONTH_SPAN).isoformat(), "runs": runs, "format": fmt}


if __name__ == "__main__":
    child_main(_child)
