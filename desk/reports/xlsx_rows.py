"""The long body of a write-only sheet written as text: the same bytes openpyxl writes, faster.

openpyxl builds and serialises an ElementTree element for every cell, about 15 µs a cell, most of
a 10,000-incident month's workbook. `Body` formats the common cells (numbers, naive datetimes under a
date format, plain text, empty cells) as text and streams the rows into the sheet's file, between
the heading rows openpyxl has written and the sheet's end. Everything openpyxl treats specially
(formulas, error codes, text with edge whitespace, empty, over-long or illegal text, any other type)
goes through openpyxl's own cell writer, so the workbook holds exactly what `ws.append` would have
written. tests/reports/test_xlsx_rows.py compares the two byte for byte.
"""
from __future__ import annotations

import math
from datetime import datetime
from decimal import Decimal
from xml.etree.ElementTree import tostring

from openpyxl.cell import WriteOnlyCell
from openpyxl.cell._writer import etree_write_cell
from openpyxl.cell.cell import ERROR_CODES, ILLEGAL_CHARACTERS_RE
from openpyxl.styles import is_date_format
from openpyxl.utils import get_column_letter
from openpyxl.utils.datetime import to_excel
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

_NUMBERS = (int, float, Decimal)  # exact types: a bool is an int, and openpyxl writes it as one


class Body:
    """Rows added after a write-only sheet's last appended row, in the given columns' number formats.

    Closes the sheet: set everything else on it first. Use as a context manager, or call close().
    """

    def __init__(self, ws: WriteOnlyWorksheet, first_row: int, formats: list[str | None]):
        self.ws, self.row, self.formats = ws, first_row, formats
        self.letters = [get_column_letter(column) for column in range(1, len(formats) + 1)]
        self.styles: list[str] = []  # ' s="n"' per column, set by the first row (see _register_styles)
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
        if not self.styles:
            self._register_styles()
        row = str(self.row)
        cells = [f'<row r="{row}">']
        for column, value in enumerate(values):
            ref = self.letters[column] + row
            kind = type(value)
            if value is None:
                if self.styles[column]:  # a formatted empty cell is written, as openpyxl does
                    cells.append(f'<c r="{ref}"{self.styles[column]} t="n" />')
            elif kind is str and (tail := self.texts.get(value)) is not None:
                cells.append(f'<c r="{ref}"{self.styles[column]}{tail}')
            elif kind is str and _plain(value):
                tail = self.texts[value] = f' t="inlineStr"><is><t>{_escape(value)}</t></is></c>'
                cells.append(f'<c r="{ref}"{self.styles[column]}{tail}')
            elif kind in _NUMBERS and math.isfinite(value):
                cells.append(f'<c r="{ref}"{self.styles[column]} t="n"><v>{"%.16g" % value}</v></c>')
            elif kind is datetime and value.tzinfo is None and self.dates[column]:
                cells.append(f'<c r="{ref}"{self.styles[column]} t="n">'
                             f'<v>{"%.16g" % to_excel(value, self.epoch)}</v></c>')
            else:
                cells.append(self._openpyxl_cell(self.row, column, value))
        cells.append("</row>")
        self.file.write("".join(cells).encode("utf-8", "xmlcharrefreplace"))  # as openpyxl's writer
        self.row += 1

    def close(self) -> None:
        """End the sheet; the workbook is then saved as usual."""
        if not self.file.closed:
            self.file.write(b"</sheetData>" + self.tail)
            self.file.close()

    def _register_styles(self) -> None:
        # The first row's formats join the workbook's style table in the order openpyxl would add them.
        for fmt in self.formats:
            if fmt is None:
                self.styles.append("")
            else:
                cell = WriteOnlyCell(self.ws)
                cell.number_format = fmt
                self.styles.append(f' s="{cell.style_id}"')

    def _openpyxl_cell(self, row: int, column: int, value) -> str:
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
    return (text != "" and text.strip() == text and text[0] != "=" and len(text) <= 32767
            and text not in ERROR_CODES and not ILLEGAL_CHARACTERS_RE.search(text))


def _escape(text: str) -> str:
    # ElementTree's escaping of element text
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
