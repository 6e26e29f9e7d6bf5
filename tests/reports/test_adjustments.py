"""Adjustments to a frozen month for what became known after its end (docs/clock.md).

June is signed as it stood at its end, 07-01 00:00. A restoration after that instant, or a repair
deadline passing after it, changes June's figures; the next signed document, July's, states the
difference once, and August's does not state it again.
"""
import json

import pytest

from desk.audit.services import Actor
from desk.clock.month_end import ensure_freeze_events
from desk.clock.tick import tick
from desk.extensions import db
from desk.incidents.imports import import_incidents
from desk.models import FrozenReport
from desk.reports.services import monthly_report, report_adjustments
from tests.sla.conftest import local

HEADER = ("external_id,reported_at,started_at,restored_at,kind,cause,cause_confirmed,affected_cards,summary,"
          "notice_at,window_start,window_end")


def load(code: str, *rows: str) -> None:
    import_incidents(code, "\n".join((HEADER, *rows)).encode("utf-8"), Actor.system("test"))


def freeze(month_end: str) -> None:
    """The clock's month-end freeze at 00:10 on the 1st (local)."""
    ensure_freeze_events(local(f"{month_end}T00:05"))
    tick(local(f"{month_end}T00:10"))


def frozen(code: str, month: str) -> FrozenReport:
    from desk.contracts.services import get_contract

    return db.session.query(FrozenReport).filter_by(contract_id=get_contract(code).id, month=month).one()


def stated_once(code: str, item: str, amount: str) -> None:
    """July's report, live and as frozen, carries the difference to June; August's repeats nothing."""
    expected = [{"month": "2025-06", "item": item, "frozen": "0.00", "now": amount, "difference": amount}]
    assert report_adjustments(code, "2025-07", local("2025-08-01T00:00")) == expected
    freeze("2025-08-01")
    assert json.loads(frozen(code, "2025-07").adjustments_json) == expected
    assert report_adjustments(code, "2025-08", local("2025-09-01T00:00")) == []
    freeze("2025-09-01")
    assert json.loads(frozen(code, "2025-08").adjustments_json) == []
    assert report_adjustments(code, "2025-09") == []


# 6.3, R4: 3 h continuous, its whole length even across months; 06-30 is June's day (16,350 ÷ 30).
@pytest.mark.parametrize("started, restored, written", [
    ("2025-06-30T22:00", "2025-07-01T01:00", "after the freeze"),  # the QA reproduction: June is marked
    ("2025-06-30T21:05", "2025-07-01T00:05", "before the freeze"),  # entered at 00:05: June is not marked
])
def test_a_day_waiver_reached_after_month_end_is_stated_in_july(app, contracts, runner, started, restored,
                                                                 written):
    code = "QMGA-JWT-2025"
    load(code, f"F1,{started},,,interruption,carrier,true,60,x,,,")
    if written == "before the freeze":
        load(code, f"F1,{started},,{restored},interruption,carrier,true,60,x,,,")
    freeze("2025-07-01")
    if written == "after the freeze":
        load(code, f"F1,{started},,{restored},interruption,carrier,true,60,x,,,")
        assert frozen(code, "2025-06").corrected_at is not None
    else:
        assert frozen(code, "2025-06").corrected_at is None
    june = monthly_report(code, "2025-06")  # the signed document, as it was signed (spec §5)
    assert june["final"] is True and june["as_of"] == "2025-06-30T16:00:00+00:00"
    assert june["totals"]["day_waivers"] == []
    assert monthly_report(code, "2025-06", local("2026-12-01T00:00"))["totals"]["day_waivers"] == [
        {"date": "2025-06-30", "amount": "545.00"}]
    result = runner.invoke(args=["sla-report", code, "2025-07", "--as-of", "2025-08-01T00:00", "--format", "csv"])
    assert result.exit_code == 0, result.output
    assert "2025-06,day_waiver_total,0.00,545.00,545.00" in result.output
    stated_once(code, "day_waiver_total", "545.00")


# 六.(六), R2: a third party's interruption is a strike of the month of its reported_at once its
# 四.(三) deadline (22:00 + 4 h = 02:00) is missed, though that is after month end.
@pytest.mark.parametrize("restored", ["2025-07-01T05:00", None])
def test_a_third_party_strike_whose_deadline_passes_after_month_end_is_stated_in_july(app, contracts, restored):
    code = "XJGAT-POOL-2025"
    load(code, "X1,2025-06-30T22:00,,,interruption,third_party,true,3360,x,,,")
    freeze("2025-07-01")
    signed = json.loads(frozen(code, "2025-06").report_json)
    assert signed["totals"]["penalties"] == "0.00" and signed["incidents"][0]["strike_number"] is None
    if restored:  # restored in July: a write, which marks June
        load(code, f"X1,2025-06-30T22:00,,{restored},interruption,third_party,true,3360,x,,,")
        assert frozen(code, "2025-06").corrected_at is not None
    else:  # still open: only time passes, nothing marks June
        assert frozen(code, "2025-06").corrected_at is None
    assert monthly_report(code, "2025-06") == signed
    stated_once(code, "penalties", "6394.00")
