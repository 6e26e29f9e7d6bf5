"""Spec §4's worked examples, end to end through the CLI: import the paper log, print the report."""
import json
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def report(runner, *args):
    result = runner.invoke(args=["sla-report", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_qmga_june_worked_example(runner, contracts):
    result = runner.invoke(args=["import-incidents", "QMGA-JWT-2025", str(FIXTURES / "qmga-2025-06.csv")])
    assert result.exit_code == 0, result.output
    assert "5 created" in result.output
    data = report(runner, "QMGA-JWT-2025", "2025-06", "--format", "json", "--as-of", "2025-07-01T00:10")
    totals = data["totals"]
    assert totals["day_waivers"] == [
        {"date": "2025-06-03", "amount": "545.00"},
        {"date": "2025-06-05", "amount": "545.00"},
        {"date": "2025-06-06", "amount": "545.00"},
        {"date": "2025-06-12", "amount": "54.50"},
    ]
    assert totals["day_waiver_total"] == "1689.50"
    assert totals["period_waiver_total"] == "0.00"
    assert totals["waiver_total"] == "1689.50"
    assert totals["outage_hours"] == "13.48"
    assert totals["incidents"] == 5 and totals["interruptions"] == 5
    assert totals["strikes_to_date"] == 0 and totals["termination_right"] is False
    assert data["contract"] == "QMGA-JWT-2025" and data["month"] == "2025-06"
    assert data["timezone"] == "Asia/Shanghai"
    assert [i["external_id"] for i in data["incidents"]] == ["QM-0603", "QM-0605", "QM-0608", "QM-0610", "QM-0612"]
    # R1–R3 are not clauses of this contract.
    assert all(i["repair_deadline_met"] is None and i["strike_number"] is None for i in data["incidents"])
    assert data["incidents"][0]["repair_hours"] == "3.50"


def test_xjgat_strikes_and_termination(runner, contracts):
    assert runner.invoke(args=["import-incidents", "XJGAT-POOL-2025", str(FIXTURES / "xjgat-2025.csv")]).exit_code == 0
    assert runner.invoke(args=["import-payments", "XJGAT-POOL-2025", str(FIXTURES / "xjgat-payments.csv")]).exit_code == 0

    may = report(runner, "XJGAT-POOL-2025", "2025-05", "--as-of", "2025-06-01T00:00")
    assert [i["strike_number"] for i in may["incidents"]] == [1]
    assert may["totals"]["penalties"] == "6394.00"
    assert may["incidents"][0]["repair_deadline_met"] is True

    june = report(runner, "XJGAT-POOL-2025", "2025-06", "--as-of", "2025-07-01T00:00")
    assert [i["strike_number"] for i in june["incidents"]] == [2, None]
    assert [i["repair_deadline_met"] for i in june["incidents"]] == [False, True]
    assert june["totals"]["penalties"] == "6394.00"
    assert june["totals"]["strikes_in_month"] == 1
    assert june["totals"]["strikes_to_date"] == 2
    assert june["totals"]["termination_right"] is False
    assert june["totals"]["termination_refund"] == "0.00"

    july = report(runner, "XJGAT-POOL-2025", "2025-07", "--as-of", "2025-07-31T23:00")
    assert [i["strike_number"] for i in july["incidents"]] == [None, 3]
    assert july["provisional"] is True
    assert july["totals"]["strikes_to_date"] == 3
    assert july["totals"]["termination_right"] is True
    assert july["totals"]["termination_penalty"] == "191820.00"
    assert july["totals"]["termination_refund"] == "191820.00"

    # The refund is what the ledger shows paid by as_of: the 65 % instalment arrives on 1 August.
    august = report(runner, "XJGAT-POOL-2025", "2025-08", "--as-of", "2025-08-02T00:00")
    assert august["totals"]["termination_refund"] == "607430.00"
    assert august["totals"]["strikes_to_date"] == 3

    # Before the third strike was reported, the right did not stand.
    mid_july = report(runner, "XJGAT-POOL-2025", "2025-07", "--as-of", "2025-07-15T08:59")
    assert mid_july["totals"]["termination_right"] is False
    assert mid_july["totals"]["strikes_to_date"] == 2


def test_report_cli_errors(runner, contracts):
    bad_month = runner.invoke(args=["sla-report", "QMGA-JWT-2025", "2025-13"])
    assert bad_month.exit_code == 1 and "YYYY-MM" in bad_month.output
    for month in ("0000-06", "9999-12"):  # once a traceback from month_bounds
        out_of_range = runner.invoke(args=["sla-report", "QMGA-JWT-2025", month])
        assert out_of_range.exit_code == 1 and "must be from 1970-01 to 9998-12" in out_of_range.output
        assert out_of_range.exception is None or isinstance(out_of_range.exception, SystemExit)
    unknown = runner.invoke(args=["sla-report", "NOPE", "2025-06"])
    assert unknown.exit_code == 1 and "NOPE" in unknown.output
    bad_as_of = runner.invoke(args=["sla-report", "QMGA-JWT-2025", "2025-06", "--as-of", "yesterday"])
    assert bad_as_of.exit_code == 1 and "--as-of" in bad_as_of.output


def test_report_written_to_file(runner, contracts, tmp_path):
    out = tmp_path / "r.json"
    result = runner.invoke(args=["sla-report", "QMGA-JWT-2025", "2025-06", "--as-of", "2025-07-01T00:00",
                                 "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text(encoding="utf-8"))["month"] == "2025-06"
