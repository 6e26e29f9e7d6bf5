"""The monthly report as an Excel workbook: sheets totals, incidents, waivers and payments.

Numbers are number cells (0.00 formats), times are datetime cells in the contract's local time
(naive, the time zone written above the header), so that a contract manager can sum and filter.
Written in openpyxl's write-only mode: rows stream out, a 10,000-incident month stays small. The
incident rows, nearly all of the cells, are written as text by xlsx_rows.Body (the same bytes).
Text people typed (external IDs, notes, the contract's names) is shown as typed, never evaluated.
"""
from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill

from desk.reports.labels import (
    CAUSES, KINDS, TOTALS, clause_text, contract_figures, local, payments_total, provisional_reasons, rules_clause,
    words,
)
from desk.reports.meta import ReportMeta
from desk.reports.xlsx_rows import Body, needs_text_cell, text_cell

HEADER_ROW = 4  # rows 1–3: title, time zone, blank
MONEY, HOURS, INTEGER, DATETIME, DATE = "#,##0.00", "0.00", "0", "yyyy-mm-dd hh:mm:ss", "yyyy-mm-dd"
BOLD = Font(bold=True)
HEAD_FILL = PatternFill("solid", fgColor="DDE7F5")
RED = Font(bold=True, color="C00000")


class _Sheet:
    def __init__(self, book: Workbook, title: str, widths: list[int]):
        self.ws = book.create_sheet(title)
        for index, width in enumerate(widths):
            self.ws.column_dimensions[chr(ord("A") + index)].width = width

    def cell(self, value, number_format: str | None = None, font: Font | None = None):
        typed = type(value) is str and needs_text_cell(value)  # else openpyxl makes "=…" a formula
        if not number_format and not font and not typed:
            # A plain value takes openpyxl's fast path; a cell object given to append() costs an
            # exception inside openpyxl each (a tenth of the time of a 10,000-incident month).
            return value
        cell = text_cell(self.ws, value) if typed else WriteOnlyCell(self.ws, value=value)
        if number_format:
            cell.number_format = number_format
        if font:
            cell.font = font
        return cell

    def heading(self, report: dict, meta: ReportMeta, caption: str) -> None:
        w = words(meta.lang)
        title = f'{w["report"]} · {report["contract"]} · {report["month"]} · {caption}'
        self.ws.append([self.cell(title, font=Font(bold=True, size=13))])
        # Every reason the figures may still change, as the PDF's first page gives them.
        reasons = provisional_reasons(report, meta, w)
        note = " · ".join([w["local_time_note"].format(tz=report["timezone"]), *reasons])
        self.ws.append([self.cell(note, font=RED if reasons else None)])
        self.ws.append([])

    def header(self, labels: list[str]) -> None:
        row = []
        for label in labels:
            cell = self.cell(label, font=BOLD)
            cell.fill = HEAD_FILL
            cell.alignment = Alignment(wrap_text=True, vertical="center")
            row.append(cell)
        self.ws.append(row)


def _money(value: str | Decimal) -> Decimal:
    return Decimal(value)


