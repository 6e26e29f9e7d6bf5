"""The report's charts as SVG text, written by hand: the same picture in the browser and in the PDF.

Each function takes the report dict (spec §5) and its ReportMeta and returns one <svg> document.
A threshold line and its label are drawn only when the contract has the clause.
"""
from __future__ import annotations

import calendar
import math
from datetime import date, datetime, timedelta
from xml.sax.saxutils import escape, quoteattr

from desk.reports.labels import local, number, words
from desk.reports.meta import ReportMeta

WIDTH, HEIGHT = 480, 270
LEFT, RIGHT, TOP, BOTTOM = 44, 16, 70, 30
FONT = "WenQuanYi Micro Hei, Noto Sans CJK SC, Microsoft YaHei, PingFang SC, sans-serif"
INK, MUTED, GRID, FRAME = "#1f2937", "#6b7280", "#e5e7eb", "#d1d5db"
BLUE, AMBER, RED, GREEN, GREY = "#2563eb", "#f59e0b", "#dc2626", "#16a34a", "#9ca3af"


def _text(x, y, content, size=10, anchor="start", fill=MUTED) -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-family={quoteattr(FONT)} font-size="{size}" '
            f'text-anchor="{anchor}" fill="{fill}">{escape(str(content))}</text>')


def _line(x1, y1, x2, y2, stroke=GRID, width=1.0, dash="") -> str:
    dashed = f' stroke-dasharray="{dash}"' if dash else ""
    return (f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="{stroke}" '
            f'stroke-width="{width}"{dashed}/>')


def _ticks(top: float, integer: bool = False, count: int = 5) -> tuple[float, list[float]]:
    """A round axis maximum ≥ top and its ticks."""
    top = max(top, 1.0)
    magnitude = 10 ** math.floor(math.log10(top / count))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude * count >= top)
    if integer:
        step = max(1, math.ceil(step))
    n = math.ceil(top / step - 1e-9)
    return step * n, [i * step for i in range(n + 1)]


def _tick_label(value: float) -> str:
    return f"{value:g}"


class _Plot:
    """A chart frame: title, y axis with grid, and value-to-pixel scales."""

    def __init__(self, title: str, subtitle: str, y_top: float, unit: str, integer: bool = False):
        self.y_max, self.y_ticks = _ticks(y_top, integer)
        self.x0, self.x1 = LEFT, WIDTH - RIGHT
        self.y0, self.y1 = HEIGHT - BOTTOM, TOP
        self.parts = [
            f'<rect x="0.5" y="0.5" width="{WIDTH - 1}" height="{HEIGHT - 1}" rx="6" fill="#ffffff" '
            f'stroke="{FRAME}"/>',
            _text(14, 25, title, 16, fill=INK),
            _text(WIDTH - 14, 25, subtitle, 11.5, "end"),
            _text(LEFT - 6, TOP - 12, unit, 11, "end"),
        ]
        for tick in self.y_ticks:
            y = self.y(tick)
            self.parts.append(_line(self.x0, y, self.x1, y, GRID if tick else FRAME))
            self.parts.append(_text(LEFT - 6, y + 4, _tick_label(tick), 11, "end"))

    def y(self, value: float) -> float:
        return self.y0 - (self.y0 - self.y1) * min(max(value, 0.0), self.y_max) / self.y_max

    def threshold(self, value: float, label: str) -> None:
        """The contract's line: dashed red, labelled above its right end."""
        y = self.y(value)
        width = 12 * _width(label) + 6
        self.parts.append(_line(self.x0, y, self.x1, y, RED, 1.4, "6 4"))
        self.parts.append(f'<rect x="{self.x1 - width:.1f}" y="{y - 18:.1f}" width="{width:.1f}" height="15" '
                          f'rx="3" fill="#ffffff" fill-opacity="0.85"/>')  # legible over dense marks
        self.parts.append(_text(self.x1 - 3, y - 6, label, 12, "end", RED))

    def legend(self, items: list[tuple[str, str, bool]]) -> None:
        """Swatches under the title: (colour, label, hollow)."""
        x = 14.0
        for colour, label, hollow in items:
            fill = "#ffffff" if hollow else colour
            self.parts.append(f'<rect x="{x:.1f}" y="35" width="10" height="10" rx="2" fill="{fill}" '
                              f'stroke="{colour}" stroke-width="1.4"/>')
            self.parts.append(_text(x + 14, 44.5, label, 11.5))
            x += 14 + 11.5 * _width(label) + 14

    def svg(self) -> str:
        return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
                f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family={quoteattr(FONT)}>'
                + "".join(self.parts) + "</svg>")


