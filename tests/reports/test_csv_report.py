"""The CSV: a BOM for Excel, then sections whose figures read back exactly as in the JSON."""
import csv
import io

from desk.reports.csv_report import BOM, INCIDENT_COLUMNS, render_csv


def sections(data: bytes) -> dict[str, list[list[str]]]:
    text = data.decode("utf-8")
    assert text.startswith(BOM)
    found, current = {}, None
    for row in csv.reader(io.StringIO(text[1:])):
        if row and row[0].startswith("## "):
            current = found.setdefault(row[0][3:], [])
        elif row and current is not None:
            current.append(row)
    return found


def test_starts_with_the_utf8_bom(qmga_june):
    assert render_csv(*qmga_june)[:3] == b"\xef\xbb\xbf"


def test_totals_and_day_waivers_read_back_as_in_the_json(any_report):
    report, meta = any_report
    parts = sections(render_csv(report, meta))
    header, *rows = parts["totals"]
    assert header[0] == "key"
    totals = {row[0]: row[2] for row in rows}
    for key, value in report["totals"].items():
        if key == "day_waivers":
            continue
        expected = {True: "true", False: "false"}.get(value, value) if isinstance(value, bool) else str(value)
        assert totals[key] == expected, key
    _, *waivers = parts["day_waivers"]
    assert [{"date": d, "amount": a} for d, a in waivers] == report["totals"]["day_waivers"]


def test_qmga_worked_example_figures(qmga_june):
    parts = sections(render_csv(*qmga_june))
    totals = {row[0]: row for row in parts["totals"][1:]}
    assert totals["day_waiver_total"][2:] == ["1689.50", "6.3"]
    assert totals["outage_hours"][2] == "13.48"
    assert [row[1] for row in parts["day_waivers"][1:]] == ["545.00", "545.00", "545.00", "54.50"]


def test_incidents_have_local_and_utc_times(qmga_june):
    report, meta = qmga_june
    header, *rows = sections(render_csv(report, meta))["incidents"]
    assert header == INCIDENT_COLUMNS
    first = dict(zip(header, rows[0]))
    assert first["reported_at"] == "2025-06-03 10:00:00"  # Asia/Shanghai
    assert first["reported_at_utc"] == "2025-06-03T02:00:00Z"
    for row, incident in zip(rows, report["incidents"]):
        row = dict(zip(header, row))
        assert (row["id"], row["repair_hours"], row["penalty"], row["cause"]) == (
            str(incident["id"]), incident["repair_hours"], incident["penalty"], incident["cause"])


def test_open_incident_and_strike(xjgat_july):
    report, meta = xjgat_july
    header, *rows = sections(render_csv(report, meta))["incidents"]
    strike, still_open = (dict(zip(header, row)) for row in rows[1:])
    assert (strike["strike_number"], strike["penalty"]) == ("3", "6394.00")
    assert strike["repair_deadline_met"] == "false"
    assert (still_open["restored_at"], still_open["repair_hours"], still_open["repair_deadline_met"]) == ("", "", "")
    payments = sections(render_csv(report, meta))["payments"]
    assert payments[1] == ["2025-04-15 10:00:00", "2025-04-15T02:00:00Z", "191820.00", "合同签订后支付30%"]
