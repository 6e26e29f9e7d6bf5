"""The long body of a write-only sheet written as text: the same bytes openpyxl writes, faster.

openpyxl builds and serialises an ElementTree element for every cell, about 15 µs a cell, most of
a 10,000-incident month's workbook. `Body` formats the common cells (numbers, naive datetimes under a
date format, plain text, empty cells) as text and streams the rows into the sheet's file, between
the heading rows openpyxl has written and the sheet's end. Everything openpyxl treats specially
(text with edge whitespace, empty, over-long or illegal text, any other type) goes through openpyxl's
own cell writer, so the workbook holds exactly what `ws.append` would have written.

Text is always text: what openpyxl would store as a formula ("=…") or an error ("#N/A"), and what
Excel would evaluate once the cell is edited ("+1", "@SUM(A1)"), is written as `text_cell` writes it.
tests/reports/test_xlsx_rows.py compares Body's workbook with openpyxl's byte for byte.
"""
from __future__ import annotations

import math
from datetime import datetime
from decimal import Decimal
from xml.etree.ElementTree import tostring

from openpyxl.cell import Cell, WriteOnlyCell
from openpyxl.cell._writer import etree_write_cell
from openpyxl.cell.cell import ERROR_CODES, ILLEGAL_CHARACTERS_RE
from openpyxl.styles import is_date_format
from openpyxl.utils import get_column_letter
from openpyxl.utils.datetime import to_excel
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from desk.reports.labels import read_as_formula

_NUMBERS = (int, float, Decimal)  # exact types: a bool is an int, and openpyxl writes it as one


def needs_text_cell(text: str) -> bool:
    """Text that openpyxl would store as a formula or an error, or that Excel evaluates when edited."""
    return read_as_formula(text) or text in ERROR_CODES


def text_cell(ws: WriteOnlyWorksheet, text: str) -> Cell:
    """A string cell showing the text as typed, never evaluated.

    openpyxl reads "=…" as a formula and "#N/A" as an error, so the data type is set back to
    string; the quote prefix (what Excel sets for a typed '=…) keeps it text when someone edits it.
    """
    cell = WriteOnlyCell(ws, value=text)
    cell.data_type = "s"
    cell.quotePrefix = True
    return cell


class Body:
    """Rows added after a write-only sheet's last appended row, in the given columns' number formats.

    Closes the sheet: set everything else on it first. Use as a context manager, or call close().
    """

    def __init__(self, ws: WriteOnlyWorksheet, first_row: int, formats: list[str | None]):
        self.ws, self.row, self.formats = ws, first_row, formats
        self.letters = [get_column_letter(column) for column in range(1, len(formats) + 1)]
        # ' s="n"' per column, "" when unformatted; None until its first cell needs it (see _style)
        self.styles: list[str | None] = [None if fmt else "" for fmt in formats]
        self.dates = [fmt is not None and is_date_format(fmt) and not ws.parent.iso_dates for fmt in formats]
        self.epoch = ws.parent.epoch
        self.texts: dict[str, str] = {}  # plain text → its cell after the reference; labels repeat
        ws.close()  # openpyxl writes the rows so far, then "</sheetData>" and the sheet's end
        path = ws._writer.out  # openpyxl's temporary file, zipped by book.save()
        with open(path, "rb") as sheet:
            head, self.tail = sheet.read().rsplit(b"</sheetData>", 1)  # text content has its "<" escaped
        self.file = open(path, "wb")
        self.file.write(head)

    def __enter__(self) -> Body:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def append(self, values: list) -> None:
        row = str(self.row)
        cells = [f'<row r="{row}">']
        for column, value in enumerate(values):
            kind = type(value)
            if value is None:
                if not self.formats[column]:
                    continue
                tail = ' t="n" />'  # a formatted empty cell is written, as openpyxl does
            elif kind is str:
                tail = self.texts.get(value)
                if tail is None:
                    if not _plain(value):
                        cells.append(self._openpyxl_cell(self.row, column, value))
                        continue
                    tail = self.texts[value] = f' t="inlineStr"><is><t>{_escape(value)}</t></is></c>'
            elif kind in _NUMBERS and math.isfinite(value):
                tail = f' t="n"><v>{"%.16g" % value}</v></c>'
            elif kind is datetime and value.tzinfo is None and self.dates[column]:
                tail = f' t="n"><v>{"%.16g" % to_excel(value, self.epoch)}</v></c>'
            else:
                cells.append(self._openpyxl_cell(self.row, column, value))
                continue
            style = self.styles[column]
            if style is None:
                style = self._style(column)
            cells.append(f'<c r="{self.letters[column]}{row}"{style}{tail}')
        cells.append("</row>")
        self.file.write("".join(cells).encode("utf-8", "xmlcharrefreplace"))  # as openpyxl's writer
        self.row += 1

    def close(self) -> None:
        """End the sheet; the workbook is then saved as usual."""
        if not self.file.closed:
            self.file.write(b"</sheetData>" + self.tail)
            self.file.close()

    def _style(self, column: int) -> str:
        # A format joins the workbook's style table when a cell first uses it, as with openpyxl's
        # writer: a text cell's own style (quote prefix) may come first, and the ids follow the order.
        cell = WriteOnlyCell(self.ws)
        cell.number_format = self.formats[column]
        self.styles[column] = f' s="{cell.style_id}"'
        return self.styles[column]

    def _openpyxl_cell(self, row: int, column: int, value) -> str:
        if type(value) is str and needs_text_cell(value):
            cell = text_cell(self.ws, value)
        else:
            cell = WriteOnlyCell(self.ws, value=value)
        cell.row, cell.column = row, column + 1
        if self.formats[column]:
            cell.number_format = self.formats[column]
        written = []
        etree_write_cell(_Collect(written), self.ws, cell, cell.has_style)
        return tostring(written[0], encoding="unicode")


class _Collect:
    """Stands in for openpyxl's xmlfile: keeps the element instead of writing it."""

    def __init__(self, into: list):
        self.write = into.append


def _plain(text: str) -> bool:
    """Text openpyxl writes as an inline string with nothing added (see Cell._bind_value, whitespace())."""
    return (text != "" and text.strip() == text and len(text) <= 32767 and not needs_text_cell(text)
            and not ILLEGAL_CHARACTERS_RE.search(text))


def _escape(text: str) -> str:
    # ElementTree's escaping of element text
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