def _width(label: str) -> float:
    """Approximate advance in ems: CJK characters are one em, others about half."""
    return sum(1.0 if ord(ch) > 0x2E7F else 0.55 for ch in label)


def _month(report: dict) -> tuple[int, int, int]:
    year, month = (int(part) for part in report["month"].split("-"))
    return year, month, calendar.monthrange(year, month)[1]


def _month_axis(plot: _Plot, days: int, x_of_day) -> None:
    for day in range(1, days + 1):
        if day == 1 or day % 5 == 0 and days - day >= 2 or day == days:
            plot.parts.append(_text(x_of_day(day), plot.y0 + 17, str(day), 11, "middle"))


def daily_outage_chart(report: dict, meta: ReportMeta) -> str:
    """Outage hours of each local day of the month; the days waived by R4 in amber; the 3 h line."""
    w = words(meta.lang)
    year, month, days = _month(report)
    hours = {d: float(h) for d, h in meta.daily_outage_hours}
    waived = {row["date"] for row in report["totals"]["day_waivers"]}
    threshold = float(meta.day_waiver_hours) if meta.day_waiver_hours is not None else None
    top = max([*hours.values(), threshold or 0, 3.0]) * 1.2
    plot = _Plot(w["chart_daily"], report["month"], min(top, 24.0), w["axis_hours"])
    slot = (plot.x1 - plot.x0) / days

    def x_of_day(day: int) -> float:
        return plot.x0 + slot * (day - 0.5)

    for day in range(1, days + 1):
        value = hours.get(date(year, month, day), 0.0)
        if value <= 0:
            continue
        colour = AMBER if date(year, month, day).isoformat() in waived else BLUE
        y = plot.y(value)
        plot.parts.append(f'<rect x="{x_of_day(day) - slot * 0.35:.1f}" y="{y:.1f}" width="{slot * 0.7:.1f}" '
                          f'height="{max(plot.y0 - y, 0.5):.1f}" rx="1.5" fill="{colour}"/>')
    _month_axis(plot, days, x_of_day)
    if threshold is not None:
        plot.legend([(BLUE, w["chart_daily"], False), (AMBER, w["legend_waived"], False)])
        plot.threshold(threshold, w["line_day_waiver"].format(h=number(meta.day_waiver_hours),
                                                             clause=meta.clause("R4")))
    return plot.svg()


def cumulative_outage_chart(report: dict, meta: ReportMeta) -> str:
    """R5's cumulative outage through the month, against the 72 h line."""
    w = words(meta.lang)
    year, month, days = _month(report)
    start = datetime(year, month, 1)
    span = timedelta(days=days).total_seconds()
    points = [(local(at, report["timezone"]), float(h)) for at, h in meta.cumulative_outage]
    threshold = float(meta.period_waiver_hours) if meta.period_waiver_hours is not None else None
    final = float(report["totals"]["outage_hours"])
    top = max([final, *(h for _, h in points), (threshold or 0) * 1.15, 4.0])
    plot = _Plot(w["chart_cumulative"], report["month"], top, w["axis_hours"])

    def x_of(moment: datetime) -> float:
        share = min(max((moment - start).total_seconds() / span, 0.0), 1.0)
        return plot.x0 + (plot.x1 - plot.x0) * share

    def x_of_day(day: int) -> float:
        return x_of(start + timedelta(days=day - 0.5))

    _month_axis(plot, days, x_of_day)
    if points:
        coords = [(x_of(start), plot.y(0))] + [(x_of(at), plot.y(h)) for at, h in points]
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
        last_x, last_y = coords[-1]
        plot.parts.append(f'<polygon points="{path} {last_x:.1f},{plot.y0:.1f}" fill="{BLUE}" '
                          f'fill-opacity="0.12" stroke="none"/>')
        plot.parts.append(f'<polyline points="{path}" fill="none" stroke="{BLUE}" stroke-width="2" '
                          f'stroke-linejoin="round"/>')
        plot.parts.append(f'<circle cx="{last_x:.1f}" cy="{last_y:.1f}" r="3" fill="{BLUE}"/>')
    label = f'{report["totals"]["outage_hours"]} {w["axis_hours"]}'
    plot.parts.append(_text(plot.x0 + 8, plot.y1 + 16, label, 14, fill=BLUE))
    if threshold is not None:
        plot.threshold(threshold, w["line_period_waiver"].format(h=number(meta.period_waiver_hours),
                                                                clause=meta.clause("R5")))
    return plot.svg()


