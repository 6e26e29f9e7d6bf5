"""A small world for the web desk: two contracts, a second unit on XJGAT, a user of every role
(and of another unit and another contract), and one filed ticket with a photo."""
from __future__ import annotations

from dataclasses import dataclass
import pytest
from sqlalchemy import func, select

from conftest import load_edited_contracts

from desk.audit.services import Actor
from desk.auth.services import create_user
from desk.extensions import db
from desk.incidents import services
from desk.models import AuditEntry, Incident, Unit

PASSWORD = "correct-horse-9"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
SYSTEM = Actor.system("test")

# username → (role, unit code, contract codes)
PEOPLE = {
    "reporter": ("unit_reporter", "XJGAT", ["XJGAT-POOL-2025"]),
    "reporter_other_unit": ("unit_reporter", "XJGAT-KS", ["XJGAT-POOL-2025"]),
    "reporter_other_contract": ("unit_reporter", "QMGA", ["QMGA-JWT-2025"]),
    "unit_manager": ("unit_manager", "XJGAT", ["XJGAT-POOL-2025"]),
    "unit_manager_other": ("unit_manager", "QMGA", ["QMGA-JWT-2025"]),
    "engineer": ("carrier_engineer", None, ["XJGAT-POOL-2025"]),
    "engineer_other": ("carrier_engineer", None, ["QMGA-JWT-2025"]),
    "carrier_manager": ("carrier_manager", None, ["XJGAT-POOL-2025"]),
    "carrier_manager_other": ("carrier_manager", None, ["QMGA-JWT-2025"]),
    "admin": ("admin", None, []),
}


@dataclass
class World:
    users: dict
    incident: Incident
    ticket_id: int
    attachment_id: int
    other_incident: Incident  # of another contract (QMGA)

    def actor(self, name: str) -> Actor:
        return Actor.of_user(self.users[name])


def load_with_second_unit(tmp_path) -> None:
    """The seed contracts, with a second police unit on the XJGAT pool (喀什). The pool's service
    period ended in March 2026 and only faults inside it count; the tests file faults now, so
    this copy runs on."""
    def edit(text: str) -> str:
        if "XJGAT-POOL-2025" in text:
            text = text.replace("service_end = 2026-03-31", "service_end = 2036-03-31")
            text += '\n[[units]]\ncode = "XJGAT-KS"\nname = "喀什地区公安局"\nphones = []\n'
        return text

    load_edited_contracts(tmp_path / "contracts", edit)


@pytest.fixture
def world(app, tmp_path) -> World:
    load_with_second_unit(tmp_path)
    users = {}
    for name, (role, unit, contracts) in PEOPLE.items():
        users[name] = create_user(SYSTEM, username=name, password=PASSWORD, role=role, display_name=name,
                                  unit_code=unit, contract_codes=contracts)
    unit = db.session.query(Unit).filter_by(code="XJGAT").one()
    ticket = services.file_fault(Actor.of_user(users["reporter"]), unit=unit, kind="interruption",
                                 description="专网中断", uploads=[services.Upload("scene.png", "image/png", PNG)])
    other_unit = db.session.query(Unit).filter_by(code="QMGA").one()
    other = services.file_fault(Actor.of_user(users["reporter_other_contract"]), unit=other_unit,
                                kind="interruption", description="终端无法上网")
    from desk.models import Attachment

    attachment = db.session.query(Attachment).filter_by(incident_id=ticket.incident_id).one()
    return World(users, ticket.incident, ticket.id, attachment.id, other.incident)


@pytest.fixture
def signin(app):
    """signin(username) → a test client with that user's session."""
    def signin(username: str, password: str = PASSWORD):
        client = app.test_client()
        response = client.post("/login", data={"username": username, "password": password})
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return client
    return signin


def audit_count() -> int:
    return db.session.execute(select(func.count()).select_from(AuditEntry)).scalar_one()


def refused(exc_type, fn, *args, **kwargs):
    """The call is refused with exc_type and writes nothing: no audit entry, no changed row."""
    before = audit_count()
    with pytest.raises(exc_type) as info:
        fn(*args, **kwargs)
    db.session.rollback()
    db.session.expire_all()
    assert audit_count() == before
    assert info.value.message
    return info.value
