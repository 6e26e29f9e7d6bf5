"""Pure engine fixtures: the two seed contracts as terms, and a factory for incidents."""
from __future__ import annotations

import itertools
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from desk.sla.incidents import IncidentFacts
from desk.sla.terms import terms_from_mapping

SHANGHAI = ZoneInfo("Asia/Shanghai")

XJGAT = {
    "code": "XJGAT-POOL-2025", "title": "流量池", "customer": "新疆维吾尔自治区公安厅",
    "carrier": "中国移动通信集团新疆有限公司", "timezone": "Asia/Shanghai",
    "service_start": "2025-04-01", "service_end": "2026-03-31", "total_amount": "639400.00", "cards": 3360,
    "clauses": {"repair_deadline": {"hours": 4}, "incident_penalty": {"percent_of_total": 1},
                "strike_termination": {"threshold": 3, "penalty_percent_of_total": 30},
                "planned_maintenance": {"min_notice_hours": 72}},
}
QMGA = {
    "code": "QMGA-JWT-2025", "title": "警务通", "customer": "且末县公安局",
    "carrier": "中国移动通信集团新疆有限公司巴州分公司", "timezone": "Asia/Shanghai",
    "service_start": "2025-06-01", "service_end": "2028-05-31", "total_amount": "588600.00", "cards": 60,
    "monthly_fee": "16350.00",
    "clauses": {"outage_day_waiver": {"min_continuous_hours": 3}, "outage_period_waiver": {"min_monthly_hours": 72}},
}


def local(text: str) -> datetime:
    """A local Asia/Shanghai time written as in the spec's examples, as aware UTC."""
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI).astimezone(timezone.utc)


_ids = itertools.count(1)


def incident(reported: str, restored: str | None = None, *, started: str | None = None, kind="interruption",
             cause="carrier", confirmed=True, cards=60, maintenance=None, id=None) -> IncidentFacts:
    return IncidentFacts(
        id=id or next(_ids), external_id=None, reported_at=local(reported),
        started_at=local(started or reported), restored_at=local(restored) if restored else None,
        kind=kind, cause=cause, cause_confirmed=confirmed, affected_cards=cards, maintenance=maintenance,
    )


def two_hour_outages(month: str, days: range, cards: int = 60) -> list[IncidentFacts]:
    """Two carrier outages of 2 h a day (01:00–03:00, 05:00–07:00) on `days` of `month` ("YYYY-MM"):
    4 h a day, none long enough for R4."""
    return [incident(f"{month}-{d:02d}T{h:02d}:00", f"{month}-{d:02d}T{h + 2:02d}:00", cards=cards)
            for d in days for h in (1, 5)]


@pytest.fixture
def xjgat():
    return terms_from_mapping(XJGAT)


@pytest.fixture
def qmga():
    return terms_from_mapping(QMGA)
