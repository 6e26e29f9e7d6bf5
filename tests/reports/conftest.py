"""Reports built by hand in the shape of spec §5.

qmga_june: the worked example of spec §4 (day waivers 06-03, 06-05, 06-06, 06-12; 1,689.50; 13.48 h), final.
xjgat_july: strike #3 (provisional, cause undetermined) gives the termination right of 六.(六).
"""
from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from desk.reports.meta import Payment, ReportMeta

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


def incident(id, reported, restored, *, kind="interruption", cause="carrier", confirmed=True, cards=60,
             hours=None, met=None, strike=None, penalty="0.00", external_id=None):
    return {
        "id": id, "external_id": external_id, "reported_at": reported, "started_at": reported,
        "restored_at": restored, "kind": kind, "cause": cause, "cause_confirmed": confirmed,
        "affected_cards": cards, "repair_deadline_met": met, "repair_hours": hours,
        "strike_number": strike, "penalty": penalty,
    }


def totals(**figures):
    base = {
        "incidents": 0, "interruptions": 0, "repair_deadline_met": 0, "repair_deadline_missed": 0,
        "outage_hours": "0.00", "strikes_in_month": 0, "penalties": "0.00", "day_waivers": [],
        "day_waiver_total": "0.00", "period_waiver_total": "0.00", "waiver_total": "0.00",
        "strikes_to_date": 0, "termination_right": False, "termination_refund": "0.00",
        "termination_penalty": "0.00",
    }
    base.update(figures)
    return base


QMGA_META = dict(
    contract="QMGA-JWT-2025", title="新疆移动警务通服务业务合作协议（且末县公安局）", customer="且末县公安局",
    carrier="中国移动通信集团新疆有限公司巴州分公司", cards=60, total_amount=Decimal("588600.00"),
    monthly_fee=Decimal("16350.00"), day_waiver_hours=Decimal("3"), period_waiver_hours=Decimal("72"),
    service_start=date(2025, 6, 1), service_end=date(2028, 5, 31),
)


@pytest.fixture
def qmga_june():
    """Spec §4, QMGA-JWT-2025 June 2025 (local = UTC + 8), frozen."""
    report = {
        "contract": "QMGA-JWT-2025", "month": "2025-06", "timezone": "Asia/Shanghai",
        "as_of": "2025-06-30T16:00:00+00:00", "final": True, "provisional": False,
        "incidents": [
            incident(1, "2025-06-03T02:00:00+00:00", "2025-06-03T05:30:00+00:00", hours="3.50", external_id="Q-1"),
            incident(2, "2025-06-05T15:00:00+00:00", "2025-06-05T18:00:00+00:00", hours="3.00", external_id="Q-2"),
            incident(3, "2025-06-08T01:00:00+00:00", "2025-06-08T03:59:00+00:00", hours="2.98", external_id="Q-3"),
            incident(4, "2025-06-10T01:00:00+00:00", "2025-06-10T12:00:00+00:00", hours="11.00",
                     cause="customer", external_id="Q-4"),
            incident(5, "2025-06-12T00:00:00+00:00", "2025-06-12T04:00:00+00:00", hours="4.00", cards=6,
                     external_id="Q-5"),
        ],
        "totals": totals(
            incidents=5, interruptions=5, outage_hours="13.48",
            day_waivers=[{"date": "2025-06-03", "amount": "545.00"}, {"date": "2025-06-05", "amount": "545.00"},
                         {"date": "2025-06-06", "amount": "545.00"}, {"date": "2025-06-12", "amount": "54.50"}],
            day_waiver_total="1689.50", waiver_total="1689.50",
        ),
    }
    meta = ReportMeta(
        **QMGA_META, generated_at=utc("2025-07-01T01:00:00"),
        daily_outage_hours=[(date(2025, 6, 3), Decimal("3.50")), (date(2025, 6, 5), Decimal("1.00")),
                            (date(2025, 6, 6), Decimal("2.00")), (date(2025, 6, 8), Decimal("2.98")),
                            (date(2025, 6, 12), Decimal("4.00"))],
        cumulative_outage=[(utc(t), Decimal(h)) for t, h in [
            ("2025-06-03T02:00", "0"), ("2025-06-03T05:30", "3.50"), ("2025-06-05T15:00", "3.50"),
            ("2025-06-05T18:00", "6.50"), ("2025-06-08T01:00", "6.50"), ("2025-06-08T03:59", "9.48"),
            ("2025-06-12T00:00", "9.48"), ("2025-06-12T04:00", "13.48"), ("2025-06-30T16:00", "13.48")]],
    )
    return report, meta