def repair_times_chart(report: dict, meta: ReportMeta) -> str:
    """Each restored incident of the month: repair hours by reporting time, against the 4 h line."""
    w = words(meta.lang)
    year, month, days = _month(report)
    start = datetime(year, month, 1)
    span = timedelta(days=days).total_seconds()
    restored = [i for i in report["incidents"] if i.get("repair_hours") is not None]
    threshold = float(meta.repair_deadline_hours) if meta.repair_deadline_hours is not None else None
    top = max([*(float(i["repair_hours"]) for i in restored), (threshold or 0) * 1.5, 4.0])
    open_count = len(report["incidents"]) - len(restored)
    subtitle = report["month"] + (f" · {w['open']} {open_count}" if open_count else "")
    plot = _Plot(w["chart_repair"], subtitle, top, w["axis_hours"])

    def x_of(moment: datetime) -> float:
        share = min(max((moment - start).total_seconds() / span, 0.0), 1.0)
        return plot.x0 + (plot.x1 - plot.x0) * share

    _month_axis(plot, days, lambda day: x_of(start + timedelta(days=day - 0.5)))
    stems, dense = len(restored) <= 60, len(restored) > 300
    seen: set[tuple[int, int, str]] = set()
    for incident in restored:
        at = local(incident["reported_at"], report["timezone"])
        x = x_of(datetime(at.year, at.month, at.day, 12) if dense else at)
        y = plot.y(float(incident["repair_hours"]))
        met = incident.get("repair_deadline_met")
        colour = GREY if met is None else GREEN if met else RED
        key = (round(x), round(y / 3) if dense else round(y), colour)
        if key in seen:  # a busy month: one mark a day and 3 px of repair time (≤ ~1,800 marks)
            continue
        seen.add(key)
        if stems:
            plot.parts.append(_line(x, plot.y0, x, y, colour, 1.2))
        if dense:
            plot.parts.append(f'<rect x="{x - 4:.1f}" y="{y - 1.5:.1f}" width="8" height="3" fill="{colour}" '
                              f'fill-opacity="0.7"/>')
        else:
            plot.parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.2" fill="{colour}"/>')
    if threshold is not None:
        legend = [(GREEN, w["legend_met"], False), (RED, w["legend_missed"], False)]
        if any(c == GREY for _, _, c in seen):
            legend.append((GREY, w["legend_exempt"], False))
        plot.legend(legend)
        plot.threshold(threshold, w["line_repair"].format(h=number(meta.repair_deadline_hours),
                                                         clause=meta.clause("R1")))
    return plot.svg()


