"""Bulk-loading years of incidents across many contracts (B2, B3): COPY on PostgreSQL,
executemany in large batches on SQLite, never the ORM row by row.

The data is what the desk itself would hold (every value passes the tables' checks):

- closed incidents spread over the service period before the clock's instant NOW, restored after
  30 to 430 minutes, causes agreed; each keeps its settled repair-deadline breach event
  (recorded when the deadline was missed, cancelled when it was met), so the clock's index
  holds a history as large as the incident table;
- open incidents, reported in the three hours before NOW during an outage storm, each with its
  three pending events (warnings 60 and 15 minutes before the 4-hour deadline, and the breach),
  none of them due at NOW, and, for an interruption, its strike (R2) recorded by an earlier tick;
- DUE incidents, reported 3 h to 3 h 45 min before NOW: exactly their 60-minute warning is due;
- the report month: REPORT_MONTH of contract 1 holds `report_incidents` incidents (B3).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import text

from desk.clock.events import DEFAULT_DEADLINE_WARNINGS

NOW = datetime(2025, 11, 20, 4, 0, tzinfo=timezone.utc)  # the tick's instant
HISTORY_START = datetime(2024, 1, 1, tzinfo=timezone.utc)
REPORT_MONTH = (2025, 10)
REPORT_MONTH_START = datetime(2025, 9, 30, 16, tzinfo=timezone.utc)  # 2025-10-01 00:00 Asia/Shanghai
REPORT_MONTH_SPAN = timedelta(days=31)
DEADLINE = timedelta(hours=4)  # the bench contracts' 四.(三)
DUE = 100
# How SQLAlchemy stores an instant in SQLite (text compared as text, so the format must match).
SQLITE_INSTANT = "%Y-%m-%d %H:%M:%S.%f"
CAUSES = ("carrier", "third_party", "third_party", "customer", "force_majeure", "third_party", "carrier")


@dataclass(frozen=True)
class Scale:
    """How many incidents of each sort one load step adds."""

    closed: int
    open: int
    due: int = 0
    report_incidents: int = 0


def _incident(incident_id: int, contract_id: int, unit_id: int, reported: datetime, restored: datetime | None,
              cause: str, status: str) -> tuple:
    confirmed = status == "confirmed"
    return (incident_id, contract_id, f"EXT-{incident_id}", unit_id, reported, reported, restored,
            "interruption" if incident_id % 4 else "degradation", cause, confirmed, 1 + incident_id % 40,
            "基站中断", status, reported + timedelta(minutes=5) if restored else None,
            restored + timedelta(hours=1) if confirmed else None, reported, restored or reported, 1)


INCIDENT_COLUMNS = ("id", "contract_id", "external_id", "unit_id", "reported_at", "started_at", "restored_at",
                    "kind", "cause", "cause_confirmed", "affected_cards", "summary", "status",
                    "acknowledged_at", "confirmed_at", "created_at", "updated_at", "version")
TICKET_COLUMNS = ("id", "incident_id", "contract_id", "unit_id", "channel", "reported_at", "kind",
                  "affected_cards", "location", "description", "caller_phone", "recording_url", "created_at")
EVENT_COLUMNS = ("id", "key", "contract_id", "incident_id", "kind", "due_at", "status", "recorded_at",
                 "payload", "created_at")


class Loader:
    """Appends incidents, their tickets and clock events, continuing the ids of earlier steps."""

    def __init__(self, engine, contracts: list[tuple[int, int]]):
        self.engine = engine
        self.contracts = contracts  # (contract id, unit id), in contract order
        self.next_incident = self.next_ticket = self.next_event = 1
        self.due_event_ids: list[int] = []
        self.report_contract_id = contracts[0][0]

    def add(self, scale: Scale) -> None:
        incidents, tickets, events = [], [], []
        count = len(self.contracts)
        span = (NOW - timedelta(days=1) - HISTORY_START).total_seconds()
        for k in range(scale.closed):
            iid = self._incident_id()
            if k < scale.report_incidents:
                contract_id, unit_id = self.contracts[0]
                reported = REPORT_MONTH_START + REPORT_MONTH_SPAN * (k / max(scale.report_incidents, 1))
            else:
                contract_id, unit_id = self.contracts[iid % count]
                reported = HISTORY_START + timedelta(seconds=span * ((iid * 7919) % 1_000_003) / 1_000_003)
            restored = reported + timedelta(minutes=30 + (iid * 37) % 400)
            cause = CAUSES[iid % len(CAUSES)]
            incidents.append(_incident(iid, contract_id, unit_id, reported, restored, cause, "confirmed"))
            deadline = reported + DEADLINE
            missed = restored > deadline and cause not in ("customer", "force_majeure")
            events.append(self._event(iid, contract_id, "breach", deadline, {"deadline": deadline.isoformat()},
                                      "recorded" if missed else "cancelled", deadline if missed else None))
        for k in range(scale.open + scale.due):
            iid = self._incident_id()
            contract_id, unit_id = self.contracts[iid % count]
            if k < scale.due:  # 3 h to 3 h 45 min old: only the 60-minute warning is due at NOW
                reported = NOW - timedelta(hours=3) - timedelta(seconds=2700 * (k + 1) / (scale.due + 1))
            else:
                reported = NOW - timedelta(seconds=10_799 * (k - scale.due + 1) / (scale.open + 1))
            incidents.append(_incident(iid, contract_id, unit_id, reported, None, "undetermined", "open"))
            tickets.append((self._ticket_id(), iid, contract_id, unit_id, "api", reported, incidents[-1][7],
                            incidents[-1][10], "", "基站中断", "", "", reported))
            deadline = reported + DEADLINE
            for minutes in DEFAULT_DEADLINE_WARNINGS:
                event = self._event(iid, contract_id, f"warn:{minutes}", deadline - timedelta(minutes=minutes),
                                    {"minutes_left": minutes, "deadline": deadline.isoformat()}, "pending", None)
                events.append(event)
                if k < scale.due and minutes == max(DEFAULT_DEADLINE_WARNINGS):
                    self.due_event_ids.append(event[0])
            events.append(self._event(iid, contract_id, "breach", deadline, {"deadline": deadline.isoformat()},
                                      "pending", None))
            if incidents[-1][7] == "interruption":  # R2: not yet attributed, a strike from its report
                events.append(self._event(iid, contract_id, "strike", reported, {"cause": "undetermined"},
                                          "recorded", reported))
        self._write("incident", INCIDENT_COLUMNS, incidents)
        self._write("ticket", TICKET_COLUMNS, tickets)
        self._write("clock_event", EVENT_COLUMNS, events)
        self._finish()

    def _incident_id(self) -> int:
        self.next_incident += 1
        return self.next_incident - 1

    def _ticket_id(self) -> int:
        self.next_ticket += 1
        return self.next_ticket - 1

    def _event(self, incident_id: int, contract_id: int, which: str, due_at: datetime, payload: dict,
               status: str, recorded_at: datetime | None) -> tuple:
        self.next_event += 1
        if which == "strike":
            key, kind = f"incident:{incident_id}:strike", "strike"
        else:
            key = f"incident:{incident_id}:repair_deadline:{which}"
            kind = "repair_deadline_breach" if which == "breach" else "repair_deadline_warning"
        return (self.next_event - 1, key, contract_id, incident_id, kind, due_at, status, recorded_at,
                {**payload, "notify": True}, due_at)

    def _write(self, table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
        if not rows:
            return
        if self.engine.dialect.name == "postgresql":
            self._copy(table, columns, rows)
        else:
            self._executemany(table, columns, rows)

    def _copy(self, table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
        raw = self.engine.raw_connection()
        try:
            cursor = raw.cursor()
            quoted = ", ".join(f'"{c}"' for c in columns)
            with cursor.copy(f"COPY {table} ({quoted}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row([json.dumps(v) if isinstance(v, dict) else v for v in row])
            raw.commit()
        finally:
            raw.close()

    def _executemany(self, table: str, columns: tuple[str, ...], rows: list[tuple], batch: int = 20_000) -> None:
        def sqlite_value(v):
            if isinstance(v, datetime):
                return v.astimezone(timezone.utc).strftime(SQLITE_INSTANT)
            return json.dumps(v) if isinstance(v, dict) else v

        quoted = ", ".join(f'"{c}"' for c in columns)
        sql = f"INSERT INTO {table} ({quoted}) VALUES ({', '.join('?' * len(columns))})"
        raw = self.engine.raw_connection()
        try:
            cursor = raw.cursor()
            cursor.execute("BEGIN")
            for i in range(0, len(rows), batch):
                cursor.executemany(sql, [tuple(sqlite_value(v) for v in row) for row in rows[i:i + batch]])
            cursor.execute("COMMIT")
        finally:
            raw.close()

    def _finish(self) -> None:
        """Sequences continue after the loaded ids; statistics are fresh for the planner.

        PostgreSQL: the loaded tables are vacuumed, as autovacuum keeps the tables of a desk that has
        held them for years. Without it (autovacuum may be off on a test server, and has not caught up
        with a load of a minute), the first ticks after a load pay for setting every row's hint bits
        and for index entries of versions nobody can see, and the 1M figures measure the load."""
        with self.engine.begin() as conn:
            if self.engine.dialect.name == "postgresql":
                for table in ("incident", "ticket", "clock_event"):
                    conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                      f"(SELECT coalesce(max(id), 1) FROM {table}))"))
            else:
                conn.execute(text("ANALYZE"))
        if self.engine.dialect.name == "postgresql":
            with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM (ANALYZE) incident, ticket, clock_event"))


def bulk_people(engine, contract_ids: list[int]) -> None:
    """One carrier manager with a phone per contract: each recorded event queues them an SMS."""
    from desk.auth.services import hash_password

    password = hash_password("bench-pass-2025")  # one scrypt hash for all: the loader stays fast
    with engine.begin() as conn:
        for cid in contract_ids:
            user_id = conn.execute(text(
                'INSERT INTO "user" (username, password_hash, display_name, role, phone, locale, on_duty, '
                "active, created_at) VALUES (:u, :p, :u, 'carrier_manager', :phone, 'zh', false, true, :now) "
                "RETURNING id"), {"u": f"bench.manager.{cid}", "p": password, "phone": f"+86138{cid:08d}",
                                  "now": _bind_now(engine)}).scalar_one()
            conn.execute(text("INSERT INTO user_contract (user_id, contract_id) VALUES (:u, :c)"),
                         {"u": user_id, "c": cid})


def _bind_now(engine):
    return NOW if engine.dialect.name == "postgresql" else NOW.strftime(SQLITE_INSTANT)