XJGAT_META = dict(
    contract="XJGAT-POOL-2025", title="全区移动警务终端专网流量池保障服务", customer="新疆维吾尔自治区公安厅",
    carrier="中国移动通信集团新疆有限公司", cards=3360, total_amount=Decimal("639400.00"),
    repair_deadline_hours=Decimal("4"), strike_threshold=3,
    service_start=date(2025, 4, 1), service_end=date(2026, 3, 31),
)


@pytest.fixture
def xjgat_july():
    """Spec §4, XJGAT-POOL-2025 July 2025 as of 07-20 12:00 local: strike #3 provisional, termination right."""
    report = {
        "contract": "XJGAT-POOL-2025", "month": "2025-07", "timezone": "Asia/Shanghai",
        "as_of": "2025-07-20T04:00:00+00:00", "final": False, "provisional": True,
        "incidents": [
            incident(11, "2025-07-01T03:00:00+00:00", "2025-07-01T05:00:00+00:00", cause="force_majeure",
                     cards=3360, hours="2.00"),
            incident(12, "2025-07-15T06:00:00+00:00", "2025-07-15T12:00:00+00:00", cause="undetermined",
                     confirmed=False, cards=3360, hours="6.00", met=False, strike=3, penalty="6394.00"),
            incident(13, "2025-07-20T02:00:00+00:00", None, kind="degradation", cards=850),
        ],
        "totals": totals(
            incidents=3, interruptions=2, repair_deadline_missed=1, outage_hours="6.00", strikes_in_month=1,
            penalties="6394.00", strikes_to_date=3, termination_right=True, termination_refund="191820.00",
            termination_penalty="191820.00",
        ),
    }
    meta = ReportMeta(
        **XJGAT_META, generated_at=utc("2025-07-20T04:00:05"),
        payments_to_date=[Payment(utc("2025-04-15T02:00"), Decimal("191820.00"), "合同签订后支付30%")],
        daily_outage_hours=[(date(2025, 7, 15), Decimal("6.00"))],
        cumulative_outage=[(utc("2025-07-15T06:00"), Decimal("0")), (utc("2025-07-15T12:00"), Decimal("6.00")),
                           (utc("2025-07-20T04:00"), Decimal("6.00"))],
        strikes_timeline=[(utc("2025-05-02T02:00"), 1, False), (utc("2025-06-10T03:00"), 2, False),
                          (utc("2025-07-15T06:00"), 3, True)],
    )
    return report, meta


@pytest.fixture(params=["qmga_june", "xjgat_july"])
def any_report(request):
    return request.getfixturevalue(request.param)


# External IDs as an import or a careless hand may bring them: a formula, text that reads as a
# number or a formula once edited, an error code and a leading tab (openpyxl and the import keep it).
TYPED_EXTERNAL_IDS = ['=HYPERLINK("http://x","y")', "+1", "-2", "@SUM(A1)", "#N/A", "\tQ-6"]


@pytest.fixture
def typed_text(qmga_june):
    """QMGA June with such text in every free-text field the downloads carry, and a negative adjustment."""
    from dataclasses import replace

    report, meta = qmga_june
    report["incidents"].append(incident(6, "2025-06-20T02:00:00+00:00", "2025-06-20T03:15:00+00:00",
                                        hours="1.25"))
    for row, external_id in zip(report["incidents"], TYPED_EXTERNAL_IDS):
        row["external_id"] = external_id
    meta = replace(
        meta, title="=1+2", customer="+甲方", carrier="-乙方", clause_labels={"R4": "@6.3"},
        payments_to_date=[Payment(utc("2025-06-15T02:00"), Decimal("16350.00"), "=cmd|' /C calc'!A0")],
        adjustments=[{"month": "2025-05", "item": "penalties", "frozen": "545.00", "now": "0.00",
                      "difference": "-545.00"}],
    )
    return report, meta
