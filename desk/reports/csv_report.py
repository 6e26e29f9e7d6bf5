"""The monthly report as CSV: UTF-8 with a BOM so that Excel opens the Chinese correctly.

Sections one after another, each opened by a row "## <key>" and its header row: totals, incidents,
day_waivers, payments,
adjustments (corrections to frozen earlier months). Figures are written exactly as in the JSON ("1689.50"); times twice, in the
contract's time zone and in UTC.
"""
from __future__ import annotations

import csv
import io

from desk.reports.labels import TOTALS, clause_of, local_text, utc_text, words
from desk.reports.meta import ReportMeta

BOM = "\ufeff"

# The incident columns: the JSON keys, each instant as local time and as UTC.
INCIDENT_COLUMNS = [
    "id", "external_id", "reported_at", "reported_at_utc", "started_at", "started_at_utc", "restored_at",
    "restored_at_utc", "kind", "cause", "cause_confirmed", "affected_cards", "repair_hours",
    "repair_deadline_met", "strike_number", "penalty",
]


def _flag(value: bool | None) -> str:
    return "" if value is None else "true" if value else "false"


def incident_row(incident: dict, tz: str) -> list:
    return [
        incident["id"], incident.get("external_id") or "",
        local_text(incident["reported_at"], tz, True), utc_text(incident["reported_at"]),
        local_text(incident["started_at"], tz, True), utc_text(incident["started_at"]),
        local_text(incident["restored_at"], tz, True), utc_text(incident["restored_at"]),
        incident["kind"], incident["cause"], _flag(incident["cause_confirmed"]), incident["affected_cards"],
        incident["repair_hours"] or "", _flag(incident["repair_deadline_met"]),
        incident["strike_number"] or "", incident["penalty"],
    ]


def render_csv(report: dict, meta: ReportMeta) -> bytes:
    w = words(meta.lang)
    tz = report["timezone"]
    totals = report["totals"]
    out = io.StringIO()
    out.write(BOM)
    rows = csv.writer(out, lineterminator="\r\n")
    rows.writerow(["## report", w["report"]])
    rows.writerow(["contract", report["contract"], meta.title])
    rows.writerow(["month", report["month"]])
    rows.writerow(["timezone", tz])
    rows.writerow(["as_of", local_text(report["as_of"], tz, True), utc_text(report["as_of"])])
    rows.writerow(["final", _flag(report["final"])])
    rows.writerow(["provisional", _flag(report["provisional"])])
    rows.writerow([])

    rows.writerow(["## totals", w["totals"]])
    rows.writerow(["key", w["item"], w["value"], w["clause"]])
    for key, rules, kind in TOTALS:
        value = _flag(totals[key]) if kind == "bool" else totals[key]
        rows.writerow([key, w[key], value, clause_of(meta, rules)])
    rows.writerow([])

    rows.writerow(["## incidents", w["incidents"], w["local_time_note"].format(tz=tz)])
    rows.writerow(INCIDENT_COLUMNS)
    for incident in report["incidents"]:
        rows.writerow(incident_row(incident, tz))
    rows.writerow([])

    rows.writerow(["## day_waivers", w["day_waivers"], meta.clause("R4")])
    rows.writerow(["date", "amount"])
    for waiver in totals["day_waivers"]:
        rows.writerow([waiver["date"], waiver["amount"]])
    rows.writerow([])

    rows.writerow(["## payments", w["payments"]])
    rows.writerow(["paid_at", "paid_at_utc", "amount", "note"])
    for payment in meta.payments():
        rows.writerow([local_text(payment.paid_at, tz, True), utc_text(payment.paid_at),
                       f"{payment.amount:.2f}", payment.note])
    rows.writerow([])

    rows.writerow(["## adjustments", w["adjustments"]])
    rows.writerow(["month", "item", "frozen", "now", "difference"])
    for row in meta.adjustments:
        rows.writerow([row["month"], row["item"], row["frozen"], row["now"], row["difference"]])
    return out.getvalue().encode("utf-8")

