"""Measure the renderers on a generated 10,000-incident month (not a test; run by hand, see docs/reports.md).

    .venv/bin/python -m tests.reports.measure_10k [pdf|xlsx|csv|charts]

Prints wall time and the process's peak RSS; run one format a process so the peaks do not mix.
"""
from __future__ import annotations

import resource
import sys
import time
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

from desk.reports.meta import ReportMeta

from .conftest import XJGAT_META, incident, totals


def generated(n: int = 10_000) -> tuple[dict, ReportMeta]:
    """n incidents spread over July 2025, every 7th a carrier strike that missed the 4 h deadline."""
    start = datetime(2025, 6, 30, 16, tzinfo=timezone.utc)
    step = timedelta(days=31) / n
    rows, timeline = [], []
    for i in range(n):
        reported = start + step * i
        minutes = 30 + (i * 37) % 400
        strike = i % 7 == 0
        rows.append(incident(
            i + 1, reported.isoformat(), (reported + timedelta(minutes=minutes)).isoformat(),
            cause="carrier" if strike else "third_party", confirmed=i % 5 != 0, cards=3360,
            hours=f"{minutes / 60:.2f}", met=minutes <= 240, strike=len(timeline) + 1 if strike else None,
            penalty="6394.00" if strike else "0.00", external_id=f"EXT-{i + 1:05d}"))
        if strike:
            timeline.append((reported, len(timeline) + 1, i % 5 == 0))
    report = {
        "contract": "XJGAT-POOL-2025", "month": "2025-07", "timezone": "Asia/Shanghai",
        "as_of": "2025-07-31T16:00:00+00:00", "final": False, "provisional": True, "incidents": rows,
        "totals": totals(incidents=n, interruptions=n, strikes_in_month=len(timeline),
                         penalties=f"{Decimal('6394.00') * len(timeline):.2f}", strikes_to_date=len(timeline),
                         termination_right=True, termination_refund="191820.00",
                         termination_penalty="191820.00", outage_hours="744.00"),
    }
    meta = ReportMeta(
        **XJGAT_META, generated_at=datetime(2025, 8, 1, tzinfo=timezone.utc),
        daily_outage_hours=[(date(2025, 7, d), Decimal("24.00")) for d in range(1, 32)],
        cumulative_outage=[(start + timedelta(days=d), Decimal(24 * d)) for d in range(32)],
        strikes_timeline=timeline,
    )
    return report, meta


def main(kind: str = "pdf") -> None:
    from desk.reports import charts, csv_report, pdf_report, xlsx_report

    report, meta = generated()
    render = {"pdf": pdf_report.render_pdf, "xlsx": xlsx_report.render_xlsx, "csv": csv_report.render_csv,
              "charts": lambda r, m: "".join(charts.all_charts(r, m).values()).encode()}[kind]
    began = time.perf_counter()
    data = render(report, meta)
    took = time.perf_counter() - began
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{kind}: {len(report['incidents'])} incidents, {len(data) / 1e6:.1f} MB, {took:.2f} s, "
          f"peak RSS {peak:.0f} MB")


if __name__ == "__main__":
    main(*sys.argv[1:])
