"""The report page and downloads: same figures as the JSON, scoped to the user's contracts."""
import csv
import io
import json
import re
from pathlib import Path

import pytest
from openpyxl import load_workbook

from desk.audit.services import Actor
from desk.auth.services import create_user
from desk.incidents.imports import import_incidents

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
URL = "/contracts/QMGA-JWT-2025/reports/2025-06"
AS_OF = "?as_of=2025-07-01T00:10"


@pytest.fixture
def signed_in(app, contracts):
    import_incidents("QMGA-JWT-2025", (FIXTURES / "qmga-2025-06.csv").read_bytes(), Actor.system("test"))
    for name, contract in (("qm-manager", "QMGA-JWT-2025"), ("xj-manager", "XJGAT-POOL-2025")):
        create_user(Actor.system("test"), username=name, password="secret-pass-1", role="unit_manager",
                    contract_codes=[contract])

    def client_for(name):
        client = app.test_client()
        response = client.post("/login", data={"username": name, "password": "secret-pass-1"})
        assert response.status_code in (302, 303), response.data[:300]
        return client
    return client_for


def test_page_shows_the_report_figures(signed_in):
    response = signed_in("qm-manager").get(URL + AS_OF)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    for figure in ("¥1,689.50", "13.48", "¥545.00", "¥54.50", "6.3", "<svg"):
        assert figure in html


def test_page_names_each_incident_by_the_desks_id_and_the_units(signed_in):
    """As the PDF's 编号 column: the desk's ID (a link to the incident) with the external ID below."""
    client = signed_in("qm-manager")
    report = json.loads(client.get(URL + "/json" + AS_OF).data)
    html = client.get(URL + AS_OF).get_data(as_text=True)
    table = html[html.index('<table id="incidents">'):]
    table = table[:table.index("</table>")]
    assert report["incidents"]
    for incident in report["incidents"]:
        cell = f'<a href="/incidents/{incident["id"]}">{incident["id"]}</a>'
        if incident["external_id"]:
            cell += f'<br><small>{incident["external_id"]}</small>'
        assert cell in table, incident
    assert client.get(f'/incidents/{report["incidents"][0]["id"]}').status_code == 200


def test_the_dashboard_names_incidents_as_the_report_page_does(signed_in):
    """The dashboard's month table showed the unit's external ID alone, a number the desk's own pages
    (the report's ID column, the incident's URL) do not use for that incident."""
    client = signed_in("qm-manager")
    report = json.loads(client.get(URL + "/json" + AS_OF).data)
    html = client.get("/contracts/QMGA-JWT-2025?month=2025-06").get_data(as_text=True)
    named = [incident for incident in report["incidents"] if incident["external_id"]]
    assert named
    for incident in report["incidents"]:
        cell = f'<td><a href="/incidents/{incident["id"]}">{incident["id"]}</a>'
        if incident["external_id"]:
            cell += f'<br><small>{incident["external_id"]}</small>'
        assert cell + "</td>" in html, incident


def test_downloads_carry_the_same_figures(signed_in):
    client = signed_in("qm-manager")
    report = json.loads(client.get(URL + "/json" + AS_OF).data)
    assert report["totals"]["day_waiver_total"] == "1689.50"
    csv = client.get(URL + "/csv" + AS_OF)
    assert csv.data.startswith(b"\xef\xbb\xbf") and "1689.50" in csv.data.decode("utf-8-sig")
    xlsx = client.get(URL + "/xlsx" + AS_OF)
    book = load_workbook(io.BytesIO(xlsx.data))
    assert len(book.sheetnames) >= 3
    pdf = client.get(URL + "/pdf" + AS_OF)
    assert pdf.data.startswith(b"%PDF") and pdf.headers["Content-Type"] == "application/pdf"
    assert csv.headers["X-Report-Hash"] == pdf.headers["X-Report-Hash"]


def test_other_contracts_manager_is_refused(signed_in):
    client = signed_in("xj-manager")
    assert client.get(URL + AS_OF).status_code in (403, 404)
    assert client.get(URL + "/pdf" + AS_OF).status_code in (403, 404)


def test_unknown_format_and_bad_month(signed_in):
    client = signed_in("qm-manager")
    assert client.get(URL + "/docx").status_code == 404
    assert client.get("/contracts/QMGA-JWT-2025/reports/2025-13").status_code == 422