def render_xlsx(report: dict, meta: ReportMeta) -> bytes:
    w = words(meta.lang)
    tz = report["timezone"]
    totals = report["totals"]
    book = Workbook(write_only=True)

    # 合计: who, which month, as of when, then every total with the clause that produced it.
    sheet = _Sheet(book, w["sheet_totals"], [24, 26, 18, 14])
    sheet.heading(report, meta, w["totals"])
    sheet.header(["key", w["item"], w["value"], w["clause"]])
    info = [
        ("contract", w["contract"], report["contract"], None),
        ("title", w["title"], meta.title, None),
        ("customer", w["customer"], meta.customer, None),
        ("carrier", w["carrier"], meta.carrier, None),
        ("month", w["month"], report["month"], None),
        ("as_of", w["as_of"], local(report["as_of"], tz), DATETIME),
        ("final", w["final"], w["yes"] if report["final"] else w["no"], None),
        ("provisional", w["provisional"], w["yes"] if report["provisional"] else w["no"], None),
    ]
    for key, label, value in contract_figures(meta, w):  # a fee the contract lacks says so, as in the PDF
        fmt = None if value is None else INTEGER if key == "cards" else MONEY
        info.append((key, label, w["no_clause"] if value is None else value, fmt))
    for key, label, value, fmt in info:
        sheet.ws.append([sheet.cell(key), sheet.cell(label), sheet.cell(value, fmt)])
    for key, rules, kind in TOTALS:
        value = totals[key]
        if kind == "bool":  # the termination right, in the PDF's words
            cell = sheet.cell(w["exists"] if value else w["not_exists"])
        elif kind == "int":
            cell = sheet.cell(int(value), INTEGER)
        else:
            cell = sheet.cell(_money(value), MONEY if kind == "money" else HOURS)
        sheet.ws.append([sheet.cell(key), sheet.cell(w[key]), cell, sheet.cell(rules_clause(meta, rules, w))])

    # 事件: one row an incident, local times as datetime cells.
    sheet = _Sheet(book, w["sheet_incidents"], [9, 14, 19, 19, 19, 10, 11, 10, 9, 12, 9, 9, 12])
    sheet.heading(report, meta, w["incidents"])
    clause_r1, clause_r2 = rules_clause(meta, ("R1",), w), rules_clause(meta, ("R2",), w)
    sheet.header([
        w["id"], w["external_id"], w["reported_at"], w["started_at"], w["restored_at"], w["kind"], w["cause"],
        w["cause_confirmed"], w["affected_cards"], w["repair_hours"],
        f'{w["deadline"]} {clause_r1}', w["strike_number"], f'{w["penalty"]} {clause_r2}',
    ])
    kinds, causes = KINDS.get(meta.lang, KINDS["zh"]), CAUSES.get(meta.lang, CAUSES["zh"])
    # The month's bulk: written as text by Body, byte for byte what appending the cells would write.
    with Body(sheet.ws, HEADER_ROW + 1, [None, None, DATETIME, DATETIME, DATETIME, None, None, None,
                                         INTEGER, HOURS, None, INTEGER, MONEY]) as body:
        for i in report["incidents"]:
            met = i["repair_deadline_met"]
            body.append([
                i["id"], i.get("external_id"),
                local(i["reported_at"], tz), local(i["started_at"], tz), local(i["restored_at"], tz),
                kinds.get(i["kind"], i["kind"]), causes.get(i["cause"], i["cause"]),
                w["yes"] if i["cause_confirmed"] else w["no"],
                i["affected_cards"], None if i["repair_hours"] is None else _money(i["repair_hours"]),
                None if met is None else w["met"] if met else w["missed"],
                i["strike_number"], _money(i["penalty"]),
            ])

    # 减免: each waived day (R4), then the period waiver (R5) and the total.
    sheet = _Sheet(book, w["sheet_waivers"], [14, 16, 12])
    sheet.heading(report, meta, w["waivers"])
    sheet.header([w["date"], w["amount"], w["clause"]])
    for waiver in totals["day_waivers"]:
        sheet.ws.append([sheet.cell(date.fromisoformat(waiver["date"]), DATE),
                         sheet.cell(_money(waiver["amount"]), MONEY), sheet.cell(rules_clause(meta, ("R4",), w))])
    sheet.ws.append([])
    for key in ("day_waiver_total", "period_waiver_total", "waiver_total"):
        sheet.ws.append([sheet.cell(w[key], font=BOLD), sheet.cell(_money(totals[key]), MONEY, BOLD),
                         sheet.cell(clause_text(meta, key, w))])

    # 已付服务费: the ledger up to as_of, the refund basis of R3.
    sheet = _Sheet(book, w["sheet_payments"], [19, 16, 30])
    sheet.heading(report, meta, w["payments"])
    sheet.header([w["paid_at"], w["amount"], w["note"]])
    for payment in meta.payments():
        sheet.ws.append([sheet.cell(local(payment.paid_at, tz), DATETIME), sheet.cell(payment.amount, MONEY),
                         sheet.cell(payment.note)])
    if meta.payments():  # their sum, as the PDF gives it
        sheet.ws.append([])
        sheet.ws.append([sheet.cell(w["sum"], font=BOLD), sheet.cell(payments_total(meta), MONEY, BOLD)])

    if meta.decisions:  # the customer's decisions on its termination right up to as_of (六.(六))
        sheet = _Sheet(book, w["decisions"], [19, 24, 12, 40])
        sheet.heading(report, meta, w["decisions"])
        sheet.header([w["decided_at"], w["decision"], w["strikes_at_decision"], w["note"]])
        for decision in meta.decisions:
            sheet.ws.append([sheet.cell(local(decision.decided_at, tz), DATETIME), sheet.cell(w[decision.decision]),
                             sheet.cell(decision.strikes, INTEGER), sheet.cell(decision.note)])

    if meta.adjustments:  # corrections to frozen earlier months, stated once
        sheet = _Sheet(book, w["sheet_adjustments"], [10, 22, 16, 16, 16, 14])
        sheet.heading(report, meta, w["adjustments"])
        sheet.header([w["adj_month"], w["adj_item"], w["adj_frozen"], w["adj_now"], w["adj_difference"], w["clause"]])
        for row in meta.adjustments:
            sheet.ws.append([sheet.cell(row["month"]), sheet.cell(w[row["item"]])]
                            + [sheet.cell(_money(row[k]), MONEY) for k in ("frozen", "now", "difference")]
                            + [sheet.cell(clause_text(meta, row["item"], w))])

    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