def _month_starts(first: date, last: date) -> list[date]:
    months, current = [], date(first.year, first.month, 1)
    while current <= last:
        months.append(current)
        current = date(current.year + current.month // 12, current.month % 12 + 1, 1)
    return months


def strikes_chart(report: dict, meta: ReportMeta) -> str:
    """Strikes numbered over the whole service period (R2) against the termination threshold (R3)."""
    w = words(meta.lang)
    tz = report["timezone"]
    year, month, days = _month(report)
    as_of = local(report["as_of"], tz)
    strikes = sorted((local(at, tz), n, provisional) for at, n, provisional in meta.strikes_timeline)
    first = meta.service_start or min([s[0].date() for s in strikes] + [date(year, month, 1)])
    last = meta.service_end or max([s[0].date() for s in strikes] + [date(year, month, days)])
    start, end = datetime.combine(first, datetime.min.time()), datetime.combine(last + timedelta(days=1),
                                                                               datetime.min.time())
    span = (end - start).total_seconds()
    threshold = meta.strike_threshold
    top = max([n for _, n, _ in strikes] + [(threshold or 0) + 1, 3])
    plot = _Plot(w["chart_strikes"], f"{first.isoformat()} – {last.isoformat()}", top, w["axis_strikes"],
                 integer=True)

    def x_of(moment: datetime) -> float:
        share = min(max((moment - start).total_seconds() / span, 0.0), 1.0)
        return plot.x0 + (plot.x1 - plot.x0) * share

    band0, band1 = x_of(datetime(year, month, 1)), x_of(datetime(year, month, days) + timedelta(days=1))
    plot.parts.insert(1, f'<rect x="{band0:.1f}" y="{plot.y1:.1f}" width="{max(band1 - band0, 1):.1f}" '
                         f'height="{plot.y0 - plot.y1:.1f}" fill="{AMBER}" fill-opacity="0.12"/>')
    plot.parts.append(_text((band0 + band1) / 2, plot.y0 - 5, w["this_month"], 10.5, "middle", AMBER))
    months = _month_starts(first, last)
    every = max(1, math.ceil(len(months) / 6))
    for i, m in enumerate(months):
        if i % every == 0:
            plot.parts.append(_text(x_of(datetime(m.year, m.month, 1)), plot.y0 + 17, f"{m:%Y-%m}", 11, "middle"))
    # the count as a step line, up to the report's as_of
    x, y = x_of(start), plot.y(0)
    steps = [f"{x:.1f},{y:.1f}"]
    for at, n, _ in strikes:
        x = x_of(at)
        steps += [f"{x:.1f},{y:.1f}", f"{x:.1f},{plot.y(n):.1f}"]
        y = plot.y(n)
    steps.append(f"{x_of(min(as_of, end)):.1f},{y:.1f}")
    plot.parts.append(f'<polyline points="{" ".join(steps)}" fill="none" stroke="{BLUE}" stroke-width="2"/>')
    labelled = len(strikes) <= 12
    seen: set[tuple[int, int, bool]] = set()  # hundreds of strikes: one marker every 4 px
    for at, n, provisional in strikes:
        colour = AMBER if provisional else BLUE
        fill = "#ffffff" if provisional else colour
        cx, cy = x_of(at), plot.y(n)
        key = (round(cx / 4), round(cy / 4), provisional)
        if key in seen:
            continue
        seen.add(key)
        plot.parts.append(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="4.5" fill="{fill}" stroke="{colour}" '
                          f'stroke-width="1.8"/>')
        if labelled:
            plot.parts.append(_text(cx - 7, cy - 6, f"#{n}", 11, "end", INK))
    legend = [(BLUE, w["strike_number"], False)]
    if any(p for _, _, p in strikes):
        legend.append((AMBER, w["legend_provisional"], True))
    plot.legend(legend)
    if threshold is not None:
        plot.threshold(threshold, w["line_strikes"].format(n=threshold, clause=meta.clause("R3")))
    return plot.svg()


def all_charts(report: dict, meta: ReportMeta) -> dict[str, str]:
    """Every chart that applies to the contract, by name, those with the contract's lines first."""
    drawn = [
        ("daily", daily_outage_chart, meta.day_waiver_hours is not None),
        ("cumulative", cumulative_outage_chart, meta.period_waiver_hours is not None),
        ("repair", repair_times_chart, meta.repair_deadline_hours is not None),
    ]
    if meta.has_strikes:
        drawn.append(("strikes", strikes_chart, True))
    drawn.sort(key=lambda item: not item[2])
    return {name: chart(report, meta) for name, chart, _ in drawn}

