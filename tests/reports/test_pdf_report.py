"""The PDF ready to sign: what pdftotext reads back, the 临时 mark on every page, and a picture of page 1."""
import re
import subprocess
from dataclasses import replace

from desk.reports.hashing import report_hash
from desk.reports.labels import TOTALS, money, words
from desk.reports.pdf_report import render_pdf
from tests.conftest import require_tool

from .conftest import ARTIFACTS


def pdf_text(data: bytes, tmp_path) -> list[str]:
    """The pages' text in layout mode (pdftotext)."""
    tool = require_tool("pdftotext")
    path = tmp_path / "report.pdf"
    path.write_bytes(data)
    out = subprocess.run([tool, "-layout", "-enc", "UTF-8", str(path), "-"], check=True, capture_output=True)
    return out.stdout.decode("utf-8").rstrip("\f").split("\f")


def figure(kind, value, w):
    return {"bool": w["exists"] if value else w["not_exists"], "money": money(value) if kind == "money" else "",
            "hours": str(value), "int": str(value)}[kind] or str(value)


def test_starts_as_a_pdf(qmga_june):
    assert render_pdf(*qmga_june).startswith(b"%PDF-")


def test_text_gives_back_customer_month_and_every_total(any_report, tmp_path):
    report, meta = any_report
    pages = pdf_text(render_pdf(report, meta), tmp_path)
    text = "\n".join(pages)
    w = words("zh")
    assert meta.customer in text and meta.carrier in text
    assert report["month"] in text and report["contract"] in text
    for key, _, kind in TOTALS:
        line = rf"^\s*{re.escape(w[key])}\s+{re.escape(figure(kind, report['totals'][key], w))}\b"
        assert re.search(line, text, re.M), f"{key} not found as {figure(kind, report['totals'][key], w)}"
    assert report_hash(report) in text


def test_qmga_day_waivers_by_date_with_clause_6_3(qmga_june, tmp_path):
    text = "\n".join(pdf_text(render_pdf(*qmga_june), tmp_path))
    for day, amount in (("2025-06-03", "545.00"), ("2025-06-05", "545.00"), ("2025-06-06", "545.00"),
                        ("2025-06-12", "54.50")):
        assert re.search(rf"^\s*{day}\s+{amount} 元\s+6\.3\s*$", text, re.M), day
    assert "本月累计中断 13.48 小时，阈值 72 小时（6.3）" in text
    assert "临时" not in text  # a final, confirmed month carries no provisional mark


def test_xjgat_termination_right_penalties_and_payments(xjgat_july, tmp_path):
    report, meta = xjgat_july
    pages = pdf_text(render_pdf(report, meta), tmp_path)
    text = re.sub(r"\s+", " ", "\n".join(pages))
    assert "甲方有权终止合同" in text and "191,820.00" in text and "六.(六)" in text
    assert "四.(三)" in text and "6,394.00" in text
    assert "2025-04-15 10:00 191,820.00 元 合同签订后支付30%" in text
    assert "2025-07-15 14:00" in text  # the strike, in Asia/Shanghai time
    assert "截至 2025-07-20 12:00:00 (Asia/Shanghai)" in text


def test_provisional_mark_and_page_numbers_on_every_page(xjgat_july, tmp_path):
    report, meta = xjgat_july
    many = [dict(report["incidents"][0], id=n) for n in range(300)]  # enough for several pages
    pages = pdf_text(render_pdf(dict(report, incidents=many), meta), tmp_path)
    assert len(pages) > 3
    for n, page in enumerate(pages, 1):
        assert "临时" in page, n
        assert f"第{n}页/共{len(pages)}页" in page.replace(" ", "")  # pdftotext drops the thin spaces
        assert report_hash(dict(report, incidents=many)) in page


