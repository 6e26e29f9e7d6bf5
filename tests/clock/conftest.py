"""The clock's world: both seed contracts running on (the pool's copy to 2036), and the people the
clock notifies on each side, each with a phone."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from desk.audit.services import Actor
from desk.auth.services import create_user
from desk.contracts.services import load_contracts
from desk.extensions import db
from desk.incidents.services import file_ticket
from desk.models import ClockEvent, Incident, OutboxMessage, Unit, User, utcnow
from tests.conftest import CONTRACTS

SYSTEM = Actor.system("test")
PEOPLE = {  # name: (role, unit, contracts, phone, on duty)
    "cm": ("carrier_manager", None, ["XJGAT-POOL-2025", "QMGA-JWT-2025"], "+8613800000001", False),
    "eng": ("carrier_engineer", None, ["XJGAT-POOL-2025", "QMGA-JWT-2025"], "+8613800000002", True),
    "um": ("unit_manager", "XJGAT", ["XJGAT-POOL-2025"], "+8613800000003", False),
    "qm": ("unit_manager", "QMGA", ["QMGA-JWT-2025"], "+8613800000004", False),
}


@dataclass
class ClockWorld:
    users: dict[str, User]

    def actor(self, name: str) -> Actor:
        return Actor.of_user(self.users[name])

    def file(self, unit_code: str, reported_at: datetime, kind: str = "interruption", **kwargs) -> Incident:
        unit = db.session.execute(select(Unit).where(Unit.code == unit_code)).scalar_one()
        ticket, _ = file_ticket(SYSTEM, unit=unit, kind=kind, channel="api", reported_at=reported_at, **kwargs)
        return ticket.incident


@pytest.fixture
def world(app, tmp_path) -> ClockWorld:
    folder = tmp_path / "contracts"
    folder.mkdir()
    for source in CONTRACTS.glob("*.toml"):
        text = source.read_text(encoding="utf-8")
        (folder / source.name).write_text(text.replace("service_end = 2026-03-31", "service_end = 2036-03-31"),
                                          encoding="utf-8")
    load_contracts([folder], SYSTEM)
    users = {
        name: create_user(SYSTEM, username=name, password="secret-pass-1", role=role, unit_code=unit,
                          contract_codes=contracts, phone=phone, on_duty=on_duty)
        for name, (role, unit, contracts, phone, on_duty) in PEOPLE.items()
    }
    return ClockWorld(users)


def hours_ago(hours: float) -> datetime:
    return utcnow() - timedelta(hours=hours)


def events(**where) -> list[ClockEvent]:
    query = select(ClockEvent).order_by(ClockEvent.due_at, ClockEvent.id)
    for name, value in where.items():
        query = query.where(getattr(ClockEvent, name) == value)
    return list(db.session.execute(query).scalars())


def messages(like: str = "%") -> list[OutboxMessage]:
    return list(db.session.execute(
        select(OutboxMessage).where(OutboxMessage.body.like(like)).order_by(OutboxMessage.id)).scalars())
