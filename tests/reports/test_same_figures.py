"""Every figure of the JSON, identically in the CSV, the XLSX and the PDF: both parties sign the same.

Reports built by the real services on a fresh database from the seed contracts and the paper logs
in tests/fixtures, for a month in progress (live, provisional) and a frozen (signed) one, in zh and en.
"Identically" is as docs/reports.md states each format: the CSV writes the JSON's text and codes; the
XLSX numbers, local datetimes and the words; the PDF money as "1,689.50 元" and times to the minute.
"""
from __future__ import annotations

import io
import re
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook

from desk.audit.services import Actor
from desk.auth.services import create_user
from desk.contracts.termination import record_termination_decision
from desk.db import transaction
from desk.incidents.imports import import_incidents, import_payments
from desk.reports.hashing import report_hash
from desk.reports.labels import (
    CAUSES, KINDS, TOTALS, clause_text, contract_figures, decision_sentence, instant, local, local_text, money,
    payments_total, provisional_reasons, rules_clause, utc_text, words,
)
from desk.reports.services import monthly_report, render_report, report_meta
from desk.reports.xlsx_report import HEADER_ROW
from desk.timeparse import parse_instant

from .test_csv_report import sections
from .test_pdf_report import pdf_text

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
TZ = "Asia/Shanghai"

# (contract, month, as_of local or None for the frozen month's stored document)
CASES = {
    "xjgat-live": ("XJGAT-POOL-2025", "2025-07", "2025-07-20T12:00"),  # strike #3 unconfirmed, termination right
    "qmga-live": ("QMGA-JWT-2025", "2025-06", "2025-06-20T12:00"),  # month not over, causes all agreed
    "xjgat-signed": ("XJGAT-POOL-2025", "2025-07", None),  # frozen, still provisional: a cause not agreed
    "qmga-signed": ("QMGA-JWT-2025", "2025-06", None),  # frozen and final: the worked example, 1,689.50
}


@pytest.fixture(params=[(case, lang) for case in CASES for lang in ("zh", "en")],
                ids=lambda p: f"{p[0]}-{p[1]}")
def documents(request, app, contracts, tmp_path):
    """The JSON report and its CSV, XLSX (read back) and PDF (text), as the downloads give them."""
    from desk.clock.month_end import freeze_month

    case, lang = request.param
    code, month, as_of = CASES[case]
    import_incidents("QMGA-JWT-2025", (FIXTURES / "qmga-2025-06.csv").read_bytes(), Actor.system("test"))
    import_incidents("XJGAT-POOL-2025", (FIXTURES / "xjgat-2025.csv").read_bytes(), Actor.system("test"))
    import_payments("XJGAT-POOL-2025", (FIXTURES / "xjgat-payments.csv").read_bytes(), Actor.system("test"))
    # 六.(六): strike #3 on 07-15 gave the right; the bureau decided on it before either as_of.
    manager = create_user(Actor.system("test"), username="xj-manager", password="secret-pass-1",
                          role="unit_manager", contract_codes=["XJGAT-POOL-2025"])
    record_termination_decision(Actor.of_user(manager), contracts["XJGAT-POOL-2025"], "not_exercised", "继续观察",
                                now=parse_instant("2025-07-18T10:00", TZ))
    contract = contracts[code]
    if as_of is None:
        with transaction():
            freeze_month(contract, month)
        report = monthly_report(code, month)
        assert report["final"]
    else:
        report = monthly_report(code, month, parse_instant(as_of, TZ))
        assert report["provisional"] and not report["final"]
    meta = report_meta(contract, report, lang)
    csv = sections(render_report(contract, report, "csv", lang))
    book = load_workbook(io.BytesIO(render_report(contract, report, "xlsx", lang)))
    pages = pdf_text(render_report(contract, report, "pdf", lang), tmp_path)
    return report, meta, words(lang), csv, book, pages


def flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def cents(value) -> Decimal:
    """An XLSX number cell (a float) as the JSON's two-decimal figure."""
    return Decimal(str(value)).quantize(Decimal("0.01"))


