"""Body writes the bytes openpyxl's own append writes, and the month's workbook reads back cell by cell."""
import io
import zipfile
from datetime import date, datetime, timezone
from decimal import Decimal

import pytest
from openpyxl import Workbook, load_workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.utils.exceptions import IllegalCharacterError

from desk.reports.labels import local
from desk.reports.xlsx_report import DATETIME, HEADER_ROW, HOURS, INTEGER, MONEY, render_xlsx
from desk.reports.xlsx_rows import Body, needs_text_cell, text_cell

from .measure_10k import generated

FORMATS = [None, None, DATETIME, INTEGER, HOURS, MONEY, None]
# What a contract manager or a carrier may type into an external id, and the odd values openpyxl
# treats specially: formulas, error codes, edge whitespace, escapes, control and astral characters.
ODD = [None, "", " lead", "trail ", "   ", "=1+2", "=", "#N/A", "a&b<c>d\"'", "line\nbreak\r\nx", "\ttab",
       "x" * 40_000, "emoji 😀", "</sheetData>", "12345", True, 0, -1.5, float("nan"), float("inf"),
       Decimal("6394.00"), Decimal("0.005"), 10**20, date(2025, 7, 1), datetime(2025, 7, 1, 8, 30),
       '=HYPERLINK("http://x","y")', "+1", "-2", "@SUM(A1)", "\rcr"]


def rows_of(n: int) -> list[list]:
    """Rows cycling the odd values through every column, so each meets each format."""
    return [[ODD[(r * 7 + c) % len(ODD)] for c in range(len(FORMATS))] for r in range(n)]


def workbook_parts(rows: list[list], fast: bool) -> dict[str, bytes]:
    book = Workbook(write_only=True)
    ws = book.create_sheet("s")
    for _ in range(HEADER_ROW):
        ws.append(["head"])
    if fast:
        with Body(ws, HEADER_ROW + 1, FORMATS) as body:
            for row in rows:
                body.append(row)
    else:
        for row in rows:
            cells = []
            for value, fmt in zip(row, FORMATS):
                if type(value) is str and needs_text_cell(value):
                    value = text_cell(ws, value)  # what the report does: typed text is never evaluated
                elif fmt:
                    value = WriteOnlyCell(ws, value=value)
                if fmt:
                    value.number_format = fmt
                cells.append(value)
            ws.append(cells)
    out = io.BytesIO()
    book.save(out)
    archive = zipfile.ZipFile(out)
    return {name: archive.read(name) for name in archive.namelist() if name != "docProps/core.xml"}


def test_body_writes_what_openpyxl_writes():
    rows = rows_of(3 * len(ODD))
    fast = workbook_parts(rows, fast=True)
    assert fast == workbook_parts(rows, fast=False)
    sheet = fast["xl/worksheets/sheet1.xml"]
    assert b"<f>" not in sheet and b't="e"' not in sheet  # no formula, no error cell


def test_typed_text_reads_back_as_the_text_in_every_format():
    texts = [v for v in ODD if type(v) is str and needs_text_cell(v)]
    assert len(texts) >= 8
    parts = workbook_parts([[text] * len(FORMATS) for text in texts], fast=True)
    book = load_workbook(io.BytesIO(_zipped(parts)))
    for row, text in zip(book["s"].iter_rows(min_row=HEADER_ROW + 1), texts):
        text = text.replace("\r", "\n")  # XML reads a bare carriage return as a line feed (openpyxl's as well)
        for cell, fmt in zip(row, FORMATS):
            assert (cell.data_type, cell.value, cell.quotePrefix) == ("s", text, True), cell.coordinate
            assert cell.number_format == (fmt or "General"), cell.coordinate


def _zipped(parts: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return out.getvalue()


def test_body_refuses_what_openpyxl_refuses():
    book = Workbook(write_only=True)
    with Body(book.create_sheet("s"), 1, [None]) as body:
        with pytest.raises(IllegalCharacterError):
            body.append(["bell\x07"])
        with pytest.raises(TypeError):  # Excel has no time zones
            body.append([datetime(2025, 7, 1, tzinfo=timezone.utc)])


def test_the_months_incidents_read_back_cell_by_cell():
    report, meta = generated(1_000)
    sheet = load_workbook(io.BytesIO(render_xlsx(report, meta)))["事件"]
    cells = list(sheet.iter_rows(min_row=HEADER_ROW + 1))
    assert len(cells) == len(report["incidents"])
    for row, incident in zip(cells, report["incidents"]):
        expected = [
            incident["id"], incident["external_id"], local(incident["reported_at"], "Asia/Shanghai"),
            local(incident["started_at"], "Asia/Shanghai"), local(incident["restored_at"], "Asia/Shanghai"),
            "业务中断", "乙方原因" if incident["cause"] == "carrier" else "第三方",
            "是" if incident["cause_confirmed"] else "否", incident["affected_cards"],
            Decimal(incident["repair_hours"]), "按时" if incident["repair_deadline_met"] else "超时",
            incident["strike_number"], Decimal(incident["penalty"]),
        ]
        formats = ["General", "General", DATETIME, DATETIME, DATETIME, "General", "General", "General",
                   INTEGER, HOURS, "General", INTEGER, MONEY]
        for cell, value, fmt in zip(row, expected, formats):
            assert cell.number_format == fmt, cell.coordinate
            assert not cell.font.b and cell.fill.fill_type is None, cell.coordinate
            if isinstance(value, Decimal):
                assert cell.data_type == "n" and Decimal(str(cell.value)).quantize(value) == value
            elif isinstance(value, datetime):
                assert cell.is_date and cell.value == value
            elif value is None:
                assert cell.value is None
            else:
                assert type(cell.value) is type(value) and cell.value == value, cell.coordinate