def test_english_pages_are_marked_in_chinese_too(xjgat_july, tmp_path):
    """临时 PROVISIONAL on every page of the English version as well (docs/reports.md)."""
    report, meta = xjgat_july
    many = [dict(report["incidents"][0], id=n) for n in range(120)]
    pages = pdf_text(render_pdf(dict(report, incidents=many), replace(meta, lang="en")), tmp_path)
    assert len(pages) > 2 and all(re.search(r"临时\s+PROVISIONAL", page) for page in pages)


def test_not_final_alone_is_marked(qmga_june, tmp_path):
    report, meta = qmga_june
    pages = pdf_text(render_pdf(dict(report, final=False), meta), tmp_path)
    assert all("临时" in page for page in pages)


def test_english(xjgat_july, tmp_path):
    report, meta = xjgat_july
    text = "\n".join(pdf_text(render_pdf(report, replace(meta, lang="en")), tmp_path))
    assert "Monthly SLA report" in text and "PROVISIONAL" in text and "Page 1 of" in text
    assert meta.customer in text


def test_page_one_as_png(xjgat_july, qmga_june, tmp_path):
    """Saved for a person to look at: tests/artifacts/report-page1.png (and the QMGA month)."""
    tool = require_tool("pdftoppm")
    ARTIFACTS.mkdir(exist_ok=True)
    for name, (report, meta) in (("report-page1", xjgat_july), ("report-qmga-page1", qmga_june)):
        path = tmp_path / f"{name}.pdf"
        path.write_bytes(render_pdf(report, meta))
        subprocess.run([tool, "-png", "-r", "110", "-f", "1", "-l", "1", "-singlefile", str(path),
                        str(ARTIFACTS / name)], check=True)
        png = (ARTIFACTS / f"{name}.png").read_bytes()
        assert png.startswith(b"\x89PNG") and len(png) > 20_000


def test_same_report_same_bytes(qmga_june):
    """A frozen month re-rendered is byte for byte the document that was signed."""
    assert render_pdf(*qmga_june) == render_pdf(*qmga_june)


def test_period_threshold_is_judged_on_exact_seconds_not_on_the_waiver(qmga_june):
    """6.3: 72 h reached although the period waiver is 0.00 (every outage day waived whole by R4); a
    month 1 s short of 72 h, which the report rounds to 72.00, has not reached it."""
    from desk.reports.labels import period_sentence

    report, meta = qmga_june
    reached = dict(report["totals"], outage_hours="72.00", period_waiver_total="0.00")
    for lang, yes, no in (("zh", "已达到，但中断所在各日已按当日服务费减免全免", "未达到"),
                          ("en", "reached, but every outage day is already waived whole", "not reached")):
        w = words(lang)
        text = period_sentence(reached, replace(meta, outage_seconds=72 * 3600.0), w)
        assert yes in text and no not in text, text
        assert no in period_sentence(reached, replace(meta, outage_seconds=72 * 3600.0 - 1), w)
    waived = dict(reached, outage_hours="94.94", period_waiver_total="120.50")
    assert "期间服务费减免 120.50 元" in period_sentence(waived, replace(meta, outage_seconds=94.94 * 3600), words("zh"))
    # without the exact figure (or when it no longer agrees with a frozen month's), the written hours
    assert "已达到" in period_sentence(dict(reached, outage_hours="94.94"), meta, words("zh"))
    assert "未达到" in period_sentence(report["totals"], meta, words("zh"))


