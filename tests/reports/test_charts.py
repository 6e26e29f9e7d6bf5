"""The SVG charts parse as XML, draw the contract's threshold lines where they belong, and only those."""
import re
import xml.etree.ElementTree as ET
from dataclasses import replace

import pytest

from desk.reports import charts

SVG = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    return root


def threshold_lines(root):
    return [e for e in root.iter(f"{SVG}line") if e.get("stroke") == charts.RED and e.get("stroke-dasharray")]


def texts(root):
    return ["".join(e.itertext()) for e in root.iter(f"{SVG}text")]


def value_to_y(root):
    """The y axis as drawn: tick labels (right-aligned at the axis) paired with their grid lines."""
    ticks = [(float(e.text), float(e.get("y")) - 4) for e in root.iter(f"{SVG}text")
             if e.get("text-anchor") == "end" and float(e.get("x")) == charts.LEFT - 6
             and re.fullmatch(r"[\d.]+", e.text or "")]
    (v0, y0), (v1, y1) = ticks[0], ticks[-1]
    return lambda value: y0 + (y1 - y0) * (value - v0) / (v1 - v0)


def test_qmga_charts_have_the_waiver_lines_of_6_3(qmga_june):
    report, meta = qmga_june
    drawn = charts.all_charts(report, meta)
    assert set(drawn) == {"daily", "cumulative", "repair"}  # no strikes clause, no strikes chart
    for name, value, label in (("daily", 3, "3 小时"), ("cumulative", 72, "72 小时")):
        root = parse(drawn[name])
        (line,) = threshold_lines(root)
        assert float(line.get("y1")) == pytest.approx(value_to_y(root)(value), abs=0.15)
        assert any(label in t and "（6.3）" in t for t in texts(root))
    assert threshold_lines(parse(drawn["repair"])) == []  # QMGA has no repair deadline


def test_daily_chart_marks_the_waived_days(qmga_june):
    report, meta = qmga_june
    root = parse(charts.daily_outage_chart(report, meta))
    bars = [r for r in root.iter(f"{SVG}rect") if r.get("fill") in (charts.BLUE, charts.AMBER)
            and float(r.get("height")) > 10]
    assert [b.get("fill") for b in bars] == [charts.AMBER] * 3 + [charts.BLUE, charts.AMBER]  # 06-08: 2.98 h


def test_xjgat_charts_have_the_repair_and_strike_lines(xjgat_july):
    report, meta = xjgat_july
    drawn = charts.all_charts(report, meta)
    root = parse(drawn["repair"])
    (line,) = threshold_lines(root)
    assert float(line.get("y1")) == pytest.approx(value_to_y(root)(4), abs=0.15)
    assert any("4 小时" in t and "四.(三)" in t for t in texts(root))
    root = parse(drawn["strikes"])
    (line,) = threshold_lines(root)
    assert float(line.get("y1")) == pytest.approx(value_to_y(root)(3), abs=0.15)
    assert any("六.(六)" in t for t in texts(root))
    assert {"#1", "#2", "#3"} <= set(texts(root))
    hollow = [c for c in root.iter(f"{SVG}circle") if c.get("fill") == "#ffffff"]
    assert len(hollow) == 1  # strike #3 is provisional
    for name in ("daily", "cumulative"):  # no monthly fee, so no waiver lines
        assert threshold_lines(parse(drawn[name])) == []


def test_english_labels_and_escaped_clause_names(xjgat_july):
    report, meta = xjgat_july
    meta = replace(meta, lang="en", clause_labels={"R1": "4.3 <a&b>"})
    root = parse(charts.repair_times_chart(report, meta))
    assert "Repair times" in texts(root)
    assert any("repair deadline 4 h (4.3 <a&b>)" == t for t in texts(root))


def test_many_incidents_give_a_bounded_chart(xjgat_july):
    report, meta = xjgat_july
    incident = report["incidents"][1]
    report = dict(report, incidents=[dict(incident, id=n) for n in range(5000)])
    svg = charts.repair_times_chart(report, meta)
    parse(svg)
    assert svg.count("<circle") < 10