def test_every_format_gives_the_same_figures(documents):
    """One test a case and language: the documents are built once (a database, four renders, pdftotext)."""
    check_the_cases_cover_what_they_say(documents)
    check_report_section_parties_and_contract_figures(documents)
    check_provisional_reasons_are_the_same_everywhere(documents)
    check_totals_with_their_clauses(documents)
    check_day_waivers(documents)
    check_incidents(documents)
    check_payments_and_termination_decisions(documents)
    check_column_clauses_name_the_same_clause(documents)


def check_the_cases_cover_what_they_say(documents):
    report, meta, w, *_ = documents
    assert report["incidents"] and report["contract"] in ("QMGA-JWT-2025", "XJGAT-POOL-2025")
    if report["contract"] == "QMGA-JWT-2025":
        assert meta.strike_threshold is None and report["totals"]["day_waivers"]
    else:
        assert meta.monthly_fee is None and report["totals"]["termination_right"]


def check_report_section_parties_and_contract_figures(documents):
    report, meta, w, csv, book, pages = documents
    rows = {row[0]: row[1:] for row in csv["report"]}
    assert rows["contract"][0] == report["contract"] and rows["month"] == [report["month"]]
    assert rows["as_of"] == [local_text(report["as_of"], TZ, True), utc_text(report["as_of"])]
    assert rows["final"] == [str(report["final"]).lower()]
    assert rows["provisional"][0] == str(report["provisional"]).lower()
    info = {row[0].value: row[2].value for row in book[w["sheet_totals"]].iter_rows(min_row=HEADER_ROW + 1)}
    assert (info["contract"], info["month"], info["as_of"]) == (report["contract"], report["month"],
                                                                 local(report["as_of"], TZ))
    assert info["final"] == (w["yes"] if report["final"] else w["no"])
    assert info["provisional"] == (w["yes"] if report["provisional"] else w["no"])
    text = flat("\n".join(pages))
    assert f'{w["as_of"]} {local_text(report["as_of"], TZ, True)}' in text
    assert f'{w["status"]} {w["final"] if report["final"] else w["provisional"]}' in text
    assert report_hash(report) in text

    # The two parties, as the PDF's first page and signature block name them.
    for key in ("customer", "carrier"):
        name = getattr(meta, key)
        assert rows[key] == [name, w[key]] and info[key] == name
        assert f"{w[key]} {name}" in text
    # The contract's cards, amount and monthly fee: the same figures to the fen, or "not in contract".
    for key, label, value in contract_figures(meta, w):
        if value is None:
            assert rows[key] == [w["no_clause"], label] and info[key] == w["no_clause"]
            assert f'{label} {w["no_clause"]}' in text
        elif key == "cards":
            assert rows[key] == [str(value), label] and info[key] == value and f"{label} {value}" in text
        else:
            assert rows[key] == [f"{value:.2f}", label] and cents(info[key]) == value
            assert f'{label} {money(value)} {w["yuan"]}' in text


def check_provisional_reasons_are_the_same_everywhere(documents):
    report, meta, w, csv, book, pages = documents
    reasons = provisional_reasons(report, meta, w)
    assert bool(reasons) == (report["provisional"] or not report["final"])
    if report["month"] == "2025-06" and not report["final"]:  # QMGA mid-June: all causes agreed
        assert reasons == [w["provisional_month"]]
    if report["contract"] == "XJGAT-POOL-2025":  # XJ-0715's cause is undetermined, unconfirmed
        assert w["provisional_cause"] in reasons
    rows = {row[0]: row[1:] for row in csv["report"]}
    assert rows["provisional"][1:] == reasons
    for sheet in book:
        assert sheet["A2"].value.split(" · ")[1:] == reasons, sheet.title
    text = flat("\n".join(pages))
    for reason in reasons:
        assert flat(reason) in text
    assert ("临时 PROVISIONAL" in pages[0]) == bool(reasons)