def test_cli_formats(runner, contracts, tmp_path):
    import_incidents("QMGA-JWT-2025", (FIXTURES / "qmga-2025-06.csv").read_bytes(), Actor.system("test"))
    for fmt in ("csv", "xlsx", "pdf"):
        out = tmp_path / f"r.{fmt}"
        result = runner.invoke(args=["sla-report", "QMGA-JWT-2025", "2025-06", "--format", fmt,
                                     "--as-of", "2025-07-01T00:10", "-o", str(out)])
        assert result.exit_code == 0, result.output
        assert out.stat().st_size > 0
    result = runner.invoke(args=["sla-report", "QMGA-JWT-2025", "2025-06", "--format", "csv", "--as-of", "2025-07-01T00:10"])
    assert "1689.50" in result.stdout


def test_frozen_month_downloads_the_stored_figures_every_time(signed_in, app):
    from desk.db import transaction
    from desk.models import Contract, FrozenReport
    from desk.reports.hashing import report_hash
    from desk.reports.services import monthly_report
    from desk.timeparse import parse_instant
    from desk.extensions import db
    from sqlalchemy import select

    stored = monthly_report("QMGA-JWT-2025", "2025-06", parse_instant("2025-07-01T00:10", "Asia/Shanghai"))
    stored["final"] = True
    contract = db.session.execute(select(Contract).where(Contract.code == "QMGA-JWT-2025")).scalar_one()
    with transaction() as session:
        session.add(FrozenReport(contract_id=contract.id, month="2025-06", report_json=json.dumps(stored),
                                 report_hash=report_hash(stored)))
    # a late import changes the live figures, never the frozen month
    import_incidents("QMGA-JWT-2025", b"external_id,reported_at,restored_at,kind,cause\n"
                     b"LATE,2025-06-20T08:00,2025-06-20T12:00,interruption,carrier\n", Actor.system("test"))
    client = signed_in("qm-manager")
    first, second = client.get(URL + "/pdf"), client.get(URL + "/pdf")
    assert first.headers["X-Report-Hash"] == second.headers["X-Report-Hash"] == report_hash(stored)
    assert first.data == second.data
    assert json.loads(client.get(URL + "/json").data)["totals"]["day_waiver_total"] == "1689.50"


def test_imported_text_downloads_as_text(signed_in):
    """External IDs and a payment note from the imports reach both downloads as the literal text."""
    from desk.incidents.imports import import_payments
    from desk.reports.xlsx_report import HEADER_ROW

    typed = ['=HYPERLINK("http://x","y")', "+1", "-2", "@SUM(A1)", "#N/A"]
    lines = [f'"{text.replace(chr(34), chr(34) * 2)}",2025-06-2{n}T08:00,2025-06-2{n}T09:30,interruption,carrier'
             for n, text in enumerate(typed)]
    import_incidents("QMGA-JWT-2025", "\n".join(["external_id,reported_at,restored_at,kind,cause", *lines])
                     .encode("utf-8"), Actor.system("test"))
    import_payments("QMGA-JWT-2025", b'paid_at,amount,note\n2025-06-15T10:00,16350.00,"=1+2"\n',
                    Actor.system("test"))
    client = signed_in("qm-manager")

    book = load_workbook(io.BytesIO(client.get(URL + "/xlsx" + AS_OF).data))
    cells = {row[1].value: row for row in book["事件"].iter_rows(min_row=HEADER_ROW + 1)}
    for text in typed:
        row = cells[text]
        assert row[1].data_type == "s", text
        assert row[9].data_type == "n" and row[9].value == 1.5 and row[12].data_type == "n", text
    note = book["已付服务费"].cell(HEADER_ROW + 1, 3)
    assert (note.data_type, note.value) == ("s", "=1+2")

    text = client.get(URL + "/csv" + AS_OF).data.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    by_id = {row[1]: row for row in rows if len(row) == 16}
    for typed_id in typed:
        written = typed_id if typed_id == "#N/A" else "'" + typed_id
        assert by_id[written][12] == "1.50", typed_id  # repair_hours, as in the JSON
    assert ["2025-06-15 10:00:00", "2025-06-15T02:00:00Z", "16350.00", "'=1+2"] in rows


