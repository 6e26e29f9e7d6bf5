"""The workbook: number cells and datetime cells (local, naive), equal to the JSON figures."""
import io
from datetime import date, datetime
from decimal import Decimal

from openpyxl import load_workbook

from desk.reports.labels import local
from desk.reports.xlsx_report import HEADER_ROW, render_xlsx


def book(report, meta):
    return load_workbook(io.BytesIO(render_xlsx(report, meta)))


def rows(sheet):
    return list(sheet.iter_rows(min_row=HEADER_ROW + 1, values_only=True))


def test_sheets_and_the_time_zone_note(qmga_june):
    wb = book(*qmga_june)
    assert wb.sheetnames == ["合计", "事件", "减免", "已付服务费"]
    assert "Asia/Shanghai" in wb["事件"]["A2"].value


def test_totals_are_numbers_equal_to_the_json(any_report):
    report, meta = any_report
    sheet = book(report, meta)["合计"]
    cells = {row[0].value: row[2] for row in sheet.iter_rows(min_row=HEADER_ROW + 1)}
    for key, value in report["totals"].items():
        if key == "day_waivers":
            continue
        cell = cells[key]
        if isinstance(value, bool):
            assert cell.value == ("已产生" if value else "未产生")  # the PDF's words
        elif isinstance(value, int):
            assert cell.value == value and cell.number_format == "0"
        else:
            assert isinstance(cell.value, (int, float)), key
            assert Decimal(str(cell.value)).quantize(Decimal("0.01")) == Decimal(value), key
            assert cell.number_format in ("#,##0.00", "0.00")
    assert cells["as_of"].value == local(report["as_of"], "Asia/Shanghai")


def test_incidents_have_datetime_and_number_cells(qmga_june):
    report, meta = qmga_june
    sheet = book(report, meta)["事件"]
    data = rows(sheet)
    assert len(data) == len(report["incidents"])
    first = data[0]
    assert first[2] == datetime(2025, 6, 3, 10, 0) and first[4] == datetime(2025, 6, 3, 13, 30)
    assert sheet.cell(HEADER_ROW + 1, 3).number_format == "yyyy-mm-dd hh:mm:ss"
    for row, incident in zip(data, report["incidents"]):
        assert row[0] == incident["id"] and row[8] == incident["affected_cards"]
        assert Decimal(str(row[9])).quantize(Decimal("0.01")) == Decimal(incident["repair_hours"])
        assert Decimal(str(row[12])).quantize(Decimal("0.01")) == Decimal(incident["penalty"])


def test_waivers_are_dates_and_amounts(qmga_june):
    report, meta = qmga_june
    sheet = book(report, meta)["减免"]
    data = [r for r in rows(sheet) if r[0] is not None]
    days = [(r[0], r[1]) for r in data[:4]]
    assert [(d.date(), Decimal(str(a)).quantize(Decimal("0.01"))) for d, a in days] == [
        (date.fromisoformat(w["date"]), Decimal(w["amount"])) for w in report["totals"]["day_waivers"]]
    assert [Decimal(str(r[1])).quantize(Decimal("0.01")) for r in data[4:]] == [
        Decimal("1689.50"), Decimal("0.00"), Decimal("1689.50")]


def test_payments_and_open_incident(xjgat_july):
    report, meta = xjgat_july
    wb = book(report, meta)
    assert rows(wb["已付服务费"]) == [(datetime(2025, 4, 15, 10, 0), 191820, "合同签订后支付30%"), (None, None, None),
                                  ("合计", 191820, None)]  # their sum, as in the PDF
    still_open = rows(wb["事件"])[2]
    assert still_open[4] is None and still_open[9] is None and still_open[10] is None
    strike = rows(wb["事件"])[1]
    assert strike[10] == "超时" and strike[11] == 3 and strike[12] == 6394
