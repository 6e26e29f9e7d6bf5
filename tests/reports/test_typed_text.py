"""Text people typed is shown as typed in the downloads, never evaluated; figures stay numbers.

XLSX: every text cell is a string cell ("=…" would otherwise be a formula, "#N/A" an error).
CSV: OWASP's rule, a leading "'" on text starting with = + - @ tab or CR; figures untouched.
"""
import io
from decimal import Decimal

from openpyxl import load_workbook

from desk.reports.csv_report import render_csv
from desk.reports.labels import FORMULA_TRIGGERS
from desk.reports.xlsx_report import HEADER_ROW, render_xlsx

from .conftest import TYPED_EXTERNAL_IDS
from .test_csv_report import sections


def test_xlsx_text_cells_are_strings_holding_the_text(typed_text):
    report, meta = typed_text
    book = load_workbook(io.BytesIO(render_xlsx(report, meta)))
    for sheet in book:
        for row in sheet.iter_rows():
            for cell in row:
                if cell.value is not None:  # (an empty clause reads back as an empty "inlineStr")
                    assert cell.data_type in ("s", "n", "d"), (sheet.title, cell.coordinate, cell.data_type)
                if isinstance(cell.value, str):
                    assert cell.data_type == "s", (sheet.title, cell.coordinate)
    incidents = book["事件"]
    ids = [incidents.cell(r, 2) for r in range(HEADER_ROW + 1, HEADER_ROW + 1 + len(TYPED_EXTERNAL_IDS))]
    assert [(c.data_type, c.value) for c in ids] == [("s", text) for text in TYPED_EXTERNAL_IDS]
    totals = {row[0].value: row[2] for row in book["合计"].iter_rows(min_row=HEADER_ROW + 1)}
    assert [(totals[k].data_type, totals[k].value) for k in ("title", "customer", "carrier")] == [
        ("s", "=1+2"), ("s", "+甲方"), ("s", "-乙方")]
    payment = book["已付服务费"].cell(HEADER_ROW + 1, 3)
    assert (payment.data_type, payment.value) == ("s", "=cmd|' /C calc'!A0")
    waiver_clause = book["减免"].cell(HEADER_ROW + 1, 3)
    assert (waiver_clause.data_type, waiver_clause.value) == ("s", "@6.3")


def test_xlsx_figures_stay_numbers(typed_text):
    report, meta = typed_text
    book = load_workbook(io.BytesIO(render_xlsx(report, meta)))
    for row, incident in zip(book["事件"].iter_rows(min_row=HEADER_ROW + 1), report["incidents"]):
        hours, penalty = row[9], row[12]
        assert hours.data_type == "n" and hours.number_format == "0.00"
        assert Decimal(str(hours.value)).quantize(Decimal("0.01")) == Decimal(incident["repair_hours"])
        assert penalty.data_type == "n" and penalty.number_format == "#,##0.00"
        assert row[2].is_date
    adjustment = list(book["往月调整"].iter_rows(min_row=HEADER_ROW + 1))[0]
    assert [(c.data_type, c.value) for c in adjustment[2:5]] == [("n", 545), ("n", 0), ("n", -545)]
    assert book["已付服务费"].cell(HEADER_ROW + 1, 2).value == 16350


def test_csv_prefixes_typed_text_only(typed_text):
    report, meta = typed_text
    parts = sections(render_csv(report, meta))
    header, *rows = parts["incidents"]
    incidents = [dict(zip(header, row)) for row in rows]
    assert [i["external_id"] for i in incidents] == [
        "'=HYPERLINK(\"http://x\",\"y\")", "'+1", "'-2", "'@SUM(A1)", "#N/A", "'\tQ-6"]
    for row, incident in zip(incidents, report["incidents"]):
        assert (row["repair_hours"], row["penalty"]) == (incident["repair_hours"], incident["penalty"])
    report_rows = {row[0]: row for row in parts["report"]}
    assert report_rows["contract"][2] == "'=1+2"
    assert parts["payments"][1][2:] == ["16350.00", "'=cmd|' /C calc'!A0"]
    assert parts["day_waivers"][1] == ["2025-06-03", "545.00"]
    assert parts["adjustments"][1] == ["2025-05", "penalties", "545.00", "0.00", "-545.00", "合同无此条款"]
    assert (report_rows["customer"][1], report_rows["carrier"][1]) == ("'+甲方", "'-乙方")
    totals = {row[0]: row for row in parts["totals"][1:]}
    assert totals["day_waiver_total"][2:] == ["1689.50", "'@6.3"]


def test_csv_fields_starting_with_a_trigger_are_prefixed_text_or_numbers(typed_text):
    for rows in sections(render_csv(*typed_text)).values():
        for row in rows:
            for field in row:
                if field.startswith(FORMULA_TRIGGERS):
                    Decimal(field)  # a figure, such as the negative adjustment; text would start with "'"