def word_boxes(data: bytes, tmp_path) -> list[list[tuple[float, float, float, float, str]]]:
    """Every page's words with their boxes in points (pdftotext -bbox)."""
    from html import unescape

    tool = require_tool("pdftotext")
    path = tmp_path / "boxes.pdf"
    path.write_bytes(data)
    out = subprocess.run([tool, "-bbox", "-enc", "UTF-8", str(path), "-"], check=True, capture_output=True)
    word = re.compile(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">(.*?)</word>')
    return [[(float(a), float(b), float(c), float(d), unescape(t)) for a, b, c, d, t in word.findall(page)]
            for page in out.stdout.decode("utf-8").split("<page ")[1:]]


def test_long_names_ids_causes_and_notes_wrap_inside_their_columns(xjgat_july, tmp_path):
    """Ready to sign: nothing typed runs into the next column or off the page, nothing is cut.
    (The parties' names are up to 200 characters, an external ID 120, a payment note 500.)"""
    from decimal import Decimal

    from desk.reports.meta import Payment

    from .conftest import incident, utc

    report, meta = xjgat_july
    long_id = "XJ-2025-07-01-第一分局-光缆中断-ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    note = "2025年上半年服务费，按合同三.(二)第一期付款，发票号 12345678，经办人签字确认后入账，" * 3 + "\n第二行"
    report = dict(report, incidents=[dict(report["incidents"][0], external_id=long_id),
                                     *report["incidents"][1:],
                                     incident(14, "2025-07-19T02:00:00+00:00", "2025-07-19T03:00:00+00:00",
                                              cause="planned_maintenance", hours="1.00", cards=3360)])
    meta = replace(meta, customer="新疆维吾尔自治区公安厅" * 6, carrier="中国移动通信集团新疆有限公司巴州分公司" * 4,
                   payments_to_date=[Payment(utc("2025-04-15T02:00"), Decimal("191820.00"), note)])
    left, right = 15 / 25.4 * 72, 195 / 25.4 * 72  # the margins, in points
    for lang in ("zh", "en"):
        data = render_pdf(report, replace(meta, lang=lang))
        for number, words_ in enumerate(word_boxes(data, tmp_path), 1):
            for box in words_:
                assert left - 0.5 <= box[0] and box[2] <= right + 0.5, (lang, number, box)
            for i, a in enumerate(words_):
                for b in words_[i + 1:]:
                    assert not (a[0] < b[2] - 0.5 and b[0] < a[2] - 0.5 and a[1] < b[3] - 0.5 and b[1] < a[3] - 0.5), \
                        (lang, number, a, b)
        pages = word_boxes(data, tmp_path)
        # Each text whole, read down its column: the ID, the parties (page 1), the note.
        for whole, first, last in ((long_id, 15, 29), (meta.customer, 37, 115), (meta.carrier, 37, 115),
                                   (note, 105, 195)):
            column = "".join(w[4] for page in pages for w in page if first - 1 <= w[0] * 25.4 / 72 < last)
            assert re.sub(r"\s+", "", whole) in column, (lang, whole[:20])


def test_a_stored_snapshot_renders_the_same_document(any_report):
    """A frozen month renders from ReportMeta.snapshot() as stored (JSON): the same bytes as from the meta."""
    import json

    from desk.reports.meta import ReportMeta

    report, meta = any_report
    stored = json.loads(json.dumps(meta.snapshot(), ensure_ascii=False))
    again = ReportMeta.from_snapshot(stored, lang=meta.lang, adjustments=meta.adjustments)
    assert again.snapshot() == meta.snapshot() and again.payments() == meta.payments()
    assert render_pdf(report, again) == render_pdf(report, meta)


def test_typed_text_reading_like_the_page_count_alias_prints_as_typed(xjgat_july, tmp_path):
    """fpdf2 replaced its page-count alias in every text drawn: a payment note "发票 {nb} 号" printed
    as "发票 2 号". Only the footer's page count is replaced now."""
    from decimal import Decimal

    from desk.reports.meta import Payment

    from .conftest import utc

    report, meta = xjgat_july
    meta = replace(meta, carrier=meta.carrier + " {nb}",
                   payments_to_date=[Payment(utc("2025-04-15T02:00"), Decimal("191820.00"), "发票 {nb} 号")])
    pages = pdf_text(render_pdf(report, meta), tmp_path)
    text = "\n".join(pages)
    assert "发票 {nb} 号" in text and meta.carrier in re.sub(r"[ \t]+", " ", text)
    assert f"第1页/共{len(pages)}页" in pages[0].replace(" ", "")
