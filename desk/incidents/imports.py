"""Importing the paper log: historic incidents and payments from CSV (spec §6).

A file is checked whole before anything is written: one bad row rejects the file with every
bad line and its reason. Re-importing the same external_id updates the incident in place.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Callable

from sqlalchemy import select

from desk.audit.services import Actor, record, snapshot
from desk.contracts.maintenance import maintenance_notice_for
from desk.contracts.payments import paid_too_early
from desk.contracts.services import MAX_PAYMENT_NOTE, get_contract
from desk.db import among, transaction
from desk.errors import ValidationFailed
from desk.incidents.services import MAX_DESCRIPTION, after_incident_change, before_service, incident_snapshot
from desk.models import Contract, Incident, Payment, Ticket, utcnow
from desk.models.types import MAX_MONEY
from desk.moneyparse import parse_amount
from desk.sla.incidents import CAUSES, KINDS
from desk.timeparse import parse_instant

INCIDENT_COLUMNS = ("external_id", "reported_at", "started_at", "restored_at", "kind", "cause",
                    "cause_confirmed", "affected_cards", "summary", "notice_at", "window_start", "window_end")
PAYMENT_COLUMNS = ("paid_at", "amount", "note")
TRUE = {"true", "1", "yes", "y", "是"}
FALSE = {"false", "0", "no", "n", "否", ""}
MAX_EXTERNAL_ID = 120

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class IncidentRow:
    line: int
    external_id: str
    reported_at: datetime
    started_at: datetime
    restored_at: datetime | None
    kind: str
    cause: str
    cause_confirmed: bool
    affected_cards: int
    summary: str
    notice: tuple[datetime, datetime, datetime] | None


@dataclass(frozen=True)
class ImportResult:
    created: int
    updated: int
    unchanged: int


def _read_csv(data: bytes, columns: tuple[str, ...], required: set[str]) -> list[tuple[int, dict]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        # Chinese Excel saves CSV in GBK unless told otherwise.
        raise ValidationFailed(f"line {line}: the file is not UTF-8 text (byte {exc.start}); "
                               "save it as \"CSV UTF-8\" and import it again")
    if "\x00" in text:  # no CSV text holds one, and PostgreSQL cannot store it
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise ValidationFailed(f"line {line}: a NUL character: the file is not CSV text")
    reader = csv.reader(io.StringIO(text, newline=""))
    header = [h.strip() for h in next(reader, [])]
    if not header:
        raise ValidationFailed("the file is empty: expected a header line with " + ", ".join(columns))
    unknown = [h for h in header if h not in columns]
    missing = [c for c in required if c not in header]
    errors = []
    if unknown:
        errors.append("line 1: unknown column(s): " + ", ".join(unknown))
    if missing:
        errors.append("line 1: missing column(s): " + ", ".join(sorted(missing)))
    if len(set(header)) != len(header):
        errors.append("line 1: a column appears twice")
    if errors:
        raise ValidationFailed("the file was rejected, nothing was written", errors=errors)
    rows = []
    while True:
        # A quoted field may span lines: a record is named by the line it starts on.
        line = reader.line_num + 1
        values = next(reader, None)
        if values is None:
            return rows
        if not values:
            continue  # a blank line
        if len(values) != len(header):
            # A short row would otherwise read as blanks: an open incident of all cards.
            rows.append((line, {"__extra__": f"{len(values)} fields where the header has {len(header)}"}))
            continue
        rows.append((line, {k: v.strip() for k, v in zip(header, values)}))


def parse_incident_rows(data: bytes, contract: Contract) -> list[IncidentRow]:
    rows = _read_csv(data, INCIDENT_COLUMNS, {"external_id", "reported_at", "kind"})
    tz = contract.timezone
    errors: list[str] = []
    parsed: list[IncidentRow] = []
    seen: dict[str, int] = {}
    for line, row in rows:
        problems: list[str] = []
        if row.get("__extra__"):
            errors.append(f"line {line}: {row['__extra__']}")
            continue

        def instant(name: str, required: bool = False) -> datetime | None:
            value = row.get(name, "")
            if not value:
                if required:
                    problems.append(f"{name} is required")
                return None
            try:
                return parse_instant(value, tz)
            except ValueError as exc:
                problems.append(f"{name}: {exc}")
                return None

        external_id = row.get("external_id", "")
        if not external_id:
            problems.append("external_id is required")
        elif len(external_id) > MAX_EXTERNAL_ID:
            problems.append(f"external_id: at most {MAX_EXTERNAL_ID} characters")
        elif external_id in seen:
            problems.append(f"external_id {external_id!r} already on line {seen[external_id]}")
        else:
            seen[external_id] = line
        reported = instant("reported_at", required=True)
        started = instant("started_at") or reported
        restored = instant("restored_at")
        kind = row.get("kind", "")
        if kind not in KINDS:
            problems.append(f"kind: {kind!r} is not one of {', '.join(KINDS)}")
        cause = row.get("cause", "") or "undetermined"
        if cause not in CAUSES:
            problems.append(f"cause: {cause!r} is not one of {', '.join(CAUSES)}")
        confirmed_text = row.get("cause_confirmed", "").lower()
        if confirmed_text not in TRUE | FALSE:
            problems.append(f"cause_confirmed: {row.get('cause_confirmed')!r} is not true/false")
        cards_text = row.get("affected_cards", "")
        cards = contract.cards
        if cards_text:
            try:
                cards = int(cards_text)
            except ValueError:
                problems.append(f"affected_cards: {cards_text!r} is not a whole number")
        if not 1 <= cards <= contract.cards:
            problems.append(f"affected_cards: {cards} is outside 1..{contract.cards}")
        if reported and started and started > reported:
            problems.append("started_at is after reported_at")
        elif started:
            problems += before_service(contract, started)
        if restored and started and restored < started:
            problems.append("restored_at is before started_at")
        if restored and restored > utcnow():
            problems.append("restored_at is in the future")
        if reported and reported > utcnow():
            problems.append("reported_at is in the future")
        notice_values = [instant(n) for n in ("notice_at", "window_start", "window_end")]
        notice = None
        given = [row.get(n, "") != "" for n in ("notice_at", "window_start", "window_end")]
        if any(given) and not all(given):
            problems.append("notice_at, window_start and window_end go together: give all three or none")
        elif all(given) and all(notice_values):
            if notice_values[2] <= notice_values[1]:
                problems.append("window_end is not after window_start")
            notice = tuple(notice_values)
        # As the fault form and the payment form take them: the ticket's description, the ledger's note.
        if len(row.get("summary", "")) > MAX_DESCRIPTION:
            problems.append(f"summary: at most {MAX_DESCRIPTION} characters")
        if problems:
            errors.extend(f"line {line}: {p}" for p in problems)
            continue
        parsed.append(IncidentRow(line, external_id, reported, started, restored, kind, cause,
                                  confirmed_text in TRUE, cards, row.get("summary", ""), notice))
    if not parsed and not errors:
        errors.append("the file has a header but no rows")
    if errors:
        raise ValidationFailed(f"{len(errors)} problem(s): the file was rejected, nothing was written",
                               errors=errors)
    return parsed


def import_incidents(code: str, data: bytes, actor: Actor, progress: Progress | None = None) -> ImportResult:
    contract = get_contract(code)
    rows = parse_incident_rows(data, contract)
    created = updated = unchanged = 0
    with transaction() as session:
        existing = {
            i.external_id: i
            for i in session.execute(
                select(Incident).where(Incident.contract_id == contract.id,
                                       among(Incident.external_id, [r.external_id for r in rows]))
            ).scalars()
        }
        for n, row in enumerate(rows, 1):
            incident = existing.get(row.external_id)
            notice_id = None
            if row.notice:
                notice_id = maintenance_notice_for(contract.id, *row.notice).id
            values = dict(
                reported_at=row.reported_at, started_at=row.started_at, restored_at=row.restored_at,
                kind=row.kind, cause=row.cause, cause_confirmed=row.cause_confirmed,
                affected_cards=row.affected_cards, summary=row.summary, maintenance_notice_id=notice_id,
                status="restored" if row.restored_at else "open",
            )
            if incident is None:
                incident = Incident(contract_id=contract.id, external_id=row.external_id, **values)
                session.add(incident)
                session.flush()
                session.add(Ticket(incident=incident, contract_id=contract.id, channel="import",
                                   reported_at=row.reported_at, kind=row.kind,
                                   affected_cards=row.affected_cards, description=row.summary))
                after_incident_change(incident, actor, "incident.imported", None)
                created += 1
            else:
                if incident.status in ("confirmed", "merged"):
                    values.pop("status")
                before = incident_snapshot(incident)
                for key, value in values.items():
                    setattr(incident, key, value)
                if incident_snapshot(incident) == before:
                    unchanged += 1
                else:
                    after_incident_change(incident, actor, "incident.reimported", before)
                    updated += 1
            if progress:
                progress(n, len(rows))
    return ImportResult(created, updated, unchanged)


def parse_payment_rows(data: bytes, contract: Contract) -> list[tuple[int, datetime, Decimal, str]]:
    rows = _read_csv(data, PAYMENT_COLUMNS, {"paid_at", "amount"})
    errors, parsed, seen = [], [], {}
    for line, row in rows:
        if row.get("__extra__"):
            errors.append(f"line {line}: {row['__extra__']}")
            continue
        problems = []
        paid_at = None
        try:
            paid_at = parse_instant(row.get("paid_at", ""), contract.timezone)
            if paid_at > utcnow():
                problems.append("paid_at is in the future")
            problems += paid_too_early(contract, paid_at)
        except ValueError as exc:
            problems.append(f"paid_at: {exc}")
        amount = None
        try:
            amount = parse_amount(row.get("amount"))
            if amount <= 0:
                problems.append(f"amount: {row.get('amount')!r} must be a positive amount")
            elif amount > MAX_MONEY:
                problems.append(f"amount: {row.get('amount')!r} is more than {MAX_MONEY:,}")
            elif amount != amount.quantize(Decimal("0.01")):
                problems.append(f"amount: {row.get('amount')!r} has more than two decimals")
        except ValueError as exc:
            problems.append(f"amount: {row.get('amount')!r} {exc}")
        if len(row.get("note", "")) > MAX_PAYMENT_NOTE:
            problems.append(f"note: at most {MAX_PAYMENT_NOTE} characters")
        if paid_at and amount is not None and not problems:
            key = (paid_at, amount)
            if key in seen:
                problems.append(f"the same payment is already on line {seen[key]}")
            seen[key] = line
        if problems:
            errors.extend(f"line {line}: {p}" for p in problems)
        else:
            parsed.append((line, paid_at, amount.quantize(Decimal("0.01")), row.get("note", "")))
    if not parsed and not errors:
        errors.append("the file has a header but no rows")
    if errors:
        raise ValidationFailed(f"{len(errors)} problem(s): the file was rejected, nothing was written",
                               errors=errors)
    return parsed


def import_payments(code: str, data: bytes, actor: Actor) -> ImportResult:
    contract = get_contract(code)
    rows = parse_payment_rows(data, contract)
    created = updated = unchanged = 0
    with transaction() as session:
        for _line, paid_at, amount, note in rows:
            payment = session.execute(
                select(Payment).where(Payment.contract_id == contract.id, Payment.paid_at == paid_at,
                                      Payment.amount == amount)
            ).scalar_one_or_none()
            if payment is None:
                payment = Payment(contract_id=contract.id, paid_at=paid_at, amount=amount, note=note,
                                  recorded_by_id=actor.user_id)
                session.add(payment)
                session.flush()
                record(actor, "payment.recorded", "payment", payment.id, contract_id=contract.id,
                       after=snapshot(payment, ("paid_at", "amount", "note")))
                created += 1
            elif payment.note != note:
                before = snapshot(payment, ("paid_at", "amount", "note"))
                payment.note = note
                record(actor, "payment.updated", "payment", payment.id, contract_id=contract.id,
                       before=before, after=snapshot(payment, ("paid_at", "amount", "note")))
                updated += 1
            else:
                unchanged += 1
    return ImportResult(created, updated, unchanged)