def test_pdf_says_72_hours_reached_when_every_day_is_waived_whole(signed_in, tmp_path):
    """6.3: three whole days of outage are exactly 72 h (inclusive): the period threshold is reached, and
    the period waiver is 0.00 because R4 already waived each of those days."""
    from .test_pdf_report import pdf_text

    import_incidents("QMGA-JWT-2025", b"external_id,reported_at,restored_at,kind,cause\n"
                     b"WHOLE,2025-07-20T00:00,2025-07-23T00:00,interruption,carrier\n", Actor.system("test"))
    client = signed_in("qm-manager")
    july, as_of = "/contracts/QMGA-JWT-2025/reports/2025-07", "?as_of=2025-08-01T00:10"
    totals = json.loads(client.get(july + "/json" + as_of).data)["totals"]
    assert (totals["outage_hours"], totals["period_waiver_total"], len(totals["day_waivers"])) == ("72.00", "0.00", 3)
    text = "".join(pdf_text(client.get(july + "/pdf" + as_of).data, tmp_path))
    assert "已达到，但中断所在各日已按当日服务费减免全免" in text
    assert "未达到" not in text


def test_downloads_follow_the_interface_language_or_lang(signed_in, tmp_path):
    """An English-UI user gets English files; ?lang= overrides the interface either way."""
    from .test_pdf_report import pdf_text

    client = signed_in("qm-manager")
    zh_csv = client.get(URL + "/csv" + AS_OF).data.decode("utf-8-sig")
    assert "当日服务费减免合计" in zh_csv
    client.post("/language", data={"locale": "en"})
    en_csv = client.get(URL + "/csv" + AS_OF)
    assert "Day waivers" in en_csv.data.decode("utf-8-sig") and "当日服务费减免合计" not in en_csv.data.decode("utf-8-sig")
    assert en_csv.headers["Content-Language"] == "en" and "-en.csv" in en_csv.headers["Content-Disposition"]
    book = load_workbook(io.BytesIO(client.get(URL + "/xlsx" + AS_OF).data))
    assert "Incidents" in book.sheetnames and "事件" not in book.sheetnames
    pdf = "".join(pdf_text(client.get(URL + "/pdf" + AS_OF).data, tmp_path))
    assert "Monthly SLA report" in pdf and "月度SLA报告" not in pdf
    forced = client.get(URL + "/csv" + AS_OF + "&lang=zh")
    assert "当日服务费减免合计" in forced.data.decode("utf-8-sig") and forced.headers["Content-Language"] == "zh-CN"
    assert en_csv.headers["X-Report-Hash"] == forced.headers["X-Report-Hash"]  # the same figures
    assert client.get(URL + "/csv" + AS_OF + "&lang=fr").status_code == 422


def test_page_cites_only_the_contracts_own_clauses(signed_in):
    """QMGA has no 四.(三) or 六.(六), XJGAT no 6.3: the page says so, as the PDF does."""
    qmga = signed_in("qm-manager").get(URL + AS_OF).get_data(as_text=True)
    assert "四.(三)" not in qmga and "六.(六)" not in qmga
    assert "6.3" in qmga and "合同无此条款" in qmga
    xjgat = signed_in("xj-manager").get("/contracts/XJGAT-POOL-2025/reports/2025-07?as_of=2025-08-01T00:10")
    body = xjgat.get_data(as_text=True)
    assert xjgat.status_code == 200
    assert "6.3" not in body and "四.(三)" in body and "六.(六)" in body and "合同无此条款" in body
    assert 'id="day-waivers"' not in body
@pytest.mark.parametrize("month", ["0000-06", "0000-01", "1969-12", "9999-12"])
def test_months_outside_the_calendar_are_refused_on_every_page(signed_in, month):
    # Year 0 is no date and 9999-12 ends in year 10000: each page once answered a 500 (month_bounds).
    create_user(Actor.system("test"), username="qm-engineer", password="secret-pass-1", role="carrier_engineer",
                contract_codes=["QMGA-JWT-2025"])
    for name, path in (("qm-manager", f"/contracts/QMGA-JWT-2025/reports/{month}"),
                       ("qm-manager", f"/contracts/QMGA-JWT-2025?month={month}"),
                       ("qm-manager", f"/incidents?month={month}"), ("qm-engineer", f"/queue?month={month}")):
        response = signed_in(name).get(path)
        assert response.status_code == 422, (path, response.status_code)
        assert "月份：须在 1970-01 至 9998-12 之间" in response.get_data(as_text=True), path


