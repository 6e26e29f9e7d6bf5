"""The monthly report as CSV: UTF-8 with a BOM so that Excel opens the Chinese correctly.

Sections one after another, each opened by a row "## <key>": report (the contract, both parties, its
cards, amount and monthly fee, the month, as_of, final and provisional with the reasons), then, each with
its header row, totals, incidents, day_waivers, payments, termination_decisions (六.(六), up to as_of)
and adjustments (corrections to frozen earlier months). Figures are written exactly as in the JSON
("1689.50"), flags and codes as the JSON's (true, carrier); times twice, in the contract's time zone and
in UTC. A figure whose clause the contract lacks says so in its clause cell, as the PDF does.

Figures are handed to the writer as numbers (Decimal, int), everything else as text; text that Excel or
WPS would evaluate as a formula gets a leading "'" (OWASP "CSV Injection"), numbers never do, so a
negative difference stays a number.
"""
from __future__ import annotations

import csv
import io
from decimal import Decimal

from desk.reports.labels import (
    FORMULA_TRIGGERS, TOTALS, clause_text, contract_figures, local_text, provisional_reasons, rules_clause, utc_text,
    words,
)
from desk.reports.meta import ReportMeta

BOM = "\ufeff"
_TRIGGERS = frozenset(FORMULA_TRIGGERS)  # single characters: a set lookup of the first is the quickest test

# The incident columns: the JSON keys, each instant as local time and as UTC.
INCIDENT_COLUMNS = [
    "id", "external_id", "reported_at", "reported_at_utc", "started_at", "started_at_utc", "restored_at",
    "restored_at_utc", "kind", "cause", "cause_confirmed", "affected_cards", "repair_hours",
    "repair_deadline_met", "strike_number", "penalty",
]


def _flag(value: bool | None) -> str:
    return "" if value is None else "true" if value else "false"


def _figure(value: str | None) -> Decimal | str:
    """A JSON figure ("-545.00") as a number, so that it is written as is; an absent one as ''."""
    return "" if value is None else Decimal(value)


class _Rows:
    """csv.writer whose text cells are shown as typed when the file is opened in a spreadsheet."""

    def __init__(self, out: io.StringIO):
        self._write = csv.writer(out, lineterminator="\r\n").writerow

    def writerow(self, row: list) -> None:
        # OWASP's rule: a leading "'" makes Excel and WPS show the text instead of evaluating it.
        self._write([f"'{v}" if type(v) is str and v[:1] in _TRIGGERS else v for v in row])


def incident_row(incident: dict, tz: str) -> list:
    return [
        incident["id"], incident.get("external_id") or "",
        local_text(incident["reported_at"], tz, True), utc_text(incident["reported_at"]),
        local_text(incident["started_at"], tz, True), utc_text(incident["started_at"]),
        local_text(incident["restored_at"], tz, True), utc_text(incident["restored_at"]),
        incident["kind"], incident["cause"], _flag(incident["cause_confirmed"]), incident["affected_cards"],
        _figure(incident["repair_hours"]), _flag(incident["repair_deadline_met"]),
        incident["strike_number"] or "", _figure(incident["penalty"]),
    ]


def render_csv(report: dict, meta: ReportMeta) -> bytes:
    w = words(meta.lang)
    tz = report["timezone"]
    totals = report["totals"]
    out = io.StringIO()
    out.write(BOM)
    rows = _Rows(out)
    rows.writerow(["## report", w["report"]])
    rows.writerow(["contract", report["contract"], meta.title])
    rows.writerow(["customer", meta.customer, w["customer"]])  # the two parties, as the PDF's first page
    rows.writerow(["carrier", meta.carrier, w["carrier"]])
    for key, label, value in contract_figures(meta, w):
        rows.writerow([key, w["no_clause"] if value is None else value, label])
    rows.writerow(["month", report["month"]])
    rows.writerow(["timezone", tz])
    rows.writerow(["as_of", local_text(report["as_of"], tz, True), utc_text(report["as_of"])])
    rows.writerow(["final", _flag(report["final"])])
    rows.writerow(["provisional", _flag(report["provisional"]), *provisional_reasons(report, meta, w)])
    rows.writerow([])

    rows.writerow(["## totals", w["totals"]])
    rows.writerow(["key", w["item"], w["value"], w["clause"]])
    for key, rules, kind in TOTALS:
        value = _flag(totals[key]) if kind == "bool" else totals[key] if kind == "int" else _figure(totals[key])
        rows.writerow([key, w[key], value, rules_clause(meta, rules, w)])
    rows.writerow([])

    # The clauses behind the deadline and penalty columns, as the other formats' column headers give them.
    rows.writerow(["## incidents", w["incidents"], w["local_time_note"].format(tz=tz),
                   f'repair_deadline_met: {rules_clause(meta, ("R1",), w)}',
                   f'penalty: {rules_clause(meta, ("R2",), w)}'])
    rows.writerow(INCIDENT_COLUMNS)
    for incident in report["incidents"]:
        rows.writerow(incident_row(incident, tz))
    rows.writerow([])

    rows.writerow(["## day_waivers", w["day_waivers"], rules_clause(meta, ("R4",), w)])
    rows.writerow(["date", "amount"])
    for waiver in totals["day_waivers"]:
        rows.writerow([waiver["date"], _figure(waiver["amount"])])
    rows.writerow([])

    rows.writerow(["## payments", w["payments"]])
    rows.writerow(["paid_at", "paid_at_utc", "amount", "note"])
    for payment in meta.payments():
        rows.writerow([local_text(payment.paid_at, tz, True), utc_text(payment.paid_at),
                       _figure(f"{payment.amount:.2f}"), payment.note])
    rows.writerow([])

    rows.writerow(["## termination_decisions", w["decisions"], rules_clause(meta, ("R3",), w)])
    rows.writerow(["decided_at", "decided_at_utc", "decision", "strikes_at_decision", "note"])
    for decision in meta.decisions:
        rows.writerow([local_text(decision.decided_at, tz, True), utc_text(decision.decided_at), decision.decision,
                       decision.strikes, decision.note])
    rows.writerow([])

    rows.writerow(["## adjustments", w["adjustments"]])
    rows.writerow(["month", "item", "frozen", "now", "difference", "clause"])
    for row in meta.adjustments:
        rows.writerow([row["month"], row["item"], *(_figure(row[k]) for k in ("frozen", "now", "difference")),
                       clause_text(meta, row["item"], w)])
    return out.getvalue().encode("utf-8")

