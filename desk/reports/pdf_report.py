"""The monthly report as an A4 PDF ready to sign: every figure, the clause that produced it, the charts,
and a signature and seal block for both parties.

fpdf2 embeds a subset of WenQuanYi Micro Hei (from the pinned package paperang-p2-fonts-cjk), so the
Chinese is rendered and extractable on any machine; see docs/reports.md. Tables are written row by
row with plain cells, which keeps a 10,000-incident month fast and small.
"""
from __future__ import annotations

import calendar
from importlib.resources import files
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import MethodReturnValue, TextMode, XPos, YPos

from desk.reports.charts import HEIGHT, WIDTH, all_charts
from desk.reports.hashing import report_hash
from desk.reports.labels import (
    CAUSES, KINDS, TEXT, TOTALS, clause_of, clause_text, contract_figures, decision_sentence, local_text, money,
    number, payments_total, period_sentence, provisional_reasons, rules_clause, rules_of, words,
)
from desk.reports.meta import ReportMeta

FAMILY = "WenQuanYi Micro Hei"  # the name the SVG charts ask for, too
INK, MUTED, LINE, RED, HEAD = (31, 41, 55), (107, 114, 128), (209, 213, 219), (192, 0, 0), (226, 234, 246)
ROW = 5.2  # mm, one table row


def font_path() -> Path:
    """The CJK font shipped by the pinned package (Apache-2.0, WenQuanYi Board of Trustees)."""
    return Path(str(files("paperang_p2_fonts_cjk") / "fonts" / "wqy-microhei.ttc"))


PAGE_COUNT = "{nb}"  # fpdf2's alias for the number of pages, replaced when the document is closed