def test_a_frozen_month_renders_as_signed_whatever_is_entered_after(signed_in, app):
    """The signed June: a payment dated in June, a cause corrected and the carrier's name edited after the
    freeze change July's adjustments and the live figures, never June's PDF, CSV or XLSX."""
    from desk.clock.month_end import ensure_freeze_events
    from desk.clock.tick import tick
    from desk.contracts.services import get_contract
    from desk.db import transaction
    from desk.incidents.imports import import_payments
    from desk.reports.xlsx_report import HEADER_ROW
    from tests.sla.conftest import local

    import_payments("QMGA-JWT-2025", b"paid_at,amount,note\n2025-06-10T10:00,16350.00,June\n", Actor.system("test"))
    ensure_freeze_events(local("2025-07-01T00:05"))
    tick(local("2025-07-01T00:10"))
    client = signed_in("qm-manager")
    signed = {fmt: client.get(URL + "/" + fmt).data for fmt in ("pdf", "csv", "xlsx")}

    import_payments("QMGA-JWT-2025", b"paid_at,amount,note\n2025-06-20T10:00,999.00,late\n", Actor.system("test"))
    import_incidents("QMGA-JWT-2025", b"external_id,reported_at,started_at,restored_at,kind,cause,cause_confirmed\n"
                     b"QM-0603,2025-06-03T10:00,2025-06-03T10:00,2025-06-03T13:30,interruption,customer,true\n",
                     Actor.system("test"))
    with transaction():
        get_contract("QMGA-JWT-2025").carrier = "中国移动通信集团新疆有限公司巴音郭楞分公司"

    assert client.get(URL + "/pdf").data == signed["pdf"]
    assert client.get(URL + "/csv").data == signed["csv"]
    book = load_workbook(io.BytesIO(client.get(URL + "/xlsx").data))
    before = load_workbook(io.BytesIO(signed["xlsx"]))
    for sheet in before.sheetnames:  # the bytes carry openpyxl's time stamp; every cell is the same
        assert [r for r in book[sheet].iter_rows(values_only=True)] == \
               [r for r in before[sheet].iter_rows(values_only=True)], sheet
    # the June payment, then (after a blank row) their sum: the late one is not in the signed month
    assert [r[1] for r in book["已付服务费"].iter_rows(min_row=HEADER_ROW + 1, values_only=True)] == [16350, None, 16350]
    # the live figures have moved: the month recomputed at its end shows them
    assert "999.00,late" in client.get(URL + "/csv?as_of=2025-07-01T00:00").data.decode("utf-8-sig")


def test_the_termination_decision_is_in_every_format_from_its_instant(signed_in, tmp_path):
    """六.(六): once the customer decides on its termination right, the report says what and when
    (PDF, page, CSV, XLSX); a report as of an earlier instant does not."""
    from desk.contracts.services import get_contract
    from desk.contracts.termination import record_termination_decision
    from desk.extensions import db
    from desk.models import User
    from tests.sla.conftest import local

    from .test_pdf_report import pdf_text

    import_incidents("XJGAT-POOL-2025", (FIXTURES / "xjgat-2025.csv").read_bytes(), Actor.system("test"))
    client = signed_in("xj-manager")
    manager = Actor.of_user(db.session.query(User).filter_by(username="xj-manager").one())
    record_termination_decision(manager, get_contract("XJGAT-POOL-2025"), "exercised", "书面通知已送达",
                                now=local("2025-07-18T10:00"))
    url = "/contracts/XJGAT-POOL-2025/reports/2025-07"
    after, before = "?as_of=2025-07-31T12:00", "?as_of=2025-07-18T09:00"

    def pdf(query):
        return re.sub(r"\s+", " ", " ".join(pdf_text(client.get(url + "/pdf" + query).data, tmp_path)))

    assert "2025-07-18 10:00 甲方决定行使终止权（当时累计违约 3 次，六.(六)）。 书面通知已送达" in pdf(after)
    assert "甲方决定行使" not in pdf(before)
    assert ("2025-07-18 10:00: the customer decided to exercise the termination right (3 strikes then, 六.(六)). "
            "书面通知已送达") in pdf(after + "&lang=en")
    assert "2025-07-18 10:00 甲方决定行使终止权（当时累计违约 3 次，六.(六)）。 书面通知已送达" in \
        client.get(url + after).get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(client.get(url + "/csv" + after).data.decode("utf-8-sig"))))
    assert ["2025-07-18 10:00:00", "2025-07-18T02:00:00Z", "exercised", "3", "书面通知已送达"] in rows
    book = load_workbook(io.BytesIO(client.get(url + "/xlsx" + after).data))
    assert list(book["甲方终止权决定"].iter_rows(min_row=5, values_only=True))[0][1:] == ("行使终止权", 3, "书面通知已送达")
    assert "甲方终止权决定" not in load_workbook(io.BytesIO(client.get(url + "/xlsx" + before).data)).sheetnames