def check_totals_with_their_clauses(documents):
    report, meta, w, csv, book, pages = documents
    totals = report["totals"]
    in_csv = {row[0]: row[1:] for row in csv["totals"][1:]}
    in_xlsx = {row[0].value: row[1:] for row in book[w["sheet_totals"]].iter_rows(min_row=HEADER_ROW + 1)}
    text = "\n".join(pages)
    labels = [w[key] for key, _, _ in TOTALS]
    assert len(set(labels)) == len(labels)  # no two rows under one name
    for key, rules, kind in TOTALS:
        value, clause = totals[key], clause_text(meta, key, w)
        assert clause == rules_clause(meta, rules, w) and (clause != "") == bool(rules)
        # CSV: the JSON's text ("6394.00", true); XLSX: numbers, and the PDF's words for the right.
        assert in_csv[key] == [w[key], str(value).lower() if kind == "bool" else str(value), clause], key
        label, cell, clause_cell = in_xlsx[key]
        assert label.value == w[key] and (clause_cell.value or "") == clause, key
        if kind == "bool":
            shown = w["exists"] if value else w["not_exists"]
            assert cell.value == shown
        elif kind == "int":
            shown = str(value)
            assert cell.value == value and cell.number_format == "0"
        else:
            shown = f'{money(value)} {w["yuan"]}' if kind == "money" else f'{value} {w["hours"]}'
            assert cents(cell.value) == Decimal(value), key
        tail = rf"\s+{re.escape(clause)}" if clause else ""
        assert re.search(rf"^\s*{re.escape(w[key])}\s+{re.escape(shown)}{tail}\s*$", text, re.M), \
            f"{key}: {shown} {clause}"


def check_day_waivers(documents):
    report, meta, w, csv, book, pages = documents
    waivers = report["totals"]["day_waivers"]
    clause = rules_clause(meta, ("R4",), w)
    assert csv["day_waivers"][1:] == [[d["date"], d["amount"]] for d in waivers]
    sheet = [row for row in book[w["sheet_waivers"]].iter_rows(min_row=HEADER_ROW + 1, values_only=True)]
    assert [(day.date().isoformat(), cents(amount), kept) for day, amount, kept in sheet[:len(waivers)]] == [
        (d["date"], Decimal(d["amount"]), clause) for d in waivers]
    totals = {row[0]: (cents(row[1]), row[2]) for row in sheet[len(waivers):] if row[0]}
    for key in ("day_waiver_total", "period_waiver_total", "waiver_total"):
        assert totals[w[key]] == (Decimal(report["totals"][key]), clause_text(meta, key, w))
    text = "\n".join(pages)
    for d in waivers:
        assert re.search(rf'^\s*{d["date"]}\s+{re.escape(money(d["amount"]))} {w["yuan"]}\s+{re.escape(clause)}\s*$',
                         text, re.M), d


def check_incidents(documents):
    report, meta, w, csv, book, pages = documents
    kinds, causes = KINDS[meta.lang], CAUSES[meta.lang]
    header, *in_csv = csv["incidents"]
    in_csv = [dict(zip(header, row)) for row in in_csv]
    in_xlsx = list(book[w["sheet_incidents"]].iter_rows(min_row=HEADER_ROW + 1, values_only=True))
    lines = "\n".join(pages).splitlines()
    assert len(in_csv) == len(in_xlsx) == len(report["incidents"])
    flag = {True: "true", False: "false", None: ""}
    for i, c, x in zip(report["incidents"], in_csv, in_xlsx):
        times = ("reported_at", "started_at", "restored_at")
        assert (c["id"], c["external_id"]) == (str(i["id"]), i["external_id"] or "")
        for key in times:
            assert c[f"{key}_utc"] == utc_text(i[key]) and c[key] == local_text(i[key], TZ, True)
            assert i[key] is None or instant(i[key]).second == 0  # so the PDF's minutes lose nothing
        assert (c["kind"], c["cause"], c["cause_confirmed"], c["affected_cards"]) == (
            i["kind"], i["cause"], flag[i["cause_confirmed"]], str(i["affected_cards"]))
        assert (c["repair_hours"], c["repair_deadline_met"], c["strike_number"], c["penalty"]) == (
            i["repair_hours"] or "", flag[i["repair_deadline_met"]], str(i["strike_number"] or ""), i["penalty"])

        met = {True: w["met"], False: w["missed"], None: None}[i["repair_deadline_met"]]
        assert x[:9] == (i["id"], i["external_id"], *(local(i[key], TZ) for key in times), kinds[i["kind"]],
                         causes[i["cause"]], w["yes"] if i["cause_confirmed"] else w["no"], i["affected_cards"])
        assert (None if x[9] is None else str(cents(x[9]))) == i["repair_hours"]
        assert (x[10], x[11], str(cents(x[12]))) == (met, i["strike_number"], i["penalty"])

        # PDF: the desk's ID on the row, the unit's external ID on the line below it.
        cells = [str(i["id"]), *(local_text(i[key], TZ) for key in times if i[key]), kinds[i["kind"]],
                 causes[i["cause"]] + ("" if i["cause_confirmed"] else " *"), str(i["affected_cards"]),
                 i["repair_hours"] or w["open"], met or "", str(i["strike_number"] or ""), money(i["penalty"])]
        row = r"^\s*" + r"\s+".join(re.escape(cell) for cell in cells if cell) + r"\s*$"
        found = [n for n, line in enumerate(lines) if re.match(row, line)]
        assert len(found) == 1, (i["id"], cells)
        if i["external_id"]:
            assert lines[found[0] + 1].strip() == i["external_id"]