class _Document(FPDF):
    def __init__(self, report: dict, meta: ReportMeta):
        super().__init__(orientation="P", unit="mm", format="A4")
        self.report, self.meta, self.w_ = report, meta, words(meta.lang)
        self.tz = report["timezone"]
        self.digest = report_hash(report)
        self.marked = report["provisional"] or not report["final"]
        self.add_font(FAMILY, "", font_path())
        self.set_margins(15, 20, 15)
        self.set_auto_page_break(True, margin=20)
        self.set_title(f'{self.w_["report"]} {report["contract"]} {report["month"]}')
        self.set_author(meta.carrier)
        self.set_subject(meta.title)
        self.set_creation_date(meta.generated_at)
        self.set_font(FAMILY, size=9)
        self.table_header = None  # redrawn at the top of each page while a table runs
        self.running: str | None = None  # the running header's text, fitted on the first page
        # Widths of right- and centre-aligned texts by font: a month's table repeats a few hundred
        # distinct values (hours, money, marks) over 10,000 rows, and fpdf2 measures slowly.
        self._widths: dict[tuple, float] = {}
        self._heads: dict[tuple, list[list[str]]] = {}  # a table header's lines per label

    # -- on every page -------------------------------------------------------------------------
    def header(self):
        # The page-count alias only while the footer draws it: fpdf2 replaces the alias in every text
        # drawn while it is set, and a note or a name reading "{nb}" would print the page count.
        self.alias_nb_pages(None)
        w = self.w_
        self.set_xy(15, 8)
        self.set_font(FAMILY, size=7.5)
        self.set_text_color(*MUTED)
        if self.running is None:
            # One line: a long name is shortened here, page 1 and the signatures give it whole.
            tail = f' · {self.report["contract"]} · {self.report["month"]}'
            self.running = self._fit(self.meta.customer, 120 - 2 * self.c_margin - self.get_string_width(tail)) + tail
        self.cell(120, 4, self.running)
        if self.marked:  # 临时 on every page while a figure may still change
            self.set_text_color(*RED)
            self.set_draw_color(*RED)
            self.set_x(195 - 40)
            # In both languages: the English version of a Chinese contract's report is marked 临时 too.
            self.cell(40, 5, f'{TEXT["zh"]["provisional"]} {TEXT["en"]["provisional"]}',
                      border=1, align="C")
        self.set_draw_color(*LINE)
        self.line(15, 14.5, 195, 14.5)
        self.set_text_color(*INK)
        self.set_xy(15, 20)
        if self.table_header:
            self.table_header()

    def footer(self):
        w = self.w_
        self.set_draw_color(*LINE)
        self.line(15, 281, 195, 281)
        self.set_font(FAMILY, size=6.5)
        self.set_text_color(*MUTED)
        self.set_xy(15, 282)
        self.cell(150, 3.5, f'{w["hash"]} {self.digest}')
        self.set_xy(15, 285.5)
        self.cell(150, 3.5, f'{w["as_of"]} {local_text(self.report["as_of"], self.tz, True)} ({self.tz})'
                            f' · {w["generated_at"]} {local_text(self.meta.generated_at, self.tz, True)}')
        self.set_font(FAMILY, size=8)
        self.set_text_color(*INK)
        self.set_xy(135, 284)
        # Left set: output() replaces it after drawing the last footer; the next header unsets it.
        self.alias_nb_pages(PAGE_COUNT)
        self.cell(60, 4, w["page"].format(n=self.page_no(), m=PAGE_COUNT), align="R")

    # -- building blocks -------------------------------------------------------------------------
    def bold(self):
        """WenQuanYi Micro Hei has one weight: headings are filled and stroked (in a q/Q context)."""
        return self.local_context(text_mode=TextMode.FILL_STROKE, line_width=0.18, draw_color=INK)

    def section(self, title: str, need: float = 30) -> None:
        if self.get_y() + need > self.page_break_trigger:
            self.add_page()
        self.ln(3)
        self.set_font(FAMILY, size=12)
        self.set_text_color(*INK)
        with self.bold():
            self.cell(0, 7, title, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_draw_color(*LINE)
        self.line(15, self.get_y(), 195, self.get_y())
        self.ln(1.5)

    def paragraph(self, text: str, colour=INK, size: float = 9) -> None:
        self.set_font(FAMILY, size=size)
        self.set_text_color(*colour)
        self.multi_cell(0, 5, text, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_text_color(*INK)

    def row(self, widths, values, aligns=None, size: float = 8, height: float = ROW, wrap=()) -> None:
        """One table row: plain text() calls and a rule, much cheaper than cell() for 10,000 rows.

        The columns in `wrap` hold typed text (an external ID, a note): wider than its column, it is
        broken onto more lines and the row grows, instead of running into the next column or off the page.
        """
        if self.font_size_pt != size or self.font_family != FAMILY.lower():
            self.set_font(FAMILY, size=size)
        cells = []
        for i, (width, value) in enumerate(zip(widths, values)):
            if type(value) is tuple:  # a column's lines, each wrapped on its own (a ticket ID above its external ID)
                cells.append([line for part in value for line in self.lines(str(part), width)])
            else:
                cells.append(self.lines(str(value), width) if i in wrap else [str(value)])
        line = self.font_size * 1.25
        extra = (max(len(c) for c in cells) - 1) * line
        height += extra
        if self.get_y() + height > self.page_break_trigger:
            self.add_page()  # header() repeats the table header
        if self.font_size_pt != size or self.font_family != FAMILY.lower():
            self.set_font(FAMILY, size=size)
        x, y = self.l_margin, self.get_y()
        first = y + 0.5 * (height - extra) + 0.3 * self.font_size  # the first line's baseline
        for i, (width, texts) in enumerate(zip(widths, cells)):
            align = aligns[i] if aligns else "L"
            for n, text in enumerate(texts):
                if text:
                    self.text(self._left(x, width, text, align), first + n * line, text)
            x += width
        self.set_draw_color(*LINE)
        self.line(self.l_margin, y + height, x, y + height)
        self.set_xy(self.l_margin, y + height)

    def _left(self, x: float, width: float, text: str, align: str) -> float:
        """Where a text starts in its column (L, R or C within the cell margins)."""
        if align == "L":
            return x + self.c_margin
        room = width - self._width(text) - (2 * self.c_margin if align == "R" else 0)
        return x + self.c_margin + (room if align == "R" else room / 2)

    def lines(self, text: str, width: float) -> list[str]:
        """The text as the lines that fit a column of this width, in the current font."""
        room = width - 2 * self.c_margin
        one_line = "\n" not in text and "\r" not in text
        # No glyph is wider than the font size: a short text fits unmeasured (most of a 10,000-row table).
        if one_line and (len(text) * self.font_size <= room or self._width(text) <= room):
            return [text]
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        body = text.lstrip(" ")
        indent = text[:len(text) - len(body)]  # a column's leading spaces start every line, not one of their own
        return [indent + line for line in self.multi_cell(width - self._width(indent), self.font_size, body,
                                                         dry_run=True, output=MethodReturnValue.LINES)]

    def _fit(self, text: str, room: float) -> str:
        """The text, shortened with "…" to fit room (mm) on one line."""
        if self.get_string_width(text) <= room:
            return text
        while text and self.get_string_width(text + "…") > room:
            text = text[:-1]
        return text + "…"

    def _width(self, text: str) -> float:
        key = (text, self.font_family, self.font_style, self.font_size_pt)
        width = self._widths.get(key)
        if width is None:
            width = self._widths[key] = self.get_string_width(text)
        return width

    def head(self, widths, labels, aligns=None, size: float = 7.5) -> None:
        """A table header of one or more lines (label, then the clause); a label wider than its
        column wraps, and the header grows to its longest label."""
        self.set_font(FAMILY, size=size)
        key = (tuple(widths), tuple(labels), size)
        laid = self._heads.get(key)
        if laid is None:  # redrawn on every page of a long table: laid out once, drawn with text()
            laid = self._heads[key] = [self.lines(label, width) for width, label in zip(widths, labels)]
        most = max(len(lines) for lines in laid)
        height = ROW if most == 1 else ROW * 0.85 * most
        if self.get_y() + height + ROW > self.page_break_trigger:
            self.add_page()
            self.set_font(FAMILY, size=size)
        self.set_fill_color(*HEAD)
        x, y = self.get_x(), self.get_y()
        self.rect(x, y, sum(widths), height, style="F")
        for i, (width, lines) in enumerate(zip(widths, laid)):
            step = height / len(lines)  # each label's lines share the header's height, centred as cells
            for n, text in enumerate(lines):
                if text.strip():
                    self.text(self._left(x, width, text, aligns[i] if aligns else "L"),
                              y + step * (n + 0.5) + 0.3 * self.font_size, text)
            x += width
        self.set_xy(self.l_margin, y + height)


def _title_block(pdf: _Document) -> None:
    w, report, meta = pdf.w_, pdf.report, pdf.meta
    pdf.set_font(FAMILY, size=18)
    with pdf.bold():
        pdf.cell(0, 10, f'{w["report"]} · {report["month"]}', new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FAMILY, size=10.5)
    pdf.set_text_color(*MUTED)
    pdf.multi_cell(0, 5.5, meta.title, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_text_color(*INK)
    pdf.ln(2)
    reasons = provisional_reasons(report, meta, w)  # as the XLSX's note and the CSV's provisional row
    if reasons:
        pdf.set_draw_color(*RED)
        pdf.set_text_color(*RED)
        pdf.set_font(FAMILY, size=9.5)
        pdf.multi_cell(0, 5.5, "\n".join(reasons), border=1, padding=(1.5, 3),
                       new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_text_color(*INK)
        pdf.ln(2)
    year, month = (int(p) for p in report["month"].split("-"))
    month_span = f'{report["month"]}-01 – {report["month"]}-{calendar.monthrange(year, month)[1]:02d}'
    status = w["final"] if report["final"] else w["provisional"]
    pairs = [
        (w["contract"], report["contract"], w["month"], month_span),
        (w["customer"], meta.customer, w["as_of"], f'{local_text(report["as_of"], pdf.tz, True)}'),
        (w["carrier"], meta.carrier, w["timezone"], pdf.tz),
    ]
    (_, cards_label, cards), (_, amount_label, amount), (_, fee_label, fee) = contract_figures(meta, w)
    pairs += [
        (amount_label, f'{money(amount)} {w["yuan"]}', w["status"], status),
        (cards_label, str(cards), fee_label, w["no_clause"] if fee is None else f'{money(fee)} {w["yuan"]}'),
    ]
    pdf.set_font(FAMILY, size=8.5)
    for label1, value1, label2, value2 in pairs:
        # The parties are named in full as in the contract: a long name wraps within its column.
        cells = [(22, label1, MUTED), (78, value1, INK), (20, label2, MUTED),
                 (60, value2, RED if label2 == w["status"] and pdf.marked else INK)]
        counts = [len(pdf.lines(text, width)) for width, text, _ in cells]
        height = 6 if max(counts) == 1 else 4.5 * max(counts) + 1.5
        y = pdf.get_y()
        if y + height > pdf.page_break_trigger:
            pdf.add_page()
            pdf.set_font(FAMILY, size=8.5)
            y = pdf.get_y()
        x = pdf.l_margin
        for (width, text, colour), count in zip(cells, counts):
            pdf.set_xy(x, y)
            pdf.set_text_color(*colour)
            pdf.multi_cell(width, 6 if count == 1 else 4.5, text, new_x=XPos.RIGHT, new_y=YPos.TOP)
            x += width
        pdf.set_xy(pdf.l_margin, y + height)
    pdf.set_text_color(*INK)


def _figure(kind: str, value, w: dict) -> str:
    if kind == "bool":
        return w["exists"] if value else w["not_exists"]
    if kind == "money":
        return f'{money(value)} {w["yuan"]}'
    if kind == "hours":
        return f'{value} {w["hours"]}'
    return str(value)


def _totals(pdf: _Document) -> None:
    w, meta, totals = pdf.w_, pdf.meta, pdf.report["totals"]
    pdf.section(w["totals"], need=ROW * 16)
    widths, aligns = [70, 55, 55], ["L", "R", "L"]
    pdf.head(widths, [w["item"], w["value"], "  " + w["clause"]], aligns)
    present = rules_of(meta)
    for key, rules, kind in TOTALS:
        applies = not rules or any(rule in present for rule in rules) or key == "outage_hours"
        pdf.set_text_color(*(INK if applies else MUTED))
        pdf.row(widths, [w[key], _figure(kind, totals[key], w), "  " + clause_text(meta, key, w)], aligns,
                size=8.5)
    pdf.set_text_color(*INK)
    pdf.ln(2)
    # the clauses in words: cumulative outage vs 72 h (6.3), strikes vs three (六.(六))
    if meta.period_waiver_hours is not None:
        pdf.paragraph(period_sentence(totals, meta, w))
    if meta.strike_threshold is not None:
        args = dict(n=totals["strikes_to_date"], t=meta.strike_threshold, clause=meta.clause("R3"))
        if totals["termination_right"]:
            pdf.paragraph(w["termination_text"].format(refund=money(totals["termination_refund"]),
                                                       penalty=money(totals["termination_penalty"]), **args),
                          colour=RED)
        else:
            pdf.paragraph(w["no_termination_text"].format(**args))
        for decision in meta.decisions:  # what the customer decided on the right, up to as_of
            pdf.paragraph(decision_sentence(decision, meta, w), colour=RED if decision.decision == "exercised" else INK)


def _charts(pdf: _Document) -> None:
    charts = list(all_charts(pdf.report, pdf.meta).values())
    width = 88.5
    height = width * HEIGHT / WIDTH
    pdf.section(pdf.w_["charts"], need=height + 15)
    for index in range(0, len(charts), 2):
        if pdf.get_y() + height > pdf.page_break_trigger:
            pdf.add_page()
        y = pdf.get_y()
        for column, svg in enumerate(charts[index:index + 2]):
            pdf.image(svg.encode("utf-8"), x=15 + column * (width + 3), y=y, w=width)
        pdf.set_y(y + height + 3)


def _incidents(pdf: _Document) -> None:
    w, meta, tz = pdf.w_, pdf.meta, pdf.tz
    kinds, causes = KINDS.get(meta.lang, KINDS["zh"]), CAUSES.get(meta.lang, CAUSES["zh"])
    r1, r2 = rules_clause(meta, ("R1",), w), rules_clause(meta, ("R2",), w)  # "not in contract" if none
    deadline = f'{w["deadline"]} {number(meta.repair_deadline_hours)}h' if clause_of(meta, ("R1",)) else w["deadline"]
    # At 7 pt a time needs 21.5, "interruption" 16, "undetermined *" 20, "影响卡数" 12
    widths = [14, 21.5, 21.5, 21.5, 16, 20, 12, 13, 14, 12.5, 14]
    aligns = ["L", "L", "L", "L", "L", "L", "R", "R", "C", "C", "R"]
    labels = [f'{w["id"]}\n{w["external_id"]}', w["reported_at"], w["started_at"], w["restored_at"], w["kind"],
              w["cause"], w["affected_cards"], w["repair_hours"].replace("（", "\n（").replace(" (", "\n("),
              f"{deadline}\n{r1}", w["strike_number"], f'{w["penalty"]}\n{r2}']
    pdf.section(w["incidents"], need=ROW * 4)
    pdf.set_font(FAMILY, size=8)
    pdf.set_text_color(*MUTED)
    pdf.cell(0, 5, w["local_time_note"].format(tz=tz) + " · " + w["unconfirmed_note"], new_x=XPos.LMARGIN,
             new_y=YPos.NEXT)
    pdf.set_text_color(*INK)
    incidents = pdf.report["incidents"]
    if not incidents:
        pdf.paragraph(w["no_incidents"])
        return
    pdf.head(widths, labels, aligns, size=7)
    pdf.table_header = lambda: pdf.head(widths, labels, aligns, size=7)
    for i in incidents:
        met = i["repair_deadline_met"]
        pdf.row(widths, [
            (i["id"], i["external_id"]) if i.get("external_id") else i["id"],  # the desk's ID, the unit's below
            local_text(i["reported_at"], tz), local_text(i["started_at"], tz), local_text(i["restored_at"], tz),
            kinds.get(i["kind"], i["kind"]),
            causes.get(i["cause"], i["cause"]) + ("" if i["cause_confirmed"] else " *"),
            i["affected_cards"], i["repair_hours"] or (w["open"] if i["restored_at"] is None else ""),
            "" if met is None else w["met"] if met else w["missed"],
            i["strike_number"] or "", money(i["penalty"]),
        ], aligns, size=7, wrap=(0, 4, 5))
    pdf.table_header = None


def _waivers(pdf: _Document) -> None:
    w, meta, totals = pdf.w_, pdf.meta, pdf.report["totals"]
    if not meta.has_waivers and not totals["day_waivers"]:
        return
    clause = rules_clause(meta, ("R4",), w)
    widths, aligns = [60, 60, 60], ["L", "R", "L"]
    pdf.section(f'{w["day_waivers"]}（{clause}）' if meta.lang == "zh" else f'{w["day_waivers"]} ({clause})',
                need=ROW * 4)
    pdf.head(widths, [w["date"], w["amount"], "  " + w["clause"]], aligns)
    pdf.table_header = lambda: pdf.head(widths, [w["date"], w["amount"], "  " + w["clause"]], aligns)
    for waiver in totals["day_waivers"]:
        pdf.row(widths, [waiver["date"], f'{money(waiver["amount"])} {w["yuan"]}', "  " + clause], aligns)
    pdf.table_header = None
    for key in ("day_waiver_total", "period_waiver_total", "waiver_total"):
        pdf.row(widths, [w[key], f'{money(totals[key])} {w["yuan"]}', "  " + clause_text(meta, key, w)], aligns)


def _payments(pdf: _Document) -> None:
    w, meta = pdf.w_, pdf.meta
    payments = meta.payments()
    if not payments and not meta.has_strikes:
        return
    widths, aligns = [45, 45, 90], ["L", "R", "L"]
    pdf.section(w["payments"], need=ROW * 4)
    if not payments:
        pdf.paragraph(w["no_rows"])
        return
    pdf.head(widths, [w["paid_at"], w["amount"], "  " + w["note"]], aligns)
    for payment in payments:
        pdf.row(widths, [local_text(payment.paid_at, pdf.tz), f'{money(payment.amount)} {w["yuan"]}',
                         "  " + payment.note], aligns, wrap=(2,))
    pdf.row(widths, [w["sum"], f'{money(payments_total(meta))} {w["yuan"]}', ""], aligns)


def _adjustments(pdf: _Document) -> None:
    """Corrections to frozen earlier months: the signed months stay as they were (see month_end.py)."""
    w, meta = pdf.w_, pdf.meta
    if not meta.adjustments:
        return
    widths, aligns = [20, 44, 31, 31, 31, 23], ["L", "L", "R", "R", "R", "L"]
    pdf.section(w["adjustments"], need=ROW * 4)
    pdf.head(widths, [w["adj_month"], w["adj_item"], w["adj_frozen"], w["adj_now"], w["adj_difference"],
                      "  " + w["clause"]], aligns)
    for row in meta.adjustments:
        pdf.row(widths, [row["month"], w[row["item"]]] + [money(row[k]) for k in ("frozen", "now", "difference")]
                + ["  " + clause_text(meta, row["item"], w)], aligns)


def _signatures(pdf: _Document) -> None:
    w, meta = pdf.w_, pdf.meta
    pdf.set_font(FAMILY, size=10)
    names = [f"{party}：{name}" if meta.lang == "zh" else f"{party}: {name}"
             for party, name in ((w["customer"], meta.customer), (w["carrier"], meta.carrier))]
    # The sign and seal lines go below the longer party name, however many lines it wraps to.
    below = max(16, 5.5 * max(len(pdf.lines(name, 86)) for name in names) + 5)
    pdf.section(w["signatures"], need=54 + below)
    top = pdf.get_y() + 2
    for column, name in enumerate(names):
        x = 15 + column * 92
        pdf.set_xy(x, top)
        pdf.set_font(FAMILY, size=10)
        with pdf.bold():
            pdf.multi_cell(86, 5.5, name, new_x=XPos.LEFT, new_y=YPos.NEXT)
        pdf.set_font(FAMILY, size=9.5)
        pdf.set_draw_color(*INK)
        y = top + below
        for label in (w["sign"], w["seal"], w["sign_date"]):
            pdf.set_xy(x, y)
            pdf.cell(16, 6, f"{label}：" if meta.lang == "zh" else f"{label}:")
            pdf.line(x + 16, y + 5.5, x + 52, y + 5.5)
            y += 14
        pdf.set_draw_color(*LINE)
        pdf.set_dash_pattern(dash=1.2, gap=1.2)
        pdf.ellipse(x + 56, top + below - 2, 30, 30)  # where the seal goes
        pdf.set_dash_pattern()
    pdf.set_y(top + below + 46)


def render_pdf(report: dict, meta: ReportMeta) -> bytes:
    """The signed-ready PDF of one month; its footer carries report_hash(report) and the as-of time."""
    pdf = _Document(report, meta)
    pdf.add_page()
    _title_block(pdf)
    _totals(pdf)
    _charts(pdf)
    _incidents(pdf)
    _waivers(pdf)
    _payments(pdf)
    _adjustments(pdf)
    _signatures(pdf)
    return bytes(pdf.output())