def check_payments_and_termination_decisions(documents):
    """The ledger behind the refund (六.(六)) and the customer's decisions on the right, up to as_of."""
    report, meta, w, csv, book, pages = documents
    payments, decisions = meta.payments(), meta.decisions
    total = payments_total(meta)
    if report["totals"]["termination_right"]:
        assert payments and total == Decimal(report["totals"]["termination_refund"])  # all fees paid to date
        assert [d.decision for d in decisions] == ["not_exercised"]
    assert csv["payments"][1:] == [[local_text(p.paid_at, TZ, True), utc_text(p.paid_at), f"{p.amount:.2f}", p.note]
                                   for p in payments]
    assert csv["termination_decisions"][1:] == [
        [local_text(d.decided_at, TZ, True), utc_text(d.decided_at), d.decision, str(d.strikes), d.note]
        for d in decisions]
    sheet = list(book[w["sheet_payments"]].iter_rows(min_row=HEADER_ROW + 1, values_only=True))
    assert [(at, cents(amount), note) for at, amount, note in sheet[:len(payments)]] == [
        (local(p.paid_at, TZ), p.amount, p.note) for p in payments]
    if payments:
        assert (sheet[-1][0], cents(sheet[-1][1])) == (w["sum"], total)
    if decisions:
        rows = list(book[w["decisions"]].iter_rows(min_row=HEADER_ROW, values_only=True))
        assert rows[0][2] == w["strikes_at_decision"]
        assert rows[1:] == [(local(d.decided_at, TZ), w[d.decision], d.strikes, d.note) for d in decisions]
    else:
        assert w["decisions"] not in book.sheetnames
    text = "\n".join(pages)
    for p in payments:
        assert re.search(rf"^\s*{local_text(p.paid_at, TZ)}\s+{re.escape(money(p.amount))} {w['yuan']}\s+{p.note}\s*$",
                         text, re.M)
    if payments:
        assert re.search(rf"^\s*{w['sum']}\s+{re.escape(money(total))} {w['yuan']}\s*$", text, re.M)
    for d in decisions:
        assert flat(decision_sentence(d, meta, w)) in flat(text)


def check_column_clauses_name_the_same_clause(documents):
    report, meta, w, csv, book, pages = documents
    r1, r2 = rules_clause(meta, ("R1",), w), rules_clause(meta, ("R2",), w)
    assert csv["incidents"] is not None
    title_row = next(row for row in book[w["sheet_incidents"]].iter_rows(min_row=HEADER_ROW, max_row=HEADER_ROW,
                                                                         values_only=True))
    assert title_row[10].endswith(r1) and title_row[12].endswith(r2)
    text = flat("\n".join(pages))
    assert r1 in text and r2 in text


def test_csv_incidents_section_names_the_column_clauses(app, contracts):
    """The CSV's header row is the JSON's keys: the clauses behind them ride on the section's row."""
    from desk.reports.csv_report import render_csv

    import_incidents("QMGA-JWT-2025", (FIXTURES / "qmga-2025-06.csv").read_bytes(), Actor.system("test"))
    contract = contracts["QMGA-JWT-2025"]
    report = monthly_report("QMGA-JWT-2025", "2025-06", datetime.fromisoformat("2025-07-01T00:10+08:00"))
    for lang in ("zh", "en"):
        text = render_csv(report, report_meta(contract, report, lang)).decode("utf-8-sig")
        opening = next(line for line in text.splitlines() if line.startswith("## incidents"))
        no = words(lang)["no_clause"]
        assert opening.endswith(f"repair_deadline_met: {no},penalty: {no}")
